"""The preview canvas: a pyqtgraph ImageItem in an aspect-locked ViewBox.

Fed C-contiguous uint8 RGB ``[H, W, 3]``; pyqtgraph coalesces repaints. Mouse wheel zooms,
dragging pans, and the image never stretches out of aspect.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets


class FaceCanvas(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setBackground("#202124")
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view: pg.ViewBox = self.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image_item)
        self._shape: tuple[int, int] | None = None
        self.image: np.ndarray | None = None

    def show_image(self, rgb: np.ndarray) -> None:
        """Display ``rgb`` (uint8 [H, W, 3]); fit the view when the image size changes."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        self.image = rgb
        self.image_item.setImage(rgb, autoLevels=False, levels=(0, 255))
        if self._shape != rgb.shape[:2]:
            self._shape = rgb.shape[:2]
            self.fit()

    def fit(self) -> None:
        if self._shape:
            h, w = self._shape
            self.view.setRange(QtCore.QRectF(0, 0, w, h), padding=0.02)

    def actual_size(self) -> None:
        """1:1 — one image pixel per screen pixel, centred on the current view."""
        if not self._shape:
            return
        rect = self.view.sceneBoundingRect()
        centre = self.view.viewRect().center()
        w, h = rect.width(), rect.height()
        self.view.setRange(QtCore.QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h), padding=0)

    def zoom(self, factor: float) -> None:
        """factor > 1 zooms in."""
        self.view.scaleBy((1 / factor, 1 / factor))
