"""Opening a model in the studio: load it (a sentence when it cannot be), hand it to the
render worker and the measuring thread, then make it the state's model with its first face.

The workers get the model first, so the render of the first face and every check find it;
everything else (the sliders, the latent controls, the Export dock, the Mix tab, the window's
title) follows the state's ``"model"`` event, which comes before the first ``"recipe"``.
"""

from __future__ import annotations

from typing import Callable

from PySide6 import QtCore, QtWidgets

from facestudio.latent.recipe import Recipe
from facestudio.latent.seeds import MAX_SEED
from facestudio.render.studio_model import ModelLoadError, StudioModel, open_studio_model
from facestudio.ui.context import StudioContext
from facestudio.ui.controls import MAX_SPIN_SEED
from facestudio.ui.off_gui_thread import call_off_gui_thread

MODEL_FILTER = "Models (*.pkl *.pt *.pth *.safetensors);;All files (*)"
FIRST_PSI = 0.7
SEED_KEY = "recipe/seed"  # the seed the last run ended on


class ModelOpener:
    """Opens models for the studio of ``context``; ``remembered(path)`` is told of every
    model opened from a file (the recent-models list)."""

    def __init__(self, context: StudioContext, remembered: Callable[[str], None] = lambda path: None):
        self.context = context
        self.remembered = remembered

    def open(self, path: str | None) -> bool:
        """Load a model (None = bundled); on failure tell the user and keep the current one."""
        model = self.load(path)
        if model is None:
            return False
        self.show(model)
        return True

    def load(self, path: str | None) -> StudioModel | None:
        """The model at ``path`` loaded but not shown, or None after telling the user why.
        It loads beside the GUI thread (discovering its directions runs its mapping network)."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.WaitCursor)
        try:
            return call_off_gui_thread(open_studio_model, path, name="facestudio-open-model")
        except ModelLoadError as exc:
            self.context.report("Cannot open model", str(exc))
            return None
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()

    def show(self, model: StudioModel) -> None:
        """Make ``model`` the studio's, on a first face of the stored seed."""
        ctx = self.context
        ctx.bridge.set_renderer(model.renderer)
        ctx.analysis.set_model(model.sha256)
        ctx.history.start_model(model, Recipe(model.sha256, self.stored_seed(), psi=FIRST_PSI,
                                              class_idx=0 if model.c_dim else None, model_name=model.name))
        if model.path:
            self.remembered(model.path)

    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.context.parent, "Open model", "", MODEL_FILTER)
        if path:
            self.open(path)

    def stored_seed(self) -> int:
        """The seed the last run ended on (within the seed box's range), or 0 when the stored
        value is not a seed (edited by hand: "abc", -5, 1e400)."""
        try:
            seed = int(str(self.context.settings.value(SEED_KEY, 0)).strip())
        except ValueError:
            return 0
        return min(seed, MAX_SPIN_SEED) if 0 <= seed <= MAX_SEED else 0

    def remember_seed(self) -> None:
        """The studio is closing: keep the current face's seed for the next start."""
        recipe = self.context.state.recipe
        if recipe is not None:
            self.context.settings.setValue(SEED_KEY, recipe.seed)
