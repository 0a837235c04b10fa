"""A thin Qt adapter over the render worker: results arrive on the GUI thread as signals."""

from __future__ import annotations

from PySide6 import QtCore

from facestudio.render.worker import RenderWorker


class RenderBridge(QtCore.QObject):
    """Owns a :class:`RenderWorker`; its callbacks (on the worker thread) become signals,
    which Qt queues to the GUI thread."""

    frameReady = QtCore.Signal(object)   # RenderResult
    batchReady = QtCore.Signal(object)   # BatchResult

    def __init__(self, renderer, parent=None, settle_seconds: float = 0.15):
        super().__init__(parent)
        self.worker = RenderWorker(renderer, on_result=self.frameReady.emit,
                                   on_batch_result=self.batchReady.emit,
                                   settle_seconds=settle_seconds)

    def submit(self, recipe, interactive: bool = False) -> int:
        return self.worker.submit(recipe, interactive=interactive)

    def submit_batch(self, recipes, tag: str) -> None:
        self.worker.submit_batch(recipes, tag)

    def shutdown(self) -> None:
        self.worker.shutdown()
