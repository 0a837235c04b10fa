"""Pure-PyTorch operations of StyleGAN3: low-pass filter design, FIR resampling with 1-D
(separable) or 2-D filters, the filtered leaky ReLU, and the user transform of the input.

Filters are only designed here for freshly built networks; a loaded network uses the
filters stored in its file exactly as they are.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F


# ------------------------------------------------------------------------ filter design

def _kaiser_beta(numtaps: int, width: float, fs: float) -> float:
    """Kaiser window shape for a transition band ``width`` (same units as ``fs``)."""
    atten = 2.285 * (numtaps - 1) * math.pi * (width / (fs / 2)) + 7.95
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    if atten > 21:
        return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    return 0.0


def design_lowpass(numtaps: int, cutoff: float, width: float, fs: float,
                   radial: bool = False) -> torch.Tensor | None:
    """Kaiser-windowed low-pass filter with unit DC gain.

    Separable: 1-D ``[numtaps]`` windowed sinc. Radial: 2-D ``[numtaps, numtaps]``
    jinc (``J1(2 pi fc r) / (pi r)``) windowed by the outer product of the 1-D window.
    None for ``numtaps == 1`` (no filtering).
    """
    if numtaps < 1:
        raise ValueError("a filter needs at least one tap")
    if numtaps == 1:
        return None
    window = np.kaiser(numtaps, _kaiser_beta(numtaps, width, fs))
    if not radial:
        c = cutoff / (fs / 2)
        m = np.arange(numtaps) - (numtaps - 1) / 2
        f = c * np.sinc(c * m) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    safe_r = np.where(r == 0, 1.0, r)
    j1 = torch.special.bessel_j1(torch.as_tensor(2 * cutoff * np.pi * safe_r)).numpy()
    f = np.where(r == 0, cutoff, j1 / (np.pi * safe_r)) * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


# ------------------------------------------------------------------------ FIR resampling

def _upsample_1d(x: torch.Tensor, taps: torch.Tensor, up: int, p0: int, p1: int,
                 dim: int) -> torch.Tensor:
    """Zero-insertion upsampling by ``up``, padding ``(p0, p1)`` and convolution with the
    1-D ``taps`` along ``dim`` (2 = y, 3 = x), done polyphase by a transposed convolution
    so that the inserted zeros are never multiplied."""
    c, k, size = x.shape[1], taps.shape[0], x.shape[dim]
    shape, stride = ((1, 1, 1, k), (1, up)) if dim == 3 else ((1, 1, k, 1), (up, 1))
    y = F.conv_transpose2d(x, taps.reshape(shape).repeat(c, 1, 1, 1), stride=stride, groups=c)
    # y is the full convolution of the zero-inserted signal; keep the part the padding selects.
    length = size * up + p0 + p1 - k + 1
    start = k - 1 - p0
    lo, hi = max(0, -start), max(0, start + length - y.shape[dim])
    if lo or hi:
        y = F.pad(y, (lo, hi) if dim == 3 else (0, 0, lo, hi))
    return y.narrow(dim, start + lo, length)


def fir_resample(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, down: int = 1,
                 pad: Sequence[int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Zero-insertion upsample by ``up``, pad ``(x0, x1, y0, y1)`` (negative crops),
    convolve with ``f`` (1-D = the same taps along x then y; 2-D; None = identity),
    multiply by ``gain`` and keep every ``down``-th sample. x: ``[N, C, H, W]``.

    Filtering is depthwise (grouped) convolution; 1-D upsampling is polyphase and
    decimation is a strided convolution, so no work is spent on samples that are dropped.
    """
    n, c, h, w = x.shape
    px0, px1, py0, py1 = (int(p) for p in pad)
    if f is not None and f.ndim == 1 and up > 1:
        taps = f.to(x.dtype)
        x = _upsample_1d(_upsample_1d(x, taps, up, px0, px1, dim=3), taps, up, py0, py1, dim=2)
        x = x * gain if gain != 1 else x
        return x[:, :, ::down, ::down] if down > 1 else x
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    if f is None:
        x = x[:, :, ::down, ::down] if down > 1 else x
    else:
        taps = f.to(x.dtype).flip(list(range(f.ndim)))  # a true convolution
        if taps.ndim == 1:
            k = taps.shape[0]
            x = F.conv2d(x, taps.reshape(1, 1, 1, k).repeat(c, 1, 1, 1), stride=(1, down), groups=c)
            x = F.conv2d(x, taps.reshape(1, 1, k, 1).repeat(c, 1, 1, 1), stride=(down, 1), groups=c)
        else:
            x = F.conv2d(x, taps[None, None].repeat(c, 1, 1, 1), stride=down, groups=c)
    return x * gain if gain != 1 else x


def filtered_lrelu(x: torch.Tensor, up_filter: torch.Tensor | None,
                   down_filter: torch.Tensor | None, bias: torch.Tensor, up: int, down: int,
                   padding: Sequence[int], gain: float, slope: float,
                   clamp: float | None) -> torch.Tensor:
    """Bias, upsample by ``up`` with ``up_filter``, leaky ReLU (``slope``) times ``gain``,
    clamp to ``+-clamp``, then low-pass with ``down_filter`` and decimate by ``down``.

    x: ``[N, C, H, W]``; output side ``(H * up + pad - (fu - 1) - (fd - 1) + down - 1) // down``.
    """
    x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    x = fir_resample(x, up_filter, up=up, pad=padding, gain=up * up)
    if slope != 1:
        x = F.leaky_relu(x, slope)
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return fir_resample(x, down_filter, down=down)


# ------------------------------------------------------------------------ user transform

def input_transform(tx: float = 0.0, ty: float = 0.0, angle: float = 0.0) -> torch.Tensor:
    """The ``[3, 3]`` matrix for the input's ``transform`` buffer that moves the image by
    ``(tx, ty)`` (in units of the input's coordinate frame, where the image spans about
    [-0.5, 0.5]) and rotates it by ``angle`` degrees: the inverse of the forward map,
    because the buffer maps image coordinates back to the Fourier features' frame."""
    a = math.radians(float(angle))
    s, c = math.sin(a), math.cos(a)
    forward = np.array([[c, s, float(tx)], [-s, c, float(ty)], [0.0, 0.0, 1.0]])
    return torch.as_tensor(np.linalg.inv(forward), dtype=torch.float32)
