"""Soak run (not a test): 10,000 slider changes through the real window and worker.

Prints resident memory after a warm-up and at the end; the studio should stay flat
(within 50 MB). Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/soak_sliders.py``
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    from PySide6 import QtCore

    from facestudio.ui.app import make_app
    from facestudio.ui.main_window import StudioWindow
    app = make_app()
    tmp = Path(tempfile.mkdtemp())
    window = StudioWindow(QtCore.QSettings(str(tmp / "s.ini"), QtCore.QSettings.IniFormat), tmp,
                          confirm=lambda *_: False, report=lambda t, m: print(m))
    if not window.open_model(args.model):
        raise SystemExit(1)
    rows = list(window.directions_panel.rows.values())
    rng = random.Random(0)
    samples = []
    t0 = time.time()
    for i in range(args.changes):
        row = rows[(i // 50) % len(rows)]  # drag one slider for 50 steps, then the next
        row.slider.setSliderDown(True)
        row.slider.setValue(rng.randint(-300, 300))
        if i % 50 == 49:  # release: the drag becomes one undo step
            row.slider.setSliderDown(False)
            row.dragFinished.emit(row.info.id)
        app.processEvents()
        if i == 500 or i % 2000 == 1999:
            samples.append((i + 1, rss_mb()))
    window.bridge.worker.wait_idle(30)
    app.processEvents()
    samples.append((args.changes, rss_mb()))
    stats = window.bridge.worker.stats
    print(f"{args.changes} slider changes in {time.time() - t0:.0f} s; renders {stats.rendered} "
          f"(previews {stats.previews}), frames shown {window.frames_shown}, undo steps {window.history.stack.count()}")
    for n, mb in samples:
        print(f"after {n:>6} changes: RSS {mb:7.1f} MB")
    growth = samples[-1][1] - samples[0][1]
    print(f"growth after warm-up: {growth:+.1f} MB ({'flat' if abs(growth) < 50 else 'NOT flat'} within 50 MB)")
    window.close()


if __name__ == "__main__":
    main()
