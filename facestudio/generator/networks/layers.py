"""StyleGAN2 layers with equalised learning rate.

Parameter names and storage conventions follow the reference networks
(weights stored unscaled, gains applied at run time) so that reference weights load
into these modules by name.

The synthesis layers compute in the dtype and memory format of their input features:
float32 NCHW is the exact path; bfloat16 and channels_last (fast previews on CPUs with bf16
units) use cast copies of the convolution weights, cached while gradients are off. Styles
and demodulation stay float32 in every case.

At inference, layers whose features are large (the 128-1024 px blocks of an FFHQ-size
network, :func:`~facestudio.generator.networks.ops.fold_styles_pays`) put each face's styles,
demodulation and gain into its own kernel and the bias into the convolution, instead of
scaling the features before and after it: two passes over up to 128 MB per layer saved, the
same image within rounding (the 1024 px parity test holds it to one uint8 level).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from facestudio.generator.networks.ops import (
    SQRT2,
    bias_act,
    conv_up2,
    fold_styles_pays,
    like_features,
    make_filter,
    modulated_conv2d,
    styles_into_weight,
    upfirdn2d,
)


def derived(module: nn.Module, name: str, sources: tuple[torch.Tensor, ...], compute):
    """``compute()`` cached on ``module`` while gradients are off (inference).

    Scaled weights and demodulation sums never change between renders, but recomputing
    them allocates multi-megabyte temporaries on every call, which costs more than the
    arithmetic (page faults on fresh allocations). The cache is keyed on the sources'
    version counters and storage, so in-place updates (EMA, load_state_dict) invalidate it.
    With gradients on (training) nothing is cached.
    """
    if torch.is_grad_enabled():
        return compute()
    key = tuple((t._version, t.data_ptr()) for t in sources)
    cache = module.__dict__.setdefault("_derived_cache", {})
    hit = cache.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = compute()
    cache[name] = (key, value)
    return value


def one_face_at_a_time(x: torch.Tensor, styles: torch.Tensor, forward) -> torch.Tensor:
    """``forward(x_i, styles_i)`` for each face of the batch, joined: a layer whose styles go
    into its kernel has one kernel per face."""
    if x.shape[0] == 1:
        return forward(x, styles)
    return torch.cat([forward(x[i:i + 1], styles[i:i + 1]) for i in range(x.shape[0])])


def features_format(x: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` when the features ``x`` ``[N, C, H, W]`` are laid out NHWC."""
    if x.ndim == 4 and x.shape[1] > 1 and not x.is_contiguous() \
            and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def weight_like(module: nn.Module, x: torch.Tensor, transposed: bool = False) -> torch.Tensor:
    """``module.weight`` ``[O, I, k, k]`` in the dtype and memory format of the features ``x``:
    the parameter itself for float32 NCHW features (the exact path) and under autocast
    (which casts by itself), else a cast copy, cached while gradients are off.

    transposed: the copy is laid out for a transposed convolution (``weight.transpose(0, 1)``
    is then dense), so that it is not re-copied on every call.
    """
    weight = module.weight
    fmt = features_format(x)
    if (x.dtype == weight.dtype and fmt == torch.contiguous_format) \
            or torch.is_autocast_enabled(x.device.type):
        return weight
    if transposed:
        return derived(module, f"weight_t:{x.dtype}:{fmt}", (weight,),
                       lambda: weight.transpose(0, 1).to(dtype=x.dtype, memory_format=fmt)
                       .transpose(0, 1))
    return derived(module, f"weight:{x.dtype}:{fmt}", (weight,),
                   lambda: weight.to(dtype=x.dtype, memory_format=fmt))


class FullyConnected(nn.Module):
    """Dense layer ``act(x @ (W * gain)^T + b * lr)``.

    in_features, out_features: sizes; activation: ``linear`` or ``lrelu``;
    lr_multiplier: equalised learning-rate multiplier (0.01 in the mapping network);
    bias_init: initial bias value (1 for style affines, so styles start at 1).
    """

    def __init__(self, in_features: int, out_features: int, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0, bias: bool = True):
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = derived(self, "wb", (self.weight,) if self.bias is None else (self.weight, self.bias),
                       self._scaled)
        if self.activation == "linear" and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        x = x.matmul(w.t())
        gain = SQRT2 if self.activation == "lrelu" else 1.0
        return bias_act(x, b, self.activation, gain=gain)

    def _scaled(self):
        w = self.weight * self.weight_gain
        return w, (self.bias * self.bias_gain if self.bias is not None else None)


