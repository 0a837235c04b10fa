"""The design's rule "the GUI thread never runs a network", held against the studio: every
torch module called on the GUI thread while the window opens a model and the user works
(sliders, undo, the Mix and Compare tabs, the Export dock) is recorded, and the test fails
naming it; so is opening a model whose directions are not discovered yet (which samples its
mapping network)."""

import threading

import pytest
import torch
from PySide6 import QtCore

from facestudio.ui.gallery_dock import ID_ROLE
from facestudio.ui.main_window import StudioWindow
from tests.ui.window_helpers import TIMEOUT, export_and_wait, fill_grid

FIRST_FRAME_TIMEOUT_MS = 60_000


@pytest.fixture
def gui_thread_calls(monkeypatch):
    """The names of the torch modules called on the GUI (main) thread from now on."""
    calls: list[str] = []
    real_call = torch.nn.Module.__call__
    gui = threading.main_thread()

    def recording(module, *args, **kwargs):
        if threading.current_thread() is gui:
            calls.append(type(module).__name__)
        return real_call(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "__call__", recording)
    return calls


@pytest.fixture
def watched_window(qapp, qtbot, tmp_path, native_model, no_thread_outlives_close, gui_thread_calls):
    """A window that opens its model while every network call is watched."""
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, tmp_path / "data", confirm=lambda *_: True, report=lambda *_: None)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=FIRST_FRAME_TIMEOUT_MS):
        assert win.open_model(str(native_model))
    yield win
    win.close()


def test_no_network_runs_on_the_gui_thread_while_the_studio_is_used(qtbot, watched_window, gui_thread_calls,
                                                                    tmp_path):
    win = watched_window
    assert threading.current_thread() is threading.main_thread()
    assert gui_thread_calls == [], f"opening ran networks on the GUI thread: {sorted(set(gui_thread_calls))}"
    win.directions_panel.rows["pca0"].slider.setValue(150)  # a slider moves
    settle(qtbot, win)
    win.controls.seed_spin.setValue(win.state.recipe.seed + 3)  # another face
    settle(qtbot, win)
    win.history.stack.undo()  # and back
    settle(qtbot, win)
    fill_grid(qtbot, win, rows="1", cols="2, 3")  # the Mix tab
    strip = win.compare_view.strip  # the Compare tab's interpolation strip
    win.compare_view.set_faces(win.state.recipe, win.state.recipe.replace(seed=win.state.recipe.seed + 1))
    strip.steps.setValue(3)
    assert strip.render()
    qtbot.waitUntil(lambda: strip.frames is not None, timeout=TIMEOUT)
    export_and_wait(qtbot, win, lambda: win.exporter.export_face(tmp_path / "face.png"))  # the Export dock
    assert (tmp_path / "face.png").is_file()
    make_a_direction_from_two_faces(qtbot, win)  # the Directions menu: two faces' ws
    assert gui_thread_calls == [], f"networks ran on the GUI thread: {sorted(set(gui_thread_calls))}"


def test_the_check_sees_a_network_run_on_the_gui_thread(watched_window, gui_thread_calls):
    """The watch itself works: rendering here, on the GUI thread, is caught."""
    watched_window.state.model.renderer.render(watched_window.state.recipe)
    assert gui_thread_calls


def test_opening_a_model_runs_no_network_on_the_gui_thread(qapp, qtbot, tmp_path, native_model, monkeypatch,
                                                           no_thread_outlives_close, gui_thread_calls):
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path / "empty-cache"))  # nothing discovered yet
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, tmp_path / "data", confirm=lambda *_: True, report=lambda *_: None)
    qtbot.addWidget(win)
    try:
        with qtbot.waitSignal(win.firstFrameShown, timeout=FIRST_FRAME_TIMEOUT_MS):
            assert win.open_model(str(native_model))
        assert gui_thread_calls == [], f"networks ran on the GUI thread: {sorted(set(gui_thread_calls))}"
    finally:
        win.close()


def make_a_direction_from_two_faces(qtbot, win):
    """Faces not mapped before (seeds no one rendered), so their ws must be mapped now."""
    faces = [win.state.gallery.add(win.state.recipe.replace(seed=seed, edits=()), f"seed {seed}")
             for seed in (901, 902)]
    ids = {f.id for f in faces}
    lst = win.gallery_dock.list
    for i in range(lst.count()):
        lst.item(i).setSelected(lst.item(i).data(ID_ROLE) in ids)
    win.directions_controller.ask_text = lambda *_: "Nine-o-one to nine-o-two"
    assert win.directions_controller.new_from_selected_pair()
    qtbot.waitUntil(lambda: len(win.state.directions.user) == 1, timeout=TIMEOUT)


def settle(qtbot, win):
    """Wait until the worker has shown the current face (without rendering it here, which
    is what these tests forbid)."""
    qtbot.waitUntil(lambda: win.canvas.image is not None and win.bridge.worker.wait_idle(0.01), timeout=TIMEOUT)
