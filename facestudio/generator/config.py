"""The architecture description of a generator, stored as JSON beside native weights."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

ARCHITECTURES = ("skip", "resnet", "orig")


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
        if not self.channels:
            self.channels = default_channels(self.resolution)
        self.channels = {int(k): int(v) for k, v in self.channels.items()}
        self.resample_filter = tuple(float(t) for t in self.resample_filter)
        self.validate()

    def validate(self) -> None:
        r = self.resolution
        if not isinstance(r, int) or r < 4 or r & (r - 1):
            raise ValueError(f"resolution must be a power of two >= 4, got {r!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        missing = [res for res in self.block_resolutions if res not in self.channels]
        if missing:
            raise ValueError(f"channels missing for resolutions {missing}")
        if self.z_dim < 0 or self.c_dim < 0 or self.w_dim <= 0:
            raise ValueError("z_dim and c_dim must be >= 0 and w_dim > 0")
        if self.family != "stylegan2":
            raise ValueError(f"unknown generator family {self.family!r}")

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


def strict_from_dict(cls, d: dict[str, Any]):
    """Build the config dataclass ``cls`` from ``d``, refusing keys it does not know."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown generator config keys: {', '.join(unknown)}")
    return cls(**d)


def config_from_dict(d: dict[str, Any]):
    """A :class:`GeneratorConfig` or, for ``family: stylegan3``, a ``StyleGAN3Config``."""
    if isinstance(d, dict) and d.get("family") == "stylegan3":
        from facestudio.generator.sg3_config import StyleGAN3Config
        return StyleGAN3Config.from_dict(d)
    return GeneratorConfig.from_dict(d)
