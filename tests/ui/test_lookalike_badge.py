"""The studio's lookalike badge and export guard, driven offscreen. The guard itself (dlib, the
index) is tested in tests/analysis/test_lookalike_guard.py; here a planted guard says which
faces resemble a real photo, so that what the window does with each answer is what is tested."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from facestudio.analysis import lookalike_guard
from facestudio.analysis.lookalike_guard import LookalikeVerdict
from facestudio.provenance import read_provenance

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 20_000


class PlantedGuard:
    """Says that the faces whose pixels are in ``lookalikes`` resemble 'someone.jpg'; records
    the thread each check ran on."""

    threshold = 0.4

    def __init__(self):
        self.lookalikes: list[np.ndarray] = []
        self.threads: set[str] = set()

    def check(self, faces):
        self.threads.add(threading.current_thread().name)
        faces = list(faces)
        hit = any(np.array_equal(f, known) for f in faces for known in self.lookalikes)
        return LookalikeVerdict(True, self.threshold, len(faces), len(faces), 0.21 if hit else 0.77,
                                "someone.jpg" if hit else "another.jpg")


@pytest.fixture
def planted(monkeypatch):
    guard = PlantedGuard()
    monkeypatch.setattr(lookalike_guard, "guard_for_model", lambda *a, **k: guard)
    return guard


def _current_face(win):
    return win.state.model.renderer.render(win.state.recipe)


def _wait_for_badge(qtbot, win, text):
    qtbot.waitUntil(lambda: text in win.lookalike_badge.text(), timeout=TIMEOUT)


def test_the_badge_says_whether_the_face_on_the_canvas_resembles_a_photo(qtbot, planted, window):
    _wait_for_badge(qtbot, window, "not a training photo")
    assert "0.770" in window.lookalike_badge.toolTip()
    assert planted.threads == {"facestudio-analysis"}  # never the GUI thread
    planted.lookalikes.append(_current_face(window).copy())
    window.controls.seed_spin.setValue(window.state.recipe.seed + 1)
    window.controls.seed_spin.setValue(window.state.recipe.seed - 1)  # back to the planted face
    _wait_for_badge(qtbot, window, "resembles a real photo")
    assert "someone.jpg" in window.lookalike_badge.toolTip()


def test_exporting_a_lookalike_is_refused_until_allowed(qtbot, planted, window, tmp_path):
    planted.lookalikes.append(_current_face(window).copy())
    path = tmp_path / "face.png"
    with qtbot.waitSignal(window.exporter.failed, timeout=TIMEOUT) as blocker:
        assert window.exporter.export_face(path)
    assert "someone.jpg" in blocker.args[0] and "Export faces that resemble a real photo" in blocker.args[0]
    assert not path.exists() and window.reports
    window.export_panel.allow_lookalike_check.setChecked(True)
    with qtbot.waitSignal(window.exporter.finished, timeout=TIMEOUT):
        assert window.exporter.export_face(path)
    fields = read_provenance(path).lookalike
    assert fields["Verdict"] == "resembles a real photo" and fields["Nearest"] == "someone.jpg"
    assert "allow-lookalike" in fields["Override"]


def test_a_gallery_export_leaves_out_the_lookalikes_and_says_how_many(qtbot, planted, window, tmp_path):
    seeds = [window.state.recipe.seed + k for k in range(3)]
    for seed in seeds:
        window.controls.seed_spin.setValue(seed)
        window.gallery_controller.keep_current()
        if seed == seeds[1]:
            planted.lookalikes.append(_current_face(window).copy())
    with qtbot.waitSignal(window.exporter.finished, timeout=TIMEOUT) as blocker:
        assert window.exporter.export_gallery(tmp_path)
    written = sorted(p.name for p in blocker.args[0])
    assert [name.split("_")[0] for name in written] == [str(seeds[0]), str(seeds[2])], written  # {seed}_{psi}_{n}
    assert "1 faces that resemble a real photo were left out" in window.export_panel.status.text()
    for path in blocker.args[0]:
        assert read_provenance(path).lookalike["Verdict"] == "no resemblance"


def _save_as(monkeypatch, path):
    from PySide6 import QtWidgets
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def test_the_mix_grid_and_the_strip_are_checked_face_by_face(qtbot, monkeypatch, planted, window, tmp_path):
    from PySide6 import QtWidgets
    from tests.ui.window_helpers import rendered_strip
    from tests.ui.window_helpers import fill_grid
    warnings = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda _parent, _title, text: warnings.append(text))
    view = fill_grid(qtbot, window)
    planted.lookalikes.append(view.cache[view.grid.cell(1, 2)].copy())  # one cell of six
    grid = tmp_path / "grid.png"
    _save_as(monkeypatch, grid)
    window.mix_controller.export_dialog()
    qtbot.waitUntil(lambda: bool(window.reports), timeout=TIMEOUT)
    assert "someone.jpg" in window.reports[-1] and not grid.exists()
    strip, *_ = rendered_strip(qtbot, window)
    planted.lookalikes.append(strip.frames[2].copy())
    anim = tmp_path / "strip.webp"
    _save_as(monkeypatch, anim)
    strip.export_dialog()
    qtbot.waitUntil(lambda: bool(warnings), timeout=TIMEOUT)
    assert "someone.jpg" in warnings[-1] and not anim.exists()
    window.export_panel.allow_lookalike_check.setChecked(True)
    strip.export_dialog()
    qtbot.waitUntil(anim.exists, timeout=TIMEOUT)
    assert read_provenance(anim).lookalike["Verdict"] == "resembles a real photo"
    planted.lookalikes.clear()
    window.export_panel.allow_lookalike_check.setChecked(False)
    _save_as(monkeypatch, grid)
    window.mix_controller.export_dialog()
    qtbot.waitUntil(grid.exists, timeout=TIMEOUT)
    fields = read_provenance(grid).lookalike
    assert fields["Verdict"] == "no resemblance" and "Override" not in fields
