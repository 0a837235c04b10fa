"""Sessions in the studio: File > Open / Save session, the autosave every minute and the
offer to recover what a crashed run left behind.

:class:`SessionController` turns the :class:`StudioState` into a
:class:`~facestudio.session.document.SessionDocument` and back. Opening is all-or-nothing
(:mod:`facestudio.ui.opening` checks everything first); a problem is one message and the
studio keeps what it shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6 import QtCore, QtWidgets

from facestudio.fileio import OutputPathError
from facestudio.session.autosave import Autosaver, claim_folder, recoverable
from facestudio.session.document import ModelIdentity, SessionDocument, SessionError, load_session, save_session
from facestudio.ui.opening import session_problem, stored_layers

SESSION_FILTER = "facestudio sessions (*.fsession)"
AUTOSAVE_MS = 60_000


class SessionController(QtCore.QObject):
    """Sessions of a StudioWindow: reads its ``state``, ``history``, ``directions_controller``,
    ``report`` / ``confirm`` and status bar, and opens a session's model through its
    ``load_model`` / ``show_model``. ``storage_problem``: None, or the sentence saying why
    autosave is off for this run (a data folder that is a file or read-only)."""

    def __init__(self, window, data_dir: Path):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.autosaver = Autosaver(claim_folder(Path(data_dir)))  # a slot of its own per running studio
        self.timer = QtCore.QTimer(self, interval=AUTOSAVE_MS)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        # ask before start(): start() writes our own PID into the crash marker
        self.recovery_path = recoverable(self.autosaver.folder)
        self.storage_problem = self._start_autosave()
        self.remembered: Callable[[Path], None] = lambda path: None  # the window's recent sessions

    def _start_autosave(self) -> str | None:
        try:
            self.autosaver.start()
        except (OSError, OutputPathError) as exc:
            self.timer.stop()
            self.recovery_path = None
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return (f"Autosave and crash recovery are off for this run: the folder "
                    f"{self.autosaver.folder} cannot be used ({reason}).")
        return None

    # --- saving ------------------------------------------------------------------------------
    def document(self) -> SessionDocument:
        s = self.state
        identity = ModelIdentity(s.model.sha256, s.model.name, s.model.path or "") if s.model else ModelIdentity()
        return SessionDocument(
            model=identity, recipe=s.recipe, gallery=s.gallery,
            directions=list(self.window.directions_controller.user_directions),
            ui_state={"direction_layers": {k: list(v) for k, v in s.layers.items()}})

    def save_to(self, path: Path) -> bool:
        try:
            save_session(self.document(), path, overwrite=True)
        except (SessionError, OSError) as exc:
            self.window.report("Cannot save session", str(exc))
            return False
        self.state.session_path = Path(path)
        self.remembered(Path(path))
        self.window.history.stack.setClean()
        self.window.statusBar().showMessage(f"Saved {path}", 3000)
        return True

    def save(self) -> None:
        if self.state.session_path:
            self.save_to(self.state.session_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save session", "untitled.fsession",
                                                        SESSION_FILTER)
        if path:
            self.save_to(Path(path))

    def autosave(self) -> None:
        s = self.state
        if s.dirty and s.recipe is not None and self.storage_problem is None:
            try:
                self.autosaver.save(self.document())
                s.mark_saved()
            except (SessionError, OSError) as exc:
                self.window.statusBar().showMessage(f"Autosave failed: {exc}", 5000)

    # --- opening -------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open session", "", SESSION_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> bool:
        """Open a session all-or-nothing: the file, its model and everything it holds are
        checked before any state changes; on failure one message and nothing changed."""
        w, s = self.window, self.state
        try:
            doc = load_session(path)
        except SessionError as exc:
            w.report("Cannot open session", str(exc))
            return False
        model = s.model
        if model is None or doc.model.sha256 != model.sha256:
            if doc.model.path or model is None:
                model = w.load_model(doc.model.path or None)
                if model is None:
                    return False  # load_model said why, in one message
            else:
                model = None
            if model is None or model.sha256 != doc.model.sha256:
                w.report("Model not found", f"the session was made with {doc.model.name or 'another model'}, "
                         "which is not open and could not be found; open it, then the session again.")
                return False
        problem = session_problem(doc, model)
        if problem:
            w.report("Cannot open session", f"cannot open the session {Path(path).name}: {problem}.")
            return False
        if model is not s.model:
            w.show_model(model)
        w.directions_controller.set_user_directions(doc.directions)
        s.gallery.reset(list(doc.gallery))
        for key, layers in stored_layers(doc, model.num_ws).items():
            if key in s.layers:
                s.set_layers(key, layers)
        if doc.recipe is not None:
            w.history.start(doc.recipe)
        else:
            w.history.stack.clear()
        s.session_path = Path(path)
        if Path(self.autosaver.folder) not in Path(path).parents:  # not a recovered autosave
            self.remembered(Path(path))
        return True

    def offer_recovery(self) -> None:
        """Offer the autosave a crashed run left behind (found when the studio started)."""
        path, self.recovery_path = self.recovery_path, None
        if path and path.is_file() and self.window.confirm(
                "Recover session", "facestudio did not close properly last time. Recover the autosaved session?"):
            self.open(path)

    def close(self) -> None:
        """The studio is closing: stop autosaving and leave a clean slot behind."""
        self.timer.stop()
        if self.storage_problem is None:
            self.autosaver.stop(clean=True)
