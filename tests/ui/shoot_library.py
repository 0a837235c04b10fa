"""A screenshot of the studio's Library tab scrolled through a 10,000-face library.

Run under a virtual X server, e.g.
``xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tests/ui/shoot_library.py LIB docs/``,
where LIB is a library built with ``facestudio library build`` (its faces are the pictures).
Not a test: it writes a 10,000-row catalogue whose files link to LIB's faces in turn (so the
view holds 10,000 faces without rendering them; each row carries its face's measurements), opens it in the real window, scrolls to the
middle and the end, waits for the thumbnails and saves ``library_tab.png`` in the folder. It
prints how long opening and each scroll took.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from facestudio.library.catalog import Catalog
from facestudio.ui.app import make_app
from facestudio.ui.main_window import StudioWindow
from tests.ui.library_helpers import synthetic_library
from tests.ui.shoot_mix import wait

COUNT = 10_000


def main() -> None:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    with Catalog(source, readonly=True) as catalog:
        rows = catalog.faces()
    faces = [source / f.file for f in rows]
    measured = [(f.age, f.p_female, f.tone, f.lookalike_distance) for f in rows]  # each link shows its face's own
    app = make_app()
    with tempfile.TemporaryDirectory() as tmp:
        lib = Path(tmp) / "lib"
        synthetic_library(lib, COUNT, faces, measured=measured)
        settings = QtCore.QSettings(str(Path(tmp) / "settings.ini"), QtCore.QSettings.IniFormat)
        window = StudioWindow(settings, Path(tmp) / "data", report=lambda *a: print(*a))
        window.resize(1400, 900)
        window.show()
        window.open_model(None)
        wait(app, lambda: window.state.recipe is not None)
        window.central_tabs.setCurrentWidget(window.library_tab)
        t = time.perf_counter()
        window.library_tab.open_library(lib)
        print(f"opened {COUNT:,} faces in {time.perf_counter() - t:.3f} s")
        model, view = window.library_tab.model, window.library_tab.view
        for row in (COUNT // 2, COUNT - 1, COUNT // 2 + 37):
            t = time.perf_counter()
            position = model.row(row)[0]

            def shown(row=row, position=position) -> bool:  # the batched layout may still be laying out
                view.scrollTo(model.index(row), QtWidgets.QAbstractItemView.PositionAtCenter)
                return position in model._thumbs

            wait(app, shown, 60)
            print(f"scrolled to row {row:,}: its thumbnail shown after {time.perf_counter() - t:.3f} s")
        for _ in range(20):
            app.processEvents(QtCore.QEventLoop.AllEvents, 50)
            time.sleep(0.05)
        window.grab().save(str(out / "library_tab.png"))
        print(f"pages read {len(model._pages)}, thumbnails decoded {len(model._thumbs)}")
        window.close()


if __name__ == "__main__":
    main()
