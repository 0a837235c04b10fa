"""A thin Qt adapter over the measuring thread (:mod:`facestudio.analysis.checker`): the lookalike
checks and the attribute measurements arrive on the GUI thread as signals.

The studio has one bridge for its whole life, like its :class:`~.render_bridge.RenderBridge`.
"""

from __future__ import annotations

from PySide6 import QtCore

from facestudio.analysis.checker import AnalysisWorker, AttributeMeter, LookalikeChecker, find_step


class AnalysisBridge(QtCore.QObject):
    """faceChecked(key, verdict) answers :meth:`check_face`; exportChecked(tag, index, payload,
    verdict) answers :meth:`check_export`; measured(channel, result) answers :meth:`measure`
    (result: :class:`~facestudio.analysis.audit.Measurements` or a sentence); foundStep(search,
    kept) answers :meth:`find_step`."""

    faceChecked = QtCore.Signal(object, object)
    exportChecked = QtCore.Signal(str, int, object, object)
    measured = QtCore.Signal(str, object)
    foundStep = QtCore.Signal(object, object)  # (search, kept faces or a sentence)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = AnalysisWorker()
        self.lookalikes = LookalikeChecker(self.worker, self.faceChecked.emit, self.exportChecked.emit)
        self.attributes = AttributeMeter(self.worker)
        self.set_model = self.lookalikes.set_model
        self.check_face = self.lookalikes.check_face
        self.check_export = self.lookalikes.check_export
        self.shutdown = self.worker.shutdown

    def measure(self, channel: str, images, face_measures: bool = False) -> None:
        """Measure ``images`` (uint8 [N, H, W, 3]; with dlib's measures too when
        ``face_measures``); replaces a waiting request of ``channel``."""
        self.attributes.measure(channel, images, lambda result: self.measured.emit(channel, result), face_measures)

    def find_step(self, search, seeds: list[int], images, allow_lookalikes: bool = False) -> None:
        """Measure the faces of ``seeds`` for ``search`` (:func:`~facestudio.analysis.checker.find_step`)."""
        lookalikes = None if allow_lookalikes else self.lookalikes
        self.worker.urgent(lambda: find_step(self.attributes, lookalikes, search, seeds, images),
                           lambda kept: self.foundStep.emit(search, kept))
