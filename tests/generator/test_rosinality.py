"""Loading rosinality stylegan2-pytorch checkpoints: round trips, w_avg, and bad files."""

from __future__ import annotations

import argparse
import os
import zipfile

import numpy as np
import pytest

from tests.conftest import network_from, sample_images
import torch

from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.rosinality import (
    W_AVG_SAMPLES,
    W_AVG_SEED,
    looks_like_rosinality,
    read_rosinality_checkpoint,
)
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from tests.generator.rosinality_fixtures import rosinality_state_dict, write_rosinality_checkpoint
from tests.helpers import assert_one_sentence

W_DIM = 32


def make_generator(resolution: int, lr_mul: float = 0.01, seed: int = 0) -> StyleGAN2Generator:
    """A small random generator whose noise strengths, biases and w_avg are all non-zero."""
    torch.manual_seed(seed)
    channels = {4: 16, 8: 16, 16: 8, 32: 8}
    config = GeneratorConfig(resolution=resolution, z_dim=W_DIM, w_dim=W_DIM, mapping_layers=3,
                             mapping_lr_multiplier=lr_mul,
                             channels={r: c for r, c in channels.items() if r <= resolution})
    g = StyleGAN2Generator(config).eval()
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith(("noise_strength", ".bias")):
                p.copy_(torch.randn_like(p) * 0.3 + (1.0 if "affine" in name else 0.0))
        g.mapping.w_avg.copy_(torch.randn(W_DIM) * 0.5)
    return g


def load(path) -> StyleGAN2Generator:
    return network_from(read_rosinality_checkpoint(path))


images = sample_images


@pytest.mark.parametrize("resolution", [16, 32])
@pytest.mark.slow
def test_round_trip_gives_same_images(tmp_path, resolution):
    src = make_generator(resolution)
    path = write_rosinality_checkpoint(src, tmp_path / "g.pt")
    config, state, meta = read_rosinality_checkpoint(path)
    assert config.resolution == resolution and config.channels == src.config.channels
    assert (config.z_dim, config.w_dim, config.c_dim) == (W_DIM, W_DIM, 0)
    assert config.mapping_layers == 3 and config.mapping_lr_multiplier == 0.01
    assert config.resample_filter == (1, 3, 3, 1) and config.conv_clamp is None
    assert meta["w_avg_source"] == "latent_avg" and meta["lr_mul_source"] == "default"
    assert all(v.dtype == torch.float32 for v in state.values())
    dst = load(path)
    torch.testing.assert_close(dst.mapping.w_avg, src.mapping.w_avg, rtol=0, atol=0)
    torch.testing.assert_close(images(dst), images(src), rtol=0, atol=1e-6)
    torch.testing.assert_close(images(dst, psi=1.0), images(src, psi=1.0), rtol=0, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, W_DIM), (10, W_DIM)])
def test_latent_avg_layouts(tmp_path, shape):
    src = make_generator(16)
    path = write_rosinality_checkpoint(src, tmp_path / "g.pt", latent_avg_shape=shape)
    torch.testing.assert_close(load(path).mapping.w_avg, src.mapping.w_avg, rtol=0, atol=0)


def test_per_layer_latent_avg_is_refused(tmp_path):
    src = make_generator(16)
    torch.save({"g_ema": rosinality_state_dict(src), "latent_avg": torch.randn(6, W_DIM)},
               tmp_path / "g.pt")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "g.pt")
    assert_one_sentence(err.value, "per-layer latent_avg")


@pytest.mark.slow
def test_without_latent_avg_w_avg_is_the_seeded_mapping_mean(tmp_path):
    src = make_generator(16)
    path = write_rosinality_checkpoint(src, tmp_path / "g.pt", with_latent_avg=False)
    config, state, meta = read_rosinality_checkpoint(path)
    assert meta["w_avg_source"].startswith("mean of")
    z = torch.from_numpy(np.random.RandomState(W_AVG_SEED).randn(W_AVG_SAMPLES, W_DIM)).float()
    with torch.no_grad():
        expected = src.mapping(z)[:, 0].double().mean(dim=0).float()
    torch.testing.assert_close(state["mapping.w_avg"], expected, rtol=0, atol=1e-5)
    _, again, _ = read_rosinality_checkpoint(path)
    assert torch.equal(again["mapping.w_avg"], state["mapping.w_avg"])
    dst = load(path)
    with torch.no_grad():
        src.mapping.w_avg.copy_(state["mapping.w_avg"])
    torch.testing.assert_close(images(dst), images(src), rtol=0, atol=1e-6)


