"""The FIR and modulated-convolution ops against direct, independent formulations."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facestudio.generator.networks.ops import (
    bias_act,
    conv_up2,
    make_filter,
    modulated_conv2d,
    upfirdn2d,
    upsample2d,
)


def naive_upfirdn(x: np.ndarray, f: np.ndarray, up: int, pad, gain: float) -> np.ndarray:
    """Zero-insertion, padding and true convolution written with loops over numpy arrays."""
    n, c, h, w = x.shape
    u = np.zeros((n, c, h * up, w * up))
    u[:, :, ::up, ::up] = x
    px0, px1, py0, py1 = pad
    u = np.pad(u, ((0, 0), (0, 0), (py0, py1), (px0, px1)))
    fh, fw = f.shape
    out = np.zeros((n, c, u.shape[2] - fh + 1, u.shape[3] - fw + 1))
    ff = f[::-1, ::-1] * gain
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = (u[:, :, i:i + fh, j:j + fw] * ff).sum(axis=(2, 3))
    return out


def test_make_filter_is_normalised_outer_product():
    f = make_filter((1, 3, 3, 1))
    assert f.shape == (4, 4)
    assert f.sum().item() == pytest.approx(1.0)
    assert f[0, 0].item() == pytest.approx(1 / 64)
    assert f[1, 2].item() == pytest.approx(9 / 64)


def test_upfirdn2d_matches_naive_loops_with_asymmetric_filter():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 6)
    f = torch.rand(3, 4) + 0.1  # asymmetric: catches a missing flip
    got = upfirdn2d(x, f, up=2, pad=(2, 1, 1, 2), gain=3.0)
    want = naive_upfirdn(x.double().numpy(), f.double().numpy(), 2, (2, 1, 1, 2), 3.0)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)


def test_upfirdn2d_negative_padding_crops():
    x = torch.arange(36.0).reshape(1, 1, 6, 6)
    one = torch.ones(1, 1)
    assert torch.equal(upfirdn2d(x, one, pad=(-1, -2, -1, 0)), x[:, :, 1:, 1:4])


def test_upsample2d_keeps_a_constant_image_constant_in_the_interior():
    x = torch.full((1, 2, 8, 8), 0.7)
    y = upsample2d(x, make_filter())
    assert y.shape == (1, 2, 16, 16)
    torch.testing.assert_close(y[:, :, 2:-2, 2:-2], torch.full((1, 2, 12, 12), 0.7))


def test_conv_up2_equals_upsample_then_convolve():
    """Transposed conv + FIR == zero-insert, pad once (3, 2), FIR (gain 4), then a valid
    convolution with the flipped kernel: the reference's generic formulation."""
    torch.manual_seed(1)
    x = torch.randn(2, 4, 6, 6)
    w = torch.randn(5, 4, 3, 3)
    f = make_filter()
    got = conv_up2(x, w, f)
    up = upfirdn2d(x, f, up=2, pad=(3, 2, 3, 2), gain=4)
    want = F.conv2d(up, w.flip([2, 3]))
    assert got.shape == (2, 5, 12, 12)
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv_equals_per_sample_kernels(up, demodulate):
    torch.manual_seed(2)
    n, i, o = 3, 4, 5
    x = torch.randn(n, i, 8, 8)
    w = torch.randn(o, i, 3, 3)
    s = torch.randn(n, i)
    f = make_filter()
    got = modulated_conv2d(x, w, s, demodulate=demodulate, up=up, resample_filter=f)
    outs = []
    for k in range(n):
        wk = w * s[k].reshape(1, i, 1, 1)
        if demodulate:
            wk = wk / (wk.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).sqrt()
        xk = x[k:k + 1]
        outs.append(conv_up2(xk, wk, f) if up else F.conv2d(xk, wk, padding=1))
    torch.testing.assert_close(got, torch.cat(outs), atol=1e-4, rtol=1e-4)


def test_bias_act_order_and_clamp():
    x = torch.tensor([[-2.0, 0.5, 3.0]]).reshape(1, 3, 1, 1)
    b = torch.tensor([1.0, 0.0, 1.0])
    y = bias_act(x, b, "lrelu", gain=2.0, clamp=5.0).flatten()
    torch.testing.assert_close(y, torch.tensor([-0.4, 1.0, 5.0]))
    with pytest.raises(ValueError):
        bias_act(x, None, "swish")
