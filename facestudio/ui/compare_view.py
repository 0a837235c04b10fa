"""A/B compare: two faces side by side, split by a draggable line, or as their difference.

Faces A and B are recipes (set from the current face); both are rendered as one small batch
(tag ``"compare"``) on the render worker. Modes:

* side by side: two views whose zoom and pan are linked (pyqtgraph X/Y links);
* split: one view showing A left of a draggable vertical line and B right of it;
* difference: ``|A - B|`` per channel, multiplied by a gain (1x to 16x), in one view.

Under the views, an interpolation strip from A to B (:mod:`facestudio.ui.strip_panel`).
Switching modes, dragging the line, swapping A and B or changing the gain never re-renders;
only a new A or B does. Images are uint8 ``[H, W, 3]``, C-contiguous.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from facestudio.latent.recipe import Recipe
from facestudio.ui.strip_panel import StripPanel

TAG = "compare"
MODES = ("side by side", "split", "difference")


def split_image(a: np.ndarray, b: np.ndarray, x: float) -> np.ndarray:
    """Columns ``< x`` from ``a``, the rest from ``b`` (``x`` in pixels, clamped)."""
    col = int(np.clip(round(x), 0, a.shape[1]))
    out = np.array(a, dtype=np.uint8, copy=True)
    out[:, col:] = b[:, col:]
    return out


def difference_image(a: np.ndarray, b: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """``|a - b| * gain`` per channel, clipped to uint8."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).astype(np.float32) * float(gain)
    return np.ascontiguousarray(np.clip(diff, 0, 255).astype(np.uint8))


