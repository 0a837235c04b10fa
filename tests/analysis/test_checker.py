"""The Qt-free measuring thread and the lookalike checker on it: latest wins for the canvas,
every export answered first, a guard that cannot be built answered as 'not checked', and the
attribute meter's answers."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from facestudio.analysis import checker as checker_module
from facestudio.analysis import lookalike_guard
from facestudio.analysis.lookalike import LookalikeIndexError
from facestudio.analysis.lookalike_guard import LookalikeVerdict


class SlowGuard:
    threshold = 0.4

    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Event()
        self.seen: list[int] = []

    def check(self, faces):
        self.entered.set()
        self.release.wait(10)
        self.seen.append(int(faces[0][0, 0, 0]))
        return LookalikeVerdict(True, self.threshold, len(faces), len(faces), 0.7, "p.jpg")


def face(value: int) -> np.ndarray:
    return np.full((8, 8, 3), value, np.uint8)


@pytest.fixture
def answers():
    got, done = [], threading.Event()

    def record(kind):
        def callback(*args):
            got.append((kind, threading.current_thread().name, args))
            done.set()
        return callback
    return got, done, record


def test_latest_wins_for_the_canvas_and_every_export_is_answered(monkeypatch, answers):
    got, _, record = answers
    guard = SlowGuard()
    monkeypatch.setattr(lookalike_guard, "guard_for_model", lambda *a, **k: guard)
    checker = checker_module.LookalikeChecker(checker_module.AnalysisWorker(), record("face"), record("export"))
    checker.set_model("ab" * 32)
    checker.check_face("k1", face(1))   # being measured while the rest arrives
    assert guard.entered.wait(10)
    checker.check_face("k2", face(2))   # replaced before it is measured
    checker.check_face("k3", face(3))
    checker.check_export("t", 0, [face(10)], "payload-0")
    checker.check_export("t", 1, [face(11)], "payload-1")
    guard.release.set()
    checker.worker.shutdown()
    assert guard.seen == [1, 10, 11]  # k3 waits behind the exports, which the stop ends first
    assert [(k, args[0]) for k, _, args in got] == [("face", "k1"), ("export", "t"), ("export", "t")]
    assert {name for _, name, _ in got} == {checker_module.THREAD_NAME}
    assert [args[2] for k, _, args in got if k == "export"] == ["payload-0", "payload-1"]


def test_a_guard_that_cannot_be_built_answers_not_checked(monkeypatch, answers):
    got, done, record = answers

    def broken(*a, **k):
        raise LookalikeIndexError("the lookalike index x.npz is damaged")

    monkeypatch.setattr(lookalike_guard, "guard_for_model", broken)
    checker = checker_module.LookalikeChecker(checker_module.AnalysisWorker(), record("face"), record("export"))
    checker.set_model("cd" * 32)
    checker.check_face("k", face(5))
    assert done.wait(10)
    checker.worker.shutdown()
    verdict = got[0][2][1]
    assert not verdict.checked and "damaged" in verdict.reason


def test_a_failing_callback_does_not_stop_the_checker(monkeypatch, answers):
    got, done, record = answers
    guard = SlowGuard()
    guard.release.set()
    monkeypatch.setattr(lookalike_guard, "guard_for_model", lambda *a, **k: guard)

    def bad(*args):
        raise RuntimeError("a bug in a listener")

    checker = checker_module.LookalikeChecker(checker_module.AnalysisWorker(), bad, record("export"))
    checker.set_model("ef" * 32)
    checker.check_face("k", face(1))
    for _ in range(100):  # the failing callback has run ...
        if guard.seen:
            break
        threading.Event().wait(0.05)
    checker.check_export("t", 0, [face(2)])  # ... and the checker still answers
    assert done.wait(10)
    checker.worker.shutdown()
    assert [k for k, _, _ in got] == ["export"] and guard.seen == [1, 2]


def test_the_attribute_meter_measures_on_the_worker_and_says_why_it_cannot():
    from facestudio.analysis.audit import Measurements
    worker = checker_module.AnalysisWorker()
    meter = checker_module.AttributeMeter(worker)
    got, done = [], threading.Event()
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 255, (3, 64, 64, 3), dtype=np.uint8)
    meter.measure("gallery", faces, lambda r: (got.append((threading.current_thread().name, r)), done.set()))
    assert done.wait(60)
    name, result = got[0]
    assert name == checker_module.THREAD_NAME
    assert isinstance(result, Measurements) and len(result) == 3
    assert np.all((result.p_female >= 0) & (result.p_female <= 1)) and np.all(result.age >= 0)
    done.clear()
    meter._net = None

    def missing():
        from facestudio.analysis.attributes import ClassifierFileError
        raise ClassifierFileError("the attribute classifier weights/attributes.safetensors is missing")

    import facestudio.analysis.attributes as attributes
    real, attributes.load_bundled_classifier = attributes.load_bundled_classifier, missing
    try:
        meter.measure("gallery", faces, lambda r: (got.append((None, r)), done.set()))
        assert done.wait(60)
    finally:
        attributes.load_bundled_classifier = real
    worker.shutdown()
    assert got[-1][1] == "the attribute classifier weights/attributes.safetensors is missing"


def test_a_studio_find_with_attribute_filters_measures_only_what_the_classifier_kept():
    from facestudio.analysis.audit import Measurements
    from facestudio.analysis.filters import MeasureBound
    from facestudio.analysis.selection import Criteria, Search

    class Meter(checker_module.AttributeMeter):
        """P(female) 0.95 for even faces; dlib's smile = the face's index / 10 (or no dlib)."""

        def __init__(self, measurer):
            self.asked, self._measurer, self.measurer_problem = [], measurer, "dlib is not installed"

        def face_measurer(self):
            return self._measurer

        def _measure(self, images, face_measures=False, where=None):
            n = len(images)
            m = Measurements(np.full(n, 30.0), np.where(np.arange(n) % 2 == 0, 0.95, 0.05), np.zeros(n))
            if face_measures and self._measurer is not None:
                keep = where(m)
                self.asked.append(np.flatnonzero(keep).tolist())
                smile = np.where(keep, np.arange(n) / 10, np.nan)
                m = Measurements(m.age, m.p_female, m.ita, measures={"smile": smile})
            return m

    criteria = Criteria(gender="female", confidence=0.9, bounds=(MeasureBound("smile", "yes", "smile", 0.35, None),))
    faces = np.zeros((8, 4, 4, 3), np.uint8)
    meter = Meter(object())
    search = Search(criteria, count=2, max_tries=100, first_seed=10)
    kept = checker_module.find_step(meter, None, search, list(range(10, 18)), faces)
    assert meter.asked == [[0, 2, 4, 6]]  # dlib only for the clearly female faces
    assert [seed for seed, _, _ in kept] == [14, 16] and kept[0][2]["smile"] == 0.4
    nothing = checker_module.find_step(Meter(None), None, Search(criteria, 2, 100, first_seed=10),
                                       list(range(10, 18)), faces)
    assert nothing == "the attribute filters measure faces with dlib, which cannot be used: dlib is not installed"
