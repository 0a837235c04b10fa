"""Attribute boundaries (InterFaceGAN style), conditional editing and user directions, on synthetic W."""

import numpy as np
import pytest

from facestudio.latent.attributes import (RESPONSES, SHIPPED, Labelled, conditional_direction, decorrelate, face_tone,
                                          fit_directions, fit_linear_boundary, fit_linear_trend, project_out)
from facestudio.latent.directions import Direction, DirectionError, apply_edits
from facestudio.latent.discovery import WStats
from facestudio.latent.user_directions import direction_between, direction_from_examples, new_direction_id

D = 16


def unit(v):
    return v / np.linalg.norm(v)


def synthetic_w(n=3000, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, D) * np.linspace(2.0, 0.5, D) + 1.0


def two_attributes(seed=0):
    """Two true attribute normals with cosine 0.6 (like age and gender in FFHQ, entangled)."""
    rng = np.random.RandomState(seed)
    a = unit(rng.randn(D))
    b = unit(0.6 * a + 0.8 * unit(np.linalg.qr(np.c_[a, rng.randn(D)])[0][:, 1]))
    return a, b


def test_logistic_boundary_recovers_the_true_normal():
    w = synthetic_w()
    a, _ = two_attributes()
    noise = np.random.RandomState(1).randn(len(w)) * 0.3
    labels = ((w @ a) - 0.4 + noise > 0).astype(int)
    b = fit_linear_boundary(w, labels)
    assert b.normal @ a > 0.97
    assert np.linalg.norm(b.normal) == pytest.approx(1.0)
    assert b.accuracy > 0.9 and b.count == len(w)
    # the offset puts the boundary where the labels switch: about 0.4 along a
    assert np.median(np.abs(b.distance(w[np.abs(w @ a - 0.4) < 0.05]))) < 0.3
    d = b.to_direction("age", "Age", num_ws=6, scale=2.0)
    assert d.source == "attribute" and d.layers == (0, 6) and d.meta["accuracy"] == b.accuracy


def test_separable_labels_stay_finite():
    w = synthetic_w(400)
    a, _ = two_attributes()
    b = fit_linear_boundary(w, (w @ a > 0).astype(int))
    assert np.isfinite(b.normal).all() and b.normal @ a > 0.95 and b.accuracy > 0.99


def test_linear_trend_of_a_continuous_label():
    w = synthetic_w()
    a, _ = two_attributes()
    years = 40 + 10 * (w @ a) + np.random.RandomState(3).randn(len(w))
    v, per_unit = fit_linear_trend(w, years)
    assert v @ a > 0.99 and per_unit == pytest.approx(10, rel=0.05)


def test_bad_labels_are_one_sentence():
    w = synthetic_w(50)
    with pytest.raises(DirectionError, match="at least 2 samples on each side"):
        fit_linear_boundary(w, np.r_[np.ones(49), 0])
    with pytest.raises(DirectionError, match="0 or 1"):
        fit_linear_boundary(w, np.arange(50) % 3)
    with pytest.raises(DirectionError, match="one label per W sample"):
        fit_linear_boundary(w, np.ones(10))
    w[3, 2] = np.nan
    with pytest.raises(DirectionError, match="NaN"):
        fit_linear_boundary(w, np.arange(50) % 2)


def test_conditional_editing_holds_the_other_attribute_fixed():
    a, b = two_attributes()
    v = project_out(a, b)
    assert abs(v @ b) < 1e-12 and np.linalg.norm(v) == pytest.approx(1.0) and v @ a > 0.7
    age = Direction("age", "Age", a, (0, 4), scale=1.5, source="attribute")
    gender = Direction("gender", "Gender", b, (0, 4), source="attribute")
    cond = conditional_direction(age, gender)
    assert cond.name == "Age (Gender fixed)" and cond.scale == 1.5
    ws = np.tile(synthetic_w(1)[0], (4, 1)).astype(np.float32)
    moved = apply_edits(ws, [(cond.id, 2.0, (0, 4))], {cond.id: cond})
    assert np.allclose(moved @ b, ws @ b, atol=1e-5)       # gender score unchanged
    assert np.all(moved @ a - ws @ a > 1.0)                   # age moved
    plain = apply_edits(ws, [("age", 2.0, (0, 4))], {"age": age})
    assert np.all(np.abs(plain @ b - ws @ b) > 0.5)           # without conditioning it leaks


