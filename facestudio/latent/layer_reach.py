"""Where in the generator a discovered direction acts: the coarse, middle or fine layers.

A PCA direction (GANSpace) or a SeFa direction over all layers is a vector ``v`` in W, and the
studio would add it to every W+ row alike. But each row reaches the image through its style
affines (``s = A w + b``), and they read W very differently: a vector that rewrites the
coarse rows' styles (pose, face shape) may barely touch the fine rows' (colour), or the other
way round. Moving every row drags along whatever the direction does in the rows where it is
weak, which is how a "PC" that turns the head also recolours the skin (GANSpace's finding,
and why its edits are applied to a range of layers).

So each row ``l`` is given the share of its natural style variation that one standard
deviation along ``v`` carries::

    reach_l = |A_l v|^2 / trace(A_l C A_l^T)   (v scaled to one W standard deviation)

(``C`` the W covariance: the denominator is how much row ``l``'s styles vary over real
samples, so a wide or high-gain layer does not win by its size). A group's reach is the mean
over its rows, and the direction is restricted by default to the group where that is largest.
A SeFa direction factorised over one group already acts there and keeps its rows. The user
can still widen the range in the dock; recipes keep the rows they were made with.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from facestudio.latent.directions import Direction
from facestudio.latent.discovery import layer_groups

GROUP_NAMES = ("coarse", "middle", "fine")


class LayerReach:
    """Per-row style affines ``[channels_r, w_dim]`` and the W covariance of one model."""

    def __init__(self, affine_weights: list[np.ndarray], cov: np.ndarray):
        self.weights = [np.asarray(a, np.float64) for a in affine_weights]
        cov = np.asarray(cov, np.float64)
        # the styles' natural variance per row (rows no affine reads, as StyleGAN3's first: 0)
        self.natural = np.array([float(np.einsum("ci,ij,cj->", a, cov, a)) if a.size else 0.0
                                 for a in self.weights])
        self.cov = cov

    @property
    def num_ws(self) -> int:
        return len(self.weights)

    def row_reach(self, vector: np.ndarray) -> np.ndarray:
        """``[num_ws]``: the share of each row's style variance one W standard deviation
        along ``vector`` (``[w_dim]``) moves."""
        v = np.asarray(vector, np.float64)
        v = v / max(float(np.sqrt(v @ self.cov @ v)), 1e-12)  # one standard deviation along it
        moved = np.array([float(np.sum((a @ v) ** 2)) if a.size else 0.0 for a in self.weights])
        return np.where(self.natural > 0, moved / np.where(self.natural > 0, self.natural, 1.0), 0.0)

    def group_shares(self, vector: np.ndarray) -> dict[str, float]:
        """Each group's mean row reach, as shares summing to 1."""
        reach = self.row_reach(vector)
        groups = layer_groups(self.num_ws)
        means = np.array([reach[slice(*groups[g])].mean() for g in GROUP_NAMES])
        total = float(means.sum()) or 1.0
        return {g: float(m) / total for g, m in zip(GROUP_NAMES, means)}

    def restrict(self, d: Direction) -> Direction:
        """``d`` with its default rows set to the group where it acts most (kept as it is when
        it already covers one group only, or is not one W vector)."""
        if d.vector.ndim != 1 or tuple(d.layers) != (0, self.num_ws):
            return d
        shares = self.group_shares(d.vector)
        group = max(shares, key=shares.get)
        return replace(d, layers=layer_groups(self.num_ws)[group],
                       meta={**d.meta, "acts_on": group, "layer_shares": {k: round(v, 3) for k, v in shares.items()}})