def test_bare_g_ema_state_dict(tmp_path):
    src = make_generator(16)
    torch.save(rosinality_state_dict(src), tmp_path / "bare.pt")
    dst = load(tmp_path / "bare.pt")
    with torch.no_grad():
        src.mapping.w_avg.copy_(dst.mapping.w_avg)
    torch.testing.assert_close(images(dst), images(src), rtol=0, atol=1e-6)


def test_train_py_checkpoint_with_args_namespace(tmp_path):
    """train.py stores an argparse.Namespace; lr_mlp is read from it when present."""
    src = make_generator(16, lr_mul=0.1)
    args = argparse.Namespace(size=16, latent=W_DIM, n_mlp=3, lr_mlp=0.1, channel_multiplier=1,
                              path="/data/lmdb", augment=False)
    path = write_rosinality_checkpoint(src, tmp_path / "010000.pt", args=args, ada_aug_p=0.0,
                                       g=rosinality_state_dict(src), d={"x": torch.zeros(3)},
                                       g_optim={"state": {}, "param_groups": [{"lr": 0.002}]})
    config, _, meta = read_rosinality_checkpoint(path)
    assert config.mapping_lr_multiplier == 0.1 and meta["lr_mul_source"] == "args.lr_mlp"
    assert meta["args"]["size"] == 16 and meta["args"]["path"] == "/data/lmdb"
    torch.testing.assert_close(images(load(path)), images(src), rtol=0, atol=1e-6)
    del args.lr_mlp
    path = write_rosinality_checkpoint(make_generator(16), tmp_path / "020000.pt", args=args)
    assert read_rosinality_checkpoint(path)[0].mapping_lr_multiplier == 0.01


def test_looks_like_rosinality():
    sd = rosinality_state_dict(make_generator(16))
    assert looks_like_rosinality({"g_ema": sd, "latent_avg": torch.zeros(W_DIM)})
    assert looks_like_rosinality(sd)
    assert not looks_like_rosinality({"G_ema": object()})
    assert not looks_like_rosinality({"g_ema": {"mapping.fc0.weight": torch.zeros(1)}})
    assert not looks_like_rosinality(make_generator(16).state_dict())
    assert not looks_like_rosinality([1, 2])


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "nope.pt")
    assert_one_sentence(err.value, "does not exist")


def test_truncated_zip(tmp_path):
    path = write_rosinality_checkpoint(make_generator(16), tmp_path / "g.pt")
    data = path.read_bytes()
    for n in (len(data) // 2, len(data) - 10):
        path.write_bytes(data[:n])
        with pytest.raises(ModelLoadError) as err:
            read_rosinality_checkpoint(path)
        assert_one_sentence(err.value, "g.pt is not a rosinality checkpoint", "truncated or corrupt")


@pytest.mark.parametrize("content", [b"", b"hello world\n" * 20, b"\x89PNG\r\n\x1a\n" + bytes(100)])
def test_not_a_torch_file(tmp_path, content):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "x.pt")
    assert_one_sentence(err.value, "x.pt is not a rosinality checkpoint")


def test_zip_that_is_not_a_torch_file(tmp_path):
    with zipfile.ZipFile(tmp_path / "x.pt", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "x.pt")
    assert_one_sentence(err.value, "is not a rosinality checkpoint")


@pytest.mark.parametrize("obj", [{"state_dict": {"a": torch.zeros(2)}}, torch.zeros(3), [1, 2],
                                 {"g_ema": {"mapping.fc0.weight": torch.zeros(2, 2)}}])
