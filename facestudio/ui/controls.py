"""The latent controls: seed (spin box, random, previous/next), truncation psi and cutoff,
noise mode, the class of conditional models, and the input shift / rotation of StyleGAN3
models.

Emits ``changed(dict)`` with the recipe fields that moved (``seed``, ``psi``, ``cutoff``,
``noise``, ``class_idx``, ``transform``) and ``dragging`` for the psi and transform sliders.
"""

from __future__ import annotations

import random

from PySide6 import QtCore, QtWidgets

from facestudio.latent.noise import NOISE_MODES

MAX_SPIN_SEED = 2**31 - 1  # QSpinBox holds a signed 32-bit int
PSI_STEPS = 100
NOISE_LABELS = {"const": "constant"}  # the others show as their name
SHIFT_STEPS = 100  # slider steps per unit of shift (the image spans about one unit)
MAX_SHIFT = 0.5
# Combos are read by index: QComboBox.currentData() mishandles None's refcount in PySide6.


class LatentControls(QtWidgets.QWidget):
    changed = QtCore.Signal(dict, bool)  # fields, dragging
    dragFinished = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        seed_row = QtWidgets.QHBoxLayout()
        self.seed_spin = QtWidgets.QSpinBox()
        self.seed_spin.setRange(0, MAX_SPIN_SEED)
        self.seed_spin.setObjectName("seed_spin")
        self.prev_button = QtWidgets.QToolButton(text="◀")
        self.next_button = QtWidgets.QToolButton(text="▶")
        self.random_button = QtWidgets.QPushButton("Random")
        self.random_button.setToolTip("A new random seed (Space)")
        for w in (self.prev_button, self.seed_spin, self.next_button, self.random_button):
            seed_row.addWidget(w)
        form.addRow("Seed", seed_row)

        psi_row = QtWidgets.QHBoxLayout()
        self.psi_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.psi_slider.setRange(-PSI_STEPS, 2 * PSI_STEPS)
        self.psi_spin = QtWidgets.QDoubleSpinBox()
        self.psi_spin.setRange(-1.0, 2.0)
        self.psi_spin.setSingleStep(0.05)
        self.psi_spin.setDecimals(2)
        psi_row.addWidget(self.psi_slider, 1)
        psi_row.addWidget(self.psi_spin)
        form.addRow("Truncation ψ", psi_row)
        self.cutoff_spin = QtWidgets.QSpinBox()
        self.cutoff_spin.setSpecialValueText("all layers")
        self.cutoff_spin.setToolTip("Truncate only the first N layers")
        form.addRow("Cutoff", self.cutoff_spin)
        self.noise_combo = QtWidgets.QComboBox()
        self.noise_combo.addItems([NOISE_LABELS.get(mode, mode) for mode in NOISE_MODES])
        form.addRow("Noise", self.noise_combo)
        self.class_combo = QtWidgets.QComboBox()
        self.class_label = QtWidgets.QLabel("Class")
        form.addRow(self.class_label, self.class_combo)
        self.transform_box = QtWidgets.QWidget()
        transform_form = QtWidgets.QFormLayout(self.transform_box)
        transform_form.setContentsMargins(0, 0, 0, 0)
        self.shift_x_slider, self.shift_y_slider, self.rotate_slider = (
            QtWidgets.QSlider(QtCore.Qt.Horizontal) for _ in range(3))
        for slider, label, limit in ((self.shift_x_slider, "Shift x", MAX_SHIFT * SHIFT_STEPS),
                                     (self.shift_y_slider, "Shift y", MAX_SHIFT * SHIFT_STEPS),
                                     (self.rotate_slider, "Rotate °", 180)):
            slider.setRange(-int(limit), int(limit))
            slider.setToolTip("StyleGAN3 only: moves the input features before synthesis")
            transform_form.addRow(label, slider)
            slider.valueChanged.connect(self._on_transform_slider)
            slider.sliderReleased.connect(lambda: self.dragFinished.emit("transform"))
        form.addRow(self.transform_box)
        self.set_model(num_ws=18, c_dim=0)

        self.prev_button.clicked.connect(lambda: self._emit({"seed": max(0, self.seed_spin.value() - 1)}))
        self.next_button.clicked.connect(lambda: self._emit({"seed": min(MAX_SPIN_SEED, self.seed_spin.value() + 1)}))
        self.random_button.clicked.connect(self.random_seed)
        self.seed_spin.valueChanged.connect(lambda v: self._emit({"seed": v}))
        self.psi_slider.valueChanged.connect(self._on_psi_slider)
        self.psi_slider.sliderReleased.connect(lambda: self.dragFinished.emit("psi"))
        self.psi_spin.valueChanged.connect(lambda v: self._emit({"psi": round(v, 2)}))
        self.cutoff_spin.valueChanged.connect(lambda v: self._emit({"cutoff": v or None}))
        self.noise_combo.currentIndexChanged.connect(lambda i: self._emit({"noise": NOISE_MODES[i]}))
        self.class_combo.currentIndexChanged.connect(self._on_class)

    def set_model(self, num_ws: int, c_dim: int, transform: bool = False) -> None:
        """Fit the controls to a model; ``transform``: show the StyleGAN3 shift / rotation."""
        self.transform_box.setVisible(transform)
        self.cutoff_spin.blockSignals(True)
        self.cutoff_spin.setRange(0, num_ws)
        self.cutoff_spin.blockSignals(False)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        for i in range(c_dim):
            self.class_combo.addItem(f"class {i}")
        self.class_combo.blockSignals(False)
        self.class_combo.setVisible(c_dim > 0)
        self.class_label.setVisible(c_dim > 0)

    def sync(self, seed: int, psi: float, cutoff: int | None, noise: str, class_idx: int | None,
             transform: tuple[float, float, float] | None = None) -> None:
        """Show a recipe's values without emitting signals."""
        widgets = (self.seed_spin, self.psi_slider, self.psi_spin, self.cutoff_spin, self.noise_combo,
                   self.class_combo, self.shift_x_slider, self.shift_y_slider, self.rotate_slider)
        for w in widgets:
            w.blockSignals(True)
        self.seed_spin.setValue(min(seed, MAX_SPIN_SEED))
        self.psi_slider.setValue(round(psi * PSI_STEPS))
        self.psi_spin.setValue(psi)
        self.cutoff_spin.setValue(cutoff or 0)
        self.noise_combo.setCurrentIndex(NOISE_MODES.index(noise))
        if class_idx is not None and class_idx < self.class_combo.count():
            self.class_combo.setCurrentIndex(class_idx)
        tx, ty, angle = transform or (0.0, 0.0, 0.0)
        self.shift_x_slider.setValue(round(tx * SHIFT_STEPS))
        self.shift_y_slider.setValue(round(ty * SHIFT_STEPS))
        self.rotate_slider.setValue(round(angle))
        for w in widgets:
            w.blockSignals(False)

    def random_seed(self) -> None:
        self._emit({"seed": random.randint(0, MAX_SPIN_SEED)})

    def _on_psi_slider(self, value: int) -> None:
        psi = value / PSI_STEPS
        self.psi_spin.blockSignals(True)
        self.psi_spin.setValue(psi)
        self.psi_spin.blockSignals(False)
        self._emit({"psi": psi}, self.psi_slider.isSliderDown())

    def _on_transform_slider(self, _value: int) -> None:
        tx = self.shift_x_slider.value() / SHIFT_STEPS
        ty = self.shift_y_slider.value() / SHIFT_STEPS
        angle = float(self.rotate_slider.value())
        dragging = any(s.isSliderDown() for s in (self.shift_x_slider, self.shift_y_slider,
                                                  self.rotate_slider))
        self._emit({"transform": (tx, ty, angle) if (tx, ty, angle) != (0, 0, 0) else None},
                   dragging)

    def _on_class(self, index: int) -> None:
        if index >= 0:
            self._emit({"class_idx": index})

    def _emit(self, fields: dict, dragging: bool = False) -> None:
        self.changed.emit(fields, dragging)