def test_project_out_several_and_per_layer_and_degenerate():
    rng = np.random.RandomState(4)
    p, c1, c2 = rng.randn(3, D)
    v = project_out(p, c1, c2)
    assert abs(v @ c1) < 1e-10 and abs(v @ c2) < 1e-10
    rows = rng.randn(5, D)
    out = project_out(rows, c1)
    assert out.shape == (5, D) and np.allclose(out @ c1, 0, atol=1e-10)
    with pytest.raises(DirectionError, match="span"):
        project_out(2 * c1 + c2, c1, c2)


def test_a_to_b_lands_on_b_and_back():
    rng = np.random.RandomState(0)
    a = np.tile(rng.randn(D), (6, 1)).astype(np.float32)
    b = np.tile(rng.randn(D), (6, 1)).astype(np.float32)
    d = direction_between(a, b, name="Smile", model_sha256="x" * 64)
    assert d.vector.shape == (D,) and d.layers == (0, 6) and d.source == "user" and d.name == "Smile"
    assert d.id.startswith("user-smile-")
    dirs = {d.id: d}
    np.testing.assert_allclose(apply_edits(a, [(d.id, 1.0, d.layers)], dirs), b, atol=1e-5)
    np.testing.assert_allclose(apply_edits(b, [(d.id, -1.0, d.layers)], dirs), a, atol=1e-5)


def test_a_to_b_with_a_style_mix_is_per_layer():
    rng = np.random.RandomState(1)
    a = np.tile(rng.randn(D), (6, 1)).astype(np.float32)
    b = a.copy()
    b[3:5] = rng.randn(D)
    d = direction_between(a, b)
    assert d.vector.shape == (6, D) and d.layers == (3, 5)
    np.testing.assert_allclose(apply_edits(a, [(d.id, 1.0, d.layers)], {d.id: d}), b, atol=1e-5)
    with pytest.raises(DirectionError, match="same latent"):
        direction_between(a, a)


def test_directions_from_marked_faces():
    w = synthetic_w(200)
    a, _ = two_attributes()
    score = w @ a - np.median(w @ a)
    pos = [np.tile(x, (6, 1)) for x in w[score > 0.8][:20]]
    neg = [np.tile(x, (6, 1)) for x in w[score < -0.8][:20]]
    assert len(pos) == len(neg) == 20
    mean = direction_from_examples(pos, neg, name="Up", method="mean")
    linear = direction_from_examples(pos, neg, name="Up", method="linear", stats=WStats.from_samples(w))
    for d in (mean, linear):
        assert d.vector.shape == (D,) and d.vector @ a > 0.5 and d.scale > 0
    gap = np.mean([p[0] for p in pos], axis=0) - np.mean([n[0] for n in neg], axis=0)
    assert mean.scale == pytest.approx(np.linalg.norm(gap), rel=1e-5)
    with pytest.raises(DirectionError, match="at least one face positive and one negative"):
        direction_from_examples(pos, [])
    with pytest.raises(DirectionError, match="same mean latent"):
        direction_from_examples(pos[:1], pos[:1])
    with pytest.raises(DirectionError, match="unknown method"):
        direction_from_examples(pos, neg, method="svm")


def test_new_ids_are_unique():
    taken = set()
    for _ in range(50):
        taken.add(new_direction_id("Big smile!", taken))
    assert len(taken) == 50 and all(t.startswith("user-big-smile-") for t in taken)


