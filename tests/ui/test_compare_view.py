"""A/B compare: one batch for both faces, split line, difference, swap, linked views."""

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore

from facestudio.fileio import OutputPathError
from facestudio.provenance import read_provenance
from facestudio.ui.compare_view import difference_image, split_image
from tests.ui.window_helpers import rendered_strip

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


def test_interpolation_strip_renders_on_the_worker(qtbot, window):
    assert not window.compare_view.strip.render()  # A and B not set yet
    strip, a, _b, ws_last = rendered_strip(qtbot, window)
    renderer = window.state.model.renderer
    assert strip.frames.shape == (5, 32, 32, 3)
    assert np.abs(strip.frames[0].astype(int) - renderer.render(a)).max() <= 1
    assert np.abs(strip.frames[-1].astype(int) - renderer.render_ws(ws_last[None])[0]).max() <= 1


def test_the_exported_strip_sheet_holds_the_frames_and_the_stamp(qtbot, window, tmp_path, without_watermark):
    strip, a, b, ws_last = rendered_strip(qtbot, window)
    window.export_panel.artist_edit.setText("Test Artist")
    [path] = strip.export(tmp_path / "strip.png")
    with Image.open(path) as img:
        assert img.size == (5 * 32, 32)
        pixels = np.asarray(img.convert("RGB"))
    renderer = window.state.model.renderer
    tiles = [pixels[:, i * 32:(i + 1) * 32] for i in range(5)]
    for tile, frame in zip(tiles, strip.frames):
        assert np.array_equal(tile, frame)
    assert np.abs(tiles[0].astype(int) - renderer.render(a)).max() <= 1  # A itself ...
    assert np.abs(tiles[-1].astype(int) - renderer.render_ws(ws_last[None])[0]).max() <= 1  # ... to B's coarse rows
    prov = read_provenance(path)
    assert prov.is_stamped and not prov.problems
    assert prov.model_sha256 == window.state.model.sha256 and prov.creator == "Test Artist"
    strip_note = prov.xmp.get("facestudio:Interpolation", "")
    assert f"A seed {a.seed}" in strip_note and f"B seed {b.seed}" in strip_note and "5 steps" in strip_note


def test_the_exported_strip_animation_holds_every_frame_forth_and_back(qtbot, window, tmp_path, without_watermark):
    strip, *_ = rendered_strip(qtbot, window)
    [path] = strip.export(tmp_path / "strip.webp")
    with Image.open(path) as img:
        assert img.size == (32, 32) and img.n_frames == 8  # 5 frames, then 3 back
        frames = []
        for k in range(img.n_frames):
            img.seek(k)
            frames.append(np.asarray(img.convert("RGB")))
    order = [0, 1, 2, 3, 4, 3, 2, 1]
    for frame, k in zip(frames, order):
        assert np.array_equal(frame, strip.frames[k])  # lossless


def test_an_existing_strip_file_is_not_replaced_without_asking(qtbot, window, tmp_path):
    strip, *_ = rendered_strip(qtbot, window)
    target = tmp_path / "strip.png"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputPathError, match="already exists"):
        strip.export(target)
    assert target.read_bytes() == b"keep me"
