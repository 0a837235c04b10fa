"""Running one slow call beside the GUI thread while the caller waits for its answer.

Opening a model reads its weights and, the first time, discovers its directions by
sampling the mapping network (seconds). The GUI thread never runs a network, so
:func:`call_off_gui_thread` runs such a call on a plain thread of its own and keeps Qt's
event loop turning meanwhile (frames, timers and repaints go on; the user's clicks and
keys wait, so nothing can start a second model while one opens). The caller gets the
call's result, or its exception, as if it had made the call itself.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from PySide6 import QtCore

T = TypeVar("T")


class _Finished(QtCore.QObject):
    done = QtCore.Signal()


def call_off_gui_thread(call: Callable[..., T], *args, name: str = "facestudio-call", **kwargs) -> T:
    """``call(*args, **kwargs)`` on a new thread; returns its result or raises its exception
    (on the calling thread). Without a Qt application (scripts), waits plainly."""
    outcome: dict[str, object] = {}
    finished = _Finished()
    loop = QtCore.QEventLoop()
    finished.done.connect(loop.quit, QtCore.Qt.QueuedConnection)

    def run() -> None:
        try:
            outcome["result"] = call(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, who decides what it means
            outcome["error"] = exc
        finally:
            finished.done.emit()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if QtCore.QCoreApplication.instance() is not None and thread.is_alive():
        loop.exec(QtCore.QEventLoop.ExcludeUserInputEvents)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
