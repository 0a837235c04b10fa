"""The architecture description of a generator, stored as JSON beside native weights.

A config arrives from files a hostile user may have written, and it decides how much memory
the network takes before any weight is read, so :meth:`GeneratorConfig.validate` checks
every field's type and range and bounds the parameter count the config implies (see
:data:`~facestudio.generator.networks.config_checks.MAX_PARAMETERS`) before anything is allocated.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from facestudio.generator.networks.config_checks import (MAX_CHANNELS, MAX_CLASSES, MAX_LATENT_DIM,
                                                         MAX_MAPPING_LAYERS, MAX_RESOLUTION,
                                                         check_bool, check_int, check_positive,
                                                         check_size, finite_float, mapping_size,
                                                         shown, strict_from_dict)
from facestudio.generator.networks.sg3_config import StyleGAN3Config

ARCHITECTURES = ("skip", "resnet", "orig")
MAX_FILTER_TAPS = 64


def default_channels(resolution: int, channel_base: int = 32768, channel_max: int = 512) -> dict[int, int]:
    """Feature maps per resolution as in the reference configs: ``min(base // res, max)``."""
    return {2 ** i: min(channel_base // 2 ** i, channel_max)
            for i in range(2, int(math.log2(resolution)) + 1)}


@dataclass
class GeneratorConfig:
    """Everything needed to build a StyleGAN2 generator, with no weights.

    z_dim: input latent size (0 = none); c_dim: class-label size (0 = unconditional);
    w_dim: intermediate latent size; resolution: output side (a power of two >= 4);
    img_channels: 3 for RGB; channels: feature maps per block resolution;
    mapping_layers / mapping_lr_multiplier / embed_features / layer_features: mapping net;
    architecture: ``skip`` | ``resnet`` | ``orig``; conv_clamp: clamp of conv outputs
    (None = off); use_noise: per-pixel noise inputs; resample_filter: 1-D FIR taps.
    """

    resolution: int
    z_dim: int = 512
    c_dim: int = 0
    w_dim: int = 512
    img_channels: int = 3
    channels: dict[int, int] = field(default_factory=dict)
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    embed_features: int | None = None
    layer_features: int | None = None
    architecture: str = "skip"
    conv_clamp: float | None = None
    use_noise: bool = True
    resample_filter: tuple[float, ...] = (1, 3, 3, 1)
    family: str = "stylegan2"

    def __post_init__(self) -> None:
        _power_of_two(self.resolution)
        if not self.channels:
            self.channels = default_channels(self.resolution)
        self.channels = _channels(self.channels)
        self.resample_filter = _filter(self.resample_filter)
        self.validate()

    def validate(self) -> None:
        r = _power_of_two(self.resolution)
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {shown(self.architecture)}")
        missing = [res for res in self.block_resolutions if res not in self.channels]
        if missing:
            raise ValueError(f"channels missing for resolutions {missing}")
        for res in self.block_resolutions:
            check_int(self.channels[res], f"the channels at {res} px", 1, MAX_CHANNELS)
        check_int(self.z_dim, "z_dim", 0, MAX_LATENT_DIM)
        check_int(self.c_dim, "c_dim", 0, MAX_CLASSES)
        check_int(self.w_dim, "w_dim", 1, MAX_LATENT_DIM)
        check_int(self.img_channels, "img_channels", 1, 16)
        check_int(self.mapping_layers, "mapping_layers", 1, MAX_MAPPING_LAYERS)
        for name in ("embed_features", "layer_features"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), name, 1, MAX_LATENT_DIM)
        check_positive(self.mapping_lr_multiplier, "mapping_lr_multiplier")
        check_positive(self.conv_clamp, "conv_clamp", optional=True)
        check_bool(self.use_noise, "use_noise")
        if self.family != "stylegan2":
            raise ValueError(f"unknown generator family {shown(self.family)}")
        check_size(self.size_estimate(), f"this {r} px config")

    def size_estimate(self) -> int:
        """Parameters and buffers of the network this config builds (filters included)."""
        taps = len(self.resample_filter) ** 2
        total = mapping_size(self.z_dim, self.c_dim, self.w_dim, self.mapping_layers,
                             self.embed_features, self.layer_features)
        for res in self.block_resolutions:
            out = self.channels[res]
            inp = self.channels[res // 2] if res > 4 else 0
            noise = (res * res + 1) if self.use_noise else 0
            total += out * res * res if inp == 0 else (self.w_dim + 1) * inp + inp * out * 9 + out + noise + taps
            total += (self.w_dim + 1) * out + out * out * 9 + out + noise + 2 * taps
            if res == self.resolution or self.architecture == "skip":
                total += (self.w_dim + 1) * out + (out + 1) * self.img_channels
            if inp and self.architecture == "resnet":
                total += out * inp + taps
        return total

    @property
    def block_resolutions(self) -> list[int]:
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        """Number of per-layer style vectors: two per block (one for 4x4) plus the last ToRGB."""
        return 2 * len(self.block_resolutions)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        d["resample_filter"] = list(self.resample_filter)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GeneratorConfig":
        return strict_from_dict(cls, d)


def _power_of_two(resolution: Any) -> int:
    r = check_int(resolution, "resolution", 4, MAX_RESOLUTION)
    if r & (r - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {r}")
    return r


def _channels(channels: Any) -> dict[int, int]:
    """``{resolution: feature maps}`` from a mapping whose keys may be JSON strings."""
    if not isinstance(channels, dict):
        raise ValueError(f"channels must map resolutions to feature maps, got {type(channels).__name__}")
    out = {}
    for k, v in channels.items():
        if isinstance(k, str) and k.isdigit() and len(k) <= 5:
            k = int(k)
        res = check_int(k, "a channels resolution", 4, MAX_RESOLUTION)
        out[res] = check_int(v, f"the channels at {res} px", 1, MAX_CHANNELS)
    return out


def _filter(taps: Any) -> tuple[float, ...]:
    """The 1-D resample filter as floats: finite, 1..MAX_FILTER_TAPS taps, a positive sum."""
    if isinstance(taps, (str, bytes, dict)) or not hasattr(taps, "__len__") or not 1 <= len(taps) <= MAX_FILTER_TAPS:
        raise ValueError(f"resample_filter must be a list of 1 to {MAX_FILTER_TAPS} numbers")
    values = tuple(finite_float(t) for t in taps)
    if None in values:
        raise ValueError("resample_filter must hold finite numbers")
    if not sum(values) > 0:
        raise ValueError("resample_filter must sum to more than 0")
    return values


def config_from_dict(d: dict[str, Any]):
    """A :class:`GeneratorConfig` or, for ``family: stylegan3``, a ``StyleGAN3Config``."""
    if isinstance(d, dict) and d.get("family") == "stylegan3":
        return StyleGAN3Config.from_dict(d)
    return GeneratorConfig.from_dict(d)
