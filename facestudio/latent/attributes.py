"""A direction from faces a user marked (InterFaceGAN style): a half-space in W.

:func:`fit_linear_boundary` fits a logistic-regression hyperplane ``n . w + b = 0`` to W
samples labelled 0 / 1, and the unit normal ``n`` is the editing direction (moving along ``n``
raises the attribute's log-odds at a constant rate). The studio's "direction from marked
faces" uses it; the named sliders are fitted from measurements instead
(:mod:`facestudio.latent.slider_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facestudio.latent.directions import Direction, DirectionError

MIN_PER_CLASS = 2
NEWTON_STEPS = 50


@dataclass(frozen=True, eq=False)
class Boundary:
    """A hyperplane in W: unit ``normal [w_dim]`` and ``offset`` with ``normal . w + offset``
    the signed distance to it (positive side = label 1). ``accuracy`` is on the fitting
    samples; ``count`` how many there were."""

    normal: np.ndarray
    offset: float
    accuracy: float
    count: int

    def distance(self, ws: np.ndarray) -> np.ndarray:
        """Signed distances ``[N]`` of W samples ``[N, w_dim]`` to the boundary."""
        return np.asarray(ws, dtype=np.float64) @ self.normal + self.offset

    def to_direction(self, id: str, name: str, num_ws: int, model_sha256: str | None = None,
                     scale: float = 1.0, meta: dict | None = None) -> Direction:
        return Direction(id=id, name=name, vector=self.normal.astype(np.float32), layers=(0, num_ws),
                         scale=scale, source="attribute", model_sha256=model_sha256,
                         meta={"accuracy": self.accuracy, "samples": self.count, **(meta or {})})


def _check_samples(ws: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(ws, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise DirectionError(f"give one label per W sample: samples {list(x.shape)}, labels {list(y.shape)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DirectionError("the W samples or their labels contain NaN or infinite values")
    return x, y


def fit_linear_boundary(ws: np.ndarray, labels: np.ndarray, l2: float = 1e-4) -> Boundary:
    """Logistic regression on W samples ``[N, w_dim]`` with labels ``[N]`` in {0, 1}.

    The weights carry an L2 penalty ``l2 * N * mean variance of W`` (the intercept none),
    which keeps separable data finite without depending on W's units. Solved by Newton's
    method (iteratively reweighted least squares) in float64.
    """
    x, y = _check_samples(ws, labels)
    if not np.isin(y, (0.0, 1.0)).all():
        raise DirectionError("boundary labels must be 0 or 1")
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise DirectionError(f"a boundary needs at least {MIN_PER_CLASS} samples on each side, "
                             f"got {n_pos} positive and {n_neg} negative")
    mean = x.mean(axis=0)
    xc = x - mean
    n, d = xc.shape
    lam = l2 * n * max(float(xc.var(axis=0).mean()), 1e-12)
    xa = np.hstack([xc, np.ones((n, 1))])
    penalty = np.full(d + 1, lam)
    penalty[-1] = 0.0
    beta = np.zeros(d + 1)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(xa @ beta, -30, 30)))
        grad = xa.T @ (p - y) + penalty * beta
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    w, b = beta[:d], beta[d]
    norm = np.linalg.norm(w)
    if not norm > 0:
        raise DirectionError("the labels do not depend on W linearly: the fitted boundary is degenerate")
    normal = w / norm
    offset = (b - w @ mean) / norm
    accuracy = float(((x @ normal + offset > 0) == (y > 0.5)).mean())
    return Boundary(normal, float(offset), accuracy, n)
