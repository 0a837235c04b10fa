"""The check behind ``no_thread_outlives_close``: it names a thread left running, and a
closed studio window leaves none (its render worker is joined on close)."""

import threading

import pytest
from PySide6 import QtCore

from facestudio.ui.main_window import StudioWindow
from tests.ui.threads import outliving

pytestmark = pytest.mark.usefixtures("qapp")


def test_a_thread_still_running_after_the_grace_period_is_named():
    before = set(threading.enumerate())
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, name="stuck-worker", daemon=True)
    stuck.start()
    try:
        assert outliving(before, grace_s=0.05) == ["stuck-worker"]
    finally:
        release.set()
    assert outliving(before) == []  # it ends within the grace period once released


def open_and_close(qtbot, tmp_path, native_model, break_shutdown=None):
    before = set(threading.enumerate())
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, tmp_path / "data", confirm=lambda *_: False, report=lambda *_: None)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=30_000):
        assert win.open_model(str(native_model))
    worker = win.bridge.worker
    if break_shutdown:
        break_shutdown(win)
    win.close()
    return before, worker


def test_closing_the_window_ends_its_render_thread(qtbot, tmp_path, native_model):
    before, _ = open_and_close(qtbot, tmp_path, native_model)
    assert outliving(before) == []


def test_a_window_that_forgot_its_render_thread_is_caught(qtbot, tmp_path, native_model, monkeypatch):
    def forget(win):
        monkeypatch.setattr(win.bridge, "shutdown", lambda: None)
    before, worker = open_and_close(qtbot, tmp_path, native_model, forget)
    try:
        assert outliving(before, grace_s=0.2) == ["facestudio-render"]
    finally:
        worker.shutdown()
