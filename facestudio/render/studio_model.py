"""What the studio window opens: a loaded generator, its renderer and its directions.

This is the seam between ``ui`` (which must not import torch or the generator) and the
engine: the window asks for a :class:`StudioModel` and gets plain facts plus a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from facestudio.generator import ModelLoadError, load_generator
from facestudio.latent.directions import DirectionError
from facestudio.latent.discovery import Discovery, layer_groups
from facestudio.latent.layer_reach import LayerReach
from facestudio.latent.model_direction_set import ModelDirections
from facestudio.render.discovery import discover, style_affine_weights
from facestudio.render.model_directions import model_directions
from facestudio.render.renderer import Renderer

__all__ = ["ModelLoadError", "StudioModel", "open_studio_model"]


@dataclass
class StudioModel:
    """renderer: handed to the render worker, which alone uses it from then on; info: the
    generator's facts (``Generator.describe``); directions: what the model brings (named
    sliders and every discovery method's, fixed at open; the studio asks its
    :class:`~facestudio.session.direction_catalogue.DirectionCatalogue`, which adds the
    user's own); discovery: the PCA / SeFa bases and W statistics it came from."""

    renderer: Renderer
    info: dict[str, Any]
    directions: ModelDirections
    card_meta: dict[str, str] = field(default_factory=dict)  # model card front matter (licence, attribution)
    discovery: Discovery | None = None  # PCA / SeFa bases and W statistics (cached per model)

    sha256 = property(lambda self: self.info["sha256"])
    name = property(lambda self: self.info["name"])
    resolution = property(lambda self: self.info["resolution"])
    num_ws = property(lambda self: self.info["num_ws"])
    w_dim = property(lambda self: self.info["w_dim"])
    c_dim = property(lambda self: self.info["c_dim"])
    path = property(lambda self: self.info["path"])

    @property
    def supports_transform(self) -> bool:
        """Whether faces can be shifted / rotated through the input (StyleGAN3 models)."""
        return self.info.get("family") == "stylegan3"

    @property
    def preview_supported(self) -> bool:
        return self.info["architecture"] == "skip"

    def layer_groups(self) -> dict[str, tuple[int, int]]:
        """Coarse / middle / fine ws row ranges (half-open), as StyleGAN papers split them."""
        groups = layer_groups(self.num_ws)
        return {k: groups[k] for k in ("coarse", "middle", "fine")}


def open_studio_model(path: str | Path | None = None,
                      progress: Callable[[int, int], None] | None = None) -> StudioModel:
    """Load a model (the bundled one when ``path`` is None) and its directions (discovering
    them when they are not cached: this samples the mapping network, so the studio calls it
    off the GUI thread). Raises ModelLoadError."""
    generator = load_generator(path, progress=progress)
    found = discover(generator)
    brought = ModelDirections.found(generator.sha256, generator.num_ws, generator.w_dim,
                                    model_directions(generator), found, layer_reach(generator, found))
    renderer = Renderer(generator, {d.id: d for d in brought.every()})
    card_meta = dict(generator.card.meta) if generator.card else {}
    return StudioModel(renderer, generator.describe(), brought, card_meta, discovery=found)


def layer_reach(generator, found: Discovery) -> LayerReach | None:
    """Where each discovered direction of ``generator`` acts, from its style affines (None for
    a network whose affines cannot be read)."""
    try:
        weights = style_affine_weights(generator)
    except DirectionError:
        return None
    return LayerReach(weights, found.stats.cov) if len(weights) == generator.num_ws else None
