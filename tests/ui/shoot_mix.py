"""Screenshots of the Mix tab (and, when present, A/B compare) on the bundled model.

Run under a virtual X server, e.g.
``xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tests/ui/shoot_mix.py docs/``.
Not a test: it opens the real window, fills a 3 x 4 grid, clicks a cell, and saves
``mix_view.png`` and, for the Compare tab, ``ab_compare.png`` (split line and interpolation
strip), ``ab_side_by_side.png`` and ``ab_difference.png`` (its image area only) in the folder.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6 import QtCore

from facestudio.ui.app import make_app
from facestudio.ui.main_window import StudioWindow


def wait(app, condition, timeout_s: float = 120.0) -> None:
    timer = QtCore.QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > timeout_s * 1000:
            raise SystemExit("timed out waiting for the renders")
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)


def open_studio():
    """The real window on the bundled model with fresh settings, its first face shown: (app, window)."""
    app = make_app()
    scratch = Path(tempfile.mkdtemp())
    settings = QtCore.QSettings(str(scratch / "settings.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, scratch / "data", confirm=lambda *_: False, report=print)
    win.resize(1380, 880)
    win.show()
    if not win.open_model(None):
        raise SystemExit("the bundled model cannot be opened")
    wait(app, lambda: win.frames_shown > 0)
    return app, win


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app, win = open_studio()
    view = win.mix_view
    view.rows_edit.setText("1, 2, 3")
    view.cols_edit.setText("11, 12, 13, 14")
    win.central_tabs.setCurrentWidget(view)
    view.refresh()
    wait(app, lambda: all(r in view.cache for r in view.grid.all_recipes()))
    view.table.setCurrentCell(2, 3)
    view.table.cellClicked.emit(2, 3)
    wait(app, lambda: win.state.recipe == view.grid.cell(1, 2))
    for _ in range(20):
        app.processEvents()
    win.grab().save(str(out / "mix_view.png"))
    compare = getattr(win, "compare_view", None)
    if compare is not None and hasattr(compare, "prepare_screenshot"):
        win.central_tabs.setCurrentWidget(compare)
        compare.prepare_screenshot(win.state.recipe)
        wait(app, compare.screenshot_ready)
        for _ in range(20):
            app.processEvents()
        win.grab().save(str(out / "ab_compare.png"))
        for mode, name in (("side by side", "ab_side_by_side.png"), ("difference", "ab_difference.png")):
            compare.mode.setCurrentText(mode)
            compare.gain.setValue(4)
            compare.fit()
            for _ in range(20):
                app.processEvents()
            compare.plot.grab().save(str(out / name))
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
