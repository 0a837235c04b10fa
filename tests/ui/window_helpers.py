"""Helpers shared by the studio window tests: waiting for frames, grids, strips and exports."""

from __future__ import annotations

import numpy as np

TIMEOUT = 30_000  # ms a grid, a strip or an export may take on a loaded machine
FRAME_TIMEOUT = 20_000


def fill_grid(qtbot, win, rows="1, 2", cols="3, 4, 5"):
    view = win.mix_view
    view.rows_edit.setText(rows)
    view.cols_edit.setText(cols)
    view.refresh()
    qtbot.waitUntil(lambda: all(r in view.cache for r in view.grid.all_recipes()), timeout=TIMEOUT)
    win.bridge.worker.wait_idle(10)
    return view


def rendered_strip(qtbot, window, steps=5):
    """A strip of ``steps`` frames from the current face A to B (its seed + 1) on the
    coarse layers; returns (strip, A, B, the last frame's ws)."""
    strip = window.compare_view.strip
    a = window.state.recipe
    b = a.replace(seed=a.seed + 1)
    window.compare_view.set_faces(a, b)
    strip.steps.setValue(steps)
    strip.layers.setCurrentIndex(1)  # coarse only
    start, stop = strip.layers.currentData()
    assert strip.render()
    qtbot.waitUntil(lambda: strip.frames is not None, timeout=TIMEOUT)
    renderer = window.state.model.renderer
    ws_last = renderer.ws_for(a)
    ws_last[start:stop] = renderer.ws_for(b)[start:stop]
    return strip, a, b, ws_last


def expected_image(win, recipe=None):
    return win.state.model.renderer.render(recipe or win.state.recipe)


def wait_for_full_frame_of(qtbot, win, recipe):
    """Wait until the canvas shows the full render of ``recipe``."""
    want = expected_image(win, recipe)
    qtbot.waitUntil(lambda: win.canvas.image is not None and np.array_equal(win.canvas.image, want),
                    timeout=FRAME_TIMEOUT)
    return want


def export_and_wait(qtbot, win, start):
    with qtbot.waitSignal(win.exporter.finished, timeout=TIMEOUT) as blocker:
        assert start()
    return blocker.args[0]
