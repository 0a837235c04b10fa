"""Unsupervised direction discovery in W: PCA of W samples and closed-form factorization.

Everything here is numpy on plain arrays; sampling W through the mapping network and reading
the style affine weights out of the synthesis network happen in
:mod:`facestudio.render.discovery`, which hands the arrays over.

* :class:`WStats` is the mean ``[w_dim]`` and covariance ``[w_dim, w_dim]`` of W samples.
  The standard deviation of W along any unit vector ``v`` is ``sqrt(v^T C v)``, so one
  covariance gives every direction its slider unit (``scale``), whatever made it.
* PCA (GANSpace): eigenvectors of the covariance, by decreasing variance.
* SeFa (closed-form factorization): the style of a layer is ``s = A w + b``; the unit ``n``
  that changes the styles of a set of layers most is the top eigenvector of ``A^T A`` where
  ``A`` stacks those layers' affine weights. As in the SeFa paper's implementation, each
  style channel's weight row is normalised to unit length first, so wide layers and the
  per-layer gains do not dominate.
* :class:`Discovery` holds both bases for one model and turns them into
  :class:`~facestudio.latent.directions.Direction` lists; it is what the cache stores.

Eigenvector signs are arbitrary, so every basis is flipped until the entry of largest
magnitude is positive: the same model always gives the same slider directions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facestudio.latent.directions import Direction, DirectionError

# method key -> what a method picker shows
METHODS = {
    "pca": "PCA (GANSpace)",
    "sefa": "SeFa, all layers",
    "sefa-coarse": "SeFa, coarse layers",
    "sefa-middle": "SeFa, middle layers",
    "sefa-fine": "SeFa, fine layers",
}
GROUPS = ("all", "coarse", "middle", "fine")


def layer_groups(num_ws: int) -> dict[str, tuple[int, int]]:
    """Half-open ws row ranges: ``all`` and a coarse / middle / fine split at 2/7 and 4/7 of
    the rows (18 rows: 0-4, 5-9, 10-17; the bundled model's 10: 0-2, 3-5, 6-9)."""
    if num_ws < 3:
        raise DirectionError(f"a model with {num_ws} ws rows cannot be split into layer groups")
    a = max(1, round(num_ws * 2 / 7))
    b = max(a + 1, round(num_ws * 4 / 7))
    b = min(b, num_ws - 1)
    return {"all": (0, num_ws), "coarse": (0, a), "middle": (a, b), "fine": (b, num_ws)}


def fix_signs(vectors: np.ndarray) -> np.ndarray:
    """Rows ``[k, d]`` flipped so each row's largest-magnitude entry is positive."""
    vectors = np.array(vectors, dtype=np.float64, copy=True)
    idx = np.abs(vectors).argmax(axis=1)
    signs = np.sign(vectors[np.arange(len(vectors)), idx])
    signs[signs == 0] = 1
    return vectors * signs[:, None]


@dataclass(frozen=True, eq=False)
class WStats:
    """mean ``[w_dim]`` and covariance ``[w_dim, w_dim]`` (float64) of ``count`` W samples."""

    mean: np.ndarray
    cov: np.ndarray
    count: int

    @classmethod
    def from_samples(cls, samples: np.ndarray) -> "WStats":
        """samples ``[N, w_dim]`` (N >= 2) -> unbiased mean and covariance."""
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise DirectionError("W statistics need at least two samples of shape [N, w_dim]")
        if not np.isfinite(x).all():
            raise DirectionError("the W samples contain NaN or infinite values")
        mean = x.mean(axis=0)
        x = x - mean
        cov = (x.T @ x) / (x.shape[0] - 1)
        return cls(mean, (cov + cov.T) / 2, int(x.shape[0]))

    @property
    def w_dim(self) -> int:
        return self.mean.shape[0]

    def std_along(self, vector: np.ndarray, layers: tuple[int, int] | None = None) -> float:
        """W standard deviation along ``vector``: ``sqrt(v^T C v / v^T v)`` for ``[w_dim]``;
        for a per-layer ``[num_ws, w_dim]`` vector, the root mean square of that over the
        non-zero rows inside ``layers`` (all rows when None)."""
        v = np.asarray(vector, dtype=np.float64)
        rows = v[None] if v.ndim == 1 else v[slice(*layers) if layers else slice(None)]
        if rows.shape[-1] != self.w_dim:
            raise DirectionError(f"a vector of length {rows.shape[-1]} does not live in this W "
                                 f"(w_dim {self.w_dim})")
        norms = (rows ** 2).sum(axis=1)
        rows, norms = rows[norms > 0], norms[norms > 0]
        if len(rows) == 0:
            raise DirectionError("a zero vector has no standard deviation along it")
        var = np.einsum("ri,ij,rj->r", rows, self.cov, rows) / norms
        return float(np.sqrt(max(var.mean(), 0.0)))


def pca_basis(stats: WStats) -> tuple[np.ndarray, np.ndarray]:
    """All principal axes ``[w_dim, w_dim]`` (rows, unit, sign-fixed) and their variances,
    by decreasing variance."""
    variances, vectors = np.linalg.eigh(stats.cov)
    order = np.argsort(variances)[::-1]
    return fix_signs(vectors[:, order].T), np.clip(variances[order], 0.0, None)


def sefa_basis(affine_weights: list[np.ndarray], layers: tuple[int, int],
               count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form factorization over ws rows ``[start, stop)``.

    affine_weights: one ``[channels_r, w_dim]`` matrix per ws row (the affines that read
    that row, stacked; see :func:`facestudio.render.discovery.style_affine_weights`).
    Returns the top ``count`` (all when None) eigenvectors of ``A^T A`` as unit rows
    ``[count, w_dim]`` and their eigenvalues, decreasing.
    """
    start, stop = layers
    if not 0 <= start < stop <= len(affine_weights):
        raise DirectionError(f"layers {layers} are outside the model's 0-{len(affine_weights) - 1}")
    a = np.concatenate([np.asarray(w, dtype=np.float64) for w in affine_weights[start:stop]], axis=0)
    if a.size == 0:
        raise DirectionError(f"no style affine reads ws rows {start}-{stop - 1}")
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    a = a / np.where(norms > 0, norms, 1.0)
    values, vectors = np.linalg.eigh(a.T @ a)
    order = np.argsort(values)[::-1][:count]
    return fix_signs(vectors[:, order].T), np.clip(values[order], 0.0, None)


@dataclass(frozen=True, eq=False)
class SefaBasis:
    """One group's factorization: rows ``layers`` (half-open), unit ``vectors [k, w_dim]``,
    ``eigenvalues [k]`` decreasing."""

    layers: tuple[int, int]
    vectors: np.ndarray
    eigenvalues: np.ndarray


@dataclass(frozen=True, eq=False)
class Discovery:
    """Everything discovery found for one model (what the on-disk cache holds).

    model_sha256: the model; num_ws, w_dim: its W+ shape; stats: W mean / covariance;
    pca_vectors ``[k, w_dim]`` and pca_variances ``[k]``: principal axes by variance;
    sefa: group name (``all``, ``coarse``, ``middle``, ``fine``) -> :class:`SefaBasis`;
    params: how it was made (sample count, seed, ...), to tell a stale cache.
    """

    model_sha256: str | None
    num_ws: int
    w_dim: int
    stats: WStats
    pca_vectors: np.ndarray
    pca_variances: np.ndarray
    sefa: dict[str, SefaBasis]
    params: dict = field(default_factory=dict)

    @classmethod
    def compute(cls, w_samples: np.ndarray, affine_weights: list[np.ndarray] | None, num_ws: int,
                model_sha256: str | None = None, keep: int = 64, params: dict | None = None) -> "Discovery":
        """Both methods from W samples ``[N, w_dim]`` and per-row affine weights (SeFa is
        skipped when ``affine_weights`` is None); ``keep`` axes are stored per basis."""
        stats = WStats.from_samples(w_samples)
        vectors, variances = pca_basis(stats)
        sefa = {}
        if affine_weights is not None:
            if len(affine_weights) != num_ws:
                raise DirectionError(f"expected affine weights for {num_ws} ws rows, got {len(affine_weights)}")
            for group, rows in layer_groups(num_ws).items():
                v, e = sefa_basis(affine_weights, rows, keep)
                sefa[group] = SefaBasis(rows, v, e)
        return cls(model_sha256, num_ws, stats.w_dim, stats, vectors[:keep], variances[:keep],
                   sefa, dict(params or {}))

    def methods(self) -> dict[str, str]:
        """The method keys this discovery can answer, with their labels."""
        keys = ["pca"] + [("sefa" if g == "all" else f"sefa-{g}") for g in GROUPS if g in self.sefa]
        return {k: METHODS[k] for k in keys}

    def directions(self, method: str = "pca", count: int = 12) -> list[Direction]:
        """``count`` directions of ``method`` (a key of :data:`METHODS`), strongest first,
        each with ``scale`` = the W standard deviation along it."""
        if method == "pca":
            total = float(np.trace(self.stats.cov)) or 1.0
            return [Direction(id=f"pca{i}", name=f"PC {i + 1}", vector=v.astype(np.float32),
                              layers=(0, self.num_ws), scale=float(np.sqrt(var)), source="pca",
                              model_sha256=self.model_sha256, meta={"variance_ratio": float(var) / total})
                    for i, (v, var) in enumerate(zip(self.pca_vectors[:count], self.pca_variances))]
        group = "all" if method == "sefa" else method.partition("-")[2]
        if method not in METHODS or group not in self.sefa:
            raise DirectionError(f"unknown direction method {method!r}; choose one of {', '.join(self.methods())}")
        basis = self.sefa[group]
        prefix, label = ("sefa", "SeFa") if group == "all" else (f"sefa-{group}", f"SeFa {group}")
        return [Direction(id=f"{prefix}{i}", name=f"{label} {i + 1}", vector=v.astype(np.float32),
                          layers=basis.layers, scale=self.stats.std_along(v), source="sefa",
                          model_sha256=self.model_sha256, meta={"eigenvalue": float(e), "group": group})
                for i, (v, e) in enumerate(zip(basis.vectors[:count], basis.eigenvalues))]

    def all_directions(self, count: int = 12) -> list[Direction]:
        """Every method's first ``count`` directions (ids never collide between methods)."""
        return [d for method in self.methods() for d in self.directions(method, count)]

    def with_std_scale(self, direction: Direction) -> Direction:
        """``direction`` with its ``scale`` set to the W standard deviation along it."""
        scale = self.stats.std_along(direction.vector, direction.layers)
        return Direction(id=direction.id, name=direction.name, vector=direction.vector,
                         layers=direction.layers, scale=scale if scale > 0 else 1.0,
                         source=direction.source, model_sha256=direction.model_sha256,
                         meta={**direction.meta, "scale": "W standard deviation"})
