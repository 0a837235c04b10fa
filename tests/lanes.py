"""Which tests belong to the slow lane (``make test`` runs both lanes, ``make test-fast`` only
the fast one). A test is slow when it is marked ``@pytest.mark.slow``, or when it

* builds the whole studio window (it asks for one of :data:`WHOLE_WINDOW_FIXTURES`, or its
  code constructs ``StudioWindow``), and waits for a first face;
* starts another process (its code names one of :data:`SUBPROCESS_WORDS`): a command run as
  a user runs it, a memory-capped child, a desktop validator;
* is a benchmark (under ``tests/benchmarks`` or in a ``test_bench*`` module).

The rules are read from each test's own source, so a new test of one of these kinds joins
the slow lane without anyone remembering to mark it. Any other test that takes more than a
few seconds (``pytest --durations=40`` shows them) carries ``@pytest.mark.slow`` itself.
"""

from __future__ import annotations

import inspect

import pytest

WHOLE_WINDOW_FIXTURES = frozenset({"window", "win", "sg3_window", "second_window"})
SUBPROCESS_WORDS = ("subprocess", "sys.executable", "Popen", "StudioWindow(", "open_window(", "capped_cli(", "cli(",
                    "studio(", "screenshot(", "run_validator(", "run_capped(", "multiprocessing")


def is_slow(item: pytest.Item) -> bool:
    """Whether ``item`` belongs to the slow lane (see the module's docstring)."""
    if item.get_closest_marker("slow") is not None:
        return True
    path = str(getattr(item, "path", ""))
    if "/tests/benchmarks/" in path or getattr(item, "module", None) and item.module.__name__.rpartition(".")[2].startswith("test_bench"):
        return True
    if WHOLE_WINDOW_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        return False
    return any(word in source for word in SUBPROCESS_WORDS)


def mark_slow_lane(items: list[pytest.Item]) -> None:
    """Add the ``slow`` marker to every item of the slow lane."""
    for item in items:
        if item.get_closest_marker("slow") is None and is_slow(item):
            item.add_marker(pytest.mark.slow)
