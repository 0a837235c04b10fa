"""What the render worker takes and gives: the requests and batch jobs it queues, the
results it delivers, its counters, and the one sentence an error becomes.

Plain immutable records (a batch job also carries how far it has got); the thread that
serves them is :class:`facestudio.render.worker.RenderWorker`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from facestudio.render.renderer import Renderer
from facestudio.latent.recipe import Recipe


@dataclass(frozen=True, eq=False)
class RenderResult:
    """One finished single render.

    request_id: the id :meth:`RenderWorker.submit` returned; recipe: what was rendered;
    image: uint8 C-contiguous ``[H, W, 3]`` at full size (None on error); level: 0 for a
    full render, ``k > 0`` for a preview computed at ``R / 2**k``; elapsed_ms: wall time of
    the render in milliseconds; error: one sentence when rendering failed, else None.
    """

    request_id: int
    recipe: Recipe
    image: np.ndarray | None
    level: int
    elapsed_ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def is_preview(self) -> bool:
        return self.level > 0


@dataclass(frozen=True, eq=False)
class BatchResult:
    """One finished chunk of a batch.

    tag: the batch's tag; start_index: index of ``images[0]`` in the submitted list;
    images: uint8 ``[n, H, W, 3]`` (None on error); batch_id: the id
    :meth:`RenderWorker.submit_batch` returned; total: length of the submitted list;
    recipes: the ``n`` recipes of this chunk; level: as in :class:`RenderResult`;
    elapsed_ms: wall time of the chunk; error: one sentence when the chunk failed.
    """

    tag: str
    start_index: int
    images: np.ndarray | None
    batch_id: int = 0
    total: int = 0
    recipes: tuple[Recipe, ...] = ()
    level: int = 0
    elapsed_ms: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def stop_index(self) -> int:
        count = len(self.recipes) or (0 if self.images is None else len(self.images))
        return self.start_index + count

    @property
    def is_last(self) -> bool:
        return self.stop_index >= self.total


@dataclass(frozen=True, eq=False)
class WsResult:
    """The ws of a ws job (:meth:`RenderWorker.submit_ws`): tag and job_id as submitted;
    recipes: what was mapped; ws: float32 ``[N, num_ws, w_dim]`` (None on error); error: one
    sentence when mapping failed, else None."""

    tag: str
    job_id: int
    recipes: tuple[Recipe, ...]
    ws: np.ndarray | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class WorkerStats:
    """Counters since the worker started.

    requested: submit calls; replaced: requests superseded while still waiting (never
    rendered); rendered: single renders finished without error (previews included);
    previews: those at level > 0; settled: automatic full renders after a drag; errors:
    single renders that failed; dropped: finished single renders not delivered because a
    newer request existed; delivered: results passed to ``on_result``; batches_requested,
    batches_cancelled, batch_chunks (rendered chunks), batch_errors: the batch side;
    callback_errors: exceptions raised by the callbacks.
    """

    requested: int = 0
    replaced: int = 0
    rendered: int = 0
    previews: int = 0
    settled: int = 0
    errors: int = 0
    dropped: int = 0
    delivered: int = 0
    batches_requested: int = 0
    batches_cancelled: int = 0
    batch_chunks: int = 0
    batch_errors: int = 0
    callback_errors: int = 0


@dataclass(frozen=True)
class Request:
    id: int
    recipe: Recipe
    interactive: bool
    submitted_at: float  # time.monotonic() seconds


@dataclass(frozen=True)
class WsJob:
    id: int
    tag: str
    recipes: tuple[Recipe, ...]


@dataclass
class BatchJob:
    id: int
    tag: str
    recipes: tuple[Recipe, ...]
    level: int
    next_index: int = 0
    make_ws: Callable[[Renderer], np.ndarray] | None = None  # a ws batch instead of recipes
    count: int = 0  # images of a ws batch
    noise: str = "const"
    ws: np.ndarray | None = None  # make_ws's result, computed at the first chunk

    @property
    def size(self) -> int:
        return self.count if self.make_ws is not None else len(self.recipes)


def describe_error(exc: BaseException) -> str:
    """One line for the user: the message of an expected error (ValueError, which includes
    model and direction errors), or the type and first line of an unexpected one."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    if isinstance(exc, ValueError) and message:
        return message
    return f"rendering failed with {type(exc).__name__}: {message}" if message else \
        f"rendering failed with {type(exc).__name__}"
