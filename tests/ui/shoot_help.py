"""Screenshots of the first start (Getting started strip, Directions dock in front) and of
Help ▸ About and Help ▸ Keyboard shortcuts, on the bundled model.

Run under a virtual X server, e.g.
``xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/ui/shoot_help.py docs/``.
Not a test: it opens the real window with fresh settings and saves ``first_start.png``,
``about.png`` and ``shortcuts.png`` in the folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtCore

from facestudio.ui.help_menu import AboutDialog, ShortcutsDialog
from tests.ui.shoot_mix import open_studio


def settle(app) -> None:
    for _ in range(30):
        app.processEvents(QtCore.QEventLoop.AllEvents, 20)


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app, win = open_studio()
    settle(app)
    win.grab().save(str(out / "first_start.png"))
    for dialog, name in ((AboutDialog(win.state.model.card_meta, win), "about.png"),
                         (ShortcutsDialog(win), "shortcuts.png")):
        dialog.show()
        settle(app)
        dialog.grab().save(str(out / name))
        dialog.close()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
