"""What the command line says while it works, on stderr: progress bars and messages.

Results go to stdout (:func:`facestudio.commands.output.result`); everything here goes to
stderr. A progress bar (tqdm: count, rate, time left) is drawn only when stderr is a
terminal, so a log file or a pipe gets no carriage-return noise; ``--quiet`` silences the
bars and the messages (errors are still said, by :mod:`facestudio.commands.main`).
"""

from __future__ import annotations

import sys
from typing import Callable

_state = {"quiet": False}

# A file is read with a bar only when it is at least this large; smaller ones take no time.
BYTES_WORTH_A_BAR = 64 << 20


def set_quiet(quiet: bool) -> None:
    """``--quiet``: no progress bars and no messages for the rest of the command."""
    _state["quiet"] = bool(quiet)


def is_quiet() -> bool:
    return _state["quiet"]


def message(text: str, prefix: bool = True) -> None:
    """A line for the user on stderr (``facestudio: ...`` with ``prefix``), unless ``--quiet``."""
    if not _state["quiet"]:
        print(f"facestudio: {text}" if prefix else text, file=sys.stderr, flush=True)


def note(text: str) -> None:
    """An account of the work on stderr without the ``facestudio:`` prefix, unless ``--quiet``."""
    message(text, prefix=False)


def bars_shown() -> bool:
    """Whether progress bars are drawn: stderr is a terminal and not ``--quiet``."""
    return not _state["quiet"] and sys.stderr.isatty()


def bar(total: int | None, desc: str, unit: str = "face", unit_scale: bool = False):
    """A tqdm bar on stderr (disabled, and so free, when :func:`bars_shown` is false)."""
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=unit_scale, file=sys.stderr,
                disable=not bars_shown(), dynamic_ncols=True, leave=False, smoothing=0.1)


def counter(desc: str, unit: str = "face", unit_scale: bool = False, minimum: int = 0
            ) -> Callable[[int, int], None]:
    """A ``(done, total)`` callback that moves one bar, made on the first call and closed when
    ``done`` reaches ``total``; totals below ``minimum`` draw nothing."""
    state: dict = {"bar": None}

    def report(done: int, total: int) -> None:
        if total < minimum:
            return
        if state["bar"] is None:
            state["bar"] = bar(total, desc, unit, unit_scale)
        b = state["bar"]
        b.update(max(0, done - b.n))
        if done >= total:
            b.close()

    return report


def file_progress(desc: str) -> Callable[[int, int], None]:
    """A ``(bytes done, bytes total)`` callback for reading a large file."""
    return counter(desc, unit="B", unit_scale=True, minimum=BYTES_WORTH_A_BAR)


def face_progress(desc: str, total: int):
    """A bar over ``total`` faces and its ``advance(done_in_this_step)`` callback, for batch renders:
    ``with face_progress("grid", n) as advance: ...``."""
    return _Faces(desc, total)


class _Faces:
    def __init__(self, desc: str, total: int):
        self._bar = bar(total, desc)

    def __enter__(self) -> Callable[[int], None]:
        return self._bar.update

    def __exit__(self, *exc) -> None:
        self._bar.close()
