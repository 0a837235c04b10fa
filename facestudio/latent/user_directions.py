"""Directions the user makes from faces: "from A to B", and from positive / negative sets.

Faces come in as their W+ latents ``[num_ws, w_dim]`` (``Renderer.ws_for`` of their
recipes, so truncation, style mixing and edits are included). When every row of a
difference is the same (plain faces) the direction is one ``[w_dim]`` vector for all layers;
otherwise it is per layer ``[num_ws, w_dim]``.

Units: "from A to B" is measured in A-to-B distances, so moving A by +1 unit lands exactly on
B and -1 moves as far the other way. Directions from sets use the W standard deviation along
them when W statistics are given (like the discovered sliders), else the distance between
the two sets' means.
"""

from __future__ import annotations

import re
import uuid

import numpy as np

from facestudio.latent.attributes import fit_linear_boundary
from facestudio.latent.directions import Direction, DirectionError

ROW_TOLERANCE = 1e-6


def new_direction_id(name: str, taken=()) -> str:
    """A fresh id ``user-<slug>-<4 hex>`` that is not in ``taken``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "direction"
    while True:
        candidate = f"user-{slug}-{uuid.uuid4().hex[:4]}"
        if candidate not in taken:
            return candidate


def _as_ws(ws, num_ws: int | None = None) -> np.ndarray:
    a = np.asarray(ws, dtype=np.float64)
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or (num_ws is not None and a.shape[0] != num_ws):
        raise DirectionError(f"a face's latent must be [num_ws, w_dim], got {list(np.shape(ws))}")
    if not np.isfinite(a).all():
        raise DirectionError("a face's latent contains NaN or infinite values")
    return a


def _collapse(diff: np.ndarray) -> np.ndarray:
    """``[num_ws, w_dim]`` -> ``[w_dim]`` when all rows agree, else unchanged."""
    scale = max(np.abs(diff).max(), 1e-30)
    if np.abs(diff - diff[:1]).max() <= ROW_TOLERANCE * scale:
        return diff[0]
    return diff


def direction_between(ws_a, ws_b, name: str = "A to B", model_sha256: str | None = None,
                      id: str | None = None) -> Direction:
    """From face A to face B: ``ws_a + 1 unit == ws_b`` on the direction's layers.

    ws_a, ws_b: ``[num_ws, w_dim]``. The layer range covers the rows where they differ.
    """
    a, b = _as_ws(ws_a), _as_ws(ws_b)
    if a.shape != b.shape:
        raise DirectionError(f"the two faces have different latent shapes {list(a.shape)} and {list(b.shape)}")
    diff = b - a
    row_norms = np.linalg.norm(diff, axis=1)
    if not row_norms.max() > 1e-9 * max(np.abs(a).max(), 1.0):
        raise DirectionError("the two faces have the same latent, so there is no direction between them")
    moving = np.flatnonzero(row_norms > 0)
    layers = (int(moving[0]), int(moving[-1]) + 1)
    vector = _collapse(diff)
    scale = float(np.linalg.norm(vector)) if vector.ndim == 1 else float(row_norms.max())
    return Direction(id=id or new_direction_id(name), name=name, vector=(vector / scale).astype(np.float32),
                     layers=layers, scale=scale, source="user", model_sha256=model_sha256,
                     meta={"made_from": "A to B", "unit": "the distance from A to B"})


def direction_from_examples(positive, negative, name: str = "Direction", method: str = "mean",
                            model_sha256: str | None = None, stats=None, id: str | None = None) -> Direction:
    """From faces marked positive and negative: each ``[n, num_ws, w_dim]`` (or ``[n, w_dim]``).

    method ``mean``: the difference of the two sets' mean latents (per layer when the rows
    differ); ``linear``: the normal of a logistic-regression boundary between the sets,
    fitted on each face's mean W row (whole-W only). ``stats`` (a :class:`WStats`) sets
    the unit to one W standard deviation; without it one unit is the distance between the
    sets' means along it.
    """
    pos = [_as_ws(w) for w in positive]
    neg = [_as_ws(w) for w in negative]
    if not pos or not neg:
        raise DirectionError("mark at least one face positive and one negative")
    shapes = {w.shape for w in pos + neg}
    if len(shapes) > 1:
        raise DirectionError("the marked faces have latents of different shapes")
    num_ws = pos[0].shape[0]
    mean_diff = np.mean(pos, axis=0) - np.mean(neg, axis=0)
    if method == "mean":
        vector = _collapse(mean_diff)
    elif method == "linear":
        x = np.stack([w.mean(axis=0) for w in pos + neg])
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        vector = fit_linear_boundary(x, y).normal
    else:
        raise DirectionError(f"unknown method {method!r}: use 'mean' or 'linear'")
    rows = vector[None] if vector.ndim == 1 else vector
    norm = float(np.linalg.norm(rows, axis=1).max())
    if not norm > 1e-12:
        raise DirectionError("the positive and negative faces have the same mean latent, so they "
                             "define no direction")
    vector = vector / norm
    if stats is not None:
        scale = stats.std_along(vector)
    else:
        gap = float(np.abs((mean_diff * (vector if vector.ndim == 2 else vector[None])).sum(axis=1)).max())
        scale = gap if gap > 1e-12 else 1.0
    return Direction(id=id or new_direction_id(name), name=name, vector=vector.astype(np.float32),
                     layers=(0, num_ws), scale=scale, source="user", model_sha256=model_sha256,
                     meta={"made_from": f"{len(pos)} positive / {len(neg)} negative faces", "method": method})
