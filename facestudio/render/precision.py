"""Compute precision of renders: exact float32 frames, and bfloat16 previews where it pays.

Final frames (level 0: the settled face, exports, grids) are always float32, exactly
``Generator.synthesize``. Previews shown while a slider moves are replaced by the exact
frame once it settles, so they may be computed in bfloat16 with NHWC (channels_last)
features: on CPUs with bf16 matrix units (AMX or AVX-512 BF16) that measured about 3x the
speed of float32 for a 256 px model, at a few uint8 levels from the float32 preview (the
bench reports both). Without such units PyTorch emulates bf16 and it is slower than float32,
and small models gain nothing (their previews cost Python and memory traffic, not
arithmetic), so ``auto`` keeps float32 there.

``$FACESTUDIO_PREVIEW_PRECISION`` picks the preview precision: ``auto`` (the default: bf16
where the CPU has bf16 units and the model is large), ``fp32`` (always float32: previews are then exactly the
float32 preview) or ``bf16`` (always, even where emulated).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch

from facestudio.generator.device import cpu_has_bf16_units

log = logging.getLogger(__name__)

PREVIEW_PRECISION_ENV = "FACESTUDIO_PREVIEW_PRECISION"
PRECISION_SETTINGS = ("auto", "fp32", "bf16")
BF16_MIN_FEATURE_BYTES = 1 << 20  # 256 px, 512 channels: 16 MB (bf16 previews 1.8-2.4x faster)


@dataclass(frozen=True)
class Precision:
    """How a render computes its features.

    name: ``fp32`` (exact) or ``bf16``; it also tags the prefix cache, so activations of one
    precision are never served to a render of another; dtype: the features' dtype (styles,
    demodulation and the running RGB image stay float32 in every case); channels_last: lay the
    features out NHWC.
    """

    name: str
    dtype: torch.dtype
    channels_last: bool

    @property
    def exact(self) -> bool:
        return self.dtype == torch.float32

    @property
    def tag(self) -> str:
        """The prefix cache's name for activations computed this way (layout included)."""
        return self.name + ("-nhwc" if self.channels_last else "")

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format


FP32 = Precision("fp32", torch.float32, False)
FP32_NHWC = Precision("fp32", torch.float32, True)  # the exact path on CPUs with oneDNN
BF16 = Precision("bf16", torch.bfloat16, True)
PRECISIONS = {p.name: p for p in (FP32, BF16)}


def preview_precision_setting() -> str:
    """``$FACESTUDIO_PREVIEW_PRECISION`` (lower case), ``auto`` when unset; an unknown value
    is logged and read as ``auto``."""
    value = (os.environ.get(PREVIEW_PRECISION_ENV) or "auto").strip().lower()
    if value not in PRECISION_SETTINGS:
        log.warning("%s=%r is not one of %s; using auto", PREVIEW_PRECISION_ENV, value,
                    ", ".join(PRECISION_SETTINGS))
        return "auto"
    return value


def preview_precision(setting: str | None = None, device: torch.device | str = "cpu",
                      feature_bytes: int | None = None) -> Precision:
    """The precision of previews for ``setting`` (``auto`` / ``fp32`` / ``bf16``; default
    :func:`preview_precision_setting`) on ``device``, for a model whose largest float32
    feature map is ``feature_bytes`` per face (None: large enough).

    ``auto`` is bf16 only on a CPU with bf16 units (not measured on GPUs, so float32 there)
    and only for models of at least :data:`BF16_MIN_FEATURE_BYTES`: smaller ones are bound by
    per-layer overhead, not arithmetic (the bundled 64 px model, 0.5 MB, previewed no faster
    in bf16), so they keep the more faithful float32 previews. Raises ValueError for an
    unknown setting."""
    name = preview_precision_setting() if setting is None else str(setting).strip().lower()
    if name not in PRECISION_SETTINGS:
        raise ValueError(f"preview precision must be one of {', '.join(PRECISION_SETTINGS)}, got {setting!r}")
    if name == "auto":
        large = feature_bytes is None or feature_bytes >= BF16_MIN_FEATURE_BYTES
        return BF16 if large and torch.device(device).type == "cpu" and cpu_has_bf16_units() else FP32
    return PRECISIONS[name]
