"""The studio's lookalike check: the badge beside the model name and the checked exports.

The measuring happens on the studio's measuring thread, through its
:class:`~.analysis_bridge.AnalysisBridge`; :class:`GuardedExports` holds a file back until
its faces are checked.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from facestudio.analysis.lookalike_guard import LookalikeVerdict, decide
from facestudio.errors import FacestudioError


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
        colour = "#c62828" if verdict.resembles else "#2e7d32" if verdict.checked and verdict.found else ""
        self.setStyleSheet(f"color:{colour};" if colour else "")


class GuardedExports(QtCore.QObject):
    """Writes that wait for the lookalike check: :meth:`submit` hands the faces of one file to
    the checker and, when it answers, calls ``write(xmp_fields)`` (allowed) or ``fail(sentence)``
    (the file would show a face that resembles a real photo and ``allowed()`` is False). Used
    by the studio's sheet-like exports (the mix grid, the interpolation strip); the Export dock
    checks its faces one by one itself."""

    OVERRIDE_HINT = "tick 'Export faces that resemble a real photo' in the Export dock"

    def __init__(self, checker, allowed, parent=None):
        """checker: the studio's AnalysisBridge; allowed: () -> whether lookalikes may be written."""
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
        fields = decide(verdict, bool(self.allowed()))
        if fields is None:
            fail(verdict.refusal(what, self.OVERRIDE_HINT))
            return
        try:
            written = write(fields)
        except (ValueError, OSError, FacestudioError) as exc:  # ExportError is an OutputPathError
            fail(str(exc))
            return
        done(written)
