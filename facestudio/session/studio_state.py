"""What the studio is showing and editing, without Qt: the open model, the current recipe,
the gallery, each direction's layer range, whether anything changed since the last save,
and how consecutive drag moves group into one undo step.

:class:`StudioState` is the one place the studio's controllers read and change this (the
window's docks, the Mix and Export controllers, the session controller); like
:class:`~facestudio.session.gallery.Gallery` it announces every change through
``state.events`` as ``(kind, payload)`` pairs, and Qt widgets subscribe:

* ``("model", model)`` — another model was opened (the layer ranges were forgotten, the
  direction catalogue holds the new model's directions); when
  it came with its first recipe, ``recipe`` is that one already, and a ``"recipe"`` event
  follows once every subscriber has heard of the model;
* ``("recipe", (recipe, interactive))`` — ``recipe`` is now current; ``interactive`` is
  True while a control is being dragged (a cheap preview will do);
* ``("drag_finished", recipe)`` — a drag ended on ``recipe`` (time for the full frame);
* ``("dirty", bool)`` — there are (True) or are no longer (False) changes to autosave.

The directions the studio knows (the model's, the user's own) are the state's
:class:`~facestudio.session.direction_catalogue.DirectionCatalogue`, ``state.directions``,
with events of its own; a change of the user's own directions marks the state dirty.

The undo steps themselves are Qt's (``facestudio.ui.undo``); the state says which changes
merge into one step (:meth:`merge_key`) and applies what a step holds (:meth:`apply`).
"""

from __future__ import annotations

from pathlib import Path

from facestudio.latent.model_direction_set import ModelDirections
from facestudio.latent.recipe import Recipe
from facestudio.session.direction_catalogue import DirectionCatalogue
from facestudio.session.gallery import EventEmitter, Gallery

LayerRange = tuple[int, int]


class StudioState:
    """The studio's document state. ``model`` is whatever the front end opened (the studio
    hands in a :class:`~facestudio.render.studio_model.StudioModel`); the state reads only
    its ``sha256``, ``name`` and ``directions`` (a
    :class:`~facestudio.latent.model_direction_set.ModelDirections`; a model without one
    brings no directions)."""

    def __init__(self, gallery: Gallery | None = None):
        self.events = EventEmitter()
        self.gallery = gallery if gallery is not None else Gallery()
        self.model = None
        self.directions = DirectionCatalogue()
        self.directions.events.connect(self._on_directions)
        self.recipe: Recipe | None = None
        self.layers: dict[str, LayerRange] = {}
        self.session_path: Path | None = None
        self._dirty = False
        self._drag_serial = 0

    # --- the model and the recipe --------------------------------------------------------
    def set_model(self, model, recipe: Recipe | None = None) -> None:
        """Make ``model`` the open one: layer ranges belong to a model's layers, so they go.
        With ``recipe`` (the new model's first face) it is current when the ``"model"``
        event is sent, and its ``"recipe"`` event comes after; without, the old recipe
        stays until the caller applies one made for the new model."""
        self.model = model
        self.layers = {}
        if recipe is not None:
            self._make_current(recipe)
        brought = getattr(model, "directions", None)
        self.directions.open_model(brought if isinstance(brought, ModelDirections)
                                   else ModelDirections(model.sha256, 0, 0))
        self.events.emit("model", model)
        if recipe is not None:
            self.events.emit("recipe", (recipe, False))

    def apply(self, recipe: Recipe, interactive: bool = False) -> None:
        """Make ``recipe`` current (what an undo step does): its edits' layer ranges become
        the directions' ranges, and the change waits for the next autosave."""
        self._make_current(recipe)
        self.events.emit("recipe", (recipe, bool(interactive)))

    def _make_current(self, recipe: Recipe) -> None:
        if not isinstance(recipe, Recipe):
            raise TypeError(f"the studio shows a Recipe, got {type(recipe).__name__}")
        self.recipe = recipe
        for e in recipe.edits:
            self.layers[e.direction_id] = e.layers
        self.mark_dirty()

    def _on_directions(self, kind: str, _catalogue) -> None:
        if kind == "user":  # the session holds the user's own directions
            self.mark_dirty()

    def made_with_open_model(self, recipe: Recipe) -> bool:
        return self.model is not None and recipe.model_sha256 == self.model.sha256

    # --- layer ranges ----------------------------------------------------------------------
    def layers_of(self, direction_id: str) -> LayerRange:
        """The layer range ``direction_id`` is applied to; KeyError for a direction no
        slider has shown."""
        return self.layers[direction_id]

    def set_layers(self, direction_id: str, layers: LayerRange) -> None:
        self.layers[direction_id] = (int(layers[0]), int(layers[1]))

    def default_layers(self, direction_id: str, layers: LayerRange) -> None:
        """Give ``direction_id`` its own range unless the user already chose one."""
        self.layers.setdefault(direction_id, (int(layers[0]), int(layers[1])))

    # --- undo grouping -----------------------------------------------------------------------
    def merge_key(self, what: str, dragging: bool):
        """The key under which moves of ``what`` merge into one undo step: a whole drag is
        one step; a click, or the next drag, is a step of its own (None: never merges)."""
        return ("drag", what, self._drag_serial) if dragging else None

    def finish_drag(self) -> None:
        """A drag ended: the next move starts a new undo step, and the face is due its full
        frame."""
        self._drag_serial += 1
        if self.recipe is not None:
            self.events.emit("drag_finished", self.recipe)

    # --- saving ---------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when something changed since the last save (what autosave looks at)."""
        return self._dirty

    def mark_dirty(self) -> None:
        """Something the session holds changed (the recipe, the user's directions)."""
        self._set_dirty(True)

    def mark_saved(self) -> None:
        self._set_dirty(False)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.events.emit("dirty", dirty)
