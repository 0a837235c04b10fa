"""Start the studio: QApplication, settings, the window, and the ``--screenshot`` self-check."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.locations import APP_ID, icon_path
from facestudio.ui.main_window import StudioWindow

SCREENSHOT_TIMEOUT_MS = 120_000


def data_folder() -> Path:
    base = QtCore.QStandardPaths.writableLocation(QtCore.QStandardPaths.AppDataLocation)
    folder = Path(base or Path.home() / ".facestudio")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def make_app(argv: list[str] | None = None) -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or [sys.argv[0]])
    app.setOrganizationName("facestudio")
    app.setApplicationName("facestudio")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to its desktop entry and icon
    if icon_path().is_file():
        app.setWindowIcon(QtGui.QIcon(str(icon_path())))
    return app


def run_gui(model: str | None = None, screenshot: Path | None = None) -> int:
    """Open the studio on ``model`` (default: the bundled one). With ``screenshot``, wait for
    the first full frame, save a picture of the whole window there and exit (0 on success)."""
    app = make_app()
    settings = QtCore.QSettings()
    headless_check = screenshot is not None

    def tell(title: str, text: str) -> None:
        if headless_check:
            print(f"facestudio: {text}", file=sys.stderr)
        else:
            QtWidgets.QMessageBox.warning(window, title, text)

    window = StudioWindow(settings, data_folder(), report=tell,
                          confirm=(lambda *_: False) if headless_check else None)
    window.show()
    if not headless_check:
        window.offer_recovery()
    if not window.open_model(model) and headless_check:
        return 1
    if headless_check:
        status = {"code": 1}

        def shoot() -> None:
            app.processEvents()
            ok = window.grab().save(str(screenshot))
            if not ok:
                print(f"facestudio: could not write the screenshot {screenshot}", file=sys.stderr)
            status["code"] = 0 if ok else 1
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
