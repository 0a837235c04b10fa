"""The Directions dock in front, named sliders grouped under headings above the discovered
ones (each on the layers where it acts), the read-out of the face's measures, the gallery
measured from full-size renders, and the attribute filters of the Find panel and Library tab."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.analysis import checker
from facestudio.analysis.audit import Measurements
from facestudio.latent.directions import Direction
from facestudio.ui.directions_menu import in_dock_order, tooltip

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 20_000


def _d(id_, source="attribute", **meta):
    return Direction(id=id_, name=id_.title(), vector=np.ones(8, np.float32), layers=(0, 4), scale=1.0,
                     source=source, meta=meta)


def test_named_sliders_come_first_under_their_groups():
    directions = [_d("age", group="Age and gender", positive="older", measure="age"),
                  _d("smile", group="Expression", positive="smiling", measure="smile",
                     tooltip="Smile: -2 to +2 moves the smile 1.9 real-photo spreads"),
                  _d("pca0", "pca"), _d("yaw", group="Pose", positive="turned right", measure="yaw"),
                  _d("gender"), _d("mine", "user")]
    named = {"age", "smile", "yaw", "gender"}
    order = [(d.id, g) for d, g in in_dock_order(directions, named)]
    assert order == [("smile", "Expression"), ("yaw", "Pose"), ("age", "Age and gender"),
                     ("gender", "Age and gender"), ("pca0", "Discovered"), ("mine", "Your directions")]
    assert tooltip(directions[1]).startswith("Smile: -2 to +2")  # the bundle's own tooltip
    assert tooltip(directions[3]) == "Yaw: + = turned right (fitted on the measure yaw)"


def test_the_dock_shows_headings_and_discovered_directions_on_their_layers(qtbot, window):
    window.show()
    panel = window.directions_panel
    qtbot.waitUntil(lambda: panel.isVisible(), timeout=TIMEOUT)
    assert not panel.visibleRegion().isEmpty()  # in front, not behind the Export or Audit dock
    headers = [h.text() for h in panel.headers]
    assert "<b>Discovered</b>" in headers
    model = window.state.model
    groups = {tuple(v) for k, v in model.layer_groups().items()}
    discovered = [d for d in model.directions.shown("pca") if d.source == "pca"]
    assert discovered and all(tuple(d.layers) in groups for d in discovered)
    assert all(panel.rows[d.id].layers == tuple(d.layers) for d in discovered)
    assert "acts mostly on the" in panel.rows[discovered[0].id].name_label.toolTip()


@pytest.fixture
def planted_measures(monkeypatch):
    """The canvas face smiles more each time it is measured; every face is 30 and male."""
    calls = []

    def measure(self, images, face_measures=False, where=None):
        n = len(images)
        calls.append((np.asarray(images).shape, face_measures))
        smile = 0.3 + 0.1 * len(calls)
        measures = {k: np.full(n, v) for k, v in (("smile", smile), ("mouth_open", 0.05), ("eyes_open", 0.3),
                                                   ("yaw", 0.0), ("pitch", 0.31), ("hair", 30.0), ("skin", 60.0),
                                                   ("background", 30.0))} if face_measures else None
        return Measurements(np.full(n, 30.0), np.full(n, 0.05), np.full(n, 20.0), measures=measures)

    monkeypatch.setattr(checker.AttributeMeter, "_measure", measure)
    return calls


def test_the_readout_shows_what_a_change_moved(qtbot, window, planted_measures, measures_reference):
    dock = window.audit_dock
    dock.reference = measures_reference
    window.controls.seed_spin.setValue(window.state.recipe.seed + 1)
    qtbot.waitUntil(lambda: "Smile" in dock.readout.text(), timeout=TIMEOUT)
    window.controls.seed_spin.setValue(window.state.recipe.seed + 1)
    qtbot.waitUntil(lambda: "sd</b>" in dock.readout.text(), timeout=TIMEOUT)  # the smile moved: in bold
    text = dock.readout.text()
    assert "Head turn" in text and "facing the camera" in text and "dark-haired" in text and "30 y" in text
    resolution = window.state.model.resolution
    current = [shape for shape, dlib in planted_measures if dlib]
    assert current and all(shape == (1, resolution, resolution, 3) for shape in current)  # full size


def test_the_gallery_is_measured_from_full_size_renders(qtbot, window, planted_measures):
    for seed in (5, 6):
        window.controls.seed_spin.setValue(seed)
        window.gallery_controller.keep_current()
    qtbot.waitUntil(lambda: "2 faces" in window.audit_dock.summary_label.text(), timeout=TIMEOUT)
    resolution = window.state.model.resolution
    gallery = [shape for shape, dlib in planted_measures if shape[0] == 2]
    assert gallery and gallery[-1] == (2, resolution, resolution, 3)


def test_the_find_panel_asks_for_the_attributes(window, measures_reference):
    panel = window.audit_dock.find_panel
    panel.attributes.reference = measures_reference
    for combo in panel.attributes.combos.values():
        combo.setEnabled(True)
    panel.attributes.combos["smile"].setCurrentText("yes")
    panel.attributes.combos["yaw"].setCurrentText("left")
    panel.gender_combo.setCurrentText("female")
    c = panel.criteria()
    assert [(b.key, b.side) for b in c.bounds] == [("smile", "yes"), ("yaw", "left")]
    assert c.confidence == 0.9 and c.describe().startswith("smiling, turned to the image's left, female")
