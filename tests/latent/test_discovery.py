"""Direction discovery maths (numpy only): W statistics, PCA, SeFa, and the on-disk cache."""

import numpy as np
import pytest

from facestudio.latent.directions import Direction, DirectionError, apply_edits
from facestudio.latent.discovery import Discovery, WStats, fix_signs, layer_groups, pca_basis, sefa_basis
from facestudio.latent.discovery_cache import cache_path, cache_root, load_discovery, save_discovery

SHA = "ab" * 32


def anisotropic_samples(n=4000, d=8, seed=0):
    rng = np.random.RandomState(seed)
    q, _ = np.linalg.qr(rng.randn(d, d))
    stds = np.linspace(3.0, 0.2, d)
    return (rng.randn(n, d) * stds) @ q.T + rng.randn(d), q, stds


def random_affines(num_ws=6, d=8, seed=1):
    rng = np.random.RandomState(seed)
    return [rng.randn(rng.randint(3, 9), d) * rng.uniform(0.1, 5) for _ in range(num_ws)]


@pytest.fixture
def found():
    x, _, _ = anisotropic_samples()
    return Discovery.compute(x, random_affines(), num_ws=6, model_sha256=SHA, keep=8, params={"samples": 4000})


def test_w_stats_match_numpy():
    x, _, _ = anisotropic_samples()
    s = WStats.from_samples(x)
    np.testing.assert_allclose(s.mean, x.mean(axis=0))
    np.testing.assert_allclose(s.cov, np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)
    v = np.random.RandomState(2).randn(8)
    assert s.std_along(v) == pytest.approx((x @ (v / np.linalg.norm(v))).std(ddof=1))
    assert s.std_along(3 * v) == pytest.approx(s.std_along(v))


def test_pca_components_are_orthonormal_ordered_and_true_axes(found):
    _, q, stds = anisotropic_samples()
    v = found.pca_vectors
    np.testing.assert_allclose(v @ v.T, np.eye(8), atol=1e-10)
    assert np.all(np.diff(found.pca_variances) <= 0)
    dirs = found.directions("pca", 8)
    assert [d.id for d in dirs] == [f"pca{i}" for i in range(8)]
    assert [d.scale for d in dirs] == sorted((d.scale for d in dirs), reverse=True)
    assert abs(v[0] @ q[:, 0]) > 0.99  # the largest true axis
    assert dirs[0].scale == pytest.approx(stds[0], rel=0.05)  # one unit = one standard deviation


def test_pca_from_stats_agrees_with_svd_pca():
    from facestudio.latent.directions import pca_directions
    x, _, _ = anisotropic_samples()
    svd = pca_directions(x, 4, num_ws=6)
    vectors, variances = pca_basis(WStats.from_samples(x))
    for d, v, var in zip(svd, vectors, variances):
        assert abs(float(d.vector @ v)) == pytest.approx(1.0, abs=1e-5)
        assert d.scale == pytest.approx(np.sqrt(var), rel=1e-5)


def test_sefa_vectors_are_the_top_eigenvectors_of_row_normalised_affines():
    affines = random_affines()
    rows = (1, 4)
    a = np.concatenate(affines[1:4])
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    values, vectors = np.linalg.eigh(a.T @ a)
    top, eig = sefa_basis(affines, rows, 3)
    np.testing.assert_allclose(eig, values[::-1][:3], rtol=1e-10)
    for i in range(3):
        assert abs(top[i] @ vectors[:, -1 - i]) == pytest.approx(1.0, abs=1e-8)
    # the first one moves the (normalised) styles most of any unit vector
    trial = np.random.RandomState(0).randn(200, 8)
    trial /= np.linalg.norm(trial, axis=1, keepdims=True)
    assert np.linalg.norm(a @ top[0]) >= np.linalg.norm(a @ trial.T, axis=0).max()


