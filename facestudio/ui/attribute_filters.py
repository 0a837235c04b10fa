"""The attribute filters as combo boxes (smile, mouth open, eyes open, head turn, head nod,
hair), shared by the Find panel and the Library tab; what each choice means is
:mod:`facestudio.analysis.filters`' (sides set from the real photos' percentiles, with the
default margin). Without ``weights/measures.json`` the combos are disabled and say why.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from facestudio.analysis.filters import DEFAULT_MARGIN, FILTERS, MeasureBound, optional_reference, read_reference, resolve

ANY = "any"


class AttributeCombos(QtCore.QObject):
    """One combo per filter (``combos[key]``, "any" first, then the sides); ``changed`` on any
    change."""

    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.reference, problem = optional_reference()
        self.combos: dict[str, QtWidgets.QComboBox] = {}
        for f in FILTERS:
            combo = QtWidgets.QComboBox()
            combo.setObjectName(f"filter_{f.key}")
            combo.addItem(ANY)
            for side, words in zip(f.sides, f.words):
                combo.addItem(side)
                combo.setItemData(combo.count() - 1, words, QtCore.Qt.ToolTipRole)
            combo.setToolTip(problem or f"{f.label}: keep only faces clearly on this side (by more than "
                             f"{DEFAULT_MARGIN} real-photo spreads; dlib measures each face, about 10 ms)")
            combo.setEnabled(self.reference is not None)
            combo.currentIndexChanged.connect(self.changed)
            self.combos[f.key] = combo

    def add_rows(self, form: QtWidgets.QFormLayout) -> None:
        for f in FILTERS:
            form.addRow(f.label, self.combos[f.key])

    def add_to(self, layout: QtWidgets.QBoxLayout) -> None:
        """Each combo with a short label, in a row (the Library tab's filter bar)."""
        for f in FILTERS:
            layout.addWidget(QtWidgets.QLabel(f.label))
            layout.addWidget(self.combos[f.key])

    def bounds(self) -> tuple[MeasureBound, ...]:
        """The bounds chosen (FilterError when the reference is missing and one was chosen)."""
        chosen = [(key, c.currentText()) for key, c in self.combos.items() if c.currentText() != ANY]
        if not chosen:
            return ()
        if self.reference is None:
            read_reference()  # raises the sentence why
        return tuple(resolve(key, side, DEFAULT_MARGIN, self.reference) for key, side in chosen)
