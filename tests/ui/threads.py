"""Threads that outlive the window: what the UI fixtures check after ``window.close()``."""

from __future__ import annotations

import threading
import time

JOIN_GRACE_S = 5.0  # a closing thread gets this long to end (a render in flight finishes first)


def outliving(before: set[threading.Thread], grace_s: float = JOIN_GRACE_S) -> list[str]:
    """Names of the threads started since ``before`` (a ``set(threading.enumerate())``)
    that are still running after waiting up to ``grace_s`` seconds in all for them to end."""
    deadline = time.monotonic() + grace_s
    started = [t for t in threading.enumerate() if t not in before and t is not threading.current_thread()]
    for t in started:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in started if t.is_alive()]
