"""The studio's main window: canvas in the centre, docks for directions, latent controls
and the gallery, a status bar with the model and the last render time.

The window holds the current :class:`Recipe`; every change goes through the undo stack
(:meth:`change_recipe`), is applied by :meth:`_apply_recipe` (sync widgets, ask for a
render) and rendered by the background worker, whose frames arrive as signals.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.fileio import OutputPathError
from facestudio.latent.recipe import Recipe
from facestudio.latent.seeds import MAX_SEED
from facestudio.render.studio_model import ModelLoadError, StudioModel, open_studio_model
from facestudio.session.autosave import Autosaver, claim_folder, recoverable
from facestudio.session.document import (
    ModelIdentity,
    SessionDocument,
    SessionError,
    load_session,
    save_session,
)
from facestudio.session.gallery import Gallery
from facestudio.ui import guard
from facestudio.ui.canvas import FaceCanvas
from facestudio.ui.controls import MAX_SPIN_SEED, LatentControls
from facestudio.ui.directions_menu import install_directions_menu
from facestudio.ui.export_dock import install_export_dock
from facestudio.ui.gallery_dock import GalleryDock, png_thumbnail
from facestudio.ui.mix_tab import install_mix_tab
from facestudio.ui.model_library import install_model_library
from facestudio.ui.opening import kind_of, recipe_problem, session_problem, stored_layers
from facestudio.ui.render_bridge import RenderBridge
from facestudio.ui.sliders import DirectionsPanel
from facestudio.ui.undo import RecipeCommand

MODEL_FILTER = "Models (*.pkl *.pt *.pth *.safetensors);;All files (*)"
SESSION_FILTER = "facestudio sessions (*.fsession)"
MAX_RECENT = 8
AUTOSAVE_MS = 60_000
UNDO_LIMIT = 1000


class StudioWindow(QtWidgets.QMainWindow):
    firstFrameShown = QtCore.Signal()

    def __init__(self, settings: QtCore.QSettings, data_dir: Path,
                 confirm: Callable[[str, str], bool] | None = None,
                 report: Callable[[str, str], None] | None = None):
        super().__init__()
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.confirm = confirm or self._ask
        self.report = report or self._tell
        self.model: StudioModel | None = None
        self.bridge: RenderBridge | None = None
        self.recipe: Recipe | None = None
        self.gallery = Gallery()
        self.direction_layers: dict[str, tuple[int, int]] = {}
        self.undo_stack = QtGui.QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.session_path: Path | None = None
        self.autosaver = Autosaver(claim_folder(self.data_dir))  # a slot of its own per running studio
        self._interactive = False
        self._drag_serial = 0
        self._first_frame = False
        self._dirty = False
        self.frames_shown = 0

        self.setWindowTitle("facestudio")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._build_widgets()
        self._build_actions()
        self._wire()
        self.autosave_timer = QtCore.QTimer(self, interval=AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        # ask before start(): start() writes our own PID into the crash marker
        self.recovery_path = recoverable(self.autosaver.folder)
        self.storage_problem = self._start_autosave()  # None, or why autosave is off
        guard.set_reporter(self.show_internal_error)
        geometry = settings.value("window/geometry")
        if isinstance(geometry, (QtCore.QByteArray, bytes)):  # anything else was not written by us
            self.restoreGeometry(geometry)

    def _start_autosave(self) -> str | None:
        """Claim the autosave folder; on failure turn autosave off and say why in one sentence
        (the studio works without it: a data folder that is a file or read-only)."""
        try:
            self.autosaver.start()
        except (OSError, OutputPathError) as exc:
            self.autosave_timer.stop()
            self.recovery_path = None
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return (f"Autosave and crash recovery are off for this run: the folder "
                    f"{self.autosaver.folder} cannot be used ({reason}).")
        return None

    # --- construction ------------------------------------------------------------------
    def _build_widgets(self) -> None:
        central = QtWidgets.QWidget()
        v = QtWidgets.QVBoxLayout(central)
        v.setContentsMargins(0, 0, 0, 0)
        self.banner = QtWidgets.QLabel()
        self.banner.setObjectName("error_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background:#5c2b29;color:#f6aea9;padding:6px;")
        self.banner.hide()
        self.canvas = FaceCanvas()
        v.addWidget(self.banner)
        self.central_tabs, self.mix_controller = install_mix_tab(self, self.canvas)
        self.mix_view = self.mix_controller.view
        v.addWidget(self.central_tabs, 1)
        self.setCentralWidget(central)

        self.directions_panel = DirectionsPanel()
        self.controls = LatentControls()
        self.gallery_dock = GalleryDock()
        self.gallery_dock.attach(self.gallery)
        for title, widget, area, name in (
            ("Directions", self.directions_panel, QtCore.Qt.RightDockWidgetArea, "dock_directions"),
            ("Latent", self.controls, QtCore.Qt.LeftDockWidgetArea, "dock_latent"),
            ("Gallery", self.gallery_dock, QtCore.Qt.LeftDockWidgetArea, "dock_gallery"),
        ):
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
        self.export_panel, self.export_dock, self.exporter = install_export_dock(self)
        self.model_label = QtWidgets.QLabel("no model")
        self.res_label = QtWidgets.QLabel("")
        self.time_label = QtWidgets.QLabel("")
        for w in (self.model_label, self.res_label, self.time_label):
            self.statusBar().addPermanentWidget(w)

    def _action(self, text: str, slot, shortcut=None, menu=None) -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        if shortcut:
            act.setShortcut(QtGui.QKeySequence(shortcut))
            act.setShortcutContext(QtCore.Qt.WindowShortcut)
        act.triggered.connect(slot)
        self.addAction(act)
        if menu is not None:
            menu.addAction(act)
        return act

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action("&Open model…", self.open_model_dialog, QtGui.QKeySequence.Open, file_menu)
        self.recent_menu = file_menu.addMenu("Recent models")
        self.get_models_action = install_model_library(self, file_menu)
        file_menu.addSeparator()
        self._action("Open session…", self.open_session_dialog, None, file_menu)
        self._action("&Save session", self.save_session_action, QtGui.QKeySequence.Save, file_menu)
        self._action("Save session as…", self.save_session_as, None, file_menu)
        file_menu.addSeparator()
        self._action("&Export…", self.show_export_panel, "Ctrl+E", file_menu)
        self._action("Export face as…", self.exporter.export_face_dialog, "Ctrl+Shift+E", file_menu)
        self._action("Export gallery…", self.exporter.export_gallery_dialog, None, file_menu)
        file_menu.addSeparator()
        self._action("&Quit", self.close, QtGui.QKeySequence.Quit, file_menu)
        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QtGui.QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
        for act in (self.undo_action, self.redo_action):
            self.addAction(act)
            edit_menu.addAction(act)
        edit_menu.addSeparator()
        self._action("New random seed", self.controls.random_seed, "Space", edit_menu)
        self._action("Keep in gallery", self.keep_current, "K", edit_menu)
        self._action("Randomise edits", self.randomise_edits, None, edit_menu)
        self._action("Reset edits", self.reset_edits, None, edit_menu)
        self.directions_controller = install_directions_menu(self, bar.addMenu("&Directions"))
        view_menu = bar.addMenu("&View")
        self._action("Fit", self.canvas.fit, "F", view_menu)
        self._action("Actual size (1:1)", self.canvas.actual_size, "1", view_menu)
        self._action("Zoom in", lambda: self.canvas.zoom(1.25), QtGui.QKeySequence.ZoomIn, view_menu)
        self._action("Zoom out", lambda: self.canvas.zoom(0.8), QtGui.QKeySequence.ZoomOut, view_menu)
        self.show_pixels_action = view_menu.addAction("Show pixels")
        self.show_pixels_action.setCheckable(True)
        self.show_pixels_action.setToolTip("Nearest-neighbour: one block per pixel instead of the "
                                           "Lanczos-smoothed face when zoomed in")
        self.show_pixels_action.toggled.connect(self.canvas.set_show_pixels)
        self._refresh_recent()

    def _wire(self) -> None:
        d = self.directions_panel
        d.amountChanged.connect(self._on_amount)
        d.dragFinished.connect(self._on_drag_finished)
        d.layersChanged.connect(self._on_layers)
        d.padMoved.connect(self._on_pad)
        d.randomiseRequested.connect(self.randomise_edits)
        d.resetAllRequested.connect(self.reset_edits)
        self.controls.changed.connect(self._on_controls)
        self.controls.dragFinished.connect(self._on_drag_finished)
        g = self.gallery_dock
        g.keep_button.clicked.connect(self.keep_current)
        g.restoreRequested.connect(self.restore_face)
        g.deleteRequested.connect(self.gallery.remove)
        g.renameRequested.connect(self.gallery.rename)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    # --- models --------------------------------------------------------------------------
    def open_model(self, path: str | None) -> bool:
        """Load a model (None = bundled); on failure tell the user and keep the current one."""
        model = self._load_model(path)
        if model is None:
            return False
        self._show_model(model)
        return True

    def _load_model(self, path: str | None) -> StudioModel | None:
        """The model at ``path`` loaded but not shown, or None after telling the user why."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.WaitCursor)
        try:
            return open_studio_model(path)
        except ModelLoadError as exc:
            self.report("Cannot open model", str(exc))
            return None
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()

    def _show_model(self, model: StudioModel) -> None:
        self.set_model(model)
        if model.path:
            self._remember_recent(model.path)

    def open_path(self, path: str | Path) -> bool:
        """Open what a file manager would hand the studio: a session, an exported image (its
        recipe, with the open model) or a model. False after telling the user when it cannot."""
        kind = kind_of(path)
        if kind == "session":
            return self.open_session(Path(path))
        if kind == "image":
            return self.exporter.reopen(Path(path))
        return self.open_model(str(path))

    def set_model(self, model: StudioModel) -> None:
        if self.bridge is not None:
            self.bridge.shutdown()
        self.model = model
        self.bridge = RenderBridge(model.renderer, self)
        self.bridge.frameReady.connect(self._on_frame)
        self.direction_layers = {}
        self.directions_controller.model_changed(model)  # sliders, method picker, renderer directions
        self.controls.set_model(model.num_ws, model.c_dim, transform=model.supports_transform)
        self.model_label.setText(model.name)
        self.res_label.setText(f"{model.resolution}×{model.resolution}")
        self.setWindowTitle(f"facestudio — {model.name}[*]")
        self.export_panel.set_model(model.card_meta, model.name, model.sha256, model.resolution)
        self.undo_stack.clear()
        self._apply_recipe(Recipe(model.sha256, self._stored_seed(), psi=0.7,
                                  class_idx=0 if model.c_dim else None, model_name=model.name))
        self.mix_controller.model_changed(model)

    def open_model_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open model", "", MODEL_FILTER)
        if path:
            self.open_model(path)

    def _stored_seed(self) -> int:
        """The seed the last run ended on (within the seed box's range), or 0 when the stored
        value is not a seed (edited by hand: "abc", -5, 1e400)."""
        try:
            seed = int(str(self.settings.value("recipe/seed", 0)).strip())
        except ValueError:
            return 0
        return min(seed, MAX_SPIN_SEED) if 0 <= seed <= MAX_SEED else 0

    def _remember_recent(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("models/recent", json.dumps([path] + recent[:MAX_RECENT - 1]))
        self._refresh_recent()

    def _recent(self) -> list[str]:
        try:
            recent = json.loads(self.settings.value("models/recent", "[]"))
        except (TypeError, ValueError, RecursionError):
            return []
        return [p for p in recent if isinstance(p, str)] if isinstance(recent, list) else []

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            self.recent_menu.addAction(path, lambda p=path: self.open_model(p))
        self.recent_menu.setEnabled(bool(self._recent()))

    # --- recipe changes ---------------------------------------------------------------------
    def change_recipe(self, new: Recipe, text: str, merge_key=None, interactive: bool = False) -> bool:
        """Make ``new`` current through the undo stack; it is checked against the open model
        first, so no command that cannot be applied is pushed. False (told) when refused."""
        if self.recipe is None or new == self.recipe:
            return self.recipe is not None
        problem = recipe_problem(new, self.model, self.model.renderer.directions) if self.model else None
        if problem:
            self.report("Cannot show this face", problem[:1].upper() + problem[1:] + ".")
            return False
        self._interactive = interactive
        try:
            self.undo_stack.push(RecipeCommand(self._apply_recipe, self.recipe, new, text, merge_key))
        finally:
            self._interactive = False
        return True

    def _apply_recipe(self, recipe: Recipe) -> None:
        """Make ``recipe`` current: sync every widget (without feedback) and render it."""
        self.recipe = recipe
        self._dirty = True
        amounts = {e.direction_id: e.amount for e in recipe.edits}
        for e in recipe.edits:
            self.direction_layers[e.direction_id] = e.layers
        self.directions_panel.sync(amounts, self.direction_layers)
        self.controls.sync(recipe.seed, recipe.psi, recipe.cutoff, recipe.noise, recipe.class_idx,
                           transform=recipe.transform)
        if self.bridge is not None:
            self.bridge.submit(recipe, interactive=self._interactive)

    def _merge_key(self, what: str, dragging: bool):
        return ("drag", what, self._drag_serial) if dragging else None

    def _on_amount(self, direction_id: str, amount: float, dragging: bool) -> None:
        new = self.recipe.with_edit(direction_id, amount, self.direction_layers[direction_id])
        self.change_recipe(new, f"Move {direction_id}", self._merge_key(direction_id, dragging), dragging)

    def _on_layers(self, direction_id: str, start: int, stop: int) -> None:
        self.direction_layers[direction_id] = (start, stop)
        amount = self.recipe.amount_of(direction_id)
        if amount:
            self.change_recipe(self.recipe.with_edit(direction_id, amount, (start, stop)),
                               f"Layers of {direction_id}")

    def _on_pad(self, x_id: str, x: float, y_id: str, y: float, dragging: bool) -> None:
        new = self.recipe.with_edit(x_id, x, self.direction_layers[x_id])
        new = new.with_edit(y_id, y, self.direction_layers[y_id])
        self.change_recipe(new, "Move on pad", self._merge_key("pad", dragging), dragging)

    def _on_controls(self, fields: dict, dragging: bool) -> None:
        self.change_recipe(self.recipe.replace(**fields), "Change " + ", ".join(fields),
                           self._merge_key("psi", dragging), dragging)

    def _on_drag_finished(self, _what: str) -> None:
        self._drag_serial += 1
        if self.bridge is not None and self.recipe is not None:
            self.bridge.submit(self.recipe)

    def randomise_edits(self) -> None:
        if not self.model:
            return
        new = self.recipe.replace(edits=())
        for d in self.model.directions[:8]:
            new = new.with_edit(d.id, round(random.uniform(-2, 2), 2), self.direction_layers[d.id])
        self.change_recipe(new, "Randomise edits")

    def reset_edits(self) -> None:
        if self.recipe is not None:
            self.change_recipe(self.recipe.replace(edits=()), "Reset edits")

    # --- frames -----------------------------------------------------------------------------
    def _on_frame(self, result) -> None:
        if result.error:
            self.banner.setText(f"Render failed: {result.error}")
            self.banner.show()
            return
        self.canvas.show_image(result.image)
        self.frames_shown += 1
        kind = "preview" if result.level else "full"
        self.time_label.setText(f"{kind} {result.elapsed_ms:.0f} ms")
        if result.level == 0:
            self.banner.hide()
            if not self._first_frame:
                self._first_frame = True
                self.firstFrameShown.emit()

    # --- gallery ----------------------------------------------------------------------------
    def keep_current(self) -> None:
        if self.recipe is None or self.canvas.image is None:
            return
        face = self.gallery.add(self.recipe, thumbnail=png_thumbnail(self.canvas.image))
        self.statusBar().showMessage(f"Kept {face.name}", 3000)

    def restore_face(self, face_id: str) -> None:
        if face_id not in self.gallery or self.model is None:
            return
        face = self.gallery.get(face_id)
        if face.recipe.model_sha256 != self.model.sha256:
            self.report("Different model", f"{face.name} was made with another model "
                        f"({face.recipe.model_name or face.recipe.model_sha256[:12]}); open that model first.")
            return
        self.change_recipe(face.recipe.replace(model_name=self.model.name), f"Restore {face.name}")

    def show_internal_error(self, sentence: str) -> None:
        """What :mod:`guard` calls with the sentence for an exception it caught."""
        self.statusBar().showMessage(sentence, 10_000)
        self.report("Internal error", sentence)

    # --- sessions ---------------------------------------------------------------------------
    def document(self) -> SessionDocument:
        identity = ModelIdentity(self.model.sha256, self.model.name, self.model.path or "") \
            if self.model else ModelIdentity()
        return SessionDocument(
            model=identity, recipe=self.recipe, gallery=self.gallery,
            directions=list(self.directions_controller.user_directions),
            ui_state={"direction_layers": {k: list(v) for k, v in self.direction_layers.items()}})

    def save_session_to(self, path: Path) -> bool:
        try:
            save_session(self.document(), path, overwrite=True)
        except (SessionError, OSError) as exc:
            self.report("Cannot save session", str(exc))
            return False
        self.session_path = Path(path)
        self.undo_stack.setClean()
        self.statusBar().showMessage(f"Saved {path}", 3000)
        return True

    def save_session_action(self) -> None:
        if self.session_path:
            self.save_session_to(self.session_path)
        else:
            self.save_session_as()

    def save_session_as(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save session", "untitled.fsession", SESSION_FILTER)
        if path:
            self.save_session_to(Path(path))

    def open_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open session", "", SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> bool:
        """Open a session all-or-nothing: the file, its model and everything it holds are
        checked before any window state changes; on failure one message and nothing changed."""
        try:
            doc = load_session(path)
        except SessionError as exc:
            self.report("Cannot open session", str(exc))
            return False
        model = self.model
        if model is None or doc.model.sha256 != model.sha256:
            if doc.model.path or model is None:
                model = self._load_model(doc.model.path or None)
                if model is None:
                    return False  # _load_model said why, in one message
            else:
                model = None
            if model is None or model.sha256 != doc.model.sha256:
                self.report("Model not found", f"the session was made with {doc.model.name or 'another model'}, "
                            "which is not open and could not be found; open it, then the session again.")
                return False
        problem = session_problem(doc, model)
        if problem:
            self.report("Cannot open session", f"cannot open the session {Path(path).name}: {problem}.")
            return False
        if model is not self.model:
            self._show_model(model)
        self.directions_controller.set_user_directions(doc.directions)
        self.gallery.reset(list(doc.gallery))
        self.direction_layers.update({k: v for k, v in stored_layers(doc, model.num_ws).items()
                                      if k in self.direction_layers})
        self.undo_stack.clear()
        if doc.recipe is not None:
            self._apply_recipe(doc.recipe)
        self.session_path = Path(path)
        return True

    def autosave(self) -> None:
        if self._dirty and self.recipe is not None and self.storage_problem is None:
            try:
                self.autosaver.save(self.document())
                self._dirty = False
            except (SessionError, OSError) as exc:
                self.statusBar().showMessage(f"Autosave failed: {exc}", 5000)

    def offer_recovery(self) -> None:
        """Offer the autosave a crashed run left behind (found when this window started)."""
        path, self.recovery_path = self.recovery_path, None
        if path and path.is_file() and self.confirm("Recover session",
                                 "facestudio did not close properly last time. Recover the autosaved session?"):
            self.open_session(path)

    # --- export (the Export dock: provenance-stamped files, batches, reopening) -----------------
    def show_export_panel(self) -> None:
        self.export_dock.show()
        self.export_dock.raise_()
        self.export_panel.export_button.setFocus()

    def export_face(self, path: Path, overwrite: bool = False) -> bool:
        """Export the current face to ``path`` with the export panel's settings."""
        return self.exporter.export_face(path, overwrite)

    # --- events -----------------------------------------------------------------------------
    @guard.guarded
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    @guard.guarded
    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0].toLocalFile())

    @guard.guarded
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if guard.reporter() == self.show_internal_error:
            guard.set_reporter(None)
        self.settings.setValue("window/geometry", self.saveGeometry())
        if self.recipe is not None:
            self.settings.setValue("recipe/seed", self.recipe.seed)
        self.autosave_timer.stop()
        if self.bridge is not None:
            self.bridge.shutdown()
        if self.storage_problem is None:
            self.autosaver.stop(clean=True)
        super().closeEvent(event)

    def _ask(self, title: str, text: str) -> bool:
        return QtWidgets.QMessageBox.question(self, title, text) == QtWidgets.QMessageBox.Yes

    def _tell(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, title, text)
