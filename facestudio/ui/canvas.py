"""The preview canvas: a pyqtgraph ImageItem in an aspect-locked ViewBox.

Fed C-contiguous uint8 RGB ``[H, W, 3]``; pyqtgraph coalesces repaints. Mouse wheel zooms,
dragging pans, and the image never stretches out of aspect.

A face shown larger than its native size is smoothed: the image is Lanczos-upsampled by the
whole factor the view needs (at most ``MAX_SMOOTH_FACTOR``) and the remainder is drawn with
bilinear filtering. ``show_pixels`` switches to nearest-neighbour, one block per pixel.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.ui.guard import guarded

MAX_SMOOTH_FACTOR = 8


class _SmoothImageItem(pg.ImageItem):
    """An ImageItem that draws with bilinear filtering unless told to show pixels."""

    smooth = True

    @guarded
    def paint(self, p, *args):
        p.setRenderHint(QtGui.QPainter.SmoothPixmapTransform, self.smooth)
        super().paint(p, *args)


def smooth_factor(screen_pixels_per_image_pixel: float) -> int:
    """The whole Lanczos upsampling factor for a zoom: 1 when shown at or below native size."""
    if not math.isfinite(screen_pixels_per_image_pixel) or screen_pixels_per_image_pixel <= 1.05:
        return 1
    return min(MAX_SMOOTH_FACTOR, math.ceil(screen_pixels_per_image_pixel - 0.05))


def lanczos_upsample(rgb: np.ndarray, factor: int) -> np.ndarray:
    if factor <= 1:
        return rgb
    h, w = rgb.shape[:2]
    return np.asarray(Image.fromarray(rgb).resize((w * factor, h * factor), Image.LANCZOS))


class FaceCanvas(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setBackground("#202124")
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view: pg.ViewBox = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = _SmoothImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        self._shape: tuple[int, int] | None = None
        self.image: np.ndarray | None = None
        self.displayed_factor = 1  # the Lanczos factor of what is on screen now
        self.view.sigRangeChanged.connect(self._on_range_changed)

    def show_image(self, rgb: np.ndarray) -> None:
        """Display ``rgb`` (uint8 [H, W, 3]); fit the view when the image size changes."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if self._shape != rgb.shape[:2]:
            self._shape = rgb.shape[:2]
            self.image = None  # the range handler waits for the new face, drawn once below
            self.fit()
        self.image = rgb
        self._draw(self._wanted_factor())

    @property
    def show_pixels(self) -> bool:
        return not self.image_item.smooth

    def set_show_pixels(self, on: bool) -> None:
        """Nearest-neighbour blocks (True) or the smoothed face (False)."""
        self.image_item.smooth = not on
        if self.image is not None:
            self._draw(self._wanted_factor())

    def zoom_factor(self) -> float:
        """Screen pixels per image pixel in the current view."""
        try:
            px = self.view.viewPixelSize()[0]
        except Exception:  # noqa: BLE001 - a degenerate view transform; this runs in a Qt slot
            return 1.0
        return 1.0 / px if px > 0 else 1.0

    def device_zoom(self) -> float:
        """Device pixels per image pixel: :meth:`zoom_factor` times the screen's device pixel
        ratio (2 on a HiDPI screen at 200 %), what the smoothing has to fill."""
        return self.zoom_factor() * self.devicePixelRatioF()

    def _wanted_factor(self) -> int:
        return 1 if self.show_pixels else smooth_factor(self.device_zoom())

    def _draw(self, factor: int) -> None:
        h, w = self.image.shape[:2]
        self.image_item.setImage(lanczos_upsample(self.image, factor), autoLevels=False, levels=(0, 255))
        self.image_item.setRect(QtCore.QRectF(0, 0, w, h))
        self.displayed_factor = factor

    def _on_range_changed(self, *args) -> None:
        if self.image is not None and self._wanted_factor() != self.displayed_factor:
            self._draw(self._wanted_factor())

    def fit(self) -> None:
        if self._shape:
            h, w = self._shape
            self.view.setRange(QtCore.QRectF(0, 0, w, h), padding=0.02)

    def actual_size(self) -> None:
        """1:1 — one image pixel per device pixel of the screen (on a HiDPI screen, not one
        per logical pixel, which would show it 2 x 2 device pixels large), centred on the view."""
        if not self._shape:
            return
        rect = self.view.sceneBoundingRect()
        centre = self.view.viewRect().center()
        ratio = self.devicePixelRatioF()
        w, h = rect.width() * ratio, rect.height() * ratio
        self.view.setRange(QtCore.QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h), padding=0)

    def zoom(self, factor: float) -> None:
        """factor > 1 zooms in."""
        self.view.scaleBy((1 / factor, 1 / factor))
