"""A thin Qt adapter over the render worker: results arrive on the GUI thread as signals.

A window has one bridge for its whole life; opening another model hands the bridge its
renderer (:meth:`RenderBridge.set_renderer`), so whoever listens to ``frameReady`` and
``batchReady`` connects once. The GUI thread never calls the renderer itself: frames,
batches and ws (:meth:`RenderBridge.map_ws`) come back from the worker, and the
directions the renderer uses are snapshots of the studio's direction catalogue, handed on
whenever it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6 import QtCore

from facestudio.render.jobs import WsResult
from facestudio.render.worker import DEFAULT_SETTLE_SECONDS, RenderWorker


class RenderBridge(QtCore.QObject):
    """Owns the :class:`RenderWorker` of the current renderer; its callbacks (on the worker
    thread) become signals, which Qt queues to the GUI thread. Before the first renderer,
    requests are dropped. ``directions``: the studio's
    :class:`~facestudio.session.direction_catalogue.DirectionCatalogue`, whose snapshots the
    worker renders with (None: the renderer keeps its own)."""

    frameReady = QtCore.Signal(object)   # RenderResult
    batchReady = QtCore.Signal(object)   # BatchResult
    wsReady = QtCore.Signal(object)      # WsResult

    def __init__(self, parent=None, settle_seconds: float = DEFAULT_SETTLE_SECONDS, directions=None):
        super().__init__(parent)
        self.settle_seconds = settle_seconds
        self.worker: RenderWorker | None = None
        self._ws_callbacks: dict[str, Callable[[WsResult], None]] = {}  # by tag, unique for the bridge's life
        self._ws_asked = 0
        self.wsReady.connect(self._on_ws)
        self.catalogue = directions
        if directions is not None:
            directions.events.connect(self._on_directions)

    def set_renderer(self, renderer) -> None:
        """Render with ``renderer`` from now on: the old worker stops (its waiting work and
        unfinished batches are dropped) and a new one owns ``renderer``."""
        self.shutdown()
        self._ws_callbacks.clear()
        self.worker = RenderWorker(renderer, on_result=self.frameReady.emit,
                                   on_batch_result=self.batchReady.emit, on_ws_result=self.wsReady.emit,
                                   settle_seconds=self.settle_seconds)

    def _on_directions(self, _kind: str, catalogue) -> None:
        """The catalogue changed: the worker renders with its new snapshot (once it holds
        the catalogue's model; the model's own renderer comes first when one is opened)."""
        if self.worker is not None and catalogue.model.sha256 == self.worker.renderer.generator.sha256:
            self.worker.set_directions(catalogue.known())

    def submit(self, recipe, interactive: bool = False) -> int:
        return self.worker.submit(recipe, interactive=interactive) if self.worker else 0

    def submit_batch(self, recipes, tag: str) -> None:
        if self.worker is not None:
            self.worker.submit_batch(recipes, tag)

    def submit_ws_batch(self, make_ws, count: int, tag: str = "ws", noise: str = "const", level: int = 0) -> None:
        if self.worker is not None:
            self.worker.submit_ws_batch(make_ws, count, tag, noise, level)

    def map_ws(self, recipes: Sequence, on_ws: Callable[[WsResult], None]) -> bool:
        """Have the worker map ``recipes``; ``on_ws(result)`` is called on the GUI thread
        with their ws ``[N, num_ws, w_dim]`` (or an error). False when there is no worker."""
        if self.worker is None:
            return False
        self._ws_asked += 1
        tag = f"ws-{self._ws_asked}"
        self._ws_callbacks[tag] = on_ws
        self.worker.submit_ws(recipes, tag)
        return True

    def _on_ws(self, result: WsResult) -> None:
        callback = self._ws_callbacks.pop(result.tag, None)
        if callback is not None:  # None: asked of a worker since replaced
            callback(result)

    def cancel_batch(self, tag: str) -> None:
        if self.worker is not None:
            self.worker.cancel_batch(tag)

    def shutdown(self) -> None:
        """Stop the worker and wait for its thread (safe to call twice)."""
        if self.worker is not None:
            self.worker.shutdown()
