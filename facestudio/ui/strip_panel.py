"""The interpolation strip under A/B compare: N steps from A to B, linear in W.

The frames' ws are computed and rendered on the render worker as one ws batch (tag
``"strip"``; :func:`facestudio.render.interpolate.interpolation_ws` runs on the worker
thread). "Layers" picks which ws rows travel (all, or the model's coarse / middle / fine
rows; the others stay A's). "Export strip…" writes a sheet (.png/.jpg), numbered frames (a
folder) or an animated .webp/.gif (forth and back, lossless WebP), all through the
provenance export (:func:`facestudio.provenance.sequence.export_strip`) with the Export
dock's stamp, like every face; an existing file is replaced only when asked.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.bounded_json import dumps_strict
from facestudio.latent.recipe import Recipe
from facestudio.provenance import ExportOptions
from facestudio.provenance.sequence import export_strip
from facestudio.render.interpolate import interpolation_ws, strip_sheet
from facestudio.ui.gallery_dock import rgb_to_qimage

TAG = "strip"
EXPORT_FILTER = ("Sheet (*.png *.jpg);;Animated WebP (*.webp);;Animated GIF (*.gif);;"
                 "Numbered frames (folder name, no suffix) (*)")


class StripPanel(QtWidgets.QWidget):
    def __init__(self, faces: Callable[[], list[Recipe | None]], parent=None):
        super().__init__(parent)
        self.faces = faces
        self.submit_ws: Callable | None = None
        self.stamp: Callable | None = None  # () -> the provenance Stamp of an exported sheet
        self.guarded_exports = None  # the studio's GuardedExports: every export is checked for lookalikes
        self.frames: np.ndarray | None = None
        self._made: tuple | None = None  # (a, b, steps, layers) of ``frames``
        self._parts: dict[int, np.ndarray] = {}
        self._pending: tuple | None = None
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("Interpolation A → B"))
        self.steps = QtWidgets.QSpinBox(objectName="strip_steps")
        self.steps.setRange(2, 64)
        self.steps.setValue(8)
        self.steps.setSuffix(" steps")
        self.layers = QtWidgets.QComboBox(objectName="strip_layers")
        self.render_button = QtWidgets.QPushButton("Render strip")
        self.render_button.clicked.connect(self.render)
        self.export_button = QtWidgets.QPushButton("Export strip…")
        self.export_button.clicked.connect(self.export_dialog)
        self.export_button.setEnabled(False)
        for w in (self.steps, self.layers, self.render_button, self.export_button):
            bar.addWidget(w)
        bar.addStretch(1)
        self.view = QtWidgets.QLabel(objectName="strip_image")
        self.view.setMinimumHeight(72)
        self.view.setAlignment(QtCore.Qt.AlignCenter)
        self.view.setStyleSheet("background:#202124;color:#9aa0a6;")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)

    def use_exports(self, stamp: Callable, guarded_exports) -> None:
        """Export with ``stamp()`` (the provenance Stamp of a sheet), checked by
        ``guarded_exports`` (every export is checked for lookalikes)."""
        self.stamp, self.guarded_exports = stamp, guarded_exports

    def set_model(self, submit_ws: Callable, num_ws: int, groups: dict[str, tuple[int, int]]) -> None:
        """``submit_ws(make_ws, count, tag)`` is the worker's ``submit_ws_batch``."""
        self.submit_ws = submit_ws
        self.frames = None
        self.layers.clear()
        self.layers.addItem(f"all layers (0–{num_ws - 1})", (0, num_ws))
        for name, (a, b) in groups.items():
            self.layers.addItem(f"{name} only ({a}–{b - 1})", (a, b))
        self.view.clear()
        self.export_button.setEnabled(False)

    def render(self) -> bool:
        """Ask the worker for the strip between the current A and B; False when not both set."""
        a, b = self.faces()
        if a is None or b is None or self.submit_ws is None:
            self.view.setText("Set A and B first.")
            return False
        steps, layers = self.steps.value(), self.layers.currentData()
        self._pending = (a, b, steps, layers)
        self._parts = {}
        self.submit_ws(partial(interpolation_ws, a=a, b=b, steps=steps, layers=layers), steps, TAG,
                       noise=a.noise)
        self.view.setText(f"rendering {steps} frames…")
        return True

    def on_batch(self, result) -> None:
        if result.tag != TAG:
            return
        if not result.ok:
            self.view.setText(f"Render failed: {result.error}")
            return
        self._parts[result.start_index] = result.images
        if result.is_last:
            self.frames = np.concatenate([self._parts[k] for k in sorted(self._parts)])
            self._made = self._pending
            self._show()
            self.export_button.setEnabled(True)

    def _show(self) -> None:
        sheet = strip_sheet(self.frames, gap=2)
        pix = QtGui.QPixmap.fromImage(rgb_to_qimage(sheet))
        width = max(64, self.view.width() - 8)
        self.view.setPixmap(pix.scaled(width, 160, QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation))

    def export(self, path: Path, overwrite: bool = False, lookalike: dict[str, str] | None = None) -> list[Path]:
        """Write the rendered strip with the Export dock's stamp: a sheet (.png/.jpg), an
        animation (.webp/.gif) or, for a path without a suffix, a folder of numbered frames.
        Raises ValueError / OSError / OutputPathError (ExportError; an existing file without
        ``overwrite``) with one sentence."""
        if self.frames is None:
            raise ValueError("render the strip first")
        if self.stamp is None:
            raise ValueError("the strip has no provenance stamp to write; open the Export dock first")
        target = str(path) if Path(path).suffix else str(path).rstrip("/\\") + "/"
        a, b, *_ = self._made
        extra = {"Interpolation": self.describe(),
                 "InterpolationFrom": dumps_strict(a.to_dict(), sort_keys=True, separators=(",", ":")),
                 "InterpolationTo": dumps_strict(b.to_dict(), sort_keys=True, separators=(",", ":"))}
        extra.update(lookalike or {})
        return export_strip(self.frames, target, self.stamp(), ExportOptions(lossless=True), overwrite, extra)

    def describe(self) -> str:
        """What the strip shows, for the exported sheet: ``A seed 1, B seed 2*; layers 0-3;
        8 steps`` (``*``: the face has edits)."""
        a, b, steps, (start, stop) = self._made
        return (f"A seed {a.seed}{'*' if a.edits else ''}, B seed {b.seed}{'*' if b.edits else ''}; "
                f"layers {start}-{stop - 1}; {steps} steps")

    def export_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export strip", "strip.webp", EXPORT_FILTER)
        if not path:
            return
        path, overwrite = Path(path), Path(path).exists()  # the dialog has asked
        fail = partial(QtWidgets.QMessageBox.warning, self, "Cannot export the strip")
        if self.frames is None or self.guarded_exports is None:
            fail("render the strip first" if self.frames is None else "the strip cannot be checked for lookalikes")
            return
        self.guarded_exports.submit(
            list(self.frames), lambda fields: self.export(path, overwrite, fields), path.name or str(path),
            done=lambda written: self.view.setToolTip(f"wrote {len(written)} file(s) to {path.parent}"), fail=fail)
