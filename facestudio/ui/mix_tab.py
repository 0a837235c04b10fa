"""Glue between the studio and its Mix and Compare tabs.

:func:`build_mix_tabs` puts the canvas, a :class:`MixView` and a :class:`CompareView` in a
tab widget for the window's central area. A :class:`MixController`, built on the studio's
:class:`~facestudio.ui.context.StudioContext`, connects them: the render bridge (batches,
once: the bridge lives as long as the studio), the state's ``"model"`` event (the views fit
the new model), the gallery (faces as rows / donors, "Keep selected"), and the current face
(a clicked cell becomes it, one undo step); the grid and the strip are exported with the
context's stamp, through its lookalike check.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from facestudio.latent.mixing import grid_labels, grid_layout, grid_sheet
from facestudio.latent.recipe import Recipe
from facestudio.provenance import ExportOptions, export_image
from facestudio.provenance.batch import contact_sheet
from facestudio.ui.compare_view import CompareView
from facestudio.ui.context import StudioContext
from facestudio.ui.gallery_dock import png_thumbnail
from facestudio.ui.mix_view import MixView


class MixController:
    def __init__(self, context: StudioContext, tabs: QtWidgets.QTabWidget, view: MixView, compare: CompareView):
        self.context = context
        self.state = context.state
        self.history = context.history
        self.bridge = context.bridge
        self.tabs = tabs
        self.view = view
        self.compare = compare
        self.bridge.batchReady.connect(view.on_batch)
        self.bridge.batchReady.connect(compare.on_batch)
        compare.strip.use_exports(context.stamp, context.guarded_exports)
        view.faceChosen.connect(self.choose)
        view.faceOpened.connect(self.open)
        view.keepRequested.connect(self.keep)
        view.exportRequested.connect(self.export_dialog)
        self.state.events.connect(self._on_state)

    def _on_state(self, kind: str, payload) -> None:
        recipe = self.state.recipe
        if kind == "model" and recipe is not None and self.state.made_with_open_model(recipe):
            self.model_changed(payload)

    def model_changed(self, model) -> None:
        """``model`` was opened (the state has its first recipe): the views fit it."""
        bridge, state = self.bridge, self.state
        self.view.set_model(state.recipe, model.num_ws, model.layer_groups(), bridge.submit_batch,
                            self.gallery_recipes)
        self.compare.set_model(bridge.submit_batch, lambda: state.recipe)
        self.compare.strip.set_model(bridge.submit_ws_batch, model.num_ws, model.layer_groups())

    def gallery_recipes(self) -> list[Recipe]:
        """The selected gallery faces of the loaded model (all of them when none is selected)."""
        gallery, state = self.state.gallery, self.state
        faces = [gallery.get(i) for i in self.context.selected_face_ids() if i in gallery] or list(gallery)
        return [f.recipe.replace(model_name=state.model.name) for f in faces if state.made_with_open_model(f.recipe)]

    def choose(self, recipe: Recipe) -> None:
        """A clicked cell becomes the current face (one undo step)."""
        if self.state.made_with_open_model(recipe):
            self.history.change(recipe, "Pick mixed face")

    def open(self, recipe: Recipe) -> None:
        """A double-clicked cell: make it current and show it on the canvas tab."""
        self.choose(recipe)
        self.tabs.setCurrentIndex(0)

    def keep(self, picks) -> None:
        for recipe, image in picks:
            self.state.gallery.add(recipe, thumbnail=png_thumbnail(image))
        self.context.status(f"Kept {len(picks)} mixed faces", 3000)

    def grid_faces(self) -> list:
        """The faces the grid shows (row and column faces, and every cell)."""
        view = self.view
        if not view.is_complete():
            raise ValueError("the grid is still rendering; export it when every face is shown")
        grid = view.grid
        return ([view.cache[c] for c in grid.cols] + [view.cache[r] for r in grid.rows] +
                [view.cache[grid.cell(r, c)] for r in range(grid.shape[0]) for c in range(grid.shape[1])])

    def export_grid(self, path: Path, overwrite: bool = False, lookalike: dict[str, str] | None = None) -> list[Path]:
        """Write the current grid as one sheet with the provenance stamp of the Export dock
        (artist, terms) and the lookalike check's fields; reference layout, or a labelled
        contact sheet when "labels" is on. Raises ValueError / ExportError with one sentence."""
        view = self.view
        if not view.is_complete():
            raise ValueError("the grid is still rendering; export it when every face is shown")
        grid = view.grid
        if view.labels_check.isChecked():
            blank = view.cache[grid.rows[0]] * 0
            laid = grid_layout(grid.rows, grid.cols, grid.cells())
            sheet = contact_sheet([blank if r is None else view.cache[r] for r in laid], grid_labels(grid),
                                  columns=grid.shape[1] + 1)
        else:
            sheet = grid_sheet(grid, view.cache)
        a, b = grid.layers
        rows = ", ".join(str(r.seed) + ("*" if r.edits else "") for r in grid.rows)
        cols = ", ".join(str(c.seed) + ("*" if c.edits else "") for c in grid.cols)
        extra = {"MixGrid": f"rows {rows}; columns {cols}; layers {a}-{b - 1}; psi {grid.rows[0].psi}"}
        return export_image(sheet, Path(path), self.context.stamp(), None, ExportOptions(),
                            overwrite, {**extra, **(lookalike or {})})

    def export_dialog(self) -> None:
        ctx = self.context
        path, _ = QtWidgets.QFileDialog.getSaveFileName(ctx.parent, "Export mixing grid", "mix.png",
                                                        "Images (*.png *.jpg *.webp)")
        if not path:
            return
        path, overwrite = Path(path), Path(path).exists()  # the dialog has asked
        report = lambda sentence: ctx.report("Cannot export the grid", sentence)  # noqa: E731
        try:
            faces = self.grid_faces()
        except ValueError as exc:
            report(str(exc))
            return
        ctx.guarded_exports.submit(
            faces, lambda fields: self.export_grid(path, overwrite, fields), path.name,
            done=lambda written: ctx.status(f"Wrote {written[0]}", 3000), fail=report)


def build_mix_tabs(canvas: QtWidgets.QWidget) -> tuple[QtWidgets.QTabWidget, MixView, CompareView]:
    """A tab widget holding ``canvas`` ("Face"), a Mix view ("Mix") and an A/B compare view
    ("Compare"); add it to the window's layout and give the views a :class:`MixController`."""
    tabs = QtWidgets.QTabWidget()
    tabs.setObjectName("central_tabs")
    tabs.setDocumentMode(True)
    view = MixView()
    view.setObjectName("mix_view")
    tabs.addTab(canvas, "Face")
    tabs.addTab(view, "Mix")
    compare = CompareView()
    compare.setObjectName("compare_view")
    tabs.addTab(compare, "Compare")
    return tabs, view, compare