class SynthesisLayer(nn.Module):
    """Modulated 3x3 convolution, optional 2x upsampling, noise, bias, lrelu, clamp.

    in_channels/out_channels: feature maps; w_dim: style vector size; resolution: output
    side; up: upsample 2x first; use_noise: per-pixel noise input; conv_clamp: clamp the
    output to +-conv_clamp (None = off).
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 up: bool = False, use_noise: bool = True, conv_clamp: float | None = None,
                 resample_filter=(1, 3, 3, 1), kernel_size: int = 3):
        super().__init__()
        self.resolution = resolution
        self.up = up
        self.use_noise = use_noise
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", make_filter(resample_filter), persistent=False)
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random",
                gain: float = 1.0) -> torch.Tensor:
        """x: ``[N, I, r, r]`` (r = resolution, or resolution/2 when up); w: ``[N, w_dim]``
        float32. The output has x's dtype and memory format."""
        styles = self.affine(w)
        wsq = derived(self, "wsq", (self.weight,), lambda: self.weight.square().sum(dim=[2, 3]))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        if fold_styles_pays(x, self.weight):
            return one_face_at_a_time(x, styles, lambda xi, si: self._forward_folded(xi, si, wsq, noise_mode,
                                                                                   SQRT2 * gain, clamp))
        x = modulated_conv2d(x, weight_like(self, x, transposed=self.up), styles, demodulate=True, up=self.up,
                             resample_filter=self.resample_filter, weight_sq=wsq)
        if self.use_noise and noise_mode != "none":
            noise = like_features(self._noise(x, noise_mode) * self.noise_strength, x)
            x = x.add_(noise) if not torch.is_grad_enabled() else x + noise  # x: the conv's output
        return bias_act(x, self.bias, "lrelu", gain=SQRT2 * gain, clamp=clamp, inplace=True)  # x: ours

    def _forward_folded(self, x: torch.Tensor, styles: torch.Tensor, wsq: torch.Tensor, noise_mode: str,
                        scale: float, clamp: float | None) -> torch.Tensor:
        """One face at inference: styles, demodulation and the activation gain go into the kernel
        and the bias into the convolution (``gain * lrelu(y) == lrelu(gain * y)``), so the
        features see the convolution, the noise, the activation and the clamp, and nothing else."""
        fmt = features_format(x)
        weight = styles_into_weight(self.weight, styles, wsq, scale, transposed=self.up)
        bias = like_features(self.bias * scale, x)
        if self.up:  # laid out for the transposed convolution, as weight_like does
            weight = weight.transpose(0, 1).to(dtype=x.dtype, memory_format=fmt).transpose(0, 1)
            x = conv_up2(x, weight, self.resample_filter, bias=bias)
        else:
            weight = weight.to(dtype=x.dtype, memory_format=fmt)
            x = torch.nn.functional.conv2d(x, weight, bias, padding=weight.shape[-1] // 2)
        if self.use_noise and noise_mode != "none":
            if noise_mode == "const":
                noise = derived(self, f"noise:{scale}:{x.dtype}", (self.noise_const, self.noise_strength),
                                lambda: like_features(self.noise_const * (self.noise_strength * scale), x))
            else:
                noise = like_features(self._noise(x, noise_mode) * (self.noise_strength * scale), x)
            x = x.add_(noise)
        return bias_act(x, None, "lrelu", clamp=clamp, inplace=True)

    def _noise(self, x: torch.Tensor, noise_mode: str) -> torch.Tensor:
        """The noise image for ``noise_mode``: ``[N, 1, r, r]`` fresh (random) or ``[r, r]`` (const)."""
        if noise_mode == "random":
            return torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device, dtype=x.dtype)
        if noise_mode == "const":
            return self.noise_const
        raise ValueError(f"unknown noise mode {noise_mode!r}")


class ToRGB(nn.Module):
    """Modulated 1x1 convolution to image channels, without demodulation."""

    def __init__(self, in_channels: int, img_channels: int, w_dim: int,
                 conv_clamp: float | None = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x: ``[N, I, H, W]`` features; w: ``[N, w_dim]``. Returns ``[N, C, H, W]`` in x's dtype."""
        styles = self.affine(w) * self.weight_gain
        if fold_styles_pays(x, self.weight):  # the styles go into the 1x1 kernel
            return one_face_at_a_time(x, styles, self._forward_folded)
        x = modulated_conv2d(x, weight_like(self, x), styles, demodulate=False)
        return bias_act(x, self.bias, "linear", clamp=self.conv_clamp, inplace=True)  # x: the conv's output

    def _forward_folded(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        weight = styles_into_weight(self.weight, styles).to(dtype=x.dtype, memory_format=features_format(x))
        x = torch.nn.functional.conv2d(x, weight, like_features(self.bias, x))
        return bias_act(x, None, "linear", clamp=self.conv_clamp, inplace=True)


class Conv2d(nn.Module):
    """Plain equalised convolution with optional 2x up/down-sampling through the FIR filter.

    Used by the resnet skip path of the generator (1x1, up) and by the discriminator.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 bias: bool = True, activation: str = "linear", up: bool = False,
                 down: bool = False, conv_clamp: float | None = None,
                 resample_filter=(1, 3, 3, 1)):
        super().__init__()
        if up and down:
            raise ValueError("Conv2d: up and down at once is not supported")
        self.activation = activation
        self.up = up
        self.down = down
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", make_filter(resample_filter), persistent=False)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = like_features(self.weight * self.weight_gain, x)
        f = self.resample_filter
        k = w.shape[-1]
        fw = f.shape[-1]
        if self.up:
            if k != 1:
                raise ValueError("Conv2d: upsampling is implemented for 1x1 kernels only")
            x = torch.nn.functional.conv2d(x, w)
            p0, p1 = (fw + 1) // 2, (fw - 2) // 2
            x = upfirdn2d(x, f, up=2, pad=(p0, p1, p0, p1), gain=4)
        elif self.down:
            # Filter with the padding of a k x k conv folded in, then a strided conv.
            p0 = (fw - 1) // 2 + k // 2
            p1 = (fw - 2) // 2 + k // 2
            x = upfirdn2d(x, f, pad=(p0, p1, p0, p1))
            x = torch.nn.functional.conv2d(x, w, stride=2)
        else:
            x = torch.nn.functional.conv2d(x, w, padding=k // 2)
        act_gain = (SQRT2 if self.activation == "lrelu" else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, self.activation, gain=act_gain, clamp=clamp)
