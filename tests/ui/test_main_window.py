"""The studio window driven offscreen through pytest-qt."""

import numpy as np
import pytest
from PySide6 import QtCore
from tests.ui.window_helpers import expected_image, wait_for_full_frame_of


pytestmark = pytest.mark.usefixtures("qapp")
FRAME_TIMEOUT = 20_000


def test_window_opens_on_a_rendered_face(window):
    assert window.canvas.image is not None
    assert window.canvas.image.shape == (32, 32, 3)
    assert np.array_equal(window.canvas.image, expected_image(window))
    assert window.model_label.text() == "Test faces"
    assert len(window.directions_panel.rows) == 12


def test_moving_a_slider_renders_a_new_frame(qtbot, window):
    before = window.canvas.image.copy()
    row = window.directions_panel.rows["pca0"]
    row.slider.setValue(150)
    assert window.state.recipe.amount_of("pca0") == pytest.approx(1.5)
    after = wait_for_full_frame_of(qtbot, window, window.state.recipe)
    assert not np.array_equal(before, after)


def test_a_burst_of_slider_changes_renders_a_handful_and_ends_on_the_last(qtbot, window):
    stats = window.bridge.worker.stats
    rendered_before = stats["rendered"] if isinstance(stats, dict) else stats.rendered
    slider = window.directions_panel.rows["pca1"].slider
    slider.setSliderDown(True)
    for i in range(200):
        slider.setValue(-150 + (i * 300) // 199)
    slider.setSliderDown(False)
    window.directions_panel.rows["pca1"].dragFinished.emit("pca1")
    assert window.state.recipe.amount_of("pca1") == pytest.approx(1.5)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    stats = window.bridge.worker.stats
    rendered = (stats["rendered"] if isinstance(stats, dict) else stats.rendered) - rendered_before
    assert 1 <= rendered < 30
    assert window.history.stack.count() == 1  # the whole drag is one undo step


def test_undo_returns_the_previous_frame_exactly(qtbot, window):
    first = window.canvas.image.copy()
    first_recipe = window.state.recipe
    window.directions_panel.rows["pca2"].slider.setValue(-200)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    window.controls.seed_spin.setValue(window.state.recipe.seed + 5)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    window.history.stack.undo()
    window.history.stack.undo()
    assert window.state.recipe == first_recipe
    qtbot.waitUntil(lambda: np.array_equal(window.canvas.image, first), timeout=FRAME_TIMEOUT)
    assert window.directions_panel.rows["pca2"].slider.value() == 0
    window.history.stack.redo()
    assert window.state.recipe.amount_of("pca2") == pytest.approx(-2.0)


def test_session_round_trip_renders_the_same_pixels(qtbot, window, tmp_path):
    window.directions_panel.rows["pca0"].slider.setValue(120)
    window.controls.psi_spin.setValue(0.5)
    shown = wait_for_full_frame_of(qtbot, window, window.state.recipe)
    window.gallery_controller.keep_current()
    assert len(window.state.gallery) == 1
    path = tmp_path / "look.fsession"
    assert window.sessions.save_to(path)
    saved_recipe = window.state.recipe
    window.controls.seed_spin.setValue(99)
    window.editor.reset_edits()
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    assert window.sessions.open(path)
    assert window.state.recipe == saved_recipe
    qtbot.waitUntil(lambda: np.array_equal(window.canvas.image, shown), timeout=FRAME_TIMEOUT)
    assert len(window.state.gallery) == 1 and window.gallery_dock.list.count() == 1


def test_gallery_keep_restore_rename_delete(qtbot, window):
    window.gallery_controller.keep_current()
    kept = window.state.recipe
    window.controls.seed_spin.setValue(kept.seed + 1)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    face = next(iter(window.state.gallery))
    window.gallery_controller.restore_face(face.id)
    assert window.state.recipe == kept
    window.state.gallery.rename(face.id, "Ada")
    assert window.gallery_dock.list.item(0).text() == "Ada"
    window.state.gallery.remove(face.id)
    assert window.gallery_dock.list.count() == 0


def test_a_worker_exception_shows_a_message_and_the_next_render_works(qtbot, window, monkeypatch):
    renderer = window.state.model.renderer
    real_render = renderer.render
    calls = {"n": 0}

    def failing(recipe, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("simulated failure inside the generator")
        return real_render(recipe, *args, **kwargs)

    monkeypatch.setattr(renderer, "render", failing)
    window.controls.seed_spin.setValue(window.state.recipe.seed + 3)
    qtbot.waitUntil(lambda: not window.banner.isHidden(), timeout=FRAME_TIMEOUT)
    assert "simulated failure" in window.banner.text()
    window.controls.seed_spin.setValue(window.state.recipe.seed + 1)
    monkeypatch.setattr(renderer, "render", real_render)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    qtbot.waitUntil(lambda: window.banner.isHidden(), timeout=FRAME_TIMEOUT)


def test_a_bad_model_file_is_reported_and_the_window_keeps_its_model(window, tmp_path):
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(b"\x80\x04garbage")
    sha = window.state.model.sha256
    assert not window.open_model(str(bad))
    assert window.state.model.sha256 == sha
    assert len(window.reports) == 1 and "\n" not in window.reports[0]


def test_keyboard_shortcuts(qtbot, window):
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    window.canvas.setFocus()
    n = len(window.state.gallery)
    qtbot.keyClick(window.canvas, QtCore.Qt.Key_K)
    assert len(window.state.gallery) == n + 1
    seeds = set()
    for _ in range(3):
        qtbot.keyClick(window.canvas, QtCore.Qt.Key_Space)
        seeds.add(window.state.recipe.seed)
    assert len(seeds) >= 2  # three random seeds in 2**31 are not all equal
    steps = window.history.stack.count()
    qtbot.keyClick(window.canvas, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert window.history.stack.index() == steps - 1
