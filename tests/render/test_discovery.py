"""Discovery on real (small) generators: affine rows, W samples, SeFa vs eigh, the cache."""

import time

import numpy as np
import pytest
import torch

from facestudio.generator.model import generator_from_network
from facestudio.latent.discovery import layer_groups
from facestudio.latent.discovery_cache import cache_path
from facestudio.render.discovery import affine_layers_by_row, discover, sample_w, style_affine_weights
from facestudio.render.studio_model import open_studio_model
from tests.conftest import randomised_network, small_config


@pytest.fixture(scope="module")
def gen():
    return generator_from_network(randomised_network(small_config()))


def test_each_ws_row_feeds_exactly_the_affines_listed_for_it(gen):
    """Perturb one ws row; the affines whose inputs change are the ones listed for that row."""
    rows = affine_layers_by_row(gen.network)
    assert len(rows) == gen.num_ws
    seen_inputs = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: seen_inputs.__setitem__(name, inp[0].clone()))
             for row in rows for name, m, _ in row]
    try:
        ws = torch.as_tensor(gen.map(np.random.RandomState(0).randn(1, gen.z_dim)))
        gen.network.synthesis(ws, noise_mode="const")
        base = dict(seen_inputs)
        for r in range(gen.num_ws):
            moved = ws.clone()
            moved[:, r] += 1.0
            gen.network.synthesis(moved, noise_mode="const")
            changed = {n for n, x in seen_inputs.items() if not torch.equal(x, base[n])}
            assert changed == {name for name, _, _ in rows[r]}, f"row {r}"
    finally:
        for h in hooks:
            h.remove()
    names = [n for row in rows for n, _, _ in row]
    assert len(names) == len(set(names)) == sum(1 for n, _ in gen.network.named_modules() if n.endswith("affine"))


def test_style_affine_weights_are_the_effective_style_maps(gen):
    """s = A w + b for every affine of a row, gains included (ToRGB's too)."""
    weights = style_affine_weights(gen)
    w = torch.randn(3, gen.w_dim, dtype=torch.float64)
    for row, a in zip(affine_layers_by_row(gen.network), weights):
        assert a.shape[1] == gen.w_dim
        parts = []
        for _, m, gain in row:
            with torch.no_grad():
                s = (m.double()(w) - m.bias.double() * m.bias_gain) * gain
            m.float()
            parts.append(s.numpy())
        np.testing.assert_allclose(np.concatenate(parts, axis=1), w.numpy() @ a.T, rtol=1e-9, atol=1e-9)


def test_sefa_directions_of_a_tiny_model_are_top_eigenvectors(gen):
    """Against numpy.linalg.eigh of the model's own affine weights, read by parameter name."""
    found = discover(gen, samples=500, use_cache=False)
    mats = [p.detach().double().numpy() for n, p in gen.network.named_parameters() if n.endswith("affine.weight")]
    a = np.concatenate(mats)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    values, vectors = np.linalg.eigh(a.T @ a)
    dirs = found.directions("sefa", 5)
    for i, d in enumerate(dirs):
        assert abs(float(d.vector @ vectors[:, -1 - i])) == pytest.approx(1.0, abs=1e-5)
        assert d.meta["eigenvalue"] == pytest.approx(values[-1 - i], rel=1e-8)
        w = sample_w(gen, 500)
        assert d.scale == pytest.approx((w @ d.vector).std(ddof=1), rel=1e-4)
    coarse = found.directions("sefa-coarse", 2)
    assert all(d.layers == layer_groups(gen.num_ws)["coarse"] for d in coarse)


def test_pca_directions_of_a_tiny_model_are_orthonormal_and_ordered(gen):
    dirs = discover(gen, samples=800, use_cache=False).directions("pca", 10)
    v = np.stack([d.vector for d in dirs]).astype(np.float64)
    np.testing.assert_allclose(v @ v.T, np.eye(10), atol=1e-5)
    assert all(a.scale >= b.scale for a, b in zip(dirs, dirs[1:]))
    w = sample_w(gen, 800)
    for d in dirs[:3]:
        assert d.scale == pytest.approx((w @ d.vector).std(ddof=1), rel=1e-4)


def test_sample_w_follows_the_reference_seeding(gen):
    w = sample_w(gen, 7, seed=3)
    z = np.random.RandomState(3).randn(7, gen.z_dim)
    np.testing.assert_allclose(w, gen.map(z)[:, 0])


def test_second_open_reads_the_cache(native_model):
    first = open_studio_model(native_model)
    path = cache_path(first.sha256)
    assert path is not None and path.is_file()
    stamp = path.stat().st_mtime_ns
    t = time.perf_counter()
    second = open_studio_model(native_model)
    elapsed = time.perf_counter() - t
    assert path.stat().st_mtime_ns == stamp  # read, not rewritten
    assert elapsed < 2.0
    for a, b in zip(first.directions.every(), second.directions.every()):
        assert a.id == b.id and np.array_equal(a.vector, b.vector) and a.scale == b.scale
    assert [d.id for d in second.directions.shown()] == [f"pca{i}" for i in range(12)]
    assert set(second.directions.methods) == {"pca", "sefa", "sefa-coarse", "sefa-middle", "sefa-fine"}
    assert {d.id for d in second.directions.every()} <= set(second.renderer.directions)
    assert second.directions.shown("sefa-fine")[0].layers == second.layer_groups()["fine"]


def test_discovery_of_a_conditional_model_samples_every_class(conditional_model):
    from facestudio.generator import load_generator
    g = load_generator(conditional_model)
    found = discover(g, samples=400, use_cache=False)
    assert found.stats.count == 400 and len(found.directions("sefa-middle", 3)) == 3
    c = np.arange(8) % g.c_dim
    np.testing.assert_allclose(sample_w(g, 8), g.map(np.random.RandomState(0).randn(8, g.z_dim), c=c)[:, 0])


def test_the_studio_model_opens_over_a_cache_with_an_impossible_layer_range(tmp_path, monkeypatch, native_model):
    import json
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path / "cache"))
    first = open_studio_model(native_model)
    path = cache_path(first.renderer.generator.sha256)
    with np.load(path) as npz:
        arrays = dict(npz)
    meta = json.loads(str(arrays["meta"]))
    meta["sefa_layers"]["coarse"] = [5, 2]  # reversed: its directions cannot be made
    arrays["meta"] = np.array(json.dumps(meta))
    arrays["pca_vectors"], arrays["pca_variances"] = arrays["pca_vectors"][:0], arrays["pca_variances"][:0]
    np.savez(path, **arrays)
    again = open_studio_model(native_model)  # recomputed, not refused
    assert [d.id for d in again.directions.shown()] == [d.id for d in first.directions.shown()]
    with np.load(path) as npz:
        assert json.loads(str(npz["meta"]))["sefa_layers"]["coarse"] != [5, 2]
