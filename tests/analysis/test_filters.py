"""The attribute filters' grammar: sides set from the real photos' percentiles, a margin that
keeps only faces clearly on the asked side, gender with a confidence, and SQL that agrees."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from facestudio.analysis.audit import Measurements
from facestudio.analysis.filters import (FilterError, bounds_sql, gender_passes, gender_sql, read_reference,
                                         resolve)
from facestudio.analysis.selection import Criteria
from tests.helpers import assert_one_sentence


def test_sides_are_set_from_the_real_photos(measures_reference):
    smile = measures_reference["smile"]
    yes = resolve("smile", "yes", 0.5, measures_reference)
    no = resolve("smile", "no", 0.5, measures_reference)
    assert yes.low == pytest.approx(smile["p50"] + 0.5 * smile["spread"]) and yes.high is None
    assert no.high == pytest.approx(smile["p50"] - 0.5 * smile["spread"]) and no.low is None
    yaw = measures_reference["yaw"]
    left, front, right = (resolve("yaw", s, 0.5, measures_reference) for s in ("left", "front", "right"))
    assert left.high == pytest.approx(yaw["p50"] - 1.25 * yaw["spread"]) and left.low is None
    assert front.low == pytest.approx(yaw["p50"] - 0.25 * yaw["spread"])
    assert front.high == pytest.approx(yaw["p50"] + 0.25 * yaw["spread"])
    assert right.low == pytest.approx(yaw["p50"] + 1.25 * yaw["spread"])
    # about the real photos' 10th / 90th percentile for a clear turn: a turn a person sees
    assert yaw["p10"] - 0.1 < left.high < yaw["p50"] and yaw["p50"] < right.low < yaw["p90"] + 0.1
    # a wider margin asks more, never less
    assert resolve("hair", "light", 1.0, measures_reference).low > resolve("hair", "light", 0.2, measures_reference).low


def test_a_face_passes_only_clearly_on_its_side(measures_reference):
    yes = resolve("smile", "yes", 0.5, measures_reference)
    values = np.array([yes.low - 1e-6, yes.low, yes.low + 0.2, np.nan])
    assert yes.passes(values).tolist() == [False, True, True, False]  # NaN: dlib found no face
    no = resolve("smile", "no", 0.5, measures_reference)
    assert not (yes.passes(values) & no.passes(values)).any()


def test_bad_requests_are_one_sentence(measures_reference, tmp_path):
    assert_one_sentence(pytest.raises(FilterError, resolve, "smile", "maybe", 0.5, measures_reference).value,
                        "--smile takes no | yes", full_stop=False)
    assert_one_sentence(pytest.raises(FilterError, resolve, "glasses", "yes", 0.5, measures_reference).value,
                        "no attribute filter", full_stop=False)
    assert_one_sentence(pytest.raises(FilterError, resolve, "yaw", "front", 0.8, measures_reference).value,
                        "leaves nothing of 'front'", full_stop=False)
    assert_one_sentence(pytest.raises(FilterError, read_reference, tmp_path / "none.json").value, "missing", full_stop=False)
    bare = tmp_path / "real-3000.json"  # the work folder's bare table reads the same
    bare.write_text(__import__("json").dumps(measures_reference))
    assert read_reference(bare) == measures_reference
    (tmp_path / "bad.json").write_text('{"smile": {"p10": 1}}')
    assert_one_sentence(pytest.raises(FilterError, read_reference, tmp_path / "bad.json").value,
                        "no usable percentiles", full_stop=False)


def test_gender_needs_the_confidence():
    p = np.array([0.05, 0.1, 0.4, 0.5, 0.62, 0.9, 0.97])
    assert gender_passes(p, "female", 0.9).tolist() == [False, False, False, False, False, True, True]
    assert gender_passes(p, "male", 0.9).tolist() == [True, True, False, False, False, False, False]
    # 0.5 is the rule libraries built before margins used
    assert gender_passes(p, "female", 0.5).tolist() == [False, False, False, False, True, True, True]
    assert gender_passes(p, "male", 0.5).tolist() == [True, True, True, True, False, False, False]


def test_sql_agrees_with_the_arrays(measures_reference):
    rng = np.random.default_rng(0)
    smile = rng.normal(0.4, 0.12, 300)
    smile[::17] = np.nan
    p = rng.uniform(0, 1, 300)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE faces (position INTEGER, p_female REAL, smile REAL)")
    db.executemany("INSERT INTO faces VALUES (?, ?, ?)",
                   [(i, float(a), None if math.isnan(b) else float(b)) for i, (a, b) in enumerate(zip(p, smile))])
    bound = resolve("smile", "yes", 0.5, measures_reference)
    for gender, confidence in (("female", 0.9), ("male", 0.9), ("female", 0.5), ("male", 0.5)):
        g_sql, g_args = gender_sql(gender, confidence)
        b_sql, b_args = bounds_sql([bound], {"position", "p_female", "smile"})
        got = [r[0] for r in db.execute(f"SELECT position FROM faces WHERE {g_sql} AND {b_sql} ORDER BY position",
                                        g_args + b_args)]
        want = np.flatnonzero(gender_passes(p, gender, confidence) & bound.passes(smile)).tolist()
        assert got == want and want
    b_sql, _ = bounds_sql([bound], {"position", "p_female"})  # a catalogue without the measure: nothing passes
    assert db.execute(f"SELECT count(*) FROM faces WHERE {b_sql}").fetchone()[0] == 0


def test_criteria_combine_the_classifier_and_the_measures(measures_reference):
    smiling = resolve("smile", "yes", 0.5, measures_reference)
    turned = resolve("yaw", "right", 0.5, measures_reference)
    m = Measurements(np.full(4, 30.0), np.array([0.95, 0.95, 0.6, 0.95]), np.zeros(4),
                     measures={"smile": np.array([0.6, 0.6, 0.6, 0.3]), "yaw": np.array([0.5, 0.0, 0.5, 0.5])})
    c = Criteria(gender="female", confidence=0.9, bounds=(smiling, turned))
    assert c.matches_classified(m).tolist() == [True, True, False, True]
    assert c.matches(m).tolist() == [True, False, False, False]
    assert c.describe() == "smiling, turned to the image's right, female (P(female) >= 0.9)"
    with pytest.raises(ValueError):
        c.matches(Measurements(m.age, m.p_female, m.ita))  # never measured with dlib: not silently passed


def test_only_the_faces_asked_for_are_measured_with_dlib(dlib_ready, real_faces):
    from PIL import Image

    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.audit import measure_faces, with_face_measures
    from facestudio.analysis.face_measures import FaceMeasurer
    net = load_bundled_classifier()
    faces = np.stack([np.asarray(Image.open(p).convert("RGB").resize((128, 128))) for p in real_faces]
                     + [np.full((128, 128, 3), 128, np.uint8)])  # the last: no face in it
    m = with_face_measures(measure_faces(faces, net), faces, FaceMeasurer(net), np.array([True, False, True, True]))
    assert np.isfinite(m.measures["smile"][[0, 2]]).all() and np.isnan(m.measures["smile"][[1, 3]]).all()
    assert m.face(3)["yaw"] is None and isinstance(m.face(0)["hair"], float)
    both = m.concat(measure_faces(faces[:1], net))  # a batch measured without dlib joins with NaN
    assert len(both.measures["pitch"]) == 5 and np.isnan(both.measures["pitch"][4])
