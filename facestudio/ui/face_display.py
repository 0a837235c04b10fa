"""Showing the current face: the render worker's frames on the canvas, the render time, a
banner when rendering failed, and the lookalike badge of every full frame.

:class:`FaceDisplay` listens to the render bridge's ``frameReady``; each full frame (level
0) is sent to the measuring thread for the badge and announced as ``fullFrame(image)`` (the
Audit dock measures it), and the first one as ``firstFrameShown``.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from facestudio.ui.canvas import FaceCanvas
from facestudio.ui.context import StudioContext
from facestudio.ui.lookalike_check import LookalikeBadge


class FaceDisplay(QtCore.QObject):
    firstFrameShown = QtCore.Signal()
    fullFrame = QtCore.Signal(object)  # uint8 [H, W, 3], every full frame shown

    def __init__(self, context: StudioContext, canvas: FaceCanvas, banner: QtWidgets.QLabel,
                 time_label: QtWidgets.QLabel, badge: LookalikeBadge):
        super().__init__(context.parent)
        self.analysis = context.analysis
        self.canvas, self.banner, self.time_label, self.badge = canvas, banner, time_label, badge
        self.frames_shown = 0
        self._first_frame = False
        self._badge_key = None
        context.bridge.frameReady.connect(self._on_frame)
        context.analysis.faceChecked.connect(self._on_face_checked)

    def _on_frame(self, result) -> None:
        if result.error:
            self.banner.setText(f"Render failed: {result.error}")
            self.banner.show()
            return
        self.canvas.show_image(result.image)
        self.frames_shown += 1
        kind = "preview" if result.level else "full"
        self.time_label.setText(f"{kind} {result.elapsed_ms:.0f} ms")
        if result.level == 0:
            self.banner.hide()
            self._badge_key = result.request_id
            self.badge.checking()
            self.analysis.check_face(result.request_id, result.image)
            self.fullFrame.emit(result.image)
            if not self._first_frame:
                self._first_frame = True
                self.firstFrameShown.emit()

    def _on_face_checked(self, key, verdict) -> None:
        if key == self._badge_key:  # an answer about a face already replaced is not shown
            self.badge.show_verdict(verdict)
