"""The studio window as the UI tests drive it: a small model open, its first face shown.

``window.reports`` collects what the window would show in a message box;
``window.answers`` queues the answers to its questions, and ``window.default_answer``
answers the rest.
"""

import pytest
from PySide6 import QtCore

from facestudio.ui.main_window import StudioWindow

FIRST_FRAME_TIMEOUT_MS = 30_000


@pytest.fixture
def window(qapp, qtbot, tmp_path, native_model):
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
