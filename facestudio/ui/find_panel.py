"""The Find panel (in the Audit dock): fills the gallery with faces of a measured apparent age,
gender (with a confidence), skin tone, expression, head pose and hair, as ``facestudio find``
does (the same filters: :mod:`facestudio.analysis.filters`).

Seeds are tried in order from the current seed, 64 at a time, at the current face's psi: the
render worker renders a batch (tag ``find``), the measuring thread measures it and feeds the
:class:`~facestudio.analysis.selection.Search` (leaving out faces that resemble a training
photo unless the Export dock allows them), and the faces kept join the gallery as they come.
The search stops when enough are kept, at the try limit (saying how many it found and how
many tries that took) or when the user presses Cancel; a progress bar counts the faces kept.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from facestudio.analysis.filters import DEFAULT_CONFIDENCE, FilterError
from facestudio.analysis.selection import Criteria, Search
from facestudio.analysis.skin_tone import TONE_CATEGORIES
from facestudio.ui.attribute_filters import AttributeCombos

TAG = "find"
MAX_COUNT, MAX_TRIES = 500, 100_000
ANY = "any"


class FindPanel(QtWidgets.QWidget):
    """The controls; :meth:`attach` connects them to the studio's context (its state and
    gallery, the render bridge, the measuring thread, whether lookalikes are allowed)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        self.age_from, self.age_to = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for spin, value in ((self.age_from, 0), (self.age_to, 120)):
            spin.setRange(0, 120)
            spin.setValue(value)
            spin.setSuffix(" y")
        ages = QtWidgets.QHBoxLayout()
        ages.addWidget(self.age_from)
        ages.addWidget(QtWidgets.QLabel("to"))
        ages.addWidget(self.age_to)
        self.gender_combo = QtWidgets.QComboBox()
        self.gender_combo.addItems([ANY, "female", "male"])
        self.confidence_spin = QtWidgets.QDoubleSpinBox()
        self.confidence_spin.setRange(0.5, 0.99)
        self.confidence_spin.setSingleStep(0.05)
        self.confidence_spin.setValue(DEFAULT_CONFIDENCE)
        self.confidence_spin.setToolTip("A face counts as female when the classifier's P(female) is at least "
                                        "this, as male when it is at most 1 minus this")
        gender = QtWidgets.QHBoxLayout()
        gender.addWidget(self.gender_combo, 1)
        gender.addWidget(QtWidgets.QLabel("sure"))
        gender.addWidget(self.confidence_spin)
        self.attributes = AttributeCombos()
        self.tone_combo = QtWidgets.QComboBox()
        self.tone_combo.addItems([ANY, *TONE_CATEGORIES])
        self.count_spin = QtWidgets.QSpinBox()
        self.count_spin.setRange(1, MAX_COUNT)
        self.count_spin.setValue(8)
        self.tries_spin = QtWidgets.QSpinBox()
        self.tries_spin.setRange(64, MAX_TRIES)
        self.tries_spin.setSingleStep(1000)
        self.tries_spin.setValue(5000)
        self.find_button = QtWidgets.QPushButton("Find faces")
        self.find_button.setObjectName("find_button")
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName("find_status")
        self.status.setWordWrap(True)
        form.addRow("Apparent age", ages)
        form.addRow("Gender", gender)
        form.addRow("Skin tone", self.tone_combo)
        self.attributes.add_rows(form)
        form.addRow("Faces", self.count_spin)
        form.addRow("Try at most", self.tries_spin)
        form.addRow(self.find_button)
        form.addRow(self.status)
        self.progress = QtWidgets.QProgressBar()  # faces kept of those asked for; Cancel stops
        self.progress.setObjectName("find_progress")
        self.progress.setFormat("%v of %m faces")
        self.progress.hide()
        form.addRow(self.progress)
        self.search: Search | None = None
        self.context = None

    def attach(self, context) -> None:
        self.context = context
        self.find_button.clicked.connect(self.toggle)
        context.bridge.batchReady.connect(self._on_batch)
        context.analysis.foundStep.connect(self._on_step)

    def criteria(self) -> Criteria:
        lo, hi = self.age_from.value(), self.age_to.value()
        if lo > hi:
            raise ValueError(f"the age range {lo}-{hi} is reversed: write the lower age first")
        gender = self.gender_combo.currentText()
        tone = self.tone_combo.currentIndex() - 1
        try:
            bounds = self.attributes.bounds()
        except FilterError as exc:
            raise ValueError(str(exc)) from None
        return Criteria(age=None if (lo, hi) == (0, 120) else (float(lo), float(hi) + 1),
                        gender=None if gender == ANY else gender, tone=None if tone < 0 else tone,
                        confidence=round(self.confidence_spin.value(), 2) if gender != ANY else Criteria.confidence,
                        bounds=bounds)

    # --- running -------------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.search is not None:
            self.stop("Cancelled")
        else:
            self.start()

    def start(self) -> bool:
        state = self.context.state
        if state.model is None or state.recipe is None:
            self.status.setText("Open a model first.")
            return False
        try:
            criteria = self.criteria()
        except ValueError as exc:
            self.status.setText(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return False
        self.base = state.recipe.replace(edits=(), mix=None)
        self.search = Search(criteria, self.count_spin.value(), self.tries_spin.value(), first_seed=self.base.seed)
        self.found = 0
        self.find_button.setText("Cancel")
        self.progress.setRange(0, self.count_spin.value())
        self.progress.setValue(0)
        self.progress.show()
        self._next()
        return True

    def stop(self, why: str) -> None:
        if self.search is not None:
            self.context.bridge.cancel_batch(TAG)
        self.search = None
        self.find_button.setText("Find faces")
        self.progress.hide()
        self.status.setText(why)

    def _next(self) -> None:
        search = self.search
        r = search.result
        self.status.setText(f"Tried {r.tries:,} seeds, kept {len(r.kept)} of {sum(p.quota for p in r.bins.values())} "
                            f"faces {search.criteria.describe()}…")
        self._seeds = search.next_seeds()
        self._images: dict[int, np.ndarray] = {}
        self.context.bridge.submit_batch([self.base.replace(seed=s) for s in self._seeds], TAG)

    def _on_batch(self, result) -> None:
        if result.tag != TAG or self.search is None:
            return
        if not result.ok:
            self.stop(f"Rendering failed: {result.error}")
            return
        for k, image in enumerate(result.images):
            self._images[result.start_index + k] = image
        if len(self._images) == len(self._seeds):
            images = np.stack([self._images[i] for i in range(len(self._seeds))])
            allowed = self.context.lookalikes_allowed()
            self.context.analysis.find_step(self.search, self._seeds, images, allowed)

    def _on_step(self, search, kept) -> None:
        if search is not self.search:
            return
        if isinstance(kept, str):
            self.stop(f"Cannot measure the faces: {kept}")
            return
        from facestudio.ui.gallery_dock import png_thumbnail
        for seed, image, _face in kept:
            self.context.state.gallery.add(self.base.replace(seed=seed), thumbnail=png_thumbnail(image))
        self.found += len(kept)
        self.progress.setValue(len(search.result.kept))
        if not search.done:
            self._next()
            return
        r = search.result
        left = f"; {len(r.left_out)} that resemble a training photo were left out" if r.left_out else ""
        if r.complete:
            self.stop(f"Found {len(r.kept)} faces {search.criteria.describe()} in {r.tries:,} tries{left}.")
        else:
            self.stop(f"Gave up after {r.tries:,} tries with {len(r.kept)} faces {search.criteria.describe()}: "
                      f"the model rarely makes them at psi {self.base.psi:g}{left}.")


def add_find_panel(layout: QtWidgets.QBoxLayout) -> FindPanel:
    """A Find panel under a heading in ``layout``; :meth:`FindPanel.attach` connects it."""
    box = QtWidgets.QGroupBox("Find faces for the gallery")
    v = QtWidgets.QVBoxLayout(box)
    panel = FindPanel()
    v.addWidget(panel)
    layout.addWidget(box)
    return panel
