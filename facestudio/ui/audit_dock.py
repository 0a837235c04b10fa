"""The Audit dock: what the gallery holds in apparent age, gender and skin tone, against the
training data, the measured attributes of the face on the canvas, and the Find panel that
fills the gallery (:mod:`.find_panel`).

The measuring (the bundled attribute classifier, the ITA over the skin patches, and for the
canvas face dlib's measures of expression, head pose and hair: :mod:`.face_readout`) happens
on the window's measuring thread (:class:`~.analysis_bridge.AnalysisBridge`, channels "current"
and "gallery", latest wins); the dock only draws. Faces are measured at the size the model
renders them, never from their 96 px thumbnails (which moved two of six faces measured 60+ into
40-59): whenever a face is added, removed or the gallery is replaced, the gallery's recipes are
rendered again on the render thread (tag ``audit-gallery``) and those renders measured. The
bars are shares: the gallery's beside the training data's (UTKFace's labels for age and
gender, the ITA measured on its photos: ``weights/audit-training.json``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from facestudio.analysis.audit import AuditError, Measurements, read_training_summary, set_statistics
from facestudio.analysis.filters import optional_reference
from facestudio.analysis.groups import AGE_BINS, GENDERS
from facestudio.analysis.skin_tone import TONE_CATEGORIES
from facestudio.errors import FacestudioError
from facestudio.ui.face_readout import readout_html, readout_rows
from facestudio.ui.find_panel import add_find_panel

SET_COLOUR, TRAINING_COLOUR = (214, 96, 77), (66, 146, 198)  # as in the audit report
GALLERY_TAG = "audit-gallery"
MEASURE_SIDE_CAP = 256  # renders larger than this are measured at it (the classifier reads 64 px, dlib 256)


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
    """The dock's widget; :meth:`attach` it to the studio's context (its state, render bridge
    and measuring thread)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        v = QtWidgets.QVBoxLayout(self)
        self.current_label = QtWidgets.QLabel("This face: …")
        self.current_label.setObjectName("audit_current")
        self.current_label.setWordWrap(True)
        self.readout = QtWidgets.QLabel("")
        self.readout.setObjectName("face_readout")
        self.readout.setToolTip("Measured on the face as rendered: expression and head pose from dlib's 68 "
                                "landmarks, hair lightness in CIELAB, age and P(female) from the classifier. "
                                "sd = real-photo spreads from the real photos' median (UTKFace); 'moved' is the "
                                "change since the face measured before, bold from half a spread.")
        self._last_face: dict | None = None
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
        for w in (self.current_label, self.readout, self.summary_label, legend, self.age_bars, self.gender_bars,
                  self.tone_bars, note):
            v.addWidget(w)
        try:
            self.training = read_training_summary()["labels"]
        except (AuditError, FacestudioError, KeyError):
            self.training = None
        self.reference = optional_reference()[0]  # None: the read-out shows raw measures, without spreads
        self.stats: dict | None = None
        self._gallery_images: dict[int, np.ndarray] = {}
        self._gallery_total = 0

    def attach(self, context) -> None:
        self.context = context
        context.analysis.measured.connect(self._on_measured)
        context.bridge.batchReady.connect(self._on_gallery_batch)
        context.state.gallery.events.connect(lambda *_: self.measure_gallery())
        self.measure_gallery()

    # --- requests ------------------------------------------------------------------------------
    def measure_current(self, image: np.ndarray) -> None:
        self.context.analysis.measure("current", np.asarray(image)[None], face_measures=True)

    def measure_gallery(self) -> None:
        """Render the gallery's faces at full size (the render thread) to measure them."""
        recipes = [f.recipe for f in self.context.state.gallery]
        self._gallery_images, self._gallery_total = {}, len(recipes)
        if not recipes or self.context.state.model is None:
            self.context.bridge.cancel_batch(GALLERY_TAG)
            self.stats = None
            self._show_gallery()
            return
        self.context.bridge.submit_batch(recipes, GALLERY_TAG)

    def _on_gallery_batch(self, result) -> None:
        if result.tag != GALLERY_TAG or result.total != self._gallery_total:
            return
        if not result.ok:
            self.stats = None
            self._show_gallery(f"the gallery could not be rendered: {result.error}")
            return
        for k, image in enumerate(result.images):
            self._gallery_images[result.start_index + k] = at_most(image, MEASURE_SIDE_CAP)
        if len(self._gallery_images) == self._gallery_total:
            images = np.stack([self._gallery_images[i] for i in range(self._gallery_total)])
            self._gallery_images = {}
            self.context.analysis.measure("gallery", images)

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
        if result.measures is not None:
            self.readout.setText(readout_html(readout_rows(face, self.reference, self._last_face)))
            self._last_face = face
        else:
            self.readout.setText("<i>Expression, head pose and hair are measured with dlib, which is not "
                                 "installed: pip install 'facestudio[lookalike]'.</i>")

    def _show_gallery(self, problem: str | None = None) -> None:
        training = self.training or {}
        stats = self.stats
        left_out = ""
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


def at_most(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` (uint8 ``[H, W, 3]``) Lanczos-resized to ``side`` when it is larger."""
    if max(image.shape[:2]) <= side:
        return image
    from PIL import Image
    return np.asarray(Image.fromarray(image).resize((side, side), Image.LANCZOS))


def build_audit_dock(window: QtWidgets.QMainWindow, tab_with: QtWidgets.QDockWidget) -> AuditDock:
    """Add the Audit dock to ``window``, tabbed with ``tab_with`` (the Export dock; the
    Directions dock stays in front, :mod:`facestudio.ui.layout`), with its Find panel;
    :meth:`AuditDock.attach` and :meth:`FindPanel.attach` connect them to the studio."""
    panel = AuditDock()
    dock = QtWidgets.QDockWidget("Audit", window)
    dock.setObjectName("dock_audit")
    scroll = QtWidgets.QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(panel)
    dock.setWidget(scroll)
    window.addDockWidget(QtCore.Qt.RightDockWidgetArea, dock)
    window.tabifyDockWidget(tab_with, dock)
    panel.find_panel = add_find_panel(panel.layout())
    return panel
