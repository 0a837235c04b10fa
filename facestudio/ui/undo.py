"""Undo commands: every change of the current recipe is one QUndoCommand.

A drag (slider held down, pad dragged, psi slider) carries a merge key; consecutive
commands with the same key merge, so a whole drag is one undo step.

``redo`` / ``undo`` are called by Qt from C++ and must not raise (see :mod:`guard`): a
failure is reported, and the command is made obsolete so the stack drops it instead of
keeping a step it could not apply.
"""

from __future__ import annotations

from typing import Callable

from PySide6 import QtGui

from facestudio.ui import guard

MERGE_ID = 0x4653  # any constant: commands only merge when their merge keys also match


class RecipeCommand(QtGui.QUndoCommand):
    def __init__(self, apply: Callable[[object], None], before, after, text: str,
                 merge_key: object | None = None):
        super().__init__(text)
        self._apply = apply
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def _run(self, recipe) -> None:
        if not guard.call(self._apply, recipe, where=f"the undo step {self.text()!r}"):
            self.setObsolete(True)

    def redo(self) -> None:
        self._run(self.after)

    def undo(self) -> None:
        self._run(self.before)

    def id(self) -> int:
        return MERGE_ID if self.merge_key is not None else -1

    @guard.guarded(default=False)
    def mergeWith(self, other: QtGui.QUndoCommand) -> bool:
        if not isinstance(other, RecipeCommand) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True