class CompareView(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.submit_batch: Callable[[list[Recipe], str], None] | None = None
        self.current: Callable[[], Recipe | None] = lambda: None
        self.recipes: list[Recipe | None] = [None, None]
        self.images: list[np.ndarray | None] = [None, None]
        self._cache: dict[Recipe, np.ndarray] = {}
        self._build()

    # --- construction -----------------------------------------------------------------
    def _build(self) -> None:
        bar = QtWidgets.QHBoxLayout()
        self.a_button = QtWidgets.QPushButton("A ← current face")
        self.b_button = QtWidgets.QPushButton("B ← current face")
        self.a_button.clicked.connect(lambda: self.set_face(0, self.current()))
        self.b_button.clicked.connect(lambda: self.set_face(1, self.current()))
        self.swap_button = QtWidgets.QPushButton("Swap A ↔ B")
        self.swap_button.clicked.connect(self.swap)
        self.mode = QtWidgets.QComboBox(objectName="compare_mode")
        self.mode.addItems(MODES)
        self.mode.currentIndexChanged.connect(self._layout)
        self.gain = QtWidgets.QSpinBox(objectName="compare_gain")
        self.gain.setRange(1, 16)
        self.gain.setPrefix("gain ×")
        self.gain.valueChanged.connect(self._update)
        self.fit_button = QtWidgets.QPushButton("Fit")
        self.fit_button.clicked.connect(self.fit)
        for w in (self.a_button, self.b_button, self.swap_button, self.mode, self.gain, self.fit_button):
            bar.addWidget(w)
        bar.addStretch(1)
        self.label = QtWidgets.QLabel("Set A and B from the current face.")

        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground("#202124")
        self.view_a = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_b = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.view_b.setXLink(self.view_a)
        self.view_b.setYLink(self.view_a)
        self.item_a = pg.ImageItem(axisOrder="row-major")
        self.item_b = pg.ImageItem(axisOrder="row-major")
        self.view_a.addItem(self.item_a)
        self.view_b.addItem(self.item_b)
        self.split_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#ffd54f", width=2))
        self.split_line.sigPositionChanged.connect(self._update)
        self.view_a.addItem(self.split_line)
        self.caption_a = pg.LabelItem("A", color="#e8eaed")
        self.caption_b = pg.LabelItem("B", color="#e8eaed")

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.label)
        layout.addWidget(self.plot, 1)
        self.strip = StripPanel(lambda: list(self.recipes))
        layout.addWidget(self.strip)
        self._layout()

    def set_model(self, submit_batch: Callable[[list[Recipe], str], None],
                  current: Callable[[], Recipe | None]) -> None:
        self.submit_batch = submit_batch
        self.current = current
        self.recipes = [None, None]
        self.images = [None, None]
        self._cache.clear()
        self._update()

    # --- faces ---------------------------------------------------------------------------
    def set_face(self, slot: int, recipe: Recipe | None) -> None:
        """Put ``recipe`` in slot 0 (A) or 1 (B) and render what is not cached."""
        if recipe is None:
            return
        self.recipes[slot] = recipe
        self._request()

    def set_faces(self, a: Recipe, b: Recipe) -> None:
        self.recipes = [a, b]
        self._request()

    def _request(self) -> None:
        """Show what is cached; render the rest as one batch."""
        self.images = [None if r is None else self._cache.get(r) for r in self.recipes]
        missing = [r for r in dict.fromkeys(self.recipes) if r is not None and r not in self._cache]
        if missing and self.submit_batch is not None:
            self.submit_batch(missing, TAG)
        self._update()
        if self.is_ready():
            self.fit()

    def swap(self) -> None:
        self.recipes.reverse()
        self.images.reverse()
        self._update()

    def on_batch(self, result) -> None:
        self.strip.on_batch(result)
        if result.tag != TAG or not result.ok:
            if result.tag == TAG:
                self.label.setText(f"Render failed: {result.error}")
            return
        first = self.images[0] is None and self.images[1] is None
        for recipe, image in zip(result.recipes, result.images):
            self._cache[recipe] = np.ascontiguousarray(image)
        self.images = [None if r is None else self._cache.get(r) for r in self.recipes]
        self._update()
        if first:
            self.fit()

    def is_ready(self) -> bool:
        return all(i is not None for i in self.images)

    # --- display ---------------------------------------------------------------------------
    def _layout(self) -> None:
        ci = self.plot.ci
        ci.clear()
        side = self.mode.currentText() == "side by side"
        ci.addItem(self.caption_a, 0, 0)
        ci.addItem(self.view_a, 1, 0)
        if side:
            ci.addItem(self.caption_b, 0, 1)
            ci.addItem(self.view_b, 1, 1)
        self.gain.setEnabled(self.mode.currentText() == "difference")
        self._update()

    def _update(self, *_args) -> None:
        a, b = self.images
        mode = self.mode.currentText()
        names = [self._name(i) for i in (0, 1)]
        self.label.setText(f"A: {names[0]}    B: {names[1]}")
        self.split_line.setVisible(mode == "split" and a is not None)
        if mode == "side by side":
            self.caption_a.setText(f"A — {names[0]}")
            self.caption_b.setText(f"B — {names[1]}")
            self._set(self.item_a, a)
            self._set(self.item_b, b)
        elif a is not None and b is not None and a.shape == b.shape:
            if mode == "split":
                self.caption_a.setText("A | B — drag the line")
                self._set(self.item_a, split_image(a, b, self.split_line.value()))
            else:
                self.caption_a.setText(f"|A − B| × {self.gain.value()}")
                self._set(self.item_a, difference_image(a, b, self.gain.value()))
        else:
            self.caption_a.setText("A" if a is not None else "")
            self._set(self.item_a, a)

    def _name(self, slot: int) -> str:
        r = self.recipes[slot]
        if r is None:
            return "—"
        extra = (f", {len(r.edits)} edits" if r.edits else "") + \
            (f", mixed with {r.mix.seed} on {r.mix.layers[0]}–{r.mix.layers[1] - 1}" if r.mix else "")
        return f"seed {r.seed}{extra}"

    @staticmethod
    def _set(item: pg.ImageItem, image: np.ndarray | None) -> None:
        if image is None:
            item.clear()
        else:
            item.setImage(image, autoLevels=False, levels=(0, 255))

    def fit(self) -> None:
        image = next((i for i in self.images if i is not None), None)
        if image is None:
            return
        h, w = image.shape[:2]
        self.view_a.setRange(QtCore.QRectF(0, 0, w, h), padding=0.02)
        if not 0 < self.split_line.value() < w:
            self.split_line.setValue(w / 2)
        self.split_line.setBounds((0, w))

    def prepare_screenshot(self, current) -> None:
        """For the screenshot script: A = ``current`` (the current face), B = it with another seed."""
        self.mode.setCurrentText("split")
        self.set_faces(current, current.replace(seed=current.seed + 7))
        self.strip.render()

    def screenshot_ready(self) -> bool:
        return self.is_ready() and self.strip.frames is not None
