"""The studio's main window: canvas in the centre, docks for directions, latent controls
and the gallery, a status bar with the model and the last render time.

The window builds the widgets and the menus, opens models and shows frames; what it shows
is the Qt-free :class:`StudioState` (``window.state``). Controllers do the rest: every
change of the face is one step of the :class:`RecipeHistory` (``window.history``), the
:class:`EditController` shows the current recipe on the controls and sends it to the one
:class:`RenderBridge` (``window.bridge``), whose frames arrive as signals; sessions and
autosave are the :class:`SessionController`'s (``window.sessions``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.latent.seeds import MAX_SEED
from facestudio.render.studio_model import ModelLoadError, StudioModel, open_studio_model
from facestudio.latent.recipe import Recipe
from facestudio.session.studio_state import StudioState
from facestudio.ui import guard
from facestudio.ui.canvas import FaceCanvas
from facestudio.ui.controls import MAX_SPIN_SEED, LatentControls
from facestudio.ui.directions_menu import install_directions_menu
from facestudio.ui.editing import EditController
from facestudio.ui.export_dock import install_export_dock
from facestudio.ui.gallery_dock import GalleryController, GalleryDock
from facestudio.ui.help_menu import install_help_menu
from facestudio.ui.layout import install_layout
from facestudio.ui.analysis_bridge import AnalysisBridge
from facestudio.ui.audit_dock import install_audit_dock
from facestudio.ui.library_tab import install_library_tab
from facestudio.ui.lookalike_check import GuardedExports, LookalikeBadge
from facestudio.ui.mix_tab import install_mix_tab
from facestudio.ui.model_library import install_model_library
from facestudio.ui.opening import kind_of
from facestudio.ui.anonymize_dialog import open_anonymize_dialog
from facestudio.ui.recent import RecentFiles
from facestudio.ui.render_bridge import RenderBridge
from facestudio.ui.sessions import SessionController
from facestudio.ui.sliders import DirectionsPanel
from facestudio.ui.undo import RecipeHistory

MODEL_FILTER = "Models (*.pkl *.pt *.pth *.safetensors);;All files (*)"


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
        self.state = StudioState()
        self.history = RecipeHistory(self.state, self.report, self)
        self.bridge = RenderBridge(self)
        self.bridge.frameReady.connect(self._on_frame)
        self.analysis = AnalysisBridge(self)
        self.guarded_exports = GuardedExports(  # the Export dock is built later; asked when an answer comes
            self.analysis, lambda: self.export_panel.allow_lookalike_check.isChecked(), self)
        self._first_frame = False
        self._badge_key = None
        self.frames_shown = 0

        self.setWindowTitle("facestudio")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.sessions = SessionController(self, self.data_dir)
        self._build_widgets()
        self._build_actions()
        self.history.stack.cleanChanged.connect(self._on_clean_changed)
        guard.set_reporter(self.show_internal_error)
        geometry = settings.value("window/geometry")
        if isinstance(geometry, (QtCore.QByteArray, bytes)):  # anything else was not written by us
            self.restoreGeometry(geometry)
        self.dock_layout.restore()

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
        self.library_tab = install_library_tab(self, self.central_tabs)
        v.addWidget(self.central_tabs, 1)
        self.setCentralWidget(central)

        self.directions_panel = DirectionsPanel()
        self.controls = LatentControls()
        self.gallery_dock = GalleryDock()
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
        self.lookalike_badge = LookalikeBadge()
        self.analysis.faceChecked.connect(self._on_face_checked)
        for w in (self.lookalike_badge, self.model_label, self.res_label, self.time_label):
            self.statusBar().addPermanentWidget(w)
        self.editor = EditController(self.state, self.history, self.bridge, self.directions_panel, self.controls)
        self.gallery_controller = GalleryController(self.state, self.history, self.gallery_dock, self.canvas,
                                                    self.report, self.statusBar())
        self.audit_dock = install_audit_dock(self)

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
        self.recent_models = RecentFiles(self.settings, "models/recent", self.recent_menu, self.open_model, self)
        self.get_models_action = install_model_library(self, file_menu)
        file_menu.addSeparator()
        self._action("Open session…", self.sessions.open_dialog, None, file_menu)
        self.recent_sessions_menu = file_menu.addMenu("Recent sessions")
        self.recent_sessions = RecentFiles(self.settings, "sessions/recent", self.recent_sessions_menu,
                                           lambda p: self.sessions.open(Path(p)), self)
        self.sessions.remembered = self.recent_sessions.remember
        self._action("&Save session", self.sessions.save, QtGui.QKeySequence.Save, file_menu)
        self._action("Save session as…", self.sessions.save_as, None, file_menu)
        file_menu.addSeparator()
        self._action("&Export…", self.show_export_panel, "Ctrl+E", file_menu)
        self._action("Export face as…", self.exporter.export_face_dialog, "Ctrl+Shift+E", file_menu)
        self._action("Export gallery…", self.exporter.export_gallery_dialog, None, file_menu)
        file_menu.addSeparator()
        self._action("Anonymize a photo…", lambda: open_anonymize_dialog(self), None, file_menu)
        file_menu.addSeparator()
        self._action("&Quit", self.close, QtGui.QKeySequence.Quit, file_menu)
        edit_menu = bar.addMenu("&Edit")
        self.undo_action, self.redo_action = self.history.make_actions(self)
        for act in (self.undo_action, self.redo_action):
            self.addAction(act)
            edit_menu.addAction(act)
        edit_menu.addSeparator()
        self._action("New random seed", self.controls.random_seed, "Space", edit_menu)
        self._action("Keep in gallery", self.gallery_controller.keep_current, "K", edit_menu)
        self._action("Randomise edits", self.editor.randomise_edits, None, edit_menu)
        self._action("Reset edits", self.editor.reset_edits, None, edit_menu)
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
        self.dock_layout = install_layout(self, view_menu)
        self.getting_started = install_help_menu(self, bar.addMenu("&Help"))

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    # --- models --------------------------------------------------------------------------
    def open_model(self, path: str | None) -> bool:
        """Load a model (None = bundled); on failure tell the user and keep the current one."""
        model = self.load_model(path)
        if model is None:
            return False
        self.show_model(model)
        return True

    def load_model(self, path: str | None) -> StudioModel | None:
        """The model at ``path`` loaded but not shown, or None after telling the user why."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.WaitCursor)
        try:
            return open_studio_model(path)
        except ModelLoadError as exc:
            self.report("Cannot open model", str(exc))
            return None
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()

    def show_model(self, model: StudioModel) -> None:
        self.set_model(model)
        if model.path:
            self.recent_models.remember(model.path)

    def open_path(self, path: str | Path) -> bool:
        """Open what a file manager would hand the studio: a session, an exported image (its
        recipe, with the open model) or a model. False after telling the user when it cannot."""
        kind = kind_of(path)
        if kind == "session":
            return self.sessions.open(Path(path))
        if kind == "image":
            return self.exporter.reopen(Path(path))
        return self.open_model(str(path))

    def set_model(self, model: StudioModel) -> None:
        self.bridge.set_renderer(model.renderer)
        self.analysis.set_model(model.sha256)
        self.state.set_model(model)
        self.directions_controller.model_changed(model)  # sliders, method picker, renderer directions
        self.controls.set_model(model.num_ws, model.c_dim, transform=model.supports_transform)
        self.model_label.setText(model.name)
        self.res_label.setText(f"{model.resolution}×{model.resolution}")
        self.setWindowTitle(f"facestudio — {model.name}[*]")
        self.export_panel.set_model(model.card_meta, model.name, model.sha256, model.resolution)
        self.history.start(Recipe(model.sha256, self._stored_seed(), psi=0.7,
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
            self._badge_key = result.request_id
            self.lookalike_badge.checking()
            self.analysis.check_face(result.request_id, result.image)
            self.audit_dock.measure_current(result.image)
            if not self._first_frame:
                self._first_frame = True
                self.firstFrameShown.emit()

    def _on_face_checked(self, key, verdict) -> None:
        if key == self._badge_key:  # an answer about a face already replaced is not shown
            self.lookalike_badge.show_verdict(verdict)

    def show_internal_error(self, sentence: str) -> None:
        """What :mod:`guard` calls with the sentence for an exception it caught."""
        self.statusBar().showMessage(sentence, 10_000)
        self.report("Internal error", sentence)

    # --- export (the Export dock: provenance-stamped files, batches, reopening) -----------------
    def show_export_panel(self) -> None:
        self.export_dock.show()
        self.export_dock.raise_()
        self.export_panel.export_button.setFocus()

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
        self.dock_layout.save()
        if self.state.recipe is not None:
            self.settings.setValue("recipe/seed", self.state.recipe.seed)
        self.sessions.close()
        self.bridge.shutdown()
        self.analysis.shutdown()
        self.library_tab.close_library()
        super().closeEvent(event)

    def _ask(self, title: str, text: str) -> bool:
        return QtWidgets.QMessageBox.question(self, title, text) == QtWidgets.QMessageBox.Yes

    def _tell(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, title, text)
