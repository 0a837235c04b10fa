"""Latent directions in W and how edits compose in W+.

A :class:`Direction` is a vector in W, either one for all layers (``[w_dim]``) or one per
layer (``[num_ws, w_dim]``), with a default layer range and a ``scale`` so that one slider
unit moves one standard deviation of the latent distribution along it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facestudio.errors import FacestudioError

SOURCES = ("pca", "sefa", "attribute", "user", "imported")
# The W distance of one slider unit. W coordinates are of order one (the W spread along a
# PCA axis is a few units), so 10,000 leaves room for any direction a user makes between
# two faces, while amount x scale (|amount| <= 100) stays far from float32 overflow.
MAX_SCALE = 1e4


class DirectionError(FacestudioError, ValueError):
    """A direction that cannot be used with this model; the message is one sentence."""


def check_scale(scale: object, what: str) -> float:
    """``scale`` (read from a file) as a float, or :class:`DirectionError` unless it is a
    number with ``0 < scale <= MAX_SCALE``; ``what`` names the direction in the message."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise DirectionError(f"the scale of {what} must be a number, got {scale!r}")
    value = float(scale)
    if not 0 < value <= MAX_SCALE:  # NaN fails this too
        raise DirectionError(f"the scale of {what} is {value:g}; it must be above 0 and at most {MAX_SCALE:g}")
    return value


def check_model_sha256(value: object, what: str) -> str | None:
    """The ``model_sha256`` of a direction read from a file: text or None, else
    :class:`DirectionError`."""
    if value is not None and not isinstance(value, str):
        raise DirectionError(f"the model of {what} must be named by its sha256 as text, got {value!r}")
    return value


@dataclass(frozen=True, eq=False)
class Direction:
    """id: stable key used in recipes; name: what the slider shows; vector: unit-norm per
    layer row; layers: default ``(start, stop)`` half-open range of ws rows it edits;
    scale: W distance of one slider unit; source: how it was made; model_sha256: the model
    it belongs to (None = any model with this w_dim)."""

    id: str
    name: str
    vector: np.ndarray
    layers: tuple[int, int]
    scale: float = 1.0
    source: str = "user"
    model_sha256: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        with np.errstate(over="ignore", invalid="ignore"):  # values past float32 become inf: refused below
            v = np.array(self.vector, dtype=np.float32, copy=True)  # never share the caller's buffer
        v.setflags(write=False)
        if v.ndim not in (1, 2):
            raise DirectionError(f"direction {self.name!r} must be [w_dim] or [num_ws, w_dim], got {list(v.shape)}")
        if not np.isfinite(v).all():
            raise DirectionError(f"direction {self.name!r} contains NaN or infinite values")
        if not np.abs(v).max() > 0:
            raise DirectionError(f"direction {self.name!r} is a zero vector and would not move anything")
        if self.source not in SOURCES:
            raise DirectionError(f"unknown direction source {self.source!r}")
        start, stop = self.layers
        if not 0 <= start < stop:
            raise DirectionError(f"direction {self.name!r} has an empty layer range {self.layers}")
        object.__setattr__(self, "vector", v)

    @property
    def w_dim(self) -> int:
        return self.vector.shape[-1]

    def check_fits(self, num_ws: int, w_dim: int) -> None:
        if self.w_dim != w_dim:
            raise DirectionError(f"direction {self.name!r} has w_dim {self.w_dim} but this model needs {w_dim}")
        if self.vector.ndim == 2 and self.vector.shape[0] != num_ws:
            raise DirectionError(f"direction {self.name!r} has {self.vector.shape[0]} layers but this model has {num_ws}")
        if self.layers[1] > num_ws:
            raise DirectionError(f"direction {self.name!r} edits layers up to {self.layers[1] - 1} "
                                 f"but this model has {num_ws}")

    def offset(self, amount: float, layers: tuple[int, int], num_ws: int) -> np.ndarray:
        """The W+ offset ``[num_ws, w_dim]`` of moving ``amount`` units on ``layers``."""
        out = np.zeros((num_ws, self.w_dim), np.float32)
        start, stop = layers
        rows = self.vector if self.vector.ndim == 1 else self.vector[start:stop]
        out[start:stop] = amount * self.scale * rows
        return out


def find_direction(name: str, available: list[Direction], hint: str = "") -> Direction:
    """The direction whose id is ``name``, else the one whose name is (case-insensitively):
    how the CLI's ``--direction`` and the Python API's ``edit`` find a direction.
    A name shared with retired versions (``Head nod``: ``pitch@2`` ...) means the current one.
    :class:`DirectionError` for an unknown or ambiguous name; ``hint`` says where to look."""
    for d in available:
        if d.id == name:
            return d
    hits = [d for d in available if d.name.casefold() == name.strip().casefold()]
    if len(hits) > 1:  # a name means today's slider, not the retired versions kept for old recipes
        hits = [d for d in hits if not d.meta.get("retired")] or hits
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise DirectionError(f"the direction name {name!r} is ambiguous ({', '.join(d.id for d in hits)}); "
                             "use its id")
    raise DirectionError(f"unknown direction {name!r}" + (f": {hint}" if hint else ""))


def apply_edits(ws: np.ndarray, edits, directions: dict[str, Direction]) -> np.ndarray:
    """ws ``[num_ws, w_dim]`` plus each edit's offset; edits are (direction_id, amount, layers).

    Unknown direction ids raise DirectionError; the input is not modified.
    """
    out = np.array(ws, dtype=np.float32, copy=True)
    for direction_id, amount, layers in edits:
        d = directions.get(direction_id)
        if d is None:
            raise DirectionError(f"the recipe uses direction {direction_id!r}, which is not loaded")
        if amount:
            out += d.offset(amount, layers, out.shape[0])
    return out


def pca_directions(ws_samples: np.ndarray, count: int, num_ws: int, model_sha256: str | None = None,
                   layers: tuple[int, int] | None = None) -> list[Direction]:
    """GANSpace-style principal components of W samples ``[N, w_dim]``, by variance.

    Each component is unit-norm; its ``scale`` is the standard deviation of the samples
    along it, so one slider unit is one standard deviation.
    """
    x = np.asarray(ws_samples, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DirectionError("PCA needs at least two W samples of shape [N, w_dim]")
    x = x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    std = s / np.sqrt(x.shape[0] - 1)
    count = min(count, vt.shape[0])
    rng = layers or (0, num_ws)
    return [Direction(id=f"pca{i}", name=f"PC {i + 1}", vector=vt[i].astype(np.float32), layers=rng,
                      scale=float(std[i]), source="pca", model_sha256=model_sha256,
                      meta={"variance_ratio": float(s[i] ** 2 / (s ** 2).sum())})
            for i in range(count)]
