"""Start the studio: QApplication, settings, the window, and the ``--screenshot`` self-check."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.errors import INTERNAL_ERROR_LOG, internal_error_handler
from facestudio.fileio import OutputPathError, atomic_write, remove_stale_parts
from facestudio.latent.discovery_cache import cache_root
from facestudio.locations import APP_ID, data_dir, icon_path
from facestudio.ui import guard
from facestudio.ui.main_window import StudioWindow
from facestudio.ui.opening import kind_of

SCREENSHOT_TIMEOUT_MS = 120_000


def data_folder() -> Path:
    """The studio's data folder (autosave, crash marker). Not created here: the window does
    that, and runs without autosave when it cannot (a file in its place, a read-only home).
    The command line writes its internal-error log there too."""
    return data_dir()


def tidy_up(data_dir: Path) -> list[Path]:
    """Remove what writers killed mid-write left in the folders the studio writes to again and
    again (the data folder with its autosave slots, the directions cache); returns it."""
    return remove_stale_parts(data_dir) + remove_stale_parts(cache_root() / "directions", depth=0)


def save_screenshot(widget: QtWidgets.QWidget, path: Path) -> bool:
    """Save a picture of ``widget`` to ``path`` (format from its suffix) atomically: on a full
    disk the previous file is kept. True on success."""
    suffix = Path(path).suffix.lstrip(".").upper() or "PNG"
    try:
        with atomic_write(Path(path), overwrite=True) as tmp:
            if not widget.grab().save(str(tmp), suffix):
                raise OSError(f"could not write {path}")
    except (OSError, OutputPathError):
        return False
    return True


def log_internal_errors(data_dir: Path) -> Path | None:
    """Append the guard's internal-error entries (with tracebacks) to a log in the data
    folder (the log the command line writes too); None when that folder cannot be used
    (they then go to stderr)."""
    path = Path(data_dir) / INTERNAL_ERROR_LOG
    if not Path(data_dir).is_dir():
        return None
    guard.log.addHandler(internal_error_handler(path))
    return path


def open_on_start(window: StudioWindow, model: str | None, file: str | Path | None) -> bool:
    """Open ``model`` (None: the bundled one) and then ``file`` as a double-click does: a
    session brings its model, a model file is the model, an image's recipe needs its model
    open. A file that cannot be opened is reported and the window stays on ``model``.
    False when ``file`` could not be opened or no model could be (then the window is empty)."""
    opened = True
    first = file is not None and model is None and kind_of(file) != "image"
    if first:
        opened = window.open_path(file)
    if (window.state.model is None or model is not None) and not window.open_model(model):
        return False
    if file is not None and not first:
        opened = window.open_path(file)
    return opened


def make_app(argv: list[str] | None = None) -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or [sys.argv[0]])
    app.setOrganizationName("facestudio")
    app.setApplicationName("facestudio")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to its desktop entry and icon
    if icon_path().is_file():
        app.setWindowIcon(QtGui.QIcon(str(icon_path())))
    return app


def run_gui(model: str | None = None, screenshot: Path | None = None, file: str | Path | None = None) -> int:
    """Open the studio on ``model`` (default: the bundled one) and then ``file`` (a session,
    an exported image or a model, see :func:`open_on_start`). With ``screenshot``, wait for
    the first full frame, save a picture of the whole window there and exit: 0 on success,
    1 when the picture could not be taken or ``file`` could not be opened."""
    app = make_app()
    guard.install_excepthook()
    settings = QtCore.QSettings()
    headless_check = screenshot is not None

    def tell(title: str, text: str) -> None:
        if headless_check:
            print(f"facestudio: {text}", file=sys.stderr)
        else:
            QtWidgets.QMessageBox.warning(window, title, text)

    data_dir = data_folder()
    tidy_up(data_dir)
    window = StudioWindow(settings, data_dir, report=tell,
                          confirm=(lambda *_: False) if headless_check else None)
    window.show()
    if window.sessions.storage_problem:
        tell("Autosave is off", window.sessions.storage_problem)
    else:
        log_internal_errors(window.data_dir)
    if not headless_check:
        window.sessions.offer_recovery()
    opened = open_on_start(window, model, file)
    if window.state.model is None and headless_check:
        return 1
    if headless_check:
        status = {"code": 1}

        def shoot() -> None:
            app.processEvents()
            ok = save_screenshot(window, screenshot)
            if not ok:
                print(f"facestudio: could not write the screenshot {screenshot}", file=sys.stderr)
            status["code"] = 0 if ok and opened else 1
            window.close()
            app.quit()

        def give_up() -> None:
            print("facestudio: no frame was rendered in time", file=sys.stderr)
            window.close()
            app.quit()

        window.firstFrameShown.connect(lambda: QtCore.QTimer.singleShot(300, shoot))
        QtCore.QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, give_up)
        app.exec()
        return status["code"]
    return app.exec()
