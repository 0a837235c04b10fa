"""The synthesis layers compute in their input's dtype and layout (bf16 previews) without
changing the float32 path, and keep autocast training as it was."""

import torch

from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.layers import SynthesisLayer, features_format, weight_like
from facestudio.generator.networks.ops import bias_act
from facestudio.generator.networks.stylegan2 import inference_channels_last
from tests.conftest import randomised_network, small_config


def run(net, ws, dtype=torch.float32, channels_last=False):
    x = img = None
    with torch.inference_mode():
        for block, w in zip(net.synthesis.blocks(), net.synthesis.block_ws(ws)):
            x, img = block(x, img, w, "const", dtype=dtype, channels_last=channels_last)
    return x, img


def test_float32_nchw_uses_the_parameters_themselves():
    net = randomised_network(small_config(), seed=1)
    net.synthesis.channels_last = False
    torch.manual_seed(0)
    ws = torch.randn(2, 8, 32)
    x, img = run(net, ws)
    with torch.inference_mode():
        assert torch.equal(img, net.synthesis(ws, noise_mode="const"))
    layer = net.synthesis.b8.conv1
    assert weight_like(layer, torch.zeros(1, 32, 8, 8)) is layer.weight
    assert "weight:torch.float32:torch.contiguous_format" not in layer.__dict__.get("_derived_cache", {})


def test_bf16_channels_last_features_and_a_float32_image():
    net = randomised_network(small_config(), seed=2)
    torch.manual_seed(1)
    ws = torch.randn(2, 8, 32)
    _, exact = run(net, ws)
    x, img = run(net, ws, torch.bfloat16, channels_last=True)
    assert x.dtype == torch.bfloat16 and features_format(x) == torch.channels_last
    assert img.dtype == torch.float32 and img.shape == exact.shape
    err = (img - exact).abs()
    assert 0 < err.mean() < 0.03 and err.max() < 0.5
    x32, img32 = run(net, ws, torch.float32, channels_last=True)  # layout alone: float32 rounding
    assert x32.dtype == torch.float32 and (img32 - exact).abs().max() < 1e-4
    layer = net.synthesis.b16.conv0  # an upsampling layer keeps a transposed copy
    cast = weight_like(layer, x.new_zeros(1, 32, 8, 8).contiguous(memory_format=torch.channels_last), True)
    assert cast.dtype == torch.bfloat16 and cast.shape == layer.weight.shape
    assert cast.transpose(0, 1).is_contiguous(memory_format=torch.channels_last)


def test_autocast_training_keeps_float32_promotion_and_gradients():
    layer = SynthesisLayer(8, 8, w_dim=16, resolution=8)
    x = torch.randn(2, 8, 8, 8)
    w = torch.randn(2, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x, w, "const")
    assert y.dtype == torch.float32  # bf16 conv output promoted by the float32 demodulation
    y.square().mean().backward()
    assert layer.weight.grad is not None and layer.affine.weight.grad is not None


def test_bias_act_never_modifies_its_input():
    x = torch.randn(2, 4, 3, 3)
    keep = x.clone()
    bias = torch.randn(4)
    with torch.no_grad():
        for b in (None, bias):
            for act in ("linear", "lrelu"):
                y = bias_act(x, b, act, gain=2.0, clamp=0.5)
                want = x + (b.reshape(1, -1, 1, 1) if b is not None else 0)
                want = torch.nn.functional.leaky_relu(want, 0.2) if act == "lrelu" else want
                assert torch.allclose(y, (want * 2.0).clamp(-0.5, 0.5))
    assert torch.equal(x, keep)


def test_the_layout_setting_and_nhwc_within_a_level_of_nchw():
    net = randomised_network(small_config(), seed=3)
    synthesis = net.synthesis
    torch.manual_seed(2)
    ws = torch.randn(3, 8, 32)
    cpu = torch.device("cpu")
    with torch.inference_mode():
        assert synthesis.features_channels_last(cpu) == inference_channels_last(net.config, cpu)
        synthesis.channels_last = False
        nchw = synthesis(ws, noise_mode="const")
        assert not synthesis.features_channels_last(cpu)
        synthesis.channels_last = True
        assert synthesis.features_channels_last(cpu)
        nhwc = synthesis(ws, noise_mode="const")
        assert torch.equal(nhwc, run(net, ws, channels_last=True)[1])
    assert not synthesis.features_channels_last(cpu)  # gradients on: training keeps NCHW
    assert torch.equal(synthesis(ws, noise_mode="const").detach(), nchw)
    to_uint8 = lambda img: (img * 127.5 + 128).clamp(0, 255).to(torch.uint8).int()  # noqa: E731
    assert (to_uint8(nhwc) - to_uint8(nchw)).abs().max() <= 1


def test_nhwc_is_the_default_only_for_large_feature_maps():
    cpu = torch.device("cpu")
    onednn = torch.backends.mkldnn.is_available()
    paper256 = GeneratorConfig(resolution=256, z_dim=512, w_dim=512,
                               channels={4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64})
    bundled = GeneratorConfig(resolution=64, z_dim=256, w_dim=256,
                              channels={4: 128, 8: 128, 16: 128, 32: 64, 64: 32})
    assert inference_channels_last(paper256, cpu) == inference_channels_last(bundled, cpu) == onednn
    assert not inference_channels_last(small_config(), cpu)  # 32 px: no gain, the old pixels
    assert not inference_channels_last(paper256, torch.device("meta"))
