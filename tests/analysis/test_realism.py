"""The realism check on a stand-in world: smooth faces like the model's unedited ones pass, the
same faces with blotches painted on fail, the bar is set on held-out unedited faces, and a
stored check is read back only for the weights it was made for."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from facestudio.analysis.realism import (REFUSE_PERCENTILE, RealismCheck, fit_realism, load_realism,
                                         save_realism)

SIDE = 64


def _smooth_faces(z: np.ndarray) -> np.ndarray:
    """Faces that vary smoothly with a 4-number latent (``[N, 4]``, or W+ ``[N, 1, 4]``): a
    lit oval on a plain ground, the first number moving it sideways."""
    z = np.asarray(z).reshape(len(z), -1)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    out = np.empty((len(z), SIDE, SIDE, 3))
    for i, (a, b, c, d) in enumerate(z[:, :4]):
        oval = np.exp(-(((xs - 0.5 - 0.03 * a) / 0.3) ** 2 + ((ys - 0.5) / 0.38) ** 2))
        light = 0.6 + 0.1 * b + 0.15 * c * (xs - 0.5)
        out[i] = (oval * light)[..., None] * np.array([1.0, 0.8 + 0.05 * d, 0.7]) + 0.1
    return np.clip(out * 255, 0, 255).astype(np.uint8)


def _generator():
    return SimpleNamespace(z_dim=4, sha256="ab" * 32, map=lambda z, psi: np.asarray(z)[:, None, :] * psi,
                           synthesize=_smooth_faces)


def _blotched(faces: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = faces.astype(np.float64)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    for face in out:
        for _ in range(6):
            cy, cx = rng.uniform(0.3, 0.7, 2) * SIDE
            spot = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * 3.0 ** 2))
            face += spot[..., None] * np.array([60.0, -40.0, -40.0]) * rng.choice([-1, 1])
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def check() -> RealismCheck:
    return fit_realism(_generator(), psi=1.0, count=400, first_seed=0, batch=100)


def test_unedited_faces_pass_and_blotched_ones_fail(check):
    rng = np.random.default_rng(5)
    faces = _smooth_faces(rng.normal(size=(40, 4)))
    passed = check.passes(faces)
    assert passed.mean() >= 0.8  # about REFUSE_PERCENTILE % of unedited faces pass
    assert not check.passes(_blotched(faces)).any()
    assert (check.scores(_blotched(faces)) > check.scores(faces)).all()


def test_the_bar_is_the_percentile_of_held_out_unedited_faces(check):
    from facestudio.latent.seeds import z_from_seeds
    held = _smooth_faces(z_from_seeds(range(300, 400), 4))  # the fit's last quarter, which set the bar
    assert check.bar == pytest.approx(np.percentile(check.scores(held), REFUSE_PERCENTILE), rel=1e-6)


def test_a_stored_check_is_read_back_only_for_its_own_weights(check, tmp_path):
    path = tmp_path / "realism.npz"
    save_realism(check, path)
    again = load_realism(path, check.model_sha256)
    faces = _smooth_faces(np.random.default_rng(2).normal(size=(8, 4)))
    assert again is not None and again.bar == check.bar
    assert np.allclose(again.scores(faces), check.scores(faces), atol=1e-3)
    assert load_realism(path, "cd" * 32) is None  # other weights
    assert load_realism(tmp_path / "missing.npz", check.model_sha256) is None
    (tmp_path / "junk.npz").write_bytes(b"not an npz")
    assert load_realism(tmp_path / "junk.npz", check.model_sha256) is None


def test_faces_moved_along_a_slider_within_its_clean_range_count_as_the_models_own():
    """A reference that saw faces moved along a slider (here: the oval moved sideways far past
    where unedited faces put it) passes such faces; one of unedited faces only refuses them."""
    from facestudio.latent.directions import Direction
    sideways = Direction(id="yaw", name="Head turn", vector=np.array([1.0, 0, 0, 0]), layers=(0, 1), scale=4.0,
                         meta={"group": "Pose"})
    with_slider = fit_realism(_generator(), psi=1.0, directions=[sideways], count=600, first_seed=0, batch=100)
    unedited_only = fit_realism(_generator(), psi=1.0, count=600, first_seed=0, batch=100)
    rng = np.random.default_rng(9)
    turned = rng.normal(size=(30, 4)) * 0.5
    turned[:, 0] = rng.choice([-1, 1], 30) * 5.0  # 1.25 slider units: within the clean range
    faces = _smooth_faces(turned)
    assert with_slider.passes(faces).mean() > 0.8
    assert unedited_only.passes(faces).mean() < 0.5
    assert not with_slider.passes(_blotched(faces)).any()


def test_a_check_fitted_for_other_weights_is_cached_and_not_fitted_again(monkeypatch, tmp_path):
    import facestudio.analysis.realism as realism
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path))
    fits = []
    real_fit = realism.fit_realism
    monkeypatch.setattr(realism, "fit_realism", lambda *a, **k: fits.append(1) or real_fit(*a, **k))
    first = realism.realism_for(_generator(), 1.0, count=400)
    again = realism.realism_for(_generator(), 1.0, count=400)
    assert len(fits) == 1 and list(tmp_path.glob("realism/*.npz"))
    assert again.bar == pytest.approx(first.bar) and np.allclose(again.mean, first.mean)
    realism.realism_for(_generator(), 0.7, count=400)  # another psi is another reference
    assert len(fits) == 2
