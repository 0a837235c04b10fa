"""Pure-PyTorch building blocks of StyleGAN2: FIR resampling, biased activation,
modulated convolution.

Conventions (shared with the reference implementation so that weights carry over):
- Images and activations are NCHW float32. Every op here also computes in the dtype and
  memory format of its input features (bfloat16, channels_last for fast previews): small
  operands (biases, styles, filters) are cast to the features' dtype by :func:`like_features`,
  and float32 inputs give exactly the float32 results. Under ``torch.autocast`` (training)
  PyTorch's own type promotion is kept.
- A resampling filter is a normalised 2-D tensor ``[fh, fw]`` built by :func:`make_filter`.
- ``upfirdn2d`` is a true convolution (filter flipped); the filters used here are symmetric,
  so the flip only matters for custom filters.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2


def make_filter(taps: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """Separable low-pass filter from 1-D taps: outer product, normalised to sum 1. ``[k, k]``."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    if f.ndim == 1:
        f = torch.outer(f, f)
    return f / f.sum()


def like_features(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``t`` in the dtype of the features ``x``, so bfloat16 features stay bfloat16 through
    biases, styles and noise; unchanged under autocast, where promotion to float32 is kept."""
    if t.dtype == x.dtype or torch.is_autocast_enabled(x.device.type):
        return t
    return t.to(x.dtype)


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square along ``dim`` (pixel norm of z and embeddings)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    pad: Sequence[int] = (0, 0, 0, 0),
    gain: float = 1.0,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Upsample by zero insertion, pad, convolve with FIR ``f`` and downsample.

    x: ``[N, C, H, W]``; f: ``[fh, fw]``; pad: ``(x0, x1, y0, y1)``, negative values crop.
    Output height is ``(H * up + y0 + y1 - fh + 1) // down`` (rounded up), width likewise.
    bias: ``[C]`` added to the filtered output by the same convolution (no extra pass).
    """
    n, c, h, w = x.shape
    px0, px1, py0, py1 = pad
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    padding = 0
    if px0 == px1 >= 0 and py0 == py1 >= 0:  # symmetric: the convolution pads by itself (same sums)
        padding = (py0, px0)
    else:
        x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
        x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    weight = (f * gain).flip([0, 1]).to(x.dtype)
    weight = weight[None, None].expand(c, 1, *f.shape)
    x = F.conv2d(x, weight, bias, groups=c, padding=padding)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Upsample by ``up`` with the FIR filter, keeping the image centred (used by skip ToRGB)."""
    fw = f.shape[-1]
    p0 = (fw + up - 1) // 2
    p1 = (fw - up) // 2
    crop = fw - 1 - p0  # the same sums as a strided transposed convolution, cropped
    if f.shape[0] == fw and crop == fw - up - p1 and crop >= 0:  # without zero insertion:
        c = x.shape[1]  # 25 instead of 33 ms for a 1024 px RGB image on 2 cores
        weight = (f * (up * up)).to(x.dtype)[None, None].expand(c, 1, fw, fw)
        return F.conv_transpose2d(x, weight, stride=up, padding=crop, groups=c)
    return upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """Low-pass and decimate by ``down`` (used by the discriminator)."""
    fw = f.shape[-1]
    p0 = (fw - down + 1) // 2
    p1 = (fw - down) // 2
    return upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1))


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    act: str = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
    inplace: bool = False,
) -> torch.Tensor:
    """``clamp(act(x + bias) * gain)``; bias is per channel (dim 1).

    ``act`` is ``linear`` or ``lrelu`` (slope 0.2). ``gain`` already includes the
    activation's default gain (sqrt 2 for lrelu) where the caller wants it. With gradients
    off, the steps work in place (the same arithmetic, without allocating a fresh buffer per
    step): from the first step when ``inplace`` (the caller owns ``x`` and lets it be
    overwritten), else from the second, so that ``x`` itself is never modified.
    """
    inplace = inplace and not torch.is_grad_enabled()  # True once x may be overwritten
    if bias is not None:
        shape = [1, -1] + [1] * (x.ndim - 2)
        b = like_features(bias, x).reshape(shape)
        x = x.add_(b) if inplace else x + b
        inplace = not torch.is_grad_enabled()
    if act == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE, inplace=inplace)
        inplace = not torch.is_grad_enabled()
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    if gain != 1:
        x = x.mul_(gain) if inplace else x * gain
        inplace = not torch.is_grad_enabled()
    if clamp is not None:
        x = x.clamp_(-clamp, clamp) if inplace else x.clamp(-clamp, clamp)
    return x


def conv_up2(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor,
             bias: torch.Tensor | None = None) -> torch.Tensor:
    """3x3 (or kxk) convolution of the 2x upsampled input, padding ``k // 2``.

    Done as a stride-2 transposed convolution followed by the FIR filter, which equals
    zero-insertion upsampling, FIR filtering and a correlation with the flipped kernel as
    in the reference. weight: ``[O, I, k, k]``; bias: ``[O]``, added by the filter's
    convolution. Output ``[N, O, 2H, 2W]``.
    """
    k = weight.shape[-1]
    fw = f.shape[-1]
    pad = k // 2
    p0 = pad + (fw + 1) // 2 - (k - 1)
    p1 = pad + (fw - 2) // 2 - (k - 2)
    t = max(min(-p0, -p1), 0)
    x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2, padding=t)
    return upfirdn2d(x, f, pad=(p0 + t, p1 + t, p0 + t, p1 + t), gain=4, bias=bias)


def demodulation(styles: torch.Tensor, weight_sq: torch.Tensor) -> torch.Tensor:
    """The demodulation coefficients ``[N, O]`` of styles ``[N, I]`` for a kernel whose
    ``weight.square().sum(dim=[2, 3])`` is ``weight_sq`` ``[O, I]``: one over the root of
    ``sum over (I, k, k) of (w * s)^2 = (s^2) @ weight_sq^T``."""
    return (styles.square() @ weight_sq.t() + 1e-8).rsqrt()


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: bool = False,
    resample_filter: torch.Tensor | None = None,
    weight_sq: torch.Tensor | None = None,
) -> torch.Tensor:
    """Style-modulated convolution.

    x: ``[N, I, H, W]``; weight: ``[O, I, k, k]``; styles: ``[N, I]``.
    The styles scale the input channels, the shared kernel convolves the whole batch at
    once, and demodulation rescales each output channel to unit expected variance. This is
    algebraically the per-sample-kernel formulation (and much faster on a CPU for N > 1).
    Output ``[N, O, H', W']`` with ``H' = 2H`` when ``up``. ``weight_sq`` may pass a
    precomputed ``weight.square().sum(dim=[2, 3])`` (``[O, I]``) for demodulation.

    Precision: the convolution runs in ``x``'s dtype, so ``weight`` must have that dtype
    (layers pass a cached cast copy for bfloat16). Styles and demodulation coefficients are
    computed in float32 (give ``weight_sq`` from the float32 weight) and cast at the multiply.
    """
    n, in_ch = styles.shape
    out_ch, w_in, kh, kw = weight.shape
    if w_in != in_ch or x.shape[1] != in_ch:
        raise ValueError(f"modulated_conv2d: channels {x.shape[1]}/{in_ch}/{w_in} disagree")
    x = x * like_features(styles, x).reshape(n, in_ch, 1, 1)
    if up:
        x = conv_up2(x, weight, resample_filter)
    else:
        x = F.conv2d(x, weight, padding=kh // 2)
    if demodulate:
        wsq = weight.float().square().sum(dim=[2, 3]) if weight_sq is None else weight_sq  # [O, I]
        dcoefs = demodulation(styles, wsq)  # [N, O]
        dcoefs = like_features(dcoefs, x).reshape(n, out_ch, 1, 1)
        x = x.mul_(dcoefs) if not torch.is_grad_enabled() else x * dcoefs  # x is the conv's output
    return x


def styles_into_weight(weight: torch.Tensor, styles: torch.Tensor, weight_sq: torch.Tensor | None = None,
                       gain: float = 1.0, transposed: bool = False) -> torch.Tensor:
    """The modulated (and, with ``weight_sq``, demodulated) kernel of one face, float32.

    weight: ``[O, I, k, k]`` float32; styles: ``[1, I]``; weight_sq: ``weight.square().sum(
    dim=[2, 3])`` ``[O, I]`` to demodulate, None for ToRGB; gain: folded in as well. The
    result is ``[O, I, k, k]``, laid out densely as ``[I, O, k, k]`` when ``transposed`` (for
    :func:`conv_up2`). Convolving with it equals :func:`modulated_conv2d` (styles on the
    input, demodulation on the output) up to rounding, without the two passes over the
    features, which at 1024 px are far larger than the kernel.
    """
    scale = styles.float().reshape(1, -1)  # [1, I]
    if weight_sq is not None:
        scale = scale * demodulation(scale, weight_sq).t()  # [O, I]
    if gain != 1:
        scale = scale * gain
    if transposed:
        return (weight.transpose(0, 1) * scale.t()[:, :, None, None]).transpose(0, 1)
    return weight * scale[:, :, None, None]


FOLD_MIN_ELEMENTS = 1 << 21  # per face: 8 MB of float32 input features, from 128 px in an FFHQ-size net


def fold_styles_pays(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether the styles should go into the kernel (:func:`styles_into_weight`, one face at a
    time) instead of onto the features: at inference (no gradients, not under autocast), for
    large feature maps (at least :data:`FOLD_MIN_ELEMENTS` per face, where batching faces gains
    nothing: the renderer renders such models one face per call), and where the input plane
    has at least ``O * k * k`` pixels, so that scaling the ``[O, I, k, k]`` kernel costs no more
    than scaling the ``[I, H, W]`` features. The decision does not depend on the batch size,
    so a face renders to the same pixels alone and in a batch."""
    return (not torch.is_grad_enabled() and not torch.is_autocast_enabled(x.device.type)
            and x[0].numel() >= FOLD_MIN_ELEMENTS
            and x.shape[2] * x.shape[3] >= weight.shape[0] * weight.shape[2] * weight.shape[3])
