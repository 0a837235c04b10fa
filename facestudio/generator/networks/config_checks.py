"""The bounds and field checks that the StyleGAN2 and StyleGAN3 configs share.

Each check returns the value it accepts or raises a ValueError of one sentence, which the
loaders turn into a :class:`~facestudio.generator.errors.ModelLoadError`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

# Released StyleGANs stop at 1024 px, 512-dimensional latents, 1024 feature maps, 8 mapping
# layers and 1000 classes; these bounds leave room for every real model, not for a hostile one.
MAX_RESOLUTION = 4096
MAX_LATENT_DIM = 4096  # z_dim, w_dim, embed_features, layer_features
MAX_CLASSES = 100_000  # c_dim
MAX_CHANNELS = 8192
MAX_MAPPING_LAYERS = 64
# Parameters and buffers of the network a config describes: StyleGAN2 config-f at 1024 px
# has 33 million, StyleGAN3-T/R at 1024 px 22 / 15 million; 200 million is 800 MB of float32.
MAX_PARAMETERS = 200_000_000


def shown(value: Any) -> str:
    """``repr(value)`` cut to 40 characters, so a message stays one short sentence."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_int(value: Any, name: str, low: int, high: int) -> int:
    """``value`` when it is a whole number (not a bool) in ``low..high``; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {shown(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must lie between {low} and {high}, got {value}")
    return int(value)


def finite_float(value: Any) -> float | None:
    """``value`` as a float when it is a real number (not a bool) that is finite as a float,
    else None (an int past float range, such as 10**400 in JSON, included)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def check_positive(value: Any, name: str, optional: bool = False) -> float | None:
    """``value`` as a float when it is a finite number > 0 (or None when ``optional``)."""
    if value is None and optional:
        return None
    number = finite_float(value)
    if number is None or number <= 0:
        raise ValueError(f"{name} must be a finite number above 0, got {shown(value)}")
    return number


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {shown(value)}")
    return value


def check_size(count: int, what: str) -> None:
    """Refuse a config whose network would hold more than :data:`MAX_PARAMETERS` numbers."""
    if count > MAX_PARAMETERS:
        raise ValueError(f"{what} describes a network of {count:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} facestudio accepts (the largest released StyleGANs "
                         f"have about 33 million)")


def mapping_size(z_dim: int, c_dim: int, w_dim: int, layers: int, embed: int | None = None,
                 features: int | None = None) -> int:
    """Parameters and buffers of :class:`~facestudio.generator.networks.stylegan2.MappingNetwork`."""
    embed = 0 if c_dim == 0 else (embed or w_dim)
    widths = [z_dim + embed] + [features or w_dim] * (layers - 1) + [w_dim]
    dense = sum(a * b + b for a, b in zip(widths, widths[1:]))
    return dense + (c_dim * embed + embed) + w_dim


def strict_from_dict(cls, d: dict[str, Any]):
    """Build the config dataclass ``cls`` from ``d``, refusing keys it does not know."""
    if not isinstance(d, dict):
        raise ValueError(f"a generator config is a mapping, not {type(d).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise ValueError(f"unknown generator config keys: {', '.join(shown(k) for k in unknown[:5])}{more}")
    return cls(**d)
