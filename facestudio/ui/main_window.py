"""The studio's main window: the composition root of the studio.

It builds, in this order: the shared services (the Qt-free :class:`StudioState`, the undo
:class:`RecipeHistory`, the :class:`RenderBridge` to the render worker, the
:class:`AnalysisBridge` to the measuring thread); every widget and dock (canvas, the Mix,
Compare and Library tabs, the Directions, Latent, Gallery, Export and Audit docks, the
status bar); the :class:`StudioContext` that hands the services to controllers; the
controllers, each on the context and its own widgets; and last the menus, whose actions call
the controllers. Controllers follow the state's events (a model opened, a recipe made
current, the dirty flag) rather than being called by the window; none reads the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.session.studio_state import StudioState
from facestudio.ui import guard
from facestudio.ui.analysis_bridge import AnalysisBridge
from facestudio.ui.anonymize_dialog import open_anonymize_dialog
from facestudio.ui.audit_dock import build_audit_dock
from facestudio.ui.canvas import FaceCanvas
from facestudio.ui.context import StudioContext
from facestudio.ui.controls import LatentControls
from facestudio.ui.directions_menu import DirectionsController
from facestudio.ui.editing import EditController
from facestudio.ui.export_dock import ExportController, build_export_dock
from facestudio.ui.face_display import FaceDisplay
from facestudio.ui.gallery_dock import GalleryController, GalleryDock
from facestudio.ui.help_menu import install_help_menu
from facestudio.ui.layout import install_layout
from facestudio.ui.library_tab import LibraryTab, connect_library_tab
from facestudio.ui.lookalike_check import LookalikeBadge
from facestudio.ui.mix_tab import MixController, build_mix_tabs
from facestudio.ui.model_library import GetModelsMenu
from facestudio.ui.model_opening import ModelOpener
from facestudio.ui.opening import kind_of
from facestudio.ui.recent import RecentFiles
from facestudio.ui.render_bridge import RenderBridge
from facestudio.ui.sessions import SessionController
from facestudio.ui.sliders import DirectionsPanel
from facestudio.ui.undo import RecipeHistory

SIDE_DOCKS = (  # (title, attribute, area, object name)
    ("Directions", "directions_panel", QtCore.Qt.RightDockWidgetArea, "dock_directions"),
    ("Latent", "controls", QtCore.Qt.LeftDockWidgetArea, "dock_latent"),
    ("Gallery", "gallery_dock", QtCore.Qt.LeftDockWidgetArea, "dock_gallery"),
)


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
        self.bridge = RenderBridge(self, directions=self.state.directions)
        self.analysis = AnalysisBridge(self)
        self.anonymize_dialog = None
        self.setWindowTitle("facestudio")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._build_docks()
        self.context = StudioContext(
            self.state, self.history, self.bridge, self.analysis, self.report, self.confirm, settings,
            parent=self, status=self.statusBar().showMessage, selected_face_ids=self.gallery_dock.selected_ids,
            stamp=self.export_panel.stamp, lookalikes_allowed=self.export_panel.allow_lookalike_check.isChecked)
        self._wire()
        self._build_menus()
        self.state.events.connect(self._on_state)
        self.history.stack.cleanChanged.connect(self._on_clean_changed)
        guard.set_reporter(self.show_internal_error)
        geometry = settings.value("window/geometry")
        if isinstance(geometry, (QtCore.QByteArray, bytes)):  # anything else was not written by us
            self.restoreGeometry(geometry)
        self.dock_layout.restore()

    # --- construction: widgets and docks, then controllers, then menus ---------------------------
    def _build_docks(self) -> None:
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
        self.central_tabs, self.mix_view, self.compare_view = build_mix_tabs(self.canvas)
        self.library_tab = LibraryTab()
        self.library_tab.setObjectName("library_tab")
        self.central_tabs.addTab(self.library_tab, "Library")
        v.addWidget(self.central_tabs, 1)
        self.setCentralWidget(central)
        self.directions_panel, self.controls, self.gallery_dock = DirectionsPanel(), LatentControls(), GalleryDock()
        for title, attribute, area, name in SIDE_DOCKS:
            dock = QtWidgets.QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(getattr(self, attribute))
            self.addDockWidget(area, dock)
        self.export_panel, self.export_dock = build_export_dock(self, self.settings)
        self.audit_dock = build_audit_dock(self, self.export_dock)
        self.model_label = QtWidgets.QLabel("no model")
        self.res_label = QtWidgets.QLabel("")
        self.time_label = QtWidgets.QLabel("")
        self.lookalike_badge = LookalikeBadge()
        for w in (self.lookalike_badge, self.model_label, self.res_label, self.time_label):
            self.statusBar().addPermanentWidget(w)

    def _wire(self) -> None:
        ctx = self.context
        self.display = FaceDisplay(ctx, self.canvas, self.banner, self.time_label, self.lookalike_badge)
        self.display.firstFrameShown.connect(self.firstFrameShown)
        self.display.fullFrame.connect(self.audit_dock.measure_current)
        self.directions_menu = QtWidgets.QMenu("&Directions", self)
        self.directions_controller = DirectionsController(ctx, self.directions_panel, self.directions_menu)
        self.editor = EditController(ctx, self.directions_panel, self.controls)
        self.gallery_controller = GalleryController(ctx, self.gallery_dock, self.canvas)
        self.mix_controller = MixController(ctx, self.central_tabs, self.mix_view, self.compare_view)
        self.exporter = ExportController(ctx, self.export_panel)
        self.audit_dock.attach(ctx)
        self.audit_dock.find_panel.attach(ctx)
        connect_library_tab(ctx, self.library_tab, self.central_tabs)
        self.recent_menu = QtWidgets.QMenu("Recent models", self)
        self.recent_models = RecentFiles(self.settings, "models/recent", self.recent_menu, self.open_model, self)
        self.models = ModelOpener(ctx, self.recent_models.remember)
        self.recent_sessions_menu = QtWidgets.QMenu("Recent sessions", self)
        self.recent_sessions = RecentFiles(self.settings, "sessions/recent", self.recent_sessions_menu,
                                           lambda p: self.sessions.open(Path(p)), self)
        self.sessions = SessionController(ctx, self.data_dir, self.models,
                                          self.recent_sessions.remember)

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

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action("&Open model…", self.models.open_dialog, QtGui.QKeySequence.Open, file_menu)
        file_menu.addMenu(self.recent_menu)
        self.get_models = GetModelsMenu(self.context, file_menu, self.open_model)
        self.get_models_action = self.get_models.action
        file_menu.addSeparator()
        self._action("Open session…", self.sessions.open_dialog, None, file_menu)
        file_menu.addMenu(self.recent_sessions_menu)
        self._action("&Save session", self.sessions.save, QtGui.QKeySequence.Save, file_menu)
        self._action("Save session as…", self.sessions.save_as, None, file_menu)
        file_menu.addSeparator()
        self._action("&Export…", self.show_export_panel, "Ctrl+E", file_menu)
        self._action("Export face as…", self.exporter.export_face_dialog, "Ctrl+Shift+E", file_menu)
        self._action("Export gallery…", self.exporter.export_gallery_dialog, None, file_menu)
        file_menu.addSeparator()
        self._action("Anonymize a photo…", self.open_anonymize_dialog, None, file_menu)
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
        bar.addMenu(self.directions_menu)
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
        self.getting_started = install_help_menu(self, bar.addMenu("&Help"), self.settings, self.state)

    # --- what the window itself shows and opens ----------------------------------------------------
    def _on_state(self, kind: str, model) -> None:
        if kind == "model":
            self.model_label.setText(model.name)
            self.res_label.setText(f"{model.resolution}×{model.resolution}")
            self.setWindowTitle(f"facestudio — {model.name}[*]")

    def _on_clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    @property
    def frames_shown(self) -> int:
        return self.display.frames_shown

    @property
    def model_library(self):
        """The Get models dialog, once it was opened (None before)."""
        return self.get_models.dialog

    def open_model(self, path: str | None) -> bool:
        """Load a model (None = bundled); on failure tell the user and keep the current one."""
        return self.models.open(path)

    def open_path(self, path: str | Path) -> bool:
        """Open what a file manager would hand the studio: a session, an exported image (its
        recipe, with the open model) or a model. False after telling the user when it cannot."""
        kind = kind_of(path)
        if kind == "session":
            return self.sessions.open(Path(path))
        if kind == "image":
            return self.exporter.reopen(Path(path))
        return self.open_model(str(path))

    def open_anonymize_dialog(self) -> None:
        self.anonymize_dialog = open_anonymize_dialog(self.context)
        if self.anonymize_dialog is not None:
            self.anonymize_dialog.finished.connect(lambda _code: setattr(self, "anonymize_dialog", None))

    def show_export_panel(self) -> None:
        self.export_dock.show()
        self.export_dock.raise_()
        self.export_panel.export_button.setFocus()

    def show_internal_error(self, sentence: str) -> None:
        """What :mod:`guard` calls with the sentence for an exception it caught."""
        self.statusBar().showMessage(sentence, 10_000)
        self.report("Internal error", sentence)

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
        self.models.remember_seed()
        self.sessions.close()
        self.bridge.shutdown()
        self.analysis.shutdown()
        self.library_tab.close_library()
        super().closeEvent(event)

    def _ask(self, title: str, text: str) -> bool:
        return QtWidgets.QMessageBox.question(self, title, text) == QtWidgets.QMessageBox.Yes

    def _tell(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, title, text)
