"""The Audit dock: what the gallery holds in apparent age, gender and skin tone, against the
training data, the measured attributes of the face on the canvas, and the Find panel that
fills the gallery (:mod:`.find_panel`).

The measuring (the bundled attribute classifier, the ITA over the skin patches) happens on the
window's measuring thread (:class:`~.analysis_bridge.AnalysisBridge`, channels "current" and
"gallery", latest wins); the dock only draws. The gallery is measured from its thumbnails
whenever a face is added, removed or the gallery is replaced; faces without a thumbnail are
left out and counted. The bars are shares: the gallery's beside the training data's (UTKFace's
labels for age and gender, the ITA measured on its photos: ``weights/audit-training.json``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.analysis.audit import AuditError, Measurements, read_training_summary, set_statistics
from facestudio.analysis.groups import AGE_BINS, GENDERS
from facestudio.analysis.skin_tone import TONE_CATEGORIES
from facestudio.errors import FacestudioError
from facestudio.ui.find_panel import attach_find_panel

SET_COLOUR, TRAINING_COLOUR = (214, 96, 77), (66, 146, 198)  # as in the audit report


def decode_thumbnail(png: bytes) -> np.ndarray | None:
    """A gallery thumbnail (PNG bytes) as uint8 RGB ``[H, W, 3]``, None when it cannot be read."""
    image = QtGui.QImage.fromData(png, "PNG")
    if image.isNull():
        return None
    image = image.convertToFormat(QtGui.QImage.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, stride)[:, :w * 3].reshape(h, w, 3).copy()


class ShareBars(pg.PlotWidget):
    """Two sets of bars over named bins, in percent: the set's shares and the training data's."""

    def __init__(self, title: str, names: tuple[str, ...]):
        super().__init__()
        self.names = names
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setTitle(title, size="9pt")
        self.setFixedHeight(170)
        axis = self.getAxis("bottom")
        axis.setTicks([[(i, n) for i, n in enumerate(names)]])
        left = self.getAxis("left")
        left.enableAutoSIPrefix(False)
        left.setLabel("%")
        self.setYRange(0, 100)
        self.bars: list[pg.BarGraphItem] = []

    def show_shares(self, shares: dict[str, float] | None, training: dict[str, float] | None) -> None:
        for item in self.bars:
            self.removeItem(item)
        self.bars = []
        x = np.arange(len(self.names), dtype=float)
        top = 5.0
        for values, offset, colour in ((training, 0.2, TRAINING_COLOUR), (shares, -0.2, SET_COLOUR)):
            if values is None:
                continue
            heights = [100 * float(values.get(n, 0.0)) for n in self.names]
            top = max(top, *heights)
            item = pg.BarGraphItem(x=x + offset, height=heights, width=0.38, brush=pg.mkBrush(*colour), pen=None)
            self.addItem(item)
            self.bars.append(item)
        self.setYRange(0, min(100.0, top * 1.15))


class AuditDock(QtWidgets.QWidget):
    """The dock's widget; :meth:`attach` it to the window (its state and analysis bridge)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        v = QtWidgets.QVBoxLayout(self)
        self.current_label = QtWidgets.QLabel("This face: …")
        self.current_label.setObjectName("audit_current")
        self.current_label.setWordWrap(True)
        self.summary_label = QtWidgets.QLabel("Gallery: no faces yet")
        self.summary_label.setObjectName("audit_summary")
        self.summary_label.setWordWrap(True)
        legend = QtWidgets.QLabel(f"<span style='color:rgb{SET_COLOUR}'>■</span> gallery &nbsp; "
                                  f"<span style='color:rgb{TRAINING_COLOUR}'>■</span> training data (UTKFace)")
        self.age_bars = ShareBars("apparent age (years)", AGE_BINS)
        self.gender_bars = ShareBars("gender (classifier)", GENDERS)
        self.tone_bars = ShareBars("skin tone (ITA)", TONE_CATEGORIES)
        note = QtWidgets.QLabel("Age and gender are a classifier's estimates: off by 5.7 years on average, "
                                "much more past 60 (weights/attributes.json); skin tone moves with lighting.")
        note.setWordWrap(True)
        note.setStyleSheet("color:gray;")
        for w in (self.current_label, self.summary_label, legend, self.age_bars, self.gender_bars,
                  self.tone_bars, note):
            v.addWidget(w)
        try:
            self.training = read_training_summary()["labels"]
        except (AuditError, FacestudioError, KeyError):
            self.training = None
        self.stats: dict | None = None

    def attach(self, window) -> None:
        self.window = window
        window.analysis.measured.connect(self._on_measured)
        window.state.gallery.events.connect(lambda *_: self.measure_gallery())
        self.measure_gallery()

    # --- requests ------------------------------------------------------------------------------
    def measure_current(self, image: np.ndarray) -> None:
        self.window.analysis.measure("current", np.asarray(image)[None])

    def measure_gallery(self) -> None:
        thumbs = [decode_thumbnail(f.thumbnail) if f.thumbnail else None for f in self.window.state.gallery]
        faces = [t for t in thumbs if t is not None]
        self._left_out = len(thumbs) - len(faces)
        if not faces:
            self.stats = None
            self._show_gallery()
            return
        side = min(min(t.shape[:2]) for t in faces)
        self.window.analysis.measure("gallery", np.stack([t[:side, :side] for t in faces]))

    # --- answers -------------------------------------------------------------------------------
    def _on_measured(self, channel: str, result) -> None:
        if channel == "current":
            self._show_current(result)
        elif channel == "gallery":
            self.stats = set_statistics(result) if isinstance(result, Measurements) and len(result) else None
            self._show_gallery(None if isinstance(result, Measurements) else str(result))

    def _show_current(self, result) -> None:
        if not isinstance(result, Measurements):
            self.current_label.setText(f"This face: not measured ({result})")
            return
        face = result.face(0)
        self.current_label.setText(f"<b>This face:</b> about {face['age']:.0f} years ({face['age_bin']}), "
                                   f"P(female) {face['p_female']:.2f}, skin tone {face['tone']} "
                                   f"(ITA {face['ita']:.0f}°)")

    def _show_gallery(self, problem: str | None = None) -> None:
        training = self.training or {}
        stats = self.stats
        left_out = f"; {self._left_out} without a thumbnail left out" if getattr(self, "_left_out", 0) else ""
        if problem:
            self.summary_label.setText(f"Gallery: not measured ({problem})")
        elif stats is None:
            self.summary_label.setText(f"Gallery: no faces to measure yet{left_out}")
        else:
            diversity = stats["diversity"]["normalised_joint_entropy"]
            reference = training.get("diversity", {}).get("normalised_joint_entropy")
            than = f" (training data {reference:.2f})" if reference is not None else ""
            self.summary_label.setText(
                f"<b>Gallery: {stats['count']} faces</b>{left_out}. Mean age {stats['age']['mean']:.0f}, "
                f"{100 * stats['female_share']:.0f} % female, diversity {diversity:.2f}{than} "
                f"(normalised entropy of the age × gender × tone bins)")
        gender = lambda s: {"female": s["female_share"], "male": 1 - s["female_share"]}  # noqa: E731
        self.age_bars.show_shares(stats["age"]["bins"] if stats else None, training.get("age", {}).get("bins"))
        self.gender_bars.show_shares(gender(stats) if stats else None, gender(training) if training else None)
        self.tone_bars.show_shares(stats["skin_tone"]["bins"] if stats else None,
                                   training.get("skin_tone", {}).get("bins"))


def install_audit_dock(window) -> AuditDock:
    """Add the Audit dock (tabbed with the Directions and Export docks) to ``window``."""
    panel = AuditDock()
    dock = QtWidgets.QDockWidget("Audit", window)
    dock.setObjectName("dock_audit")
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(panel)
    dock.setWidget(scroll)
    window.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
    window.tabifyDockWidget(window.export_dock, dock)  # the Directions dock stays in front (ui.layout)
    panel.attach(window)
    panel.find_panel = attach_find_panel(window, panel.layout())
    return panel
