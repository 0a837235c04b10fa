"""Screenshots of the Directions dock and the face read-out on the bundled model.

Run under a virtual X server, e.g.
``xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tests/ui/shoot_named.py OUT [MEASURES.json]``.
Not a test: it opens the real window as on a first start (the Directions dock in front),
saves ``named_dock.png``, moves the first slider to +2, waits for the read-out of the
moved face and saves ``face_readout.png`` with the Audit dock in front. ``MEASURES.json``
stands in for ``weights/measures.json`` (the real photos' percentiles) where that is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6 import QtWidgets

from tests.ui.shoot_mix import open_studio, wait


def settled(app, label, quiet_ms: int = 3000) -> None:
    """Wait until ``label``'s text has not changed for ``quiet_ms``."""
    from PySide6 import QtCore
    timer, text = QtCore.QElapsedTimer(), label.text()
    timer.start()
    while timer.elapsed() < quiet_ms:
        app.processEvents(QtCore.QEventLoop.AllEvents, 50)
        if label.text() != text:
            text = label.text()
            timer.restart()


def main(out: Path, measures: Path | None) -> int:
    if measures is not None:
        import facestudio.analysis.filters as filters
        filters.reference_path = lambda: measures
    out.mkdir(parents=True, exist_ok=True)
    app, win = open_studio()
    win.controls.seed_spin.setValue(12)
    readout = win.audit_dock.readout
    wait(app, lambda: "Smile" in readout.text() and win.state.recipe.seed == 12)
    settled(app, readout)  # the read-out of seed 12 itself, not of the face before it
    win.grab().save(str(out / "named_dock.png"))
    first = next(iter(win.directions_panel.rows.values()))
    before = readout.text()
    first.slider.setValue(200)  # +2
    wait(app, lambda: readout.text() != before and "moved" in readout.text())
    win.findChild(QtWidgets.QDockWidget, "dock_audit").raise_()
    for _ in range(20):
        app.processEvents()
    win.grab().save(str(out / "face_readout.png"))
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "."), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
