"""Undo: every change of the current recipe is one QUndoCommand on the
:class:`RecipeHistory`'s stack.

A drag (slider held down, pad dragged, psi slider) carries a merge key; consecutive
commands with the same key merge, so a whole drag is one undo step.

``redo`` / ``undo`` are called by Qt from C++ and must not raise (see :mod:`guard`): a
failure is reported, and the command is made obsolete so the stack drops it instead of
keeping a step it could not apply.
"""

from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtGui

from facestudio.latent.recipe import Recipe
from facestudio.session.studio_state import StudioState
from facestudio.ui import guard
from facestudio.ui.opening import recipe_problem

MERGE_ID = 0x4653  # any constant: commands only merge when their merge keys also match
UNDO_LIMIT = 1000


class RecipeCommand(QtGui.QUndoCommand):
    """``apply(recipe, interactive)`` makes a recipe current; the push (the first redo) is
    ``interactive`` as asked, undo and redo later are not."""

    def __init__(self, apply: Callable[[object, bool], None], before, after, text: str,
                 merge_key: object | None = None, interactive: bool = False):
        super().__init__(text)
        self._apply = apply
        self.before = before
        self.after = after
        self.merge_key = merge_key
        self._interactive = interactive

    def _run(self, recipe) -> None:
        interactive, self._interactive = self._interactive, False
        if not guard.call(self._apply, recipe, interactive, where=f"the undo step {self.text()!r}"):
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


class RecipeHistory(QtCore.QObject):
    """The undo stack of a :class:`StudioState`'s recipe. :meth:`change` is how every
    controller changes the current face; ``report(title, text)`` tells the user why not."""

    def __init__(self, state: StudioState, report: Callable[[str, str], None], parent=None):
        super().__init__(parent)
        self.state = state
        self.report = report
        self.stack = QtGui.QUndoStack(self)
        self.stack.setUndoLimit(UNDO_LIMIT)

    def change(self, new: Recipe, text: str, merge_key=None, interactive: bool = False) -> bool:
        """Make ``new`` current as one undo step (merged with the last one under the same
        ``merge_key``). It is checked against the open model first, so no step that cannot
        be applied is pushed. False (told) when refused or when there is no face yet."""
        state = self.state
        if state.recipe is None or new == state.recipe:
            return state.recipe is not None
        model = state.model
        problem = recipe_problem(new, model, state.directions.known_ids()) if model is not None else None
        if problem:
            self.report("Cannot show this face", problem[:1].upper() + problem[1:] + ".")
            return False
        self.stack.push(RecipeCommand(self._apply, state.recipe, new, text, merge_key, interactive))
        return True

    def _apply(self, recipe: Recipe, interactive: bool) -> None:
        self.state.apply(recipe, interactive)  # looked up each time: tests replace it

    def start(self, recipe: Recipe) -> None:
        """A new document (a model or a session opened): no steps to undo, ``recipe`` current."""
        self.stack.clear()
        self.state.apply(recipe)

    def start_model(self, model, recipe: Recipe) -> None:
        """Another model was opened on ``recipe``: no steps to undo; the state tells its
        subscribers of the model, then of the recipe."""
        self.stack.clear()
        self.state.set_model(model, recipe)

    def make_actions(self, parent) -> tuple[QtGui.QAction, QtGui.QAction]:
        """Edit > Undo (Ctrl+Z) and Redo (Ctrl+Shift+Z, Ctrl+Y)."""
        undo = self.stack.createUndoAction(parent, "&Undo")
        undo.setShortcut(QtGui.QKeySequence("Ctrl+Z"))
        redo = self.stack.createRedoAction(parent, "&Redo")
        redo.setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
        return undo, redo