def test_torch_file_without_g_ema(tmp_path, obj):
    torch.save(obj, tmp_path / "x.pt")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "x.pt")
    assert_one_sentence(err.value, "x.pt is not a rosinality checkpoint")


def test_inconsistent_weights(tmp_path):
    sd = rosinality_state_dict(make_generator(16))
    broken = dict(sd, **{"convs.1.conv.weight": torch.zeros(1, 8, 7, 3, 3)})
    torch.save({"g_ema": broken}, tmp_path / "a.pt")
    missing = {k: v for k, v in sd.items() if k != "noises.noise_2"}
    torch.save({"g_ema": missing}, tmp_path / "b.pt")
    extra = dict(sd, **{"to_rgbs.0.iwt.kernel": torch.zeros(2)})
    torch.save({"g_ema": extra}, tmp_path / "c.pt")
    for name, fragment in [("a.pt", "convs.1.conv.weight"), ("b.pt", "noises.noise_2"),
                           ("c.pt", "to_rgbs.0.iwt.kernel")]:
        with pytest.raises(ModelLoadError) as err:
            read_rosinality_checkpoint(tmp_path / name)
        assert_one_sentence(err.value, name, fragment)


class Opaque:
    """An arbitrary class instance: weights_only must refuse to rebuild it."""

    def __init__(self):
        self.x = 1


class Hostile:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_class_instance_is_refused(tmp_path):
    sd = rosinality_state_dict(make_generator(16))
    torch.save({"g_ema": sd, "extra": Opaque()}, tmp_path / "x.pt")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "x.pt")
    assert_one_sentence(err.value, "x.pt is not a rosinality checkpoint", "refused for safety",
                        "Opaque")


def test_hostile_reduce_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    sd = rosinality_state_dict(make_generator(16))
    torch.save({"g_ema": sd, "latent_avg": Hostile(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "evil.pt")
    assert_one_sentence(err.value, "evil.pt is not a rosinality checkpoint", "refused for safety")
    assert not marker.exists()


def test_legacy_torch_format(tmp_path):
    """Checkpoints saved by torch < 1.6 are a plain pickle stream, not a zip."""
    src = make_generator(16)
    path = tmp_path / "old.pt"
    torch.save({"g_ema": rosinality_state_dict(src), "latent_avg": src.mapping.w_avg.clone()},
               path, _use_new_zipfile_serialization=False)
    torch.testing.assert_close(images(load(path)), images(src), rtol=0, atol=1e-6)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(path)
    assert_one_sentence(err.value, "truncated or corrupt")


def test_blur_kernel_is_read_from_the_buffers(tmp_path):
    torch.manual_seed(3)
    config = GeneratorConfig(resolution=16, z_dim=W_DIM, w_dim=W_DIM, mapping_layers=2,
                             channels={4: 8, 8: 8, 16: 8}, resample_filter=(1, 2, 1))
    src = StyleGAN2Generator(config).eval()
    path = write_rosinality_checkpoint(src, tmp_path / "g.pt")
    loaded = read_rosinality_checkpoint(path)[0].resample_filter
    assert np.allclose(loaded, np.array([1, 2, 1]) / 4)
    torch.testing.assert_close(images(load(path)), images(src), rtol=0, atol=1e-6)
    # rosinality's ToRGB always upsamples with [1, 3, 3, 1], whatever its blur_kernel says.
    sd = rosinality_state_dict(src)
    default = rosinality_state_dict(make_generator(16))["to_rgbs.0.upsample.kernel"]
    sd.update({k: default for k in sd if k.endswith("upsample.kernel")})
    torch.save({"g_ema": sd}, tmp_path / "mixed.pt")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "mixed.pt")
    assert_one_sentence(err.value, "another for its ToRGB skip path")
    noise = torch.rand(3, 3)
    sd = {k: (noise if k.endswith("kernel") else v) for k, v in sd.items()}
    torch.save({"g_ema": sd}, tmp_path / "bad.pt")
    with pytest.raises(ModelLoadError) as err:
        read_rosinality_checkpoint(tmp_path / "bad.pt")
    assert_one_sentence(err.value, "not a separable")