def test_sefa_directions_per_group_use_group_layers_and_w_std(found):
    groups = layer_groups(6)
    for method, group in (("sefa", "all"), ("sefa-coarse", "coarse"), ("sefa-fine", "fine")):
        dirs = found.directions(method, 3)
        assert all(d.layers == groups[group] and d.source == "sefa" for d in dirs)
        for d in dirs:
            assert d.scale == pytest.approx(found.stats.std_along(d.vector))
    assert set(found.methods()) == {"pca", "sefa", "sefa-coarse", "sefa-middle", "sefa-fine"}
    ids = [d.id for d in found.all_directions(3)]
    assert len(ids) == len(set(ids)) == 15
    with pytest.raises(DirectionError, match="unknown direction method"):
        found.directions("ica")


def test_layer_groups_cover_all_rows():
    for n in (3, 8, 10, 14, 18):
        g = layer_groups(n)
        assert g["coarse"][0] == 0 and g["coarse"][1] == g["middle"][0]
        assert g["middle"][1] == g["fine"][0] and g["fine"][1] == n
        assert all(b > a for a, b in g.values())
    assert layer_groups(18) == {"all": (0, 18), "coarse": (0, 5), "middle": (5, 10), "fine": (10, 18)}


def test_signs_are_fixed_deterministically():
    v = np.array([[0.1, -0.9, 0.2], [0.5, 0.1, 0.0]])
    f = fix_signs(v)
    assert f[0, 1] > 0 and f[1, 0] > 0
    np.testing.assert_allclose(fix_signs(-v), f)


def test_edit_plus_then_minus_returns_the_same_ws_and_layers_touch_only_their_rows(found):
    d = found.directions("pca", 2)[1]
    dirs = {d.id: d}
    ws = np.random.RandomState(5).randn(6, 8).astype(np.float32)
    there = apply_edits(ws, [(d.id, 1.7, (2, 5))], dirs)
    back = apply_edits(there, [(d.id, -1.7, (2, 5))], dirs)
    np.testing.assert_allclose(back, ws, atol=1e-6)
    np.testing.assert_array_equal(there[[0, 1, 5]], ws[[0, 1, 5]])
    assert not np.allclose(there[2:5], ws[2:5])
    np.testing.assert_allclose(np.linalg.norm(there[2] - ws[2]), 1.7 * d.scale, rtol=1e-5)


def test_with_std_scale_sets_the_unit_for_any_direction(found):
    d = Direction("x", "x", np.ones(8), (0, 6), scale=1.0, source="imported")
    scaled = found.with_std_scale(d)
    assert scaled.scale == pytest.approx(found.stats.std_along(np.ones(8)))


def test_cache_round_trip_and_rejections(tmp_path, monkeypatch, found):
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    assert cache_path(SHA) == tmp_path / "c" / "directions" / f"{SHA}.npz"
    assert cache_path(None) is None and cache_path("../../etc/passwd") is None
    path = save_discovery(found)
    assert path == cache_path(SHA) and path.is_file()
    back = load_discovery(SHA, {"samples": 4000})
    assert back is not None
    for a, b in zip(back.all_directions(4), found.all_directions(4)):
        assert (a.id, a.name, a.layers, a.source) == (b.id, b.name, b.layers, b.source)
        np.testing.assert_allclose(a.vector, b.vector)
        assert a.scale == pytest.approx(b.scale)
    assert load_discovery(SHA, {"samples": 5000}) is None  # stale parameters
    assert load_discovery("cd" * 32, {"samples": 4000}) is None  # no file
    path.write_bytes(b"not an npz")
    assert load_discovery(SHA, {"samples": 4000}) is None  # damaged: recompute, never fail


def test_cache_folder_that_cannot_be_written_is_skipped(tmp_path, monkeypatch, found):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FACESTUDIO_CACHE", str(blocker))
    assert save_discovery(found) is None


def test_xdg_cache_home_is_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv("FACESTUDIO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "facestudio"
