"""The Audit dock driven offscreen: the canvas face's attributes and the gallery's distribution,
measured off the GUI thread. The measurement itself is tested in tests/analysis; here a planted
meter answers, so what the dock shows for each answer is what is tested."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from facestudio.analysis import checker
from facestudio.analysis.audit import Measurements

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 20_000


@pytest.fixture
def planted(monkeypatch):
    """Every face measures 70 years, female, ITA 0 (brown); records the thread and the sizes."""
    calls = []

    def measure(self, images, *_):
        calls.append((threading.current_thread().name, np.asarray(images).shape))
        n = len(images)
        return Measurements(np.full(n, 70.0), np.full(n, 0.9), np.zeros(n))

    monkeypatch.setattr(checker.AttributeMeter, "_measure", measure)
    return calls


def test_the_current_face_and_the_gallery_are_measured_and_shown(qtbot, planted, window):
    dock = window.audit_dock
    qtbot.waitUntil(lambda: "70 years" in dock.current_label.text(), timeout=TIMEOUT)
    assert "60-79" in dock.current_label.text() and "brown" in dock.current_label.text()
    assert "no faces" in dock.summary_label.text()
    for seed in (1, 2, 3):
        window.controls.seed_spin.setValue(seed)
        window.gallery_controller.keep_current()
    qtbot.waitUntil(lambda: "3 faces" in dock.summary_label.text(), timeout=TIMEOUT)
    assert "100 % female" in dock.summary_label.text() and "Mean age 70" in dock.summary_label.text()
    assert dock.stats["age"]["bins"]["60-79"] == 1.0 and dock.stats["skin_tone"]["bins"]["brown"] == 1.0
    assert {name for name, _ in planted} == {checker.THREAD_NAME}  # never the GUI thread
    assert max(shape[0] for _, shape in planted) == 3
    heights = [float(h) for h in dock.age_bars.bars[-1].opts["height"]]  # the gallery's bars, in percent
    assert heights[5] == 100.0 and sum(heights) == 100.0
    window.state.gallery.remove(next(iter(window.state.gallery)).id)
    qtbot.waitUntil(lambda: "2 faces" in dock.summary_label.text(), timeout=TIMEOUT)


def test_a_classifier_that_cannot_be_loaded_is_said_in_the_dock(qtbot, monkeypatch, window):
    monkeypatch.setattr(checker.AttributeMeter, "_measure", lambda self, images, *_: "the classifier is missing")
    window.controls.seed_spin.setValue(window.state.recipe.seed + 1)
    qtbot.waitUntil(lambda: "not measured" in window.audit_dock.current_label.text(), timeout=TIMEOUT)
    assert "the classifier is missing" in window.audit_dock.current_label.text()


def test_find_fills_the_gallery_with_matching_faces_and_says_when_it_gives_up(qtbot, monkeypatch, window):
    """Planted measurements: seed s is female when s is odd; the lookalike check leaves out 5."""
    def measure(self, images, *_):  # the canvas face and the gallery
        return Measurements(np.full(len(images), 30.0), np.zeros(len(images)), np.full(len(images), 50.0))

    def feed_planted(meter, lookalikes, search, seeds, images):
        m = Measurements(np.full(len(seeds), 30.0), np.array([0.9 if s % 2 else 0.1 for s in seeds]),
                         np.full(len(seeds), 50.0))
        veto = (lambda seed, i: "resembles someone.jpg" if seed == 5 else None) if lookalikes else None
        return [(seed, images[i], face) for seed, i, face in search.feed(seeds, m, veto)]

    monkeypatch.setattr(checker.AttributeMeter, "_measure", measure)
    monkeypatch.setattr("facestudio.ui.analysis_bridge.find_step", feed_planted)
    panel = window.audit_dock.find_panel
    first = window.state.recipe.seed
    panel.gender_combo.setCurrentText("female")
    panel.count_spin.setValue(3)
    kept_counts = []
    panel.progress.valueChanged.connect(kept_counts.append)
    assert panel.start()
    assert not panel.progress.isHidden() and panel.progress.maximum() == 3 and panel.find_button.text() == "Cancel"
    qtbot.waitUntil(lambda: panel.search is None, timeout=TIMEOUT)
    assert kept_counts[-1] == 3 and kept_counts == sorted(kept_counts) and panel.progress.isHidden()
    seeds = [f.recipe.seed for f in window.state.gallery]
    odd = [s for s in range(first, first + 20) if s % 2 and s != 5][:3]
    assert seeds == odd, (seeds, odd)
    assert all(f.thumbnail for f in window.state.gallery)
    assert panel.status.text().startswith("Found 3 faces female")
    assert ("left out" in panel.status.text()) == (5 in range(first, odd[-1]))
    panel.gender_combo.setCurrentText("any")
    panel.age_from.setValue(60)  # every planted face is 30: none matches
    panel.tries_spin.setValue(128)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.search is None, timeout=TIMEOUT)
    assert panel.status.text().startswith("Gave up after 128 tries with 0 faces aged 60-120")
    assert len(window.state.gallery) == 3
    panel.age_from.setValue(90)
    panel.age_to.setValue(20)
    assert not panel.start() and "reversed" in panel.status.text()
    panel.age_to.setValue(120)
    assert panel.start()
    panel.find_button.click()  # Cancel
    assert panel.search is None and panel.status.text() == "Cancelled" and panel.progress.isHidden()
