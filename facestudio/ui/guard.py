"""The guard between Python and Qt's C++ side.

An exception must never leave a Python override that Qt calls from C++ (undo commands'
``redo`` / ``undo``, event handlers, ``paint``) or a slot: depending on the binding version
it aborts the call half-way, leaves Qt's own state (an undo stack holding a command whose
``redo`` failed) inconsistent, or crashes the process. Inputs are validated where they enter
(recipes before a command is pushed); what is left is a bug, and the guard turns it into one
sentence for the user plus an entry in the internal-error log, and the studio keeps running.

* :func:`guarded` decorates a virtual or a slot; :func:`call` runs one callable guarded and
  says whether it succeeded;
* :func:`set_reporter` names who shows the sentence (the window; by default stderr);
* :func:`install_excepthook` routes what escapes anywhere else (slots PySide6 calls) the
  same way.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Callable

log = logging.getLogger("facestudio.internal")

_reporter: Callable[[str], None] | None = None


def set_reporter(reporter: Callable[[str], None] | None) -> None:
    """Show internal-error sentences with ``reporter(sentence)`` (None: print to stderr)."""
    global _reporter
    _reporter = reporter


def reporter() -> Callable[[str], None] | None:
    return _reporter


def sentence(exc: BaseException) -> str:
    """One line for the user about an unexpected ``exc``."""
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return (f"facestudio hit an internal error ({type(exc).__name__}: {detail}) and kept running; "
            f"the details are in the internal-error log.")


def report_internal_error(exc: BaseException, where: str) -> str:
    """Log ``exc`` (with its traceback) as an internal error in ``where`` and show one
    sentence; never raises. Returns the sentence."""
    text = sentence(exc)
    try:
        log.error("internal error in %s", where, exc_info=(type(exc), exc, exc.__traceback__))
        if _reporter is not None:
            _reporter(text)
        else:
            print(f"facestudio: {text}", file=sys.stderr)
    except Exception:  # a broken reporter must not turn into the exception we are guarding against
        print(f"facestudio: {text}", file=sys.stderr)
    return text


def call(fn: Callable, *args, where: str | None = None, **kwargs) -> bool:
    """Run ``fn(*args, **kwargs)``; True when it returned, False (reported) when it raised."""
    try:
        fn(*args, **kwargs)
    except Exception as exc:
        report_internal_error(exc, where or getattr(fn, "__qualname__", repr(fn)))
        return False
    return True


def guarded(fn: Callable | None = None, *, default=None):
    """Decorate a Qt virtual or slot so no exception leaves it: it returns ``default``
    instead (``@guarded`` or ``@guarded(default=False)`` for a virtual that returns bool)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                report_internal_error(exc, fn.__qualname__)
                return default

        return wrapper

    return decorate if fn is None else decorate(fn)


def install_excepthook() -> None:
    """Route exceptions that reach the top (PySide6 hands a slot's exception to
    ``sys.excepthook``) through :func:`report_internal_error`; Ctrl-C keeps its meaning."""
    previous = sys.excepthook

    def hook(kind, exc, tb):
        if issubclass(kind, (KeyboardInterrupt, SystemExit)):
            previous(kind, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        report_internal_error(exc, "a Qt callback")

    sys.excepthook = hook
