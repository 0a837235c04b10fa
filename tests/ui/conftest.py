"""The studio window as the UI tests drive it: a small model open, its first face shown.

``window.reports`` collects what the window would show in a message box;
``window.answers`` queues the answers to its questions, and ``window.default_answer``
answers the rest. ``no_thread_outlives_close`` fails the test when a thread it started
(the render worker, a download) still runs after the windows were closed.
"""

import threading

import pytest
from PySide6 import QtCore

from facestudio.ui.main_window import StudioWindow
from tests.ui.threads import outliving

FIRST_FRAME_TIMEOUT_MS = 30_000


@pytest.fixture
def no_thread_outlives_close(qtbot):
    """Use in a fixture or test that closes its windows; checked after they are closed
    (set up after ``qtbot``, so torn down before qtbot closes what is left)."""
    before = set(threading.enumerate())
    yield
    left = outliving(before)
    if left:
        pytest.fail(f"threads still running after window.close(): {', '.join(left)}")


@pytest.fixture
def window(qapp, qtbot, tmp_path, native_model, no_thread_outlives_close):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    reports, answers = [], []
    win = StudioWindow(settings, tmp_path / "data",
                       confirm=lambda *_: answers.pop(0) if answers else win.default_answer,
                       report=lambda title, text: reports.append(text))
    win.reports, win.answers, win.default_answer = reports, answers, True
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=FIRST_FRAME_TIMEOUT_MS):
        assert win.open_model(str(native_model))
    yield win
    win.close()
