"""Editing the current face: the direction sliders, the pad and the latent controls turn
into recipe changes (one undo step each, a whole drag as one), and whatever recipe becomes
current is shown on every control and sent to the render worker.

:class:`EditController` sits between the widgets and the :class:`StudioState`; it listens
to the state, so a face that becomes current from anywhere (undo, a session, the Mix view,
a reopened image) is shown and rendered the same way, and a model that is opened fits the
latent controls to it (its ``"model"`` event).
"""

from __future__ import annotations

import random

from facestudio.ui.context import StudioContext
from facestudio.ui.controls import LatentControls
from facestudio.ui.sliders import DirectionsPanel

RANDOM_EDITS = 8      # "Randomise edits" moves the first this many sliders shown
RANDOM_AMOUNT = 2.0   # ... each to an amount in [-RANDOM_AMOUNT, RANDOM_AMOUNT]


class EditController:
    def __init__(self, context: StudioContext, directions: DirectionsPanel, controls: LatentControls):
        self.state = state = context.state
        self.history = context.history
        self.bridge = context.bridge
        self.directions = directions
        self.controls = controls
        directions.amountChanged.connect(self._on_amount)
        directions.dragFinished.connect(self._on_drag_finished)
        directions.layersChanged.connect(self._on_layers)
        directions.padMoved.connect(self._on_pad)
        directions.randomiseRequested.connect(self.randomise_edits)
        directions.resetAllRequested.connect(self.reset_edits)
        controls.changed.connect(self._on_controls)
        controls.dragFinished.connect(self._on_drag_finished)
        state.events.connect(self._on_state)

    # --- the state changed: show it, render it ---------------------------------------------------
    def _on_state(self, kind: str, payload) -> None:
        if kind == "model":
            self.controls.set_model(payload.num_ws, payload.c_dim, transform=payload.supports_transform)
        elif kind == "recipe":
            recipe, interactive = payload
            self.directions.sync({e.direction_id: e.amount for e in recipe.edits}, self.state.layers)
            self.controls.sync(recipe.seed, recipe.psi, recipe.cutoff, recipe.noise, recipe.class_idx,
                               transform=recipe.transform)
            self.bridge.submit(recipe, interactive=interactive)
        elif kind == "drag_finished":
            self.bridge.submit(payload)

    # --- the widgets moved: change the recipe ------------------------------------------------------
    def _on_amount(self, direction_id: str, amount: float, dragging: bool) -> None:
        s = self.state
        new = s.recipe.with_edit(direction_id, amount, s.layers_of(direction_id))
        self.history.change(new, f"Move {direction_id}", s.merge_key(direction_id, dragging), dragging)

    def _on_layers(self, direction_id: str, start: int, stop: int) -> None:
        s = self.state
        s.set_layers(direction_id, (start, stop))
        amount = s.recipe.amount_of(direction_id)
        if amount:
            self.history.change(s.recipe.with_edit(direction_id, amount, (start, stop)),
                                f"Layers of {direction_id}")

    def _on_pad(self, x_id: str, x: float, y_id: str, y: float, dragging: bool) -> None:
        s = self.state
        new = s.recipe.with_edit(x_id, x, s.layers_of(x_id)).with_edit(y_id, y, s.layers_of(y_id))
        self.history.change(new, "Move on pad", s.merge_key("pad", dragging), dragging)

    def _on_controls(self, fields: dict, dragging: bool) -> None:
        s = self.state
        self.history.change(s.recipe.replace(**fields), "Change " + ", ".join(fields),
                            s.merge_key("psi", dragging), dragging)

    def _on_drag_finished(self, _what: str) -> None:
        self.state.finish_drag()

    def randomise_edits(self) -> None:
        s = self.state
        if s.model is None or s.recipe is None:
            return
        new = s.recipe.replace(edits=())
        for d in s.directions.shown()[:RANDOM_EDITS]:  # the method the dock shows, not always PCA
            amount = round(random.uniform(-RANDOM_AMOUNT, RANDOM_AMOUNT), 2)
            new = new.with_edit(d.id, amount, s.layers_of(d.id))
        self.history.change(new, "Randomise edits")

    def reset_edits(self) -> None:
        if self.state.recipe is not None:
            self.history.change(self.state.recipe.replace(edits=()), "Reset edits")
