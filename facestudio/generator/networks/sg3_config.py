"""The architecture description of a StyleGAN3 generator and its per-layer geometry.

A StyleGAN3 synthesis network is a Fourier-feature input followed by ``num_layers``
modulated convolutions and a ToRGB layer. Every layer's size, sampling rate, cutoff and
filter lengths follow from a handful of hyper-parameters by the schedule of the paper
("Alias-Free Generative Adversarial Networks", section 3.2 and appendix F): cutoffs and
stopbands grow geometrically from the first layer to the last critically sampled ones.
:func:`layer_specs` computes that schedule; the networks in
:mod:`facestudio.generator.networks.stylegan3` are built from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from facestudio.generator.networks.config_checks import (MAX_CHANNELS, MAX_CLASSES, MAX_LATENT_DIM,
                                                         MAX_MAPPING_LAYERS, MAX_RESOLUTION,
                                                         check_bool, check_int, check_positive,
                                                         check_size, mapping_size, shown,
                                                         strict_from_dict)

MAX_LAYERS = 64  # the paper's configs have 14


@dataclass
class StyleGAN3Config:
    """Everything needed to build a StyleGAN3 generator, with no weights.

    z_dim / c_dim / w_dim / img_channels: as for StyleGAN2; resolution: output side.
    mapping_layers, mapping_lr_multiplier: the mapping network (2 layers, 0.01 in the paper).
    channel_base, channel_max: feature maps per layer are ``min(channel_base / 2 / cutoff,
    channel_max)``; num_layers: layers between the input and ToRGB (14); num_critical:
    critically sampled layers at the end (2); first_cutoff / first_stopband: f_c and f_t of
    the first layer in cycles per unit; last_stopband_rel: the last stopband relative to its
    cutoff; margin_size: extra pixels on each side of the intermediate maps; output_scale:
    factor on the ToRGB output; conv_kernel: 3 (T config) or 1 (R config); filter_size:
    low-pass taps per factor of up/down-sampling; lrelu_upsampling: oversampling around the
    nonlinearity; use_radial_filters: radially symmetric down-sampling filters (R config);
    conv_clamp: clamp of layer outputs (None = off).
    """

    resolution: int
    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_channels: int = 3
    mapping_layers: int = 2
    mapping_lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2 ** 2.1
    last_stopband_rel: float = 2 ** 0.3
    margin_size: int = 10
    output_scale: float = 0.25
    conv_kernel: int = 3
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False
    conv_clamp: float | None = 256.0
    family: str = "stylegan3"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        r = check_int(self.resolution, "resolution", 4, MAX_RESOLUTION)
        check_int(self.z_dim, "z_dim", 0, MAX_LATENT_DIM)
        check_int(self.c_dim, "c_dim", 0, MAX_CLASSES)
        check_int(self.w_dim, "w_dim", 1, MAX_LATENT_DIM)
        check_int(self.img_channels, "img_channels", 1, 16)
        check_int(self.mapping_layers, "mapping_layers", 1, MAX_MAPPING_LAYERS)
        check_int(self.channel_base, "channel_base", 1, 1 << 24)
        check_int(self.channel_max, "channel_max", 1, MAX_CHANNELS)
        check_int(self.num_layers, "num_layers", 1, MAX_LAYERS)
        if not 0 <= check_int(self.num_critical, "num_critical", 0, MAX_LAYERS) < self.num_layers:
            raise ValueError("num_critical must be >= 0 and smaller than num_layers")
        check_int(self.margin_size, "margin_size", 0, 256)
        check_int(self.conv_kernel, "conv_kernel", 1, 7)
        check_int(self.filter_size, "filter_size", 1, 16)
        check_int(self.lrelu_upsampling, "lrelu_upsampling", 1, 4)
        for name in ("mapping_lr_multiplier", "first_cutoff", "first_stopband", "last_stopband_rel",
                     "output_scale"):
            check_positive(getattr(self, name), name)
        check_positive(self.conv_clamp, "conv_clamp", optional=True)
        check_bool(self.use_radial_filters, "use_radial_filters")
        if self.family != "stylegan3":
            raise ValueError(f"a StyleGAN3 config has family 'stylegan3', not {shown(self.family)}")
        check_size(self.size_estimate(), f"this {r} px StyleGAN3 config")

    def size_estimate(self) -> int:
        """Parameters and buffers of the network this config builds (filters included)."""
        spec = input_spec(self)
        total = mapping_size(self.z_dim, self.c_dim, self.w_dim, self.mapping_layers)
        total += spec.channels * spec.channels + 4 * self.w_dim + 4 + 9 + 3 * spec.channels
        for layer in layer_specs(self):
            up = layer.up_taps if layer.up_taps > 1 else 0  # one tap: no filter
            down = layer.down_taps ** (2 if layer.down_radial else 1) if layer.down_taps > 1 else 0
            total += ((self.w_dim + 1) * layer.in_channels + layer.out_channels
                      * (layer.in_channels * layer.conv_kernel ** 2 + 1) + 1 + up + down)
        return total

    @property
    def num_ws(self) -> int:
        """One w for the input, one per layer, one for ToRGB."""
        return self.num_layers + 2

    @property
    def architecture(self) -> str:
        """``stylegan3-r`` (1x1 kernels, radial filters) or ``stylegan3-t``."""
        return "stylegan3-r" if self.use_radial_filters else "stylegan3-t"

    @property
    def channels(self) -> dict[str, int]:
        """Output feature maps per layer, by layer name (ToRGB last)."""
        return {spec.name: spec.out_channels for spec in layer_specs(self)}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StyleGAN3Config":
        return strict_from_dict(cls, d)


@dataclass(frozen=True)
class InputSpec:
    """The Fourier-feature input: channels, side in pixels, sampling rate, bandwidth."""

    channels: int
    size: int
    sampling_rate: float
    bandwidth: float


@dataclass(frozen=True)
class LayerSpec:
    """One synthesis layer. Sizes in pixels (square maps), rates in samples per unit,
    cutoffs / half widths in cycles per unit; ``padding`` is (x0, x1, y0, y1) around the
    up-sampled map; taps of 1 mean no filter."""

    name: str
    is_torgb: bool
    is_critically_sampled: bool
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float
    out_half_width: float
    conv_kernel: int
    tmp_sampling_rate: int
    up_factor: int
    down_factor: int
    up_taps: int
    down_taps: int
    down_radial: bool
    padding: tuple[int, int, int, int]


def _schedule(cfg: StyleGAN3Config):
    """Per-layer arrays (index 0 = the input): cutoffs, half widths, rates, sizes, channels."""
    n = cfg.num_layers
    last_cutoff = cfg.resolution / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    exponents = np.minimum(np.arange(n + 1) / (n - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** exponents
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** exponents
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, cfg.resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = cfg.resolution
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels
    return cutoffs, half_widths, rates, sizes, channels


def input_spec(cfg: StyleGAN3Config) -> InputSpec:
    cutoffs, _, rates, sizes, channels = _schedule(cfg)
    return InputSpec(int(channels[0]), int(sizes[0]), float(rates[0]), float(cutoffs[0]))


def layer_specs(cfg: StyleGAN3Config) -> list[LayerSpec]:
    """The ``num_layers + 1`` layers (the last is ToRGB), named ``L{i}_{size}_{channels}``."""
    cutoffs, half_widths, rates, sizes, channels = _schedule(cfg)
    specs = []
    for i in range(cfg.num_layers + 1):
        p = max(i - 1, 0)
        is_torgb = i == cfg.num_layers
        critical = i >= cfg.num_layers - cfg.num_critical
        in_rate, out_rate = int(rates[p]), int(rates[i])
        tmp_rate = max(in_rate, out_rate) * (1 if is_torgb else cfg.lrelu_upsampling)
        up, down = int(np.rint(tmp_rate / in_rate)), int(np.rint(tmp_rate / out_rate))
        if in_rate * up != tmp_rate or out_rate * down != tmp_rate:
            raise ValueError(f"layer {i}: sampling rates {in_rate} -> {out_rate} are not "
                             "whole-number ratios")
        up_taps = cfg.filter_size * up if up > 1 and not is_torgb else 1
        down_taps = cfg.filter_size * down if down > 1 and not is_torgb else 1
        kernel = 1 if is_torgb else cfg.conv_kernel
        in_size, out_size = int(sizes[p]), int(sizes[i])
        # Pad so that the output samples sit where the symmetric interpretation puts them.
        pad_total = ((out_size - 1) * down + 1 - (in_size + kernel - 1) * up
                     + up_taps + down_taps - 2)
        pad_lo = (pad_total + up) // 2
        pad_hi = pad_total - pad_lo
        out_ch = int(channels[i])
        specs.append(LayerSpec(
            name=f"L{i}_{out_size}_{out_ch}", is_torgb=is_torgb, is_critically_sampled=critical,
            in_channels=int(channels[p]), out_channels=out_ch, in_size=in_size,
            out_size=out_size, in_sampling_rate=in_rate, out_sampling_rate=out_rate,
            in_cutoff=float(cutoffs[p]), out_cutoff=float(cutoffs[i]),
            in_half_width=float(half_widths[p]), out_half_width=float(half_widths[i]),
            conv_kernel=kernel, tmp_sampling_rate=tmp_rate, up_factor=up, down_factor=down,
            up_taps=up_taps, down_taps=down_taps,
            down_radial=cfg.use_radial_filters and not critical,
            padding=(pad_lo, pad_hi, pad_lo, pad_hi)))
    return specs
