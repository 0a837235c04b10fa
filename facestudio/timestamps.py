"""The one way facestudio writes a moment down: UTC, ISO 8601, to the second."""

from __future__ import annotations

from datetime import datetime, timezone


def now_iso() -> str:
    """The current UTC time as ISO 8601, to the second (``2024-05-01T12:00:00+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
