"""An independent, deliberately plain StyleGAN2 synthesis: the way the reference's
"fused modconv" path reads on paper, for parity tests and the speed benchmarks.

Each face gets its own modulated and demodulated kernel, applied with a grouped convolution;
upsampling is explicit zero insertion, the FIR filter and a full 3x3 convolution on the
upsampled grid; noise, bias, lrelu, gain and clamp come one after the other, and the skip
image is upsampled the same way. It shares no code with facestudio's layers but the FIR
helper, which the op tests check against naive loops.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facestudio.generator.networks.ops import SQRT2, upfirdn2d


def affine(fc, w: torch.Tensor) -> torch.Tensor:
    """A style affine recomputed from the stored weights, as the reference does per call."""
    return torch.addmm(fc.bias * fc.bias_gain, w, (fc.weight * fc.weight_gain).t())


def clamp(x: torch.Tensor, value: float | None) -> torch.Tensor:
    return x if value is None else x.clamp(-value, value)


def layer(layer, x: torch.Tensor, w: torch.Tensor, up: bool, noise_mode: str = "const") -> torch.Tensor:
    """One SynthesisLayer: per-face kernels in a grouped convolution."""
    n = x.shape[0]
    styles = affine(layer.affine, w)
    weight = layer.weight[None] * styles[:, None, :, None, None]  # [N, O, I, k, k]
    weight = weight * (weight.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    o, i, k = weight.shape[1], weight.shape[2], weight.shape[3]
    if up:
        x = upfirdn2d(x, layer.resample_filter, up=2, pad=(3, 2, 3, 2), gain=4)
        x = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), weight.flip([3, 4]).reshape(n * o, i, k, k), groups=n)
    else:
        x = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), weight.reshape(n * o, i, k, k), padding=k // 2, groups=n)
    x = x.reshape(n, o, *x.shape[2:])
    if layer.use_noise and noise_mode == "const":
        x = x + layer.noise_const * layer.noise_strength
    x = F.leaky_relu(x + layer.bias[None, :, None, None], 0.2) * SQRT2
    return clamp(x, layer.conv_clamp)


def torgb(torgb, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    styles = affine(torgb.affine, w) * torgb.weight_gain
    weight = torgb.weight[None] * styles[:, None, :, None, None]
    o, i = weight.shape[1], weight.shape[2]
    y = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), weight.reshape(n * o, i, 1, 1), groups=n)
    return clamp(y.reshape(n, o, *x.shape[2:]) + torgb.bias[None, :, None, None], torgb.conv_clamp)


def synthesis(net, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
    """ws ``[N, num_ws, w_dim]`` -> images ``[N, 3, R, R]`` for a skip-architecture network
    (``noise_mode`` ``const`` or ``none``)."""
    x = img = None
    for block, bw in zip(net.synthesis.blocks(), net.synthesis.block_ws(ws)):
        ws_iter = iter(bw.unbind(1))
        if block.in_channels == 0:
            x = block.const[None].repeat(ws.shape[0], 1, 1, 1)
        else:
            x = layer(block.conv0, x, next(ws_iter), up=True, noise_mode=noise_mode)
        x = layer(block.conv1, x, next(ws_iter), up=False, noise_mode=noise_mode)
        if img is not None:
            img = upfirdn2d(img, block.resample_filter, up=2, pad=(2, 1, 2, 1), gain=4)
        y = torgb(block.torgb, x, next(ws_iter))
        img = y if img is None else img + y
    return img
