"""What the studio window opens: a loaded generator, its renderer and its directions.

This is the seam between ``ui`` (which must not import torch or the generator) and the
engine: the window asks for a :class:`StudioModel` and gets plain facts plus a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from facestudio.generator import ModelLoadError, load_generator
from facestudio.latent.directions import Direction, pca_directions
from facestudio.render.renderer import Renderer

__all__ = ["ModelLoadError", "StudioModel", "open_studio_model", "default_directions"]

PCA_SAMPLES = 10_000
PCA_SEED = 0


def default_directions(generator, count: int = 12) -> list[Direction]:
    """PCA directions in W from mapping-network samples (GANSpace), fixed seed: the same
    model always gives the same sliders."""
    z = np.random.RandomState(PCA_SEED).randn(PCA_SAMPLES, generator.z_dim)
    c = (np.arange(PCA_SAMPLES) % generator.c_dim) if generator.c_dim else None
    ws = generator.map(z, c=c)[:, 0]
    return pca_directions(ws, count, generator.num_ws, model_sha256=generator.sha256)


@dataclass
class StudioModel:
    renderer: Renderer
    info: dict[str, Any]
    directions: list[Direction]

    sha256 = property(lambda self: self.info["sha256"])
    name = property(lambda self: self.info["name"])
    resolution = property(lambda self: self.info["resolution"])
    num_ws = property(lambda self: self.info["num_ws"])
    w_dim = property(lambda self: self.info["w_dim"])
    c_dim = property(lambda self: self.info["c_dim"])
    path = property(lambda self: self.info["path"])

    @property
    def preview_supported(self) -> bool:
        return self.info["architecture"] == "skip"

    def layer_groups(self) -> dict[str, tuple[int, int]]:
        """Coarse / middle / fine ws row ranges (half-open), as StyleGAN papers split them."""
        n = self.num_ws
        a, b = max(1, round(n * 2 / 7)), max(2, round(n * 4 / 7))
        return {"coarse": (0, a), "middle": (a, b), "fine": (b, n)}


def open_studio_model(path: str | Path | None = None,
                      progress: Callable[[int, int], None] | None = None) -> StudioModel:
    """Load a model (the bundled one when ``path`` is None). Raises ModelLoadError."""
    generator = load_generator(path, progress=progress)
    directions = default_directions(generator)
    renderer = Renderer(generator, {d.id: d for d in directions})
    return StudioModel(renderer, generator.describe(), directions)
