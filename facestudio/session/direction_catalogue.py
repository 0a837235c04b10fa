"""The one home of the studio's directions, without Qt.

:class:`DirectionCatalogue` answers the two questions every part of the studio asks about
directions, for the open model:

* :meth:`~DirectionCatalogue.shown` — which sliders the Directions dock shows for a
  discovery method: the model's named sliders (not the retired ones), that method's
  discovered sliders, then the user's own directions;
* :meth:`~DirectionCatalogue.known_ids` / :meth:`~DirectionCatalogue.known` — which
  direction ids a recipe may use: every named slider (retired versions too), every
  method's sliders whichever is shown, the user's own, and the user's deleted ones (so that
  undo brings back a face that used one).

Undo, reopening an exported face, opening a session and "Randomise edits" ask it; the render
worker gets an immutable snapshot of :meth:`known` after every change. The studio state
owns one (``StudioState.directions``); a session check builds a scratch one for a model
not shown yet (:func:`catalogue_for`).

Changes are announced through ``events`` as ``(kind, catalogue)``:

* ``"model"`` — another model's directions (the user's own made for other models are gone,
  the method is PCA again);
* ``"method"`` — another discovery method is shown;
* ``"user"`` — the user made, imported, renamed or deleted one of their own (the session
  changed);
* ``"session"`` — a session's own directions replaced the user's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from facestudio.latent.directions import Direction, DirectionError
from facestudio.latent.model_direction_set import ModelDirections
from facestudio.latent.user_directions import new_direction_id
from facestudio.session.gallery import EventEmitter

NO_DIRECTIONS = ModelDirections(None, 0, 0)


class DirectionCatalogue:
    """The open model's directions plus the user's own (see the module doc)."""

    def __init__(self):
        self.events = EventEmitter()
        self.model: ModelDirections = NO_DIRECTIONS
        self.method = "pca"
        self._user: list[Direction] = []
        self._retired: dict[str, Direction] = {}  # the user's deleted ones: undo may still use them
        self._known: Mapping[str, Direction] | None = None  # the snapshot, made again after a change

    # --- reading -----------------------------------------------------------------------------
    @property
    def methods(self) -> Mapping[str, str]:
        """Discovery method key -> label, in the picker's order."""
        return self.model.methods

    @property
    def user(self) -> tuple[Direction, ...]:
        """The user's own directions, in the order they were made (what a session saves)."""
        return tuple(self._user)

    @property
    def named_ids(self) -> frozenset[str]:
        return frozenset(d.id for d in self.model.named)

    def shown(self, method: str | None = None) -> list[Direction]:
        """The sliders for ``method`` (None: the one shown now): named, discovered, the user's."""
        return self.model.shown(self.method if method is None else method) + list(self._user)

    def known(self) -> Mapping[str, Direction]:
        """Every direction a recipe may use, by id: an immutable snapshot, a new one after
        each change (what the renderer is handed)."""
        if self._known is None:
            known = {d.id: d for d in self.model.every()}
            known.update(self._retired)
            known.update({d.id: d for d in self._user})
            self._known = MappingProxyType(known)
        return self._known

    def known_ids(self) -> frozenset[str]:
        return frozenset(self.known())

    # --- changing ------------------------------------------------------------------------------
    def open_model(self, model: ModelDirections) -> None:
        """Show ``model``'s directions: the user's own made for other models go, PCA is shown."""
        self.model = model
        self.method = "pca"
        self._user = [d for d in self._user if d.model_sha256 == model.sha256]
        self._retired = {}
        self._changed("model")

    def set_method(self, method: str) -> bool:
        """Show another discovery method; False (nothing changes) for one the model lacks."""
        if method == self.method or method not in self.methods:
            return False
        self.method = method
        self._changed("method")
        return True

    def set_user(self, directions) -> list[str]:
        """A session's own directions replace the user's; the ones that do not fit this model
        are left out, and the sentences saying why are returned."""
        kept, problems = [], []
        for d in directions:
            problem = fit_problem(d, self.model)
            if problem:
                problems.append(problem)
            else:
                kept.append(d)
        self._user = kept
        self._changed("session")
        return problems

    def add_user(self, directions) -> list[Direction]:
        """Append directions of the user's own; an id already in use gets a fresh one.
        Returns them as added."""
        taken = {d.id for d in self.model.every()} | {d.id for d in self._user}
        added = []
        for d in directions:
            if d.id in taken:
                d = replace(d, id=new_direction_id(d.name, taken))
            taken.add(d.id)
            self._retired.pop(d.id, None)
            self._user.append(d)
            added.append(d)
        if added:
            self._changed("user")
        return added

    def rename_user(self, direction_id: str, name: str) -> bool:
        name = name.strip()
        for i, d in enumerate(self._user):
            if d.id == direction_id and name:
                self._user[i] = replace(d, name=name)
                self._changed("user")
                return True
        return False

    def delete_user(self, direction_id: str) -> Direction | None:
        """Remove one of the user's directions (still known, so undo can render it); the
        direction removed, or None when there is none of that id."""
        gone = next((d for d in self._user if d.id == direction_id), None)
        if gone is not None:
            self._user.remove(gone)
            self._retired[direction_id] = gone
            self._changed("user")
        return gone

    def _changed(self, kind: str) -> None:
        self._known = None
        self.events.emit(kind, self)


def fit_problem(d: Direction, model: ModelDirections) -> str | None:
    """Why the user's direction ``d`` cannot be used with ``model``, or None."""
    try:
        d.check_fits(model.num_ws, model.w_dim)
    except DirectionError as exc:
        return str(exc)
    if d.model_sha256 not in (None, model.sha256):
        return f"its direction {d.name!r} was made for another model"
    return None


def catalogue_for(model: ModelDirections, user=()) -> tuple[DirectionCatalogue, list[str]]:
    """A scratch catalogue of ``model`` with ``user`` as the user's directions, and the
    sentences saying which of those do not fit (for checks before anything is shown)."""
    catalogue = DirectionCatalogue()
    catalogue.open_model(model)
    return catalogue, catalogue.set_user(user)
