"""A/B compare: one batch for both faces, split line, difference, swap, linked views."""

import numpy as np
import pytest
from PySide6 import QtCore

from facestudio.ui.compare_view import difference_image, split_image

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 30_000


def test_split_and_difference_images():
    a = np.zeros((4, 6, 3), np.uint8)
    b = np.full((4, 6, 3), 10, np.uint8)
    s = split_image(a, b, 2.4)
    assert (s[:, :2] == 0).all() and (s[:, 2:] == 10).all()
    assert (split_image(a, b, -5) == 10).all() and (split_image(a, b, 99) == 0).all()
    assert (difference_image(b, a, 4) == 40).all() and (difference_image(a, b, 30) == 255).all()


def test_compare_renders_both_faces_in_one_batch_and_switches_modes_without_rendering(qtbot, window):
    view = window.compare_view
    worker = window.bridge.worker
    a = window.state.recipe
    view.a_button.click()
    window.controls.seed_spin.setValue(a.seed + 3)
    b = window.state.recipe
    assert b != a
    batches = worker.stats.batches_requested
    view.b_button.click()
    qtbot.waitUntil(view.is_ready, timeout=TIMEOUT)
    assert worker.stats.batches_requested == batches + 1
    renderer = window.state.model.renderer
    img_a, img_b = view.images
    assert np.abs(img_a.astype(int) - renderer.render(a)).max() <= 1
    assert np.abs(img_b.astype(int) - renderer.render(b)).max() <= 1

    view.mode.setCurrentText("split")
    view.split_line.setValue(10)
    assert np.array_equal(view.item_a.image, split_image(img_a, img_b, 10))
    view.mode.setCurrentText("difference")
    view.gain.setValue(4)
    assert np.array_equal(view.item_a.image, difference_image(img_a, img_b, 4))
    view.swap()
    assert view.recipes == [b, a] and view.images[0] is img_b
    view.mode.setCurrentText("side by side")
    assert np.array_equal(view.item_a.image, img_b) and np.array_equal(view.item_b.image, img_a)
    assert worker.stats.batches_requested == batches + 1  # nothing re-rendered


def test_side_by_side_views_share_zoom_and_pan(qtbot, window):
    view = window.compare_view
    window.show()
    window.central_tabs.setCurrentWidget(view)
    qtbot.waitExposed(window)
    view.set_faces(window.state.recipe, window.state.recipe.replace(seed=5))
    qtbot.waitUntil(view.is_ready, timeout=TIMEOUT)

    def same_view():
        ra, rb = view.view_a.viewRect(), view.view_b.viewRect()
        return (np.allclose([ra.left(), ra.right()], [rb.left(), rb.right()], atol=0.05)
                and abs(ra.center().y() - rb.center().y()) < 0.05)

    view.view_a.setRange(QtCore.QRectF(4, 6, 10, 10), padding=0)
    qtbot.waitUntil(same_view, timeout=5000)
    view.view_b.translateBy(x=3, y=2)
    qtbot.waitUntil(same_view, timeout=5000)
    assert view.view_a.viewRect().left() == pytest.approx(7, abs=0.05)


def test_interpolation_strip_renders_on_the_worker_and_exports(qtbot, window, tmp_path):
    strip = window.compare_view.strip
    assert not strip.render()  # A and B not set yet
    a = window.state.recipe
    b = a.replace(seed=a.seed + 1)
    window.compare_view.set_faces(a, b)
    strip.steps.setValue(5)
    strip.layers.setCurrentIndex(1)  # coarse only
    layers = strip.layers.currentData()
    assert strip.render()
    qtbot.waitUntil(lambda: strip.frames is not None, timeout=TIMEOUT)
    renderer = window.state.model.renderer
    assert strip.frames.shape == (5, 32, 32, 3)
    assert np.abs(strip.frames[0].astype(int) - renderer.render(a)).max() <= 1
    ws_last = renderer.ws_for(a)
    ws_last[layers[0]:layers[1]] = renderer.ws_for(b)[layers[0]:layers[1]]
    assert np.abs(strip.frames[-1].astype(int) - renderer.render_ws(ws_last[None])[0]).max() <= 1
    [gif] = strip.export(tmp_path / "strip.gif")
    assert gif.stat().st_size > 0
