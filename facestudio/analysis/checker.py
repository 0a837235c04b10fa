"""The studio's measuring thread: faces are measured here, off the GUI thread.

:class:`AnalysisWorker` is one plain thread with two kinds of job. An *urgent* job (a file
about to be written: the user is waiting for it) is run in order and never dropped; a
*latest* job replaces the job of the same channel still waiting (the canvas face, the audit
of the gallery: a face the user has moved past is never measured). Urgent jobs run first.

:class:`LookalikeChecker` asks it about the canvas face and about each face of an export; the
guard (:mod:`facestudio.analysis.lookalike_guard`: dlib's networks and the model's training-set
index) is built on the worker's thread the first time a model needs it, and one that cannot be
built (a damaged index) answers with an unchecked verdict whose reason says why.
:class:`AttributeMeter` measures age, gender and skin tone (:func:`~.audit.measure_faces`) with
the bundled classifier, loaded there on first use.

Callbacks run **on the worker's thread**; the Qt adapters in ``facestudio/ui`` re-emit them as
signals, which Qt queues to the GUI thread. An exception in a job or a callback is logged and
the worker keeps running.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from facestudio.analysis import lookalike_guard
from facestudio.analysis.lookalike_guard import LookalikeGuard, LookalikeVerdict
from facestudio.errors import FacestudioError

log = logging.getLogger(__name__)
THREAD_NAME = "facestudio-analysis"
_STOP = object()


class AnalysisWorker:
    """One daemon thread running measuring jobs (see the module doc)."""

    def __init__(self):
        self._urgent: queue.SimpleQueue = queue.SimpleQueue()
        self._latest: dict[str, tuple[Callable, Callable]] = {}
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def urgent(self, job: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
        """Run ``job()`` after the urgent jobs before it; hand its result to ``deliver``."""
        self._urgent.put((job, deliver))
        self._wake.set()

    def latest(self, channel: str, job: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
        """Run ``job()`` unless another job on ``channel`` arrives before it starts."""
        with self._lock:
            self._latest[channel] = (job, deliver)
        self._wake.set()

    def shutdown(self, timeout: float = 10) -> None:
        """Stop the thread once the job it is running is done (safe to call twice)."""
        self._urgent.put(_STOP)
        self._wake.set()
        self._thread.join(timeout=timeout)

    @staticmethod
    def _run_one(job, deliver) -> None:
        try:
            deliver(job())
        except Exception:  # noqa: BLE001 - a bug in one job must not stop the worker
            log.exception("an analysis job failed")

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                try:
                    item = self._urgent.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    return
                self._run_one(*item)
            with self._lock:
                channel = next(iter(self._latest), None)
                item = self._latest.pop(channel) if channel is not None else None
            if item is not None:
                self._run_one(*item)
                self._wake.set()  # look again: more may have arrived meanwhile


class LookalikeChecker:
    """on_face(key, verdict) answers :meth:`check_face`; on_export(tag, index, payload,
    verdict) answers :meth:`check_export`."""

    def __init__(self, worker: AnalysisWorker, on_face: Callable[[Any, LookalikeVerdict], None],
                 on_export: Callable[[str, int, Any, LookalikeVerdict], None]):
        self.worker, self.on_face, self.on_export = worker, on_face, on_export
        self._model_sha256: str | None = None
        self._guards: dict[str, LookalikeGuard] = {}  # touched on the worker's thread only

    def set_model(self, sha256: str) -> None:
        """The model whose faces the next requests are (its training-set index is used)."""
        self._model_sha256 = sha256

    def check_face(self, key: Any, image) -> None:
        """Measure the canvas face ``image`` (uint8 [H, W, 3]); replaces a waiting request."""
        sha256 = self._model_sha256
        if sha256 is not None:
            self.worker.latest("lookalike-face", lambda: self._verdict(sha256, [image]),
                               lambda verdict: self.on_face(key, verdict))

    def check_export(self, tag: str, index: int, faces: list, payload: Any = None) -> None:
        """Check ``faces`` (the faces of one file) before it is written; the answer carries
        ``payload`` (what the caller writes once allowed) back with ``tag`` and ``index``."""
        sha256, faces = self._model_sha256, list(faces)
        if sha256 is not None:
            self.worker.urgent(lambda: self._verdict(sha256, faces),
                               lambda verdict: self.on_export(tag, index, payload, verdict))

    def _guard(self, sha256: str) -> LookalikeGuard:
        if sha256 not in self._guards:
            try:
                self._guards[sha256] = lookalike_guard.guard_for_model(sha256, lookalike_guard.default_index_path())
            except (FacestudioError, OSError) as exc:
                self._guards[sha256] = LookalikeGuard(None, None, reason=str(exc).rstrip("."))
        return self._guards[sha256]

    def _verdict(self, sha256: str, faces: list) -> LookalikeVerdict:
        guard = self._guard(sha256)
        try:
            return guard.check(faces)
        except (ValueError, RuntimeError) as exc:  # dlib's own errors are RuntimeErrors
            return LookalikeVerdict(False, guard.threshold, reason=f"the face could not be measured ({exc})")


class AttributeMeter:
    """Measures faces' apparent age, P(female) and skin tone on the worker: ``measure(channel,
    images, deliver)`` hands ``deliver`` the :class:`~.audit.Measurements`, or the one
    sentence why they cannot be had (the classifier missing or damaged). With
    ``face_measures``, dlib's measures too (:mod:`~.face_measures`: expression, head pose,
    hair; left out, NaN, when dlib is not installed)."""

    def __init__(self, worker: AnalysisWorker):
        self.worker = worker
        self._net = None  # loaded on the worker's thread
        self._measurer: Any = None  # dlib's, loaded on the worker's thread; False: cannot be had
        self.measurer_problem = ""

    def measure(self, channel: str, images, deliver: Callable[[Any], None], face_measures: bool = False) -> None:
        self.worker.latest(f"attributes-{channel}", lambda: self._measure(images, face_measures), deliver)

    def face_measurer(self):
        """dlib's :class:`~.face_measures.FaceMeasurer` (None when it cannot be had: the
        reason is in ``measurer_problem``); call on the worker's thread."""
        if self._measurer is None:
            from facestudio.analysis.face_measures import FaceMeasurer
            from facestudio.analysis.identity import DlibMissingError
            try:
                self._measurer = FaceMeasurer(self._net)
            except (DlibMissingError, FacestudioError, OSError, RuntimeError) as exc:
                self._measurer, self.measurer_problem = False, str(exc)
        return self._measurer or None

    def _measure(self, images, face_measures: bool = False, where=None):
        import numpy as np

        from facestudio.analysis.audit import empty_measurements, measure_faces, with_face_measures
        images = np.asarray(images)
        if not len(images):
            return empty_measurements()
        try:
            if self._net is None:
                from facestudio.analysis.attributes import load_bundled_classifier
                self._net = load_bundled_classifier()
            m = measure_faces(images, self._net)
            if face_measures and self.face_measurer() is not None:
                m = with_face_measures(m, images, self._measurer, None if where is None else where(m))
            return m
        except (FacestudioError, OSError) as exc:
            return str(exc)


def find_step(meter: AttributeMeter, lookalikes: LookalikeChecker | None, search, seeds: list[int], images):
    """One step of a studio :class:`~.selection.Search`, run on the worker: measure ``images``
    (the faces of ``seeds``), then feed the search, leaving out the faces that resemble a
    training photo when ``lookalikes`` is given. Returns the faces kept, as (seed, image,
    measurements), or the sentence why the faces cannot be measured."""
    criteria = search.criteria
    measured = meter._measure(images, bool(criteria.bounds), criteria.matches_classified)
    if isinstance(measured, str):
        return measured
    if criteria.bounds and measured.measures is None:
        return f"the attribute filters measure faces with dlib, which cannot be used: {meter.measurer_problem}"
    veto = None
    if lookalikes is not None and lookalikes._model_sha256 is not None:
        sha256 = lookalikes._model_sha256

        def veto(_seed: int, i: int) -> str | None:
            verdict = lookalikes._verdict(sha256, [images[i]])
            return verdict.summary() if verdict.resembles else None

    return [(seed, images[i], face) for seed, i, face in search.feed(seeds, measured, veto)]
