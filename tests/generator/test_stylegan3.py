"""StyleGAN3 (T and R configs): geometry, ops, the transform API, and NVIDIA-format pickles
written by our own fixture writer read back through the allow-list loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.native import write_native
from facestudio.generator.formats.nvidia_pickle import read_nvidia_pickle
from facestudio.generator.model import generator_from_network
from facestudio.generator.networks.sg3_config import StyleGAN3Config, layer_specs
from facestudio.generator.networks.sg3_ops import design_lowpass, filtered_lrelu, input_transform
from facestudio.latent.seeds import z_from_seed
from tests.generator.sg3_fixtures import make_sg3, sg3_generator_record, write_sg3_pickle
from tests.helpers import as_exported
from tests.generator.nvidia_fixtures import dump_snapshot
from tests.helpers import assert_one_sentence


def test_geometry_follows_the_reference_schedule():
    specs = layer_specs(StyleGAN3Config(resolution=1024))
    assert [s.name for s in specs][:2] == ["L0_36_512", "L1_36_512"]
    assert [s.name for s in specs][-3:] == ["L12_1044_32", "L13_1024_32", "L14_1024_3"]
    assert StyleGAN3Config(resolution=1024).num_ws == 16
    r = layer_specs(StyleGAN3Config(resolution=256, conv_kernel=1, use_radial_filters=True,
                                    channel_base=65536, channel_max=1024))
    assert r[0].conv_kernel == 1 and r[-1].conv_kernel == 1 and r[0].down_radial
    assert not r[-2].down_radial  # critically sampled layers keep separable filters


def test_filters_have_unit_dc_gain_and_radial_symmetry():
    f = design_lowpass(12, cutoff=2.0, width=2.0, fs=16)
    assert f.shape == (12,) and abs(float(f.sum()) - 1) < 1e-6 and torch.allclose(f, f.flip(0))
    r = design_lowpass(12, cutoff=2.0, width=2.0, fs=16, radial=True)
    assert r.shape == (12, 12) and abs(float(r.sum()) - 1) < 1e-6
    assert torch.allclose(r, r.t()) and torch.allclose(r, r.flip(0))
    assert design_lowpass(1, 2.0, 2.0, 16) is None


def test_filtered_lrelu_without_filters_is_bias_act():
    x = torch.randn(2, 3, 5, 5)
    b = torch.randn(3)
    got = filtered_lrelu(x, None, None, b, 1, 1, (0, 0, 0, 0), gain=2.0, slope=0.2, clamp=0.5)
    want = (torch.nn.functional.leaky_relu(x + b.reshape(1, -1, 1, 1), 0.2) * 2).clamp(-0.5, 0.5)
    assert torch.allclose(got, want)


@pytest.mark.parametrize("kind", ["T", "R"])
@pytest.mark.slow
def test_pickle_round_trip_renders_the_source_network(tmp_path, kind):
    net = make_sg3(kind, seed=1)
    path = write_sg3_pickle(net, tmp_path / f"sg3{kind}.pkl")
    g = load_generator(path)
    assert g.config == net.config and g.describe()["family"] == "stylegan3"
    assert g.describe()["architecture"] == ("stylegan3-r" if kind == "R" else "stylegan3-t")
    z = np.random.RandomState(3).randn(2, net.config.z_dim)
    ws = g.map(z, psi=0.7)
    with torch.no_grad():
        want = net.synthesis(net.mapping(torch.as_tensor(z, dtype=torch.float32), psi=0.7))
    assert torch.equal(g.synthesize_tensor(ws), want)
    for key, value in net.state_dict().items():
        assert torch.equal(g.network.state_dict()[key], value), key


def test_batch_members_do_not_affect_each_other(tmp_path):
    g = generator_from_network(make_sg3("T", seed=2))
    ws = g.map(np.random.RandomState(0).randn(3, g.z_dim), psi=0.5)
    together = g.synthesize_tensor(ws)
    alone = torch.cat([g.synthesize_tensor(ws[i:i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)


def test_transform_api_and_stored_transform(tmp_path):
    net = make_sg3("T", seed=3)
    g = generator_from_network(net)
    ws = g.map(np.random.RandomState(1).randn(1, g.z_dim))
    plain = g.synthesize(ws)
    assert np.array_equal(g.synthesize(ws, transform=(0, 0, 0)), plain)
    moved = g.synthesize(ws, transform=(0.2, -0.1, 15))
    assert not np.array_equal(moved, plain)
    full_turn = g.synthesize_tensor(ws, transform=(0, 0, 360))
    assert torch.allclose(full_turn, g.synthesize_tensor(ws), atol=1e-3)
    with pytest.raises(ValueError, match="tx, ty, angle"):
        g.synthesize(ws, transform=(1, 2))
    # A transform stored in the file is used when none is given.
    net.synthesis.input.transform.copy_(input_transform(0.2, -0.1, 15))
    loaded = load_generator(write_sg3_pickle(net, tmp_path / "tf.pkl"))
    assert np.array_equal(loaded.synthesize(ws), moved)


def test_transform_is_refused_for_stylegan2(native_model):
    g = load_generator(native_model)
    assert not g.supports_transform
    with pytest.raises(ValueError, match="only StyleGAN3"):
        g.synthesize(g.map(np.zeros((1, g.z_dim))), transform=(0.1, 0, 0))


def test_conditional_and_native_round_trip(tmp_path):
    net = make_sg3("R", seed=4, c_dim=3, mapping_layers=3)
    g = load_generator(write_sg3_pickle(net, tmp_path / "cond.pkl"))
    assert g.c_dim == 3 and g.config.mapping_layers == 3
    z = np.random.RandomState(5).randn(1, g.z_dim)
    img = g.synthesize(g.map(z, c=2, psi=0.7))
    write_native(tmp_path / "native", g.config, g.network.state_dict())
    again = load_generator(tmp_path / "native")
    assert again.config == g.config
    assert np.array_equal(again.synthesize(again.map(z, c=2, psi=0.7)), img)


def test_inconsistent_stylegan3_records_are_refused(tmp_path):
    net = make_sg3("T")
    record = sg3_generator_record(net)
    layer = next(v for k, v in record.state["_modules"]["synthesis"].state["_modules"].items()
                 if k.startswith("L2_"))
    layer.state["padding"] = [0, 0, 0, 0]
    dump_snapshot({"G_ema": record}, tmp_path / "pad.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "pad.pkl")
    assert_one_sentence(err.value, "pad.pkl", "padding")

    record = sg3_generator_record(net)
    record.state["_modules"]["synthesis"].state["_init_kwargs"]["channel_max"] = 8
    dump_snapshot({"G_ema": record}, tmp_path / "base.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "base.pkl")
    assert_one_sentence(err.value, "base.pkl", "synthesis layers")

    record = sg3_generator_record(net)
    layer = record.state["_modules"]["synthesis"].state["_modules"]["input"]
    layer.state["_buffers"]["freqs"] = torch.zeros(3, 2)
    dump_snapshot({"G_ema": record}, tmp_path / "freqs.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "freqs.pkl")
    assert_one_sentence(err.value, "freqs.pkl", "synthesis.input.freqs")


@pytest.mark.slow
def test_cli_renders_a_stylegan3_pickle(tmp_path, capsys):
    from PIL import Image
    path = write_sg3_pickle(make_sg3("R", seed=6), tmp_path / "sg3.pkl")
    out = tmp_path / "f.png"
    code = main(["render", "--model", str(path), "--seed", "5", "--psi", "0.7",
                 "--noise", "const", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    g = load_generator(path)
    want = as_exported(g.synthesize(g.map(z_from_seed(5, g.z_dim), psi=0.7))[0], g.sha256)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), want)


@pytest.mark.parametrize("pad", [(11, 10, 11, 10), (-3, 5, 2, -1), (0, 0, 0, 0)])
@pytest.mark.slow
def test_fast_fir_paths_equal_plain_upfirdn(pad):
    from facestudio.generator.networks.ops import upfirdn2d
    from facestudio.generator.networks.sg3_ops import fir_resample
    torch.manual_seed(0)
    x, f = torch.randn(2, 3, 9, 9), torch.randn(6)
    outer = torch.outer(f, f)
    up = fir_resample(x, f, up=2, pad=pad, gain=4)
    assert torch.allclose(up, upfirdn2d(x, outer, up=2, pad=pad, gain=4), atol=1e-4)
    down = fir_resample(x, f, down=2, pad=pad)
    assert torch.allclose(down, upfirdn2d(x, outer, down=2, pad=pad), atol=1e-4)
    radial = fir_resample(x, outer, down=2)
    assert torch.allclose(radial, upfirdn2d(x, outer, down=2), atol=1e-4)


@pytest.mark.slow
def test_cli_translate_and_rotate(tmp_path, capsys, native_model):
    from PIL import Image
    path = write_sg3_pickle(make_sg3("T", seed=9), tmp_path / "sg3.pkl")
    out = tmp_path / "moved.png"
    assert main(["render", "--model", str(path), "--seed", "2", "--translate", "0.1,-0.2",
                 "--rotate", "12", "--out", str(out)]) == 0
    g = load_generator(path)
    want = as_exported(g.synthesize(g.map(z_from_seed(2, g.z_dim), psi=0.7), transform=(0.1, -0.2, 12))[0], g.sha256)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), want)
    capsys.readouterr()
    assert main(["render", "--model", str(native_model), "--seed", "2", "--rotate", "5",
                 "--out", str(tmp_path / "sg2.png")]) != 0
    err = capsys.readouterr().err
    assert "only StyleGAN3 models" in err and "Traceback" not in err
    assert not (tmp_path / "sg2.png").exists()


def test_a_layer_clamp_that_disagrees_with_the_settings_is_refused(tmp_path):
    record = sg3_generator_record(make_sg3("R"))
    layers = record.state["_modules"]["synthesis"].state["_modules"]
    next(v for k, v in layers.items() if k.startswith("L1_")).state["conv_clamp"] = None
    dump_snapshot({"G_ema": record}, tmp_path / "clamp.pkl")
    with pytest.raises(ModelLoadError) as err:
        read_nvidia_pickle(tmp_path / "clamp.pkl")
    assert_one_sentence(err.value, "clamp.pkl", "clamps at None")


def test_a_hostile_global_beside_a_stylegan3_generator_is_refused(tmp_path):
    from facestudio.generator.errors import UnsafePickleError
    from tests.generator.nvidia_fixtures import ForeignGlobal
    path = write_sg3_pickle(make_sg3("T"), tmp_path / "evil.pkl",
                            extra={"augment_pipe": ForeignGlobal("os", "system")})
    with pytest.raises(UnsafePickleError) as err:
        read_nvidia_pickle(path)
    assert "evil.pkl" in str(err.value) and "\n" not in str(err.value)
