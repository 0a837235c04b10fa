"""Attribute boundaries (InterFaceGAN style) and user directions, on synthetic W."""

import numpy as np
import pytest

from facestudio.latent.attributes import fit_linear_boundary
from facestudio.latent.directions import DirectionError, apply_edits
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
