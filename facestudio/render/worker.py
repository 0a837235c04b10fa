"""The render worker: one long-lived plain thread that owns the renderer.

Callers (the GUI thread, the CLI, tests) send immutable requests and never wait:

* :meth:`RenderWorker.submit` sends one recipe and returns its request id. A request
  replaces any request still waiting (latest wins). ``interactive=True`` (a slider being
  dragged) renders a cheap preview at ``preview_level`` (by default chosen from the model's
  cost and the measured speed: :mod:`facestudio.render.preview_levels`); when no new request arrives for
  ``settle_seconds`` after it, the worker renders the same recipe at full resolution by
  itself and delivers it with the same request id and ``level == 0``.
* :meth:`RenderWorker.submit_ws` asks for the ws of some recipes (the GUI thread never maps
  a seed itself): they are mapped before any batch chunk, and delivered to ``on_ws_result``
  as a :class:`~facestudio.render.jobs.WsResult`, in the order asked.
* :meth:`RenderWorker.set_directions` hands the renderer an immutable snapshot of the
  directions recipes may use: one reference swapped whole, which each recipe's mapping reads
  once, so a render never sees half of one set and half of another.
* :meth:`RenderWorker.submit_batch` sends many recipes (a comparison grid, gallery
  thumbnails) under a tag. They are rendered in chunks of ``batch_chunk`` images (by
  default the renderer's ``batch_size``, one face per chunk for a 256 px model); before
  every chunk a waiting single request is served first, and while an interactive request
  is settling the batch waits, so a grid never blocks a slider. A newer batch with the same
  tag cancels what is left of the older one, and finished chunks of a cancelled batch are
  not delivered.

Delivery rules (the design's "Threads" section): results are delivered in request order
and never go backwards. A finished single render whose request is no longer the newest is
dropped, except an interactive frame superseded by another interactive request, which is
still shown so that a drag faster than the renderer gives live feedback. An exception while
rendering becomes a result with ``error`` set to one sentence and ``image=None``; the
worker keeps running.

Callbacks run **on the worker thread**. They must be quick and must not touch widgets: the
Qt adapter in ``facestudio/ui`` re-emits each result as a Qt signal (a queued connection
delivers it on the GUI thread). Callbacks may call :meth:`submit` again. An exception in a
callback is logged and otherwise ignored.

The records it queues and delivers (requests, batch jobs, results, counters) are in
:mod:`facestudio.render.jobs`; this module is the thread and its scheduling.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np

from facestudio.latent.recipe import Recipe
from facestudio.latent.directions import Direction
from facestudio.render.jobs import (BatchJob, BatchResult, RenderResult, Request, WorkerStats, WsJob, WsResult,
                                    describe_error)
from facestudio.render.preview_levels import PreviewLevelChooser
from facestudio.render.renderer import Renderer

log = logging.getLogger(__name__)

DEFAULT_SETTLE_SECONDS = 0.15


class RenderWorker:
    """Latest-wins background renderer on one daemon thread (see the module doc).

    renderer: the :class:`Renderer` this worker owns (only this thread should render
    with it while the worker runs); on_result: called with each delivered
    :class:`RenderResult`, on the worker thread; settle_seconds: quiet time after an
    interactive request before the automatic full render; preview_level: level of
    interactive renders (0 = always full; None, the default: chosen by a
    :class:`~facestudio.render.preview_levels.PreviewLevelChooser` from the model's cost and
    the time each preview takes); on_batch_result: called with each delivered
    :class:`BatchResult` (required for :meth:`submit_batch`); batch_chunk: most images per
    batch chunk, i.e. the longest a batch can delay a waiting request (None: the renderer's
    ``batch_size``, sized so that a chunk costs about what batching gains); on_ws_result:
    called with each :class:`WsResult` (required for :meth:`submit_ws`).
    """

    def __init__(self, renderer: Renderer, on_result: Callable[[RenderResult], None],
                 settle_seconds: float = DEFAULT_SETTLE_SECONDS,
                 preview_level: int | None = None,
                 on_batch_result: Callable[[BatchResult], None] | None = None,
                 batch_chunk: int | None = None, name: str = "facestudio-render",
                 on_ws_result: Callable[[WsResult], None] | None = None):
        if not settle_seconds >= 0:
            raise ValueError(f"settle_seconds must be >= 0, got {settle_seconds!r}")
        if preview_level is not None and (isinstance(preview_level, bool) or not isinstance(preview_level, int)
                                          or preview_level < 0):
            raise ValueError(f"preview_level must be a whole number >= 0, got {preview_level!r}")
        if batch_chunk is None:
            batch_chunk = getattr(renderer, "batch_size", 1)
        if batch_chunk < 1:
            raise ValueError(f"batch_chunk must be at least 1, got {batch_chunk!r}")
        self.renderer = renderer
        self.on_result = on_result
        self.on_batch_result = on_batch_result
        self.on_ws_result = on_ws_result
        self.settle_seconds = float(settle_seconds)
        self.level_chooser = PreviewLevelChooser.for_renderer(renderer) if preview_level is None else None
        self._fixed_preview_level = preview_level
        self.batch_chunk = int(batch_chunk)

        self._cond = threading.Condition()
        self._pending: Request | None = None
        self._settle: tuple[Request, float] | None = None  # request, monotonic deadline
        self._batches: OrderedDict[str, BatchJob] = OrderedDict()
        self._ws_jobs: list[WsJob] = []
        self._current_batch_id: dict[str, int] = {}  # tag -> newest batch id
        self._next_id = 0
        self._latest_request_id = 0
        self._last_delivered_id = 0
        self._busy = False
        self._stopping = False
        self._stats = WorkerStats()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ requests

    def submit(self, recipe: Recipe, interactive: bool = False) -> int:
        """Queue ``recipe`` (replacing any waiting request); returns its request id.

        After :meth:`shutdown` the id is still returned but nothing is rendered.
        """
        if not isinstance(recipe, Recipe):
            raise TypeError(f"submit takes a Recipe, got {type(recipe).__name__}")
        with self._cond:
            request_id = self._new_id()
            self._count(requested=1)
            if self._stopping:
                return request_id
            if self._pending is not None:
                self._count(replaced=1)
            self._pending = Request(request_id, recipe, bool(interactive), time.monotonic())
            self._latest_request_id = request_id
            self._settle = None  # a newer request supersedes the scheduled full render
            self._cond.notify_all()
        return request_id

    def submit_batch(self, recipes: Sequence[Recipe], tag: str = "batch", level: int = 0) -> int:
        """Queue many recipes under ``tag`` (cancelling the rest of an older batch with that
        tag); chunks reach ``on_batch_result`` in order. Returns the batch id. An empty list
        only cancels."""
        recipes = self._checked_recipes("submit_batch", self.on_batch_result, "on_batch_result", recipes)
        self.renderer.effective_level(level)  # validates the level now, not on the thread
        return self._queue_batch(tag, lambda batch_id: BatchJob(batch_id, tag, recipes, level)
                                 if recipes else None)

    def submit_ws_batch(self, make_ws: Callable[[Renderer], np.ndarray], count: int,
                        tag: str = "ws", noise: str = "const", level: int = 0) -> int:
        """Queue ``count`` images whose ws ``[count, num_ws, w_dim]`` are ``make_ws(renderer)``,
        called on the worker thread before the first chunk (so it may map seeds). Chunks,
        priority and cancelling work as for :meth:`submit_batch`; results have no recipes."""
        if self.on_batch_result is None:
            raise ValueError("this render worker was made without an on_batch_result callback")
        if count < 1:
            raise ValueError(f"a ws batch needs at least one image, got {count!r}")
        self.renderer.effective_level(level)
        return self._queue_batch(tag, lambda batch_id: BatchJob(batch_id, tag, (), level, make_ws=make_ws,
                                                                 count=int(count), noise=noise))

    def submit_ws(self, recipes: Sequence[Recipe], tag: str = "ws") -> int:
        """Queue the mapping of ``recipes`` (one job, delivered whole to ``on_ws_result``);
        returns the job id. After :meth:`shutdown` nothing is delivered."""
        recipes = self._checked_recipes("submit_ws", self.on_ws_result, "on_ws_result", recipes)
        with self._cond:
            job_id = self._new_id()
            if not self._stopping:
                self._ws_jobs.append(WsJob(job_id, tag, recipes))
                self._cond.notify_all()
        return job_id

    @staticmethod
    def _checked_recipes(method: str, callback, callback_name: str, recipes) -> tuple[Recipe, ...]:
        """``recipes`` as a tuple, or ValueError without the callback that delivers them /
        TypeError for anything that is not a Recipe."""
        if callback is None:
            raise ValueError(f"this render worker was made without an {callback_name} callback")
        recipes = tuple(recipes)
        bad = next((r for r in recipes if not isinstance(r, Recipe)), None)
        if bad is not None:
            raise TypeError(f"{method} takes Recipes, got {type(bad).__name__}")
        return recipes

    def set_directions(self, directions: Mapping[str, Direction]) -> None:
        """Render with ``directions`` (an immutable snapshot, id -> Direction) from the next
        recipe on. Raises :class:`~facestudio.latent.directions.DirectionError` for one that
        does not fit the model, and the directions before stay."""
        self.renderer.set_directions(directions)

    def _queue_batch(self, tag: str, make_job: Callable[[int], "BatchJob | None"]) -> int:
        """Replace the batch queued under ``tag`` (counted as cancelled) by ``make_job(id)``
        (None: just cancel) and wake the thread; returns the new batch id."""
        with self._cond:
            batch_id = self._new_id()
            if self._stopping:
                return batch_id
            self._count(batches_requested=1)
            if self._batches.pop(tag, None) is not None:
                self._count(batches_cancelled=1)
            self._current_batch_id[tag] = batch_id
            job = make_job(batch_id)
            if job is not None:
                self._batches[tag] = job
            self._cond.notify_all()
        return batch_id

    def cancel_batch(self, tag: str) -> bool:
        """Drop what is left of the batch with ``tag``; True when one was still running."""
        with self._cond:
            self._current_batch_id.pop(tag, None)
            cancelled = self._batches.pop(tag, None) is not None
            if cancelled:
                self._count(batches_cancelled=1)
            self._cond.notify_all()
        return cancelled

    # ------------------------------------------------------------------ state

    @property
    def preview_level(self) -> int:
        """The level the next interactive request renders at."""
        if self.level_chooser is not None:
            return self.level_chooser.level
        return self._fixed_preview_level

    @property
    def stats(self) -> WorkerStats:
        """A snapshot of the counters."""
        with self._cond:
            return self._stats

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive() and not self._stopping

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is waiting, settling, batching or rendering (or the worker
        stopped); False if ``timeout`` seconds passed first. For tests and the CLI."""
        with self._cond:
            return self._cond.wait_for(self._idle_locked, timeout)

    def shutdown(self, timeout: float | None = 5.0) -> bool:
        """Stop after the current render (waiting work is abandoned) and join the thread.

        Safe to call twice and from a callback (which does not join). Returns True when the
        thread has ended.
        """
        with self._cond:
            self._stopping = True
            self._pending = None
            self._settle = None
            self._batches.clear()
            self._ws_jobs.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> "RenderWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._take_job_locked()
                while job is None:
                    if self._stopping:
                        self._cond.notify_all()
                        return
                    self._cond.wait(self._wait_timeout_locked())
                    job = self._take_job_locked()
                self._busy = True
            try:
                job()
            except Exception:  # a bug in the worker itself; keep serving requests
                log.exception("the render worker hit an unexpected error")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _take_job_locked(self) -> Callable[[], None] | None:
        """The next thing to do, by priority: the waiting request, a due settle render,
        one batch chunk (not while a drag is settling). None = wait."""
        if self._stopping:
            return None
        if self._pending is not None:
            request, self._pending = self._pending, None
            level = self.preview_level if request.interactive else 0
            return partial(self._render_request, request, level, False)
        if self._ws_jobs:
            return partial(self._map_ws, self._ws_jobs.pop(0))
        if self._settle is not None:
            request, deadline = self._settle
            if time.monotonic() < deadline:
                return None
            self._settle = None
            return partial(self._render_request, request, 0, True)
        if self._batches:
            job = next(iter(self._batches.values()))
            start = job.next_index
            stop = min(start + self.batch_chunk, job.size)
            job.next_index = stop
            if stop >= job.size:
                del self._batches[job.tag]
            return partial(self._render_chunk, job, start, stop)
        return None

    def _wait_timeout_locked(self) -> float | None:
        if self._settle is None:
            return None
        return max(0.0, self._settle[1] - time.monotonic())

    def _idle_locked(self) -> bool:
        return self._stopping or not (self._busy or self._pending or self._settle or self._batches or self._ws_jobs)

    def _render_request(self, request: Request, level: int, settling: bool) -> None:
        started = time.perf_counter()
        effective = 0
        try:
            effective = self.renderer.effective_level(level)
            image = np.ascontiguousarray(self.renderer.render(request.recipe, effective))
            error = None
            if effective > 0 and self.level_chooser is not None:  # a preview: how fast was it?
                self._observe_preview((time.perf_counter() - started) * 1000.0)
        except Exception as exc:
            image, error = None, describe_error(exc)
            if not isinstance(exc, ValueError):
                log.exception("rendering request %d failed", request.id)
        result = RenderResult(request.id, request.recipe, image, effective,
                              (time.perf_counter() - started) * 1000.0, error)
        with self._cond:
            self._count(rendered=int(error is None), errors=int(error is not None),
                        previews=int(error is None and effective > 0), settled=int(settling))
            newest = self._latest_request_id == request.id
            live_drag = (request.interactive and not settling and self._pending is not None
                         and self._pending.interactive)
            deliver = not self._stopping and request.id >= self._last_delivered_id and (newest or live_drag)
            if deliver:
                self._last_delivered_id = request.id
                self._count(delivered=1)
            else:
                self._count(dropped=1)
            needs_full = request.interactive and not settling and error is None and effective > 0
            if deliver and newest and needs_full:
                self._settle = (request, request.submitted_at + self.settle_seconds)
        if deliver:
            self._call(self.on_result, result)

    def _map_ws(self, job: WsJob) -> None:
        try:
            ws, error = self.renderer.ws_batch_for(job.recipes), None
        except Exception as exc:
            ws, error = None, describe_error(exc)
            if not isinstance(exc, ValueError):
                log.exception("mapping ws job %d failed", job.id)
        with self._cond:
            deliver = not self._stopping
        if deliver:
            self._call(self.on_ws_result, WsResult(job.tag, job.id, job.recipes, ws, error))

    def _observe_preview(self, elapsed_ms: float) -> None:
        blocks = getattr(self.renderer, "last_blocks_run", None)
        if blocks is not None:
            self.level_chooser.observe(elapsed_ms, self.level_chooser.run_gmacs(*blocks))

    def _render_chunk(self, job: BatchJob, start: int, stop: int) -> None:
        started = time.perf_counter()
        recipes = job.recipes[start:stop]
        effective = 0
        try:
            effective = self.renderer.effective_level(job.level)
            if job.make_ws is not None:
                if job.ws is None:
                    job.ws = np.asarray(job.make_ws(self.renderer), dtype=np.float32)
                    if len(job.ws) != job.count:
                        raise ValueError(f"the ws batch has {len(job.ws)} faces, not {job.count}")
                images = self.renderer.render_ws(job.ws[start:stop], job.noise, effective)
            else:
                images = self.renderer.render_batch(recipes, effective, max_batch=self.batch_chunk)
            error = None
        except Exception as exc:
            images, error = None, describe_error(exc)
            if not isinstance(exc, ValueError):
                log.exception("rendering batch %r failed", job.tag)
        result = BatchResult(job.tag, start, images, job.id, job.size, recipes, effective,
                             (time.perf_counter() - started) * 1000.0, error)
        with self._cond:
            self._count(batch_chunks=1, batch_errors=int(error is not None))
            deliver = not self._stopping and self._current_batch_id.get(job.tag) == job.id
            if deliver and result.is_last:
                self._current_batch_id.pop(job.tag, None)
        if deliver and self.on_batch_result is not None:
            self._call(self.on_batch_result, result)

    def _call(self, callback: Callable, result) -> None:
        try:
            callback(result)
        except Exception:
            log.exception("a render result callback failed")
            with self._cond:
                self._count(callback_errors=1)

    # ------------------------------------------------------------------ helpers

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _count(self, **increments: int) -> None:
        """Add to the counters (call with the lock held)."""
        s = self._stats
        self._stats = dataclasses.replace(s, **{k: getattr(s, k) + v for k, v in increments.items()})
