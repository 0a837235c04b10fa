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
from facestudio.ui.context import StudioContext
from facestudio.ui.opening import session_problem, stored_layers

SESSION_FILTER = "facestudio sessions (*.fsession)"
AUTOSAVE_MS = 60_000


class SessionController(QtCore.QObject):
    """Sessions of the studio of ``context``: reads its ``state`` and ``history``, tells and
    asks through it; the user's own directions are the state's direction catalogue's
    (``state.directions``); a session's model is opened
    with ``models`` (a :class:`~facestudio.ui.model_opening.ModelOpener`); ``remembered(path)``
    is told of every session saved or opened (the recent sessions). ``storage_problem``: None,
    or the sentence saying why autosave is off for this run (a data folder that is a file or
    read-only).

    Autosave follows the state's ``"dirty"`` event: the first change after a save starts a
    one-shot timer, and the session is written when it runs out (again later if that fails)."""

    def __init__(self, context: StudioContext, data_dir: Path, models,
                 remembered: Callable[[Path], None] = lambda path: None):
        super().__init__(context.parent)
        self.context = context
        self.state = context.state
        self.models = models
        self.remembered = remembered
        self.autosaver = Autosaver(claim_folder(Path(data_dir)))  # a slot of its own per running studio
        self.timer = QtCore.QTimer(self, interval=AUTOSAVE_MS, singleShot=True)
        self.timer.timeout.connect(self.autosave)
        # ask before start(): start() writes our own PID into the crash marker
        self.recovery_path = recoverable(self.autosaver.folder)
        self.storage_problem = self._start_autosave()
        if self.storage_problem is None:
            self.state.events.connect(self._on_state)

    def _on_state(self, kind: str, payload) -> None:
        if kind == "dirty" and payload and not self.timer.isActive():
            self.timer.start()

    def _start_autosave(self) -> str | None:
        try:
            self.autosaver.start()
        except (OSError, OutputPathError) as exc:
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
            directions=list(s.directions.user),
            ui_state={"direction_layers": {k: list(v) for k, v in s.layers.items()}})

    def save_to(self, path: Path) -> bool:
        try:
            save_session(self.document(), path, overwrite=True)
        except (SessionError, OSError) as exc:
            self.context.report("Cannot save session", str(exc))
            return False
        self.state.session_path = Path(path)
        self.remembered(Path(path))
        self.context.history.stack.setClean()
        self.context.status(f"Saved {path}", 3000)
        return True

    def save(self) -> None:
        if self.state.session_path:
            self.save_to(self.state.session_path)
        else:
            self.save_as()

    def save_as(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.context.parent, "Save session", "untitled.fsession",
                                                        SESSION_FILTER)
        if path:
            self.save_to(Path(path))

    def autosave(self) -> None:
        s = self.state
        if not s.dirty or self.storage_problem is not None:
            return
        if s.recipe is not None:
            try:
                self.autosaver.save(self.document())
                s.mark_saved()
                return
            except (SessionError, OSError) as exc:
                self.context.status(f"Autosave failed: {exc}", 5000)
        self.timer.start()  # still dirty: try again later

    # --- opening -------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.context.parent, "Open session", "", SESSION_FILTER)
        if path:
            self.open(Path(path))

    def open(self, path: Path) -> bool:
        """Open a session all-or-nothing: the file, its model and everything it holds are
        checked before any state changes; on failure one message and nothing changed."""
        ctx, s = self.context, self.state
        try:
            doc = load_session(path)
        except SessionError as exc:
            ctx.report("Cannot open session", str(exc))
            return False
        model = s.model
        if model is None or doc.model.sha256 != model.sha256:
            if doc.model.path or model is None:
                model = self.models.load(doc.model.path or None)
                if model is None:
                    return False  # load said why, in one message
            else:
                model = None
            if model is None or model.sha256 != doc.model.sha256:
                ctx.report("Model not found", f"the session was made with {doc.model.name or 'another model'}, "
                           "which is not open and could not be found; open it, then the session again.")
                return False
        problem = session_problem(doc, model)
        if problem:
            ctx.report("Cannot open session", f"cannot open the session {Path(path).name}: {problem}.")
            return False
        if model is not s.model:
            self.models.show(model)
        left_out = s.directions.set_user(doc.directions)  # checked by session_problem: nothing is left out
        if left_out:
            ctx.report("Directions left out", "; ".join(left_out))
        s.gallery.reset(list(doc.gallery))
        for key, layers in stored_layers(doc, model.num_ws).items():
            if key in s.layers:
                s.set_layers(key, layers)
        if doc.recipe is not None:
            ctx.history.start(doc.recipe)
        else:
            ctx.history.stack.clear()
        s.session_path = Path(path)
        if Path(self.autosaver.folder) not in Path(path).parents:  # not a recovered autosave
            self.remembered(Path(path))
        return True

    def offer_recovery(self) -> None:
        """Offer the autosave a crashed run left behind (found when the studio started)."""
        path, self.recovery_path = self.recovery_path, None
        if path and path.is_file() and self.context.confirm(
                "Recover session", "facestudio did not close properly last time. Recover the autosaved session?"):
            self.open(path)

    def close(self) -> None:
        """The studio is closing: stop autosaving and leave a clean slot behind."""
        self.timer.stop()
        if self.storage_problem is None:
            self.autosaver.stop(clean=True)