def _labelled(seed: int = 0, n: int = 3000, w_dim: int = 16) -> tuple[Labelled, np.ndarray, np.ndarray]:
    """W samples whose gender follows one hidden direction and whose age another, correlated
    with it (as age and gender are in face data), plus label noise."""
    rng = np.random.default_rng(seed)
    ws = rng.normal(size=(n, w_dim)) * rng.uniform(0.5, 2.0, w_dim)
    g_true = np.eye(w_dim)[0]
    a_true = (0.6 * np.eye(w_dim)[0] + 0.8 * np.eye(w_dim)[1])
    p = 1 / (1 + np.exp(-3 * (ws @ g_true) - rng.normal(scale=0.3, size=n)))
    ages = 35 + 8 * (ws @ a_true) + rng.normal(scale=2, size=n)
    tone = 120 + 10 * ws[:, 2] + 5 * ws[:, 1] + rng.normal(scale=2, size=n)
    return Labelled(ws.astype(np.float32), ages, p, tone), g_true, a_true


def test_fitted_directions_point_along_the_hidden_attributes_and_hold_the_other_fixed():
    lab, g_true, a_true = _labelled()
    dirs, facts = fit_directions(lab, 6, "ab" * 32)
    by_id = {d.id: d for d in dirs}
    assert list(by_id) == ["age-raw", "gender-raw", "tone", "age-projected", "gender-projected"]
    raw_age, raw_gender = by_id["age-raw"].vector, by_id["gender-raw"].vector
    assert raw_gender @ g_true > 0.98  # found the hidden gender direction
    assert raw_age @ a_true / np.linalg.norm(a_true) > 0.9
    # conditional: Age moves no gender score, Gender moves no age trend, neither the tone
    tone_dir = np.linalg.lstsq(lab.ws - lab.ws.mean(0), lab.tone - lab.tone.mean(), rcond=None)[0]
    tone_dir /= np.linalg.norm(tone_dir)
    age, gender = by_id["age-projected"].vector, by_id["gender-projected"].vector
    assert abs(age @ raw_gender) < 1e-5 and abs(gender @ raw_age) < 1e-5
    assert abs(age @ tone_dir) < 0.01 and abs(gender @ tone_dir) < 0.01
    assert age @ raw_age > 0.5 and gender @ raw_gender > 0.5
    # one unit = one standard deviation of the samples along the direction
    for d in dirs:
        assert d.scale == pytest.approx(float(np.std(lab.ws.astype(np.float64) @ d.vector)), rel=1e-4)
        assert d.layers == (0, 6) and d.source == "attribute" and d.model_sha256 == "ab" * 32
    assert facts["cosine_age_gender"] == pytest.approx(abs(raw_age @ raw_gender))
    assert 0.3 < facts["female_share"] < 0.7


def test_face_tone_is_the_centre_luma():
    faces = np.zeros((2, 8, 8, 3), np.uint8)
    faces[0] = 255  # white everywhere
    faces[1, 2:6, 2:6] = (100, 100, 100)  # grey centre on a black frame: the frame is ignored
    np.testing.assert_allclose(face_tone(faces), [255.0, 100.0])


def test_decorrelation_solves_the_measured_responses_for_zero_side_effects():
    bases = [Direction(id=i, name=i, vector=np.eye(5)[k], layers=(0, 4), scale=s, source="attribute")
             for k, (i, s) in enumerate([("age-raw", 2.0), ("gender-raw", 0.5), ("tone", 1.0)])]
    r = np.array([[5.0, 1.0, 2.0],   # age years per unit of each base
                  [-0.6, 1.0, 0.1],  # gender log-odds
                  [-4.0, 6.0, 10.0]])  # tone levels
    responses = [dict(zip(RESPONSES, r[:, j])) for j in range(3)]
    named = decorrelate(bases, responses, SHIPPED, 4, "cd" * 32)
    for id, want in (("age", [5, 0, 0]), ("gender", [0, 1, 0])):
        d = named[id]
        units = d.scale * d.vector[:3] / np.array([2.0, 0.5, 1.0])  # the step in base units
        np.testing.assert_allclose(r @ units, want, atol=1e-5)
        assert d.meta["conditioned_on"] and d.layers == (0, 4) and d.model_sha256 == "cd" * 32
    assert named["age"].name == "Age" and named["gender"].name == "Gender"
    r[:, 2] = r[:, 0] * 1.0001  # tone's response copies age's: nothing can be solved
    assert decorrelate(bases, [dict(zip(RESPONSES, r[:, j])) for j in range(3)], SHIPPED, 4,
                       "cd" * 32) is None
