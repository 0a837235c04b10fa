"""What the studio's controllers may use: the :class:`StudioContext`.

A controller (editing, directions, export, mixing, sessions, the Audit and Library tabs)
gets a context and the widgets it drives, never the whole window. The context holds the
studio's shared services: the Qt-free :class:`StudioState` (whose events — ``"model"``,
``"recipe"``, ``"drag_finished"``, ``"dirty"`` — controllers subscribe to), the undo
history, the render bridge, the measuring thread, and the ways to ask and tell the user.
Everything else a controller needs is handed to its constructor, so who depends on whom
is written in the code that builds them (:mod:`facestudio.ui.main_window`), not in
comments.

A context can be made without a window (``parent=None``, the defaults below), which is how
tests build one controller on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from PySide6 import QtCore, QtWidgets

from facestudio.session.studio_state import StudioState
from facestudio.ui.analysis_bridge import AnalysisBridge
from facestudio.ui.lookalike_check import GuardedExports
from facestudio.ui.render_bridge import RenderBridge
from facestudio.ui.undo import RecipeHistory


def _no_stamp():
    raise ValueError("there is no provenance stamp to write: the studio has no Export dock")


@dataclass(frozen=True)
class StudioContext:
    """The services a controller may use.

    * ``state``, ``history``: the document and its undo stack (every change of the face is
      ``history.change``);
    * ``bridge``: the render worker; ``analysis``: the measuring thread (lookalike checks,
      attribute measures);
    * ``report(title, text)`` tells the user, ``confirm(title, text) -> bool`` asks;
      ``status(text, ms)`` shows a passing note (the status bar);
    * ``settings``: the studio's QSettings; ``parent``: the parent of dialogs (None without a
      window);
    * ``selected_face_ids() -> list[str]``: the gallery faces the user selected;
    * ``stamp() -> Stamp``: the provenance stamp of an export (artist, terms: the Export
      dock's), ``lookalikes_allowed() -> bool``: whether a face that resembles a real photo
      may be written (the Export dock's tick box);
    * ``guarded_exports``: the one :class:`GuardedExports` that checks sheet-like exports
      (the mixing grid, the strip) before they are written, made here from the above.
    """

    state: StudioState
    history: RecipeHistory
    bridge: RenderBridge
    analysis: AnalysisBridge
    report: Callable[[str, str], None]
    confirm: Callable[[str, str], bool]
    settings: QtCore.QSettings
    parent: QtWidgets.QWidget | None = None
    status: Callable[[str, int], None] = lambda text, ms: None
    selected_face_ids: Callable[[], list[str]] = list
    stamp: Callable[[], object] = _no_stamp
    lookalikes_allowed: Callable[[], bool] = lambda: False
    guarded_exports: GuardedExports = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "guarded_exports",
                           GuardedExports(self.analysis, self.lookalikes_allowed, self.analysis))
