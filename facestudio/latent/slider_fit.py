"""Named sliders fitted from measurements of generated faces, never through a network's gradient.

The recipe (InterFaceGAN's idea, made layer-aware and conditional by construction):

1. **Style-mixed samples.** Each fit face takes one W vector per layer group (coarse, middle,
   fine; :func:`layer_groups`), drawn independently, so that a regression can tell which group
   carries an attribute (GANSpace's finding: pose lives in the coarse layers, colour in the fine).
2. **Measure** every face with measures a person would agree with
   (:mod:`facestudio.analysis.face_measures`), each in units of its spread over real photos.
3. **Regress** each measure on the concatenated group vectors (ridge, its strength chosen by
   cross-validation): a row of the Jacobian ``J`` [measures, groups * w_dim].
4. **Solve** for the smallest step, in W's own metric (``d' S^-1 d``, so it stays where faces
   are), that moves the slider's own measure by one spread and leaves every held measure where
   it was: ``d = S A' (A S A')^-1 e`` with ``A`` the own and held rows of ``J``
   (:func:`conditional_direction`). Projecting out the other attributes' normals is the special
   case of this with ``S`` the identity. The step may move only the layer groups where the
   unheld solution acts (:func:`acting_groups`), GANSpace's and InterFaceGAN's layer-wise finding
   made a rule: the other groups would carry only the fit's noise.

Nothing is optimised through the generator: the step is a linear fit to measurements, so it
cannot find an adversarial pattern that only a classifier believes (the old Gender slider's eye
make-up). The unit is set on held-out faces (:mod:`facestudio.commands.slider_fitting`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facestudio.latent.directions import DirectionError
from facestudio.latent.discovery import layer_groups as discovery_groups

GROUP_NAMES = ("coarse", "middle", "fine")
RIDGE_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # ridge strengths tried, times N x mean feature variance
CV_FOLDS = 5
MAX_CONDITION = 1e6  # a held system worse conditioned than this cannot be solved honestly


def layer_groups(num_ws: int) -> list[tuple[int, int]]:
    """The coarse, middle and fine ``(start, stop)`` layer ranges of a model with ``num_ws``
    W+ rows, as the studio splits them (:func:`facestudio.latent.discovery.layer_groups`)."""
    groups = discovery_groups(num_ws)
    return [groups[name] for name in GROUP_NAMES]


def mixed_ws(group_ws: np.ndarray, num_ws: int) -> np.ndarray:
    """W+ ``[N, num_ws, w_dim]`` from one W per group ``[N, groups, w_dim]``."""
    group_ws = np.asarray(group_ws, dtype=np.float32)
    out = np.empty((group_ws.shape[0], num_ws, group_ws.shape[2]), np.float32)
    for g, (start, stop) in enumerate(layer_groups(num_ws)):
        out[:, start:stop] = group_ws[:, g, None, :]
    return out


@dataclass(frozen=True)
class Regression:
    """measure ~ jacobian @ (x - mean) + intercept, for features ``x`` [groups * w_dim];
    ``r2`` is the cross-validated share of the measure's variance it explains."""

    jacobian: np.ndarray
    intercept: float
    r2: float
    ridge: float


def fit_regression(features: np.ndarray, target: np.ndarray, mean: np.ndarray) -> Regression:
    """Ridge regression of ``target`` [N] on ``features`` [N, D] (rows with a NaN target are
    left out), the ridge strength chosen by cross-validated R^2 over :data:`RIDGE_GRID`."""
    ok = np.isfinite(target)
    x = np.asarray(features, np.float64)[ok] - mean
    y = np.asarray(target, np.float64)[ok]
    n = len(y)
    if n < 2 * CV_FOLDS:
        raise DirectionError(f"only {n} faces could be measured; a slider needs many more")
    scale = n * float(x.var(axis=0).mean())
    folds = np.arange(n) % CV_FOLDS
    best = None
    for ridge in RIDGE_GRID:
        errors = 0.0
        for f in range(CV_FOLDS):
            train, test = folds != f, folds == f
            coef, icpt = _ridge(x[train], y[train], ridge * scale * train.mean())
            errors += float(((x[test] @ coef + icpt - y[test]) ** 2).sum())
        r2 = 1.0 - errors / max(float(((y - y.mean()) ** 2).sum()), 1e-12)
        if best is None or r2 > best[0]:
            best = (r2, ridge)
    coef, icpt = _ridge(x, y, best[1] * scale)
    return Regression(coef, icpt, best[0], best[1])


def _ridge(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, float]:
    xm, ym = x.mean(axis=0), y.mean()
    xc = x - xm
    coef = np.linalg.solve(xc.T @ xc + penalty * np.eye(x.shape[1]), xc.T @ (y - ym))
    return coef, float(ym - xm @ coef)


def group_covariance(group_ws: np.ndarray) -> np.ndarray:
    """W's covariance ``[D, D]`` for the concatenated group features: one W covariance per
    group on the block diagonal (the groups are drawn independently)."""
    group_ws = np.asarray(group_ws, np.float64)
    n, groups, w_dim = group_ws.shape
    cov = np.cov(group_ws.reshape(n * groups, w_dim), rowvar=False)
    return np.kron(np.eye(groups), cov)


def conditional_direction(own: np.ndarray, held: list[np.ndarray], covariance: np.ndarray,
                          groups: list[int] | None = None) -> np.ndarray:
    """The smallest step ``d`` in the metric of ``covariance`` with ``own . d = 1`` and
    ``h . d = 0`` for every row ``h`` of ``held`` (see the module's docstring); with ``groups``
    (indices of the coarse / middle / fine blocks), a step that moves only those layers."""
    a = np.stack([own, *held]).astype(np.float64)
    if groups is not None:
        block = covariance.shape[0] // 3
        keep = np.zeros(covariance.shape[0], bool)
        for g in groups:
            keep[g * block:(g + 1) * block] = True
        covariance = covariance * np.outer(keep, keep)
    sa = covariance @ a.T
    gram = a @ sa
    if np.linalg.cond(gram) > MAX_CONDITION:
        raise DirectionError("the measures to hold are too entangled with the slider's own to keep them still")
    e = np.zeros(len(a))
    e[0] = 1.0
    return sa @ np.linalg.solve(gram, e)


def per_layer(step: np.ndarray, num_ws: int) -> np.ndarray:
    """A step over the concatenated groups ``[groups * w_dim]`` as W+ rows ``[num_ws, w_dim]``."""
    groups = layer_groups(num_ws)
    parts = np.asarray(step, np.float64).reshape(len(groups), -1)
    out = np.zeros((num_ws, parts.shape[1]), np.float32)
    for part, (start, stop) in zip(parts, groups):
        out[start:stop] = part
    return out


def acting_groups(step: np.ndarray, covariance: np.ndarray, least: float = 0.2) -> list[int]:
    """The layer groups that carry at least ``least`` of a step (by :func:`group_shares`), the
    largest always: where an attribute lives (pose in the coarse layers, colour in the fine)."""
    shares = group_shares(step, covariance)
    return sorted({int(np.argmax(shares))} | {g for g, s in enumerate(shares) if s >= least})


def group_shares(step: np.ndarray, covariance: np.ndarray, groups: int = 3) -> list[float]:
    """How much of the step's length in W's metric lies in each group (coarse, middle, fine)."""
    parts = np.asarray(step, np.float64).reshape(groups, -1)
    block = covariance.shape[0] // groups
    inv = np.linalg.pinv(covariance[:block, :block])
    energy = np.array([p @ inv @ p for p in parts])
    return (energy / max(energy.sum(), 1e-12)).tolist()
