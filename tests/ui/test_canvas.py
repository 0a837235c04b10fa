"""The canvas smooths a face shown larger than its native size; View > Show pixels doesn't."""

import numpy as np
import pytest

from facestudio.ui.canvas import FaceCanvas, lanczos_upsample, smooth_factor


@pytest.mark.parametrize("zoom, factor", [(0.5, 1), (1.0, 1), (1.04, 1), (1.5, 2), (3.0, 3),
                                          (3.2, 4), (40.0, 8), (float("nan"), 1), (float("inf"), 1)])
def test_smooth_factor(zoom, factor):
    assert smooth_factor(zoom) == factor


def test_zoomed_face_is_lanczos_smoothed_and_show_pixels_gives_blocks(qtbot):
    canvas = FaceCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(512, 512)
    canvas.show()
    qtbot.waitExposed(canvas)
    rng = np.random.default_rng(0)
    face = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
    canvas.show_image(face)
    qtbot.waitUntil(lambda: canvas.displayed_factor > 1, timeout=5000)
    shown = canvas.image_item.image
    k = canvas.displayed_factor
    assert k == smooth_factor(canvas.zoom_factor()) and shown.shape == (32 * k, 32 * k, 3)
    assert np.array_equal(shown, lanczos_upsample(face, k))
    # smoothed: neighbouring screen pixels inside one image pixel differ
    assert not np.array_equal(shown[0::k, 0::k], shown[1::k, 0::k])
    assert np.array_equal(canvas.image, face)  # what the studio exports stays the native face
    canvas.set_show_pixels(True)
    assert canvas.displayed_factor == 1 and np.array_equal(canvas.image_item.image, face)
    assert canvas.image_item.smooth is False
    canvas.set_show_pixels(False)
    assert canvas.displayed_factor == k
    # zooming out to native size drops the upsampling
    canvas.zoom(1 / (2 * canvas.zoom_factor()))
    qtbot.waitUntil(lambda: canvas.displayed_factor == 1, timeout=5000)


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_one_to_one_is_one_image_pixel_per_device_pixel(qtbot, monkeypatch, ratio):
    """On a HiDPI screen (device pixel ratio 2) 1:1 shows the face at half its logical size, so
    that each image pixel is one pixel of the screen, and no smoothing is needed there."""
    canvas = FaceCanvas()
    qtbot.addWidget(canvas)
    monkeypatch.setattr(canvas, "devicePixelRatioF", lambda: ratio)
    canvas.resize(400, 400)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.show_image(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    canvas.actual_size()
    qtbot.waitUntil(lambda: abs(canvas.device_zoom() - 1.0) < 0.02, timeout=5000)
    assert canvas.zoom_factor() == pytest.approx(1 / ratio, rel=0.02)
    assert canvas.displayed_factor == 1
    canvas.zoom(3.0)  # three device pixels per image pixel: smoothed at x3 whatever the ratio
    qtbot.waitUntil(lambda: canvas.displayed_factor == 3, timeout=5000)


def test_gallery_thumbnails_keep_device_pixels_for_hidpi(qapp):
    from facestudio.ui.gallery_dock import THUMB, png_thumbnail, thumbnail_pixmap
    face = np.random.default_rng(2).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    pix = thumbnail_pixmap(png_thumbnail(face))
    assert pix.width() == 2 * THUMB and pix.devicePixelRatio() == 2.0  # 96 logical px, 192 device px
    assert pix.deviceIndependentSize().width() == THUMB
    old = thumbnail_pixmap(png_thumbnail(face, THUMB))  # a session saved before: shown as it is
    assert old.width() == THUMB and old.devicePixelRatio() == 1.0
