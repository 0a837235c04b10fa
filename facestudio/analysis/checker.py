"""The lookalike checker: one plain thread that measures faces for the studio, off its GUI thread.

Callers never wait. :meth:`LookalikeChecker.check_face` asks about the face on the canvas
(latest wins: a face the user has already moved past is never measured);
:meth:`LookalikeChecker.check_export` asks about the faces of a file about to be written (in
order, none dropped, served before the canvas face: the user is waiting for a file). The
guard (:mod:`facestudio.analysis.lookalike_guard`: dlib's networks and the model's training-set
index) is built on this thread the first time a model needs it; one that cannot be built (a
damaged index) answers with an unchecked verdict whose reason says why.

Callbacks run **on the checker's thread**; the Qt adapter in ``facestudio/ui`` re-emits them as
signals, which Qt queues to the GUI thread. An exception in a callback is logged and ignored.
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
THREAD_NAME = "facestudio-lookalike"
_STOP = object()


class LookalikeChecker:
    """on_face(key, verdict) answers :meth:`check_face`; on_export(tag, index, payload,
    verdict) answers :meth:`check_export`."""

    def __init__(self, on_face: Callable[[Any, LookalikeVerdict], None],
                 on_export: Callable[[str, int, Any, LookalikeVerdict], None]):
        self.on_face, self.on_export = on_face, on_export
        self._model_sha256: str | None = None
        self._guards: dict[str, LookalikeGuard] = {}
        self._face: tuple[str, Any, Any] | None = None  # the newest canvas request
        self._exports: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def set_model(self, sha256: str) -> None:
        """The model whose faces the next requests are (its training-set index is used)."""
        self._model_sha256 = sha256

    def check_face(self, key: Any, image) -> None:
        """Measure the canvas face ``image`` (uint8 [H, W, 3]); replaces a waiting request."""
        if self._model_sha256 is None:
            return
        with self._lock:
            self._face = (self._model_sha256, key, image)
        self._wake.set()

    def check_export(self, tag: str, index: int, faces: list, payload: Any = None) -> None:
        """Check ``faces`` (the faces of one file) before it is written; the answer carries
        ``payload`` (what the caller writes once allowed) back with ``tag`` and ``index``."""
        if self._model_sha256 is not None:
            self._exports.put((self._model_sha256, tag, index, list(faces), payload))
            self._wake.set()

    def shutdown(self, timeout: float = 10) -> None:
        """Stop the thread once the request it is measuring is done (safe to call twice)."""
        self._exports.put(_STOP)
        self._wake.set()
        self._thread.join(timeout=timeout)

    # --- the thread ---------------------------------------------------------------------------
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

    def _deliver(self, callback, *args) -> None:
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - a callback's bug must not stop the checker
            log.exception("lookalike checker callback failed")

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                try:
                    job = self._exports.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    return
                sha256, tag, index, faces, payload = job
                self._deliver(self.on_export, tag, index, payload, self._verdict(sha256, faces))
            with self._lock:
                face, self._face = self._face, None
            if face is not None:
                sha256, key, image = face
                self._deliver(self.on_face, key, self._verdict(sha256, [image]))
                self._wake.set()  # look again: exports may have arrived meanwhile
