"""The studio's lookalike check, off the GUI thread: the badge beside the model name and the
export guard (:mod:`facestudio.analysis.lookalike_guard`).

One :class:`LookalikeChecker` per window owns a plain thread. The badge asks about the face on
the canvas (latest wins: a face the user has already moved past is never measured); an export
asks about each face it is about to write (in order, none dropped). The guard, with dlib's
networks and the model's training-set index, is built on that thread the first time it is
needed for a model. Answers arrive on the GUI thread as signals.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from PySide6 import QtCore, QtWidgets

from facestudio.analysis import lookalike_guard
from facestudio.analysis.lookalike_guard import LookalikeVerdict
from facestudio.errors import FacestudioError

_STOP = object()


class LookalikeChecker(QtCore.QObject):
    """faceChecked(key, verdict) answers :meth:`check_face`; exportChecked(tag, index, payload,
    verdict) answers :meth:`check_export`. A guard that cannot be built (a damaged index)
    answers with an unchecked verdict whose reason says why."""

    faceChecked = QtCore.Signal(object, object)
    exportChecked = QtCore.Signal(str, int, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._model_sha256: str | None = None
        self._guards: dict[str, Any] = {}
        self._face: tuple[str, object, Any] | None = None  # the newest badge request
        self._exports: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="facestudio-lookalike", daemon=True)
        self._thread.start()

    def set_model(self, sha256: str) -> None:
        self._model_sha256 = sha256

    def check_face(self, key: object, image) -> None:
        """Measure the canvas face ``image`` (uint8 [H, W, 3]); replaces a waiting request."""
        if self._model_sha256 is None:
            return
        with self._lock:
            self._face = (self._model_sha256, key, image)
        self._wake.set()

    def check_export(self, tag: str, index: int, faces: list, payload=None) -> None:
        """Check ``faces`` (the faces of one file) before it is written; the answer carries
        ``payload`` (what the caller writes once allowed) back with ``tag`` and ``index``."""
        if self._model_sha256 is not None:
            self._exports.put((self._model_sha256, tag, index, list(faces), payload))
            self._wake.set()

    def shutdown(self) -> None:
        self._exports.put(_STOP)
        self._wake.set()
        self._thread.join(timeout=10)

    # --- the thread ---------------------------------------------------------------------------
    def _guard(self, sha256: str):
        if sha256 not in self._guards:
            try:
                self._guards[sha256] = lookalike_guard.guard_for_model(sha256, lookalike_guard.default_index_path())
            except (FacestudioError, OSError) as exc:
                self._guards[sha256] = lookalike_guard.LookalikeGuard(None, None, reason=str(exc).rstrip("."))
        return self._guards[sha256]

    def _verdict(self, sha256: str, faces: list) -> LookalikeVerdict:
        guard = self._guard(sha256)
        try:
            return guard.check(faces)
        except (ValueError, RuntimeError) as exc:  # dlib's own errors are RuntimeErrors
            return LookalikeVerdict(False, guard.threshold, reason=f"the face could not be measured ({exc})")

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:  # exports first: the user is waiting for a file
                try:
                    job = self._exports.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    return
                sha256, tag, index, faces, payload = job
                self.exportChecked.emit(tag, index, payload, self._verdict(sha256, faces))
            with self._lock:
                face, self._face = self._face, None
            if face is not None:
                sha256, key, image = face
                self.faceChecked.emit(key, self._verdict(sha256, [image]))
                self._wake.set()  # look again: exports may have arrived meanwhile


def badge_text(verdict: LookalikeVerdict) -> tuple[str, str]:
    """The badge's words and its tooltip for ``verdict``."""
    if not verdict.checked:
        return "lookalike: not checked", f"This face was not checked against real photos: {verdict.reason}."
    if verdict.found == 0:
        return "lookalike: no face found", "dlib found no face to compare in this image."
    if verdict.resembles:
        return "⚠ resembles a real photo", (f"This face {verdict.summary()}. Exporting it is refused unless "
                                            "'Export faces that resemble a real photo' is ticked.")
    return "✓ not a training photo", f"This face: {verdict.summary()}."


class LookalikeBadge(QtWidgets.QLabel):
    """The status-bar badge for the face on the canvas."""

    def __init__(self, parent=None):
        super().__init__("lookalike: …", parent)
        self.setObjectName("lookalike_badge")
        self.verdict: LookalikeVerdict | None = None

    def checking(self) -> None:
        self.setText("lookalike: checking…")

    def show_verdict(self, verdict: LookalikeVerdict) -> None:
        self.verdict = verdict
        text, tip = badge_text(verdict)
        self.setText(text)
        self.setToolTip(tip)
        colour = "#f6aea9" if verdict.resembles else "#9fd89f" if verdict.checked and verdict.found else ""
        self.setStyleSheet(f"color:{colour};" if colour else "")


class GuardedExports(QtCore.QObject):
    """Writes that wait for the lookalike check: :meth:`submit` hands the faces of one file to
    the checker and, when it answers, calls ``write(xmp_fields)`` (allowed) or ``fail(sentence)``
    (the file would show a face that resembles a real photo and ``allowed()`` is False). Used
    by the studio's sheet-like exports (the mix grid, the interpolation strip); the Export dock
    checks its faces one by one itself."""

    OVERRIDE_HINT = "tick 'Export faces that resemble a real photo' in the Export dock"

    def __init__(self, checker: LookalikeChecker, allowed, parent=None):
        super().__init__(parent)
        self.checker = checker
        self.allowed = allowed
        self._serial = 0
        self._pending: dict[str, tuple] = {}
        checker.exportChecked.connect(self._on_checked)

    def submit(self, faces: list, write, what: str, done, fail) -> None:
        self._serial += 1
        tag = f"guarded-{self._serial}"
        self._pending[tag] = (write, what, done, fail)
        self.checker.check_export(tag, 0, faces)

    def _on_checked(self, tag: str, _index: int, _payload, verdict: LookalikeVerdict) -> None:
        job = self._pending.pop(tag, None)
        if job is None:
            return
        write, what, done, fail = job
        allowed = bool(self.allowed())
        if verdict.resembles and not allowed:
            fail(verdict.refusal(what, self.OVERRIDE_HINT))
            return
        try:
            written = write(verdict.xmp_fields(allowed))
        except (ValueError, OSError, FacestudioError) as exc:  # ExportError is an OutputPathError
            fail(str(exc))
            return
        done(written)
