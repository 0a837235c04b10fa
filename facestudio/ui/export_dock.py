"""The export dock: runs the exports the :class:`ExportPanel` describes, and reopens recipes
from exported images dropped onto the studio.

Faces are rendered by the studio's render worker (a batch under a tag of our own, so the
GUI thread never runs the network), checked by the studio's lookalike checker (off the GUI
thread too), and each image is written with its provenance stamp and the check's verdict as
its answer arrives (:class:`~facestudio.provenance.batch.BatchExport`). A face that resembles
a real photo is left out unless the panel allows it. One export runs at a time; a new one
cancels what is left of the old.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from facestudio.fileio import OutputPathError, check_writable_target
from facestudio.provenance import ProvenanceReadError, read_provenance, sidecar_path
from facestudio.provenance.batch import BatchExport, BatchPlan, plan_batch
from facestudio.provenance.export import resolve_format
from facestudio.provenance.guarded import LookalikeRefused
from facestudio.ui.context import StudioContext
from facestudio.ui.export_panel import FORMATS, ExportPanel
from facestudio.ui.opening import IMAGE_SUFFIXES, recipe_problem

__all__ = ["IMAGE_SUFFIXES", "ExportController", "build_export_dock"]


class ExportController(QtCore.QObject):
    """Exports for the studio of a :class:`StudioContext`: what its ``state`` shows, rendered
    by its ``bridge`` (connected once: it lives as long as the studio); the user is asked
    (``confirm``) and told (``report``, ``status``); a model that is opened (the state's
    ``"model"`` event) becomes the panel's. ``finished`` carries the paths written."""

    finished = QtCore.Signal(list)
    failed = QtCore.Signal(str)

    def __init__(self, context: StudioContext, panel: ExportPanel):
        super().__init__(context.parent)
        self.context = context
        self.state = context.state
        self.bridge = context.bridge
        self.panel = panel
        self.job: BatchExport | None = None
        self._tag: str | None = None
        self._serial = 0
        self.checker = context.analysis
        self.bridge.batchReady.connect(self._on_batch)
        self.state.events.connect(self._on_state)
        self.checker.exportChecked.connect(self._on_checked)
        panel.exportFaceRequested.connect(self.export_face_dialog)
        panel.exportGalleryRequested.connect(self.export_gallery_dialog)

    def _on_state(self, kind: str, model) -> None:
        if kind == "model":
            self.panel.set_model(model.card_meta, model.name, model.sha256, model.resolution)

    # --- starting ----------------------------------------------------------------------------
    def _ready(self) -> bool:
        if self.state.model is None or self.state.recipe is None:
            self.context.report("Nothing to export", "Open a model first.")
            return False
        return True

    def _folder(self) -> str:
        return str(self.context.settings.value("export/folder", str(Path.home())))

    def export_face_dialog(self) -> None:
        if not self._ready():
            return
        ext = self.panel.extension
        suggested = str(Path(self._folder()) / f"face-{self.state.recipe.seed}{ext}")
        label = FORMATS[self.panel.format_combo.currentIndex()][0]
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.context.parent, "Export face", suggested,
                                                        f"{label} images (*{ext})")
        if path:
            path = Path(path)
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                path = path.with_name(path.name + ext)
            self.context.settings.setValue("export/folder", str(path.parent))
            self.export_face(path, overwrite=path.exists())  # the dialog has asked already

    def export_face(self, path: Path, overwrite: bool = False) -> bool:
        """Start exporting the current face to ``path``; False (after telling the user) when
        it cannot start. An existing file is replaced only after asking."""
        if not self._ready():
            return False
        path = Path(path)
        try:
            options = self.panel.options()
            resolve_format(path, options)
            targets = [path] + ([sidecar_path(path)] if options.sidecar else [])
            existing = [p for p in targets if p.exists()]
            if existing and not overwrite:
                if not self.context.confirm("Replace file", f"{existing[0].name} already exists. Replace it?"):
                    return False
                overwrite = True
            for target in targets:
                check_writable_target(target, overwrite)
        except (ValueError, OutputPathError) as exc:
            self._fail(str(exc))
            return False
        self._start(BatchPlan([self.state.recipe], [path], None), options, overwrite)
        return True

    def export_gallery_dialog(self) -> None:
        if not self._ready():
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self.context.parent, "Export gallery to folder", self._folder())
        if folder:
            self.context.settings.setValue("export/folder", folder)
            self.export_gallery(Path(folder))

    def _chosen_faces(self) -> list:
        faces = list(self.state.gallery)
        if self.panel.selected_only_check.isChecked():
            ids = set(self.context.selected_face_ids())
            faces = [f for f in faces if f.id in ids]
        return faces

    def export_gallery(self, folder: Path, overwrite: bool = False) -> bool:
        """Start exporting the gallery's faces (or the selected ones) made with the open model."""
        if not self._ready():
            return False
        faces = self._chosen_faces()
        matching = [f for f in faces if self.state.made_with_open_model(f.recipe)]
        try:
            if faces and not matching:
                raise ValueError("none of these faces was made with the open model; open their model first")
            options = self.panel.options()
            plan = plan_batch(folder, [(f.name, f.recipe) for f in matching], self.panel.pattern_edit.text(),
                              self.panel.extension, options, self.panel.sheet_check.isChecked())
            if plan.existing and not overwrite:
                names = ", ".join(p.name for p in plan.existing[:3]) + (" …" if len(plan.existing) > 3 else "")
                if not self.context.confirm("Replace files", f"{len(plan.existing)} files already exist in "
                                           f"{folder} ({names}). Replace them?"):
                    return False
                overwrite = True
        except (ValueError, OutputPathError) as exc:
            self._fail(str(exc))
            return False
        skipped = len(faces) - len(matching)
        self._start(plan, options, overwrite,
                    f" ({skipped} faces made with other models were skipped)" if skipped else "")
        return True

    def _start(self, plan: BatchPlan, options, overwrite: bool, note: str = "") -> None:
        self.cancel()
        stamp = self.panel.stamp()
        self.job = BatchExport(plan, lambda _recipe: stamp, options, overwrite)
        self._note = note
        self._serial += 1
        self._tag = f"export-{self._serial}"
        self.panel.progress.setRange(0, self.job.total)
        self.panel.progress.setValue(0)
        self.panel.progress.setVisible(self.job.total > 1)
        self.panel.status.setText(f"Rendering {self.job.total} face(s)…")
        self.bridge.submit_batch(plan.recipes, self._tag)

    def cancel(self) -> None:
        """Drop what is left of the running export (files already written stay)."""
        if self._tag is not None:
            self.bridge.cancel_batch(self._tag)
        self.job, self._tag = None, None
        self.panel.progress.setVisible(False)

    # --- results -----------------------------------------------------------------------------
    def _on_batch(self, result) -> None:
        if self.job is None or result.tag != self._tag:
            return
        if not result.ok:
            self._fail(f"rendering failed: {result.error}")
            return
        for k, image in enumerate(result.images):  # answered in order by _on_checked
            self.checker.check_export(self._tag, result.start_index + k, [image], image)

    def _on_checked(self, tag: str, index: int, image, verdict) -> None:
        if self.job is None or tag != self._tag:
            return
        try:
            try:
                self.job.write(index, image, verdict, self.panel.allow_lookalike_check.isChecked(),
                               "tick 'Export faces that resemble a real photo'")
            except LookalikeRefused as refused:
                if self.job.total == 1:
                    raise ValueError(str(refused)) from None
                self.job.leave_out(index)
            self.panel.progress.setValue(self.job.done)
            written = self.job.finish() if self.job.done == self.job.total else None
        except (OutputPathError, OSError, ValueError) as exc:  # ExportError is an OutputPathError
            self._fail(str(exc))
            return
        if written is not None:
            job, self.job, self._tag = self.job, None, None
            self.panel.progress.setVisible(False)
            where = job.plan.paths[0] if job.total == 1 else job.plan.paths[0].parent
            left_out = (f"; {len(job.left_out)} faces that resemble a real photo were left out"
                        if job.left_out else "")
            self.panel.status.setText(f"Exported {where}{self._note}{left_out}")
            self.context.status(f"Exported {len(written)} file(s) to {where}{left_out}", 5000)
            self.finished.emit(written)

    def _fail(self, message: str) -> None:
        self.cancel()
        self.panel.status.setText(message)
        self.context.report("Cannot export", message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."))
        self.failed.emit(message)

    # --- reopening ---------------------------------------------------------------------------
    def reopen(self, path: Path) -> bool:
        """Make the recipe stamped into ``path`` current when it was made with the open model;
        otherwise say which model it needs."""
        path = Path(path)
        try:
            prov = read_provenance(path)
            recipe = prov.to_recipe()
        except (ProvenanceReadError, ValueError) as exc:
            self.context.report("Cannot open image", str(exc))
            return False
        if recipe is None:
            mark = prov.watermark
            said = (f" Its invisible watermark says facestudio made it, with a model whose sha256 starts "
                    f"{mark.model_sha256_prefix}." if mark.found else " It carries no facestudio watermark either.")
            self.context.report("No recipe", f"{path.name} carries no facestudio recipe, so it cannot be reopened.{said}")
            return False
        model = self.state.model
        if not self.state.made_with_open_model(recipe):
            self.context.report("Different model", f"{path.name} was made with the model "
                               f"{recipe.model_name or 'unnamed'} (sha256 {recipe.model_sha256}); "
                               "open that model, then drop the image again.")
            return False
        problem = recipe_problem(recipe, model, self.state.directions.known_ids())
        if problem:
            self.context.report("Cannot open image", f"{path.name} cannot be reopened: {problem}.")
            return False
        if not self.context.history.change(recipe.replace(model_name=model.name), f"Open {path.name}"):
            return False
        self.context.status(f"Reopened the recipe of {path.name}", 5000)
        return True


def build_export_dock(window: QtWidgets.QMainWindow, settings: QtCore.QSettings,
                      area=QtCore.Qt.RightDockWidgetArea) -> tuple[ExportPanel, QtWidgets.QDockWidget]:
    """Add the Export dock to ``window`` (tabbed with the Directions dock when there is one);
    returns (panel, dock). Its :class:`ExportController` is built on the studio's context."""
    panel = ExportPanel(settings)
    dock = QtWidgets.QDockWidget("Export", window)
    dock.setObjectName("dock_export")
    dock.setWidget(panel)
    window.addDockWidget(area, dock)
    directions = window.findChild(QtWidgets.QDockWidget, "dock_directions")
    if directions is not None:
        window.tabifyDockWidget(directions, dock)
        directions.raise_()
    return panel, dock
