"""Every architecture variant through the public API: shapes, noise modes, truncation, classes."""

import numpy as np
import pytest
import torch

from facestudio.generator import GeneratorConfig, ModelLoadError
from facestudio.generator.model import build_network, generator_from_network
from facestudio.latent.seeds import z_from_seed, z_from_seeds
from tests.conftest import randomised_network, small_config

VARIANTS = [
    dict(architecture="skip"),
    dict(architecture="resnet"),
    dict(architecture="orig"),
    dict(architecture="skip", conv_clamp=0.5),
    dict(architecture="resnet", c_dim=3),
    dict(architecture="orig", resolution=16, channels={4: 16, 8: 16, 16: 8}, use_noise=False),
]


def make(**kw):
    cfg = small_config(**kw)
    return generator_from_network(randomised_network(cfg)), cfg


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_variant_renders_deterministic_uint8(variant):
    g, cfg = make(**variant)
    c = 1 if cfg.c_dim else None
    ws = g.map(z_from_seeds([0, 1], g.z_dim), c=c, psi=0.7)
    assert ws.shape == (2, cfg.num_ws, cfg.w_dim) and ws.dtype == np.float32
    img = g.synthesize(ws, noise="const")
    assert img.shape == (2, cfg.resolution, cfg.resolution, 3) and img.dtype == np.uint8
    assert img.flags["C_CONTIGUOUS"]
    assert np.array_equal(img, g.synthesize(ws, noise="const"))
    assert not np.array_equal(img[0], img[1])
    assert img.std() > 1.0  # not a flat image


def test_num_ws_matches_the_reference_count():
    for res, expected in [(4, 2), (8, 4), (32, 8), (256, 14), (1024, 18)]:
        assert GeneratorConfig(resolution=res).num_ws == expected


def test_noise_modes_differ_as_expected():
    g, _ = make()
    ws = g.map(z_from_seed(3, g.z_dim))
    const = g.synthesize(ws, "const")
    assert np.array_equal(const, g.synthesize(ws, "const"))
    r1, r2 = g.synthesize(ws, "random"), g.synthesize(ws, "random")
    assert not np.array_equal(r1, r2)
    assert not np.array_equal(g.synthesize(ws, "none"), const)
    with pytest.raises(ValueError, match="noise mode"):
        g.synthesize(ws, "loud")


def test_truncation_psi_and_cutoff():
    g, cfg = make()
    z = z_from_seed(5, g.z_dim)
    w_avg = g.network.mapping.w_avg.numpy()
    full = g.map(z)
    at_avg = g.map(z, psi=0.0)
    np.testing.assert_allclose(at_avg, np.broadcast_to(w_avg, at_avg.shape), atol=1e-6)
    cut = g.map(z, psi=0.5, cutoff=3)
    np.testing.assert_allclose(cut[:, :3], w_avg + 0.5 * (full[:, :3] - w_avg), atol=1e-5)
    np.testing.assert_allclose(cut[:, 3:], full[:, 3:], atol=1e-6)
    with pytest.raises(ValueError, match="cutoff"):
        g.map(z, psi=0.5, cutoff=cfg.num_ws + 1)


def test_conditional_classes_change_the_face_and_are_checked():
    g, _ = make(c_dim=3)
    z = z_from_seed(0, g.z_dim)
    a, b = g.map(z, c=0), g.map(z, c=2)
    assert not np.allclose(a, b)
    one_hot = np.eye(3, dtype=np.float32)[[2]]
    np.testing.assert_allclose(g.map(z, c=one_hot), b, atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        g.map(z, c=3)
    with pytest.raises(ValueError, match="conditional"):
        g.map(z)
    plain, _ = make()
    with pytest.raises(ValueError, match="not conditional"):
        plain.map(z_from_seed(0, plain.z_dim), c=1)


def test_shapes_are_checked_at_the_boundary():
    g, cfg = make()
    with pytest.raises(ValueError, match=r"z must have shape \[N, 32\]"):
        g.map(np.zeros((1, 7)))
    with pytest.raises(ValueError, match="ws must have shape"):
        g.synthesize(np.zeros((1, cfg.num_ws - 1, cfg.w_dim)))


def test_build_network_refuses_mismatched_weights():
    cfg = small_config()
    sd = randomised_network(cfg).state_dict()
    sd["synthesis.b8.conv0.weight"] = torch.zeros(1, 1, 3, 3)
    with pytest.raises(ModelLoadError, match="does not match its config: synthesis.b8.conv0.weight"):
        build_network(cfg, sd, "test")
    sd = randomised_network(cfg).state_dict()
    del sd["mapping.fc0.bias"]
    with pytest.raises(ModelLoadError, match="missing mapping.fc0.bias"):
        build_network(cfg, sd, "test")


def test_seeds_follow_the_reference_convention_and_range():
    np.testing.assert_array_equal(z_from_seed(42, 8), np.random.RandomState(42).randn(1, 8))
    with pytest.raises(ValueError, match="out of range"):
        z_from_seed(2**32, 8)
    with pytest.raises(ValueError, match="out of range"):
        z_from_seed(-1, 8)


def test_config_validation():
    with pytest.raises(ValueError, match="power of two"):
        GeneratorConfig(resolution=48)
    with pytest.raises(ValueError, match="architecture"):
        GeneratorConfig(resolution=32, architecture="unet")
    with pytest.raises(ValueError, match="unknown generator config keys"):
        GeneratorConfig.from_dict({"resolution": 32, "colour": 1})


def test_inference_cache_follows_in_place_weight_updates():
    """Derived weights are cached between renders; an in-place update (EMA) must show."""
    g, _ = make()
    ws = g.map(z_from_seed(2, g.z_dim))
    before = g.synthesize(ws)
    assert np.array_equal(before, g.synthesize(ws))  # cached path gives the same pixels
    with torch.no_grad():
        g.network.synthesis.b16.conv1.weight.mul_(1.5)
        g.network.synthesis.b16.conv1.affine.weight.add_(0.5)
    after = g.synthesize(ws)
    fresh = generator_from_network(g.network)
    with torch.enable_grad():  # the uncached path
        direct = fresh.network.synthesis(torch.from_numpy(ws), noise_mode="const").detach()
    from facestudio.generator.model import images_to_uint8
    assert not np.array_equal(before, after)
    assert np.array_equal(after, images_to_uint8(direct))
