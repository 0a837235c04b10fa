"""A thin Qt adapter over the render worker: results arrive on the GUI thread as signals.

A window has one bridge for its whole life; opening another model hands the bridge its
renderer (:meth:`RenderBridge.set_renderer`), so whoever listens to ``frameReady`` and
``batchReady`` connects once.
"""

from __future__ import annotations

from PySide6 import QtCore

from facestudio.render.worker import DEFAULT_SETTLE_SECONDS, RenderWorker


class RenderBridge(QtCore.QObject):
    """Owns the :class:`RenderWorker` of the current renderer; its callbacks (on the worker
    thread) become signals, which Qt queues to the GUI thread. Before the first renderer,
    requests are dropped."""

    frameReady = QtCore.Signal(object)   # RenderResult
    batchReady = QtCore.Signal(object)   # BatchResult

    def __init__(self, parent=None, settle_seconds: float = DEFAULT_SETTLE_SECONDS):
        super().__init__(parent)
        self.settle_seconds = settle_seconds
        self.worker: RenderWorker | None = None

    def set_renderer(self, renderer) -> None:
        """Render with ``renderer`` from now on: the old worker stops (its waiting work and
        unfinished batches are dropped) and a new one owns ``renderer``."""
        self.shutdown()
        self.worker = RenderWorker(renderer, on_result=self.frameReady.emit,
                                   on_batch_result=self.batchReady.emit,
                                   settle_seconds=self.settle_seconds)

    def submit(self, recipe, interactive: bool = False) -> int:
        return self.worker.submit(recipe, interactive=interactive) if self.worker else 0

    def submit_batch(self, recipes, tag: str) -> None:
        if self.worker is not None:
            self.worker.submit_batch(recipes, tag)

    def submit_ws_batch(self, make_ws, count: int, tag: str = "ws", noise: str = "const", level: int = 0) -> None:
        if self.worker is not None:
            self.worker.submit_ws_batch(make_ws, count, tag, noise, level)

    def cancel_batch(self, tag: str) -> None:
        if self.worker is not None:
            self.worker.cancel_batch(tag)

    def shutdown(self) -> None:
        """Stop the worker and wait for its thread (safe to call twice)."""
        if self.worker is not None:
            self.worker.shutdown()
