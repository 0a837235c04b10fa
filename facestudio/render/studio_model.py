"""What the studio window opens: a loaded generator, its renderer and its directions.

This is the seam between ``ui`` (which must not import torch or the generator) and the
engine: the window asks for a :class:`StudioModel` and gets plain facts plus a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from facestudio.generator import ModelLoadError, load_generator
from facestudio.latent.directions import Direction, DirectionError
from facestudio.latent.discovery import Discovery, layer_groups
from facestudio.latent.layer_reach import LayerReach
from facestudio.render.discovery import discover, style_affine_weights
from facestudio.render.model_directions import model_directions, shown
from facestudio.render.renderer import Renderer

__all__ = ["ModelLoadError", "StudioModel", "open_studio_model", "default_directions"]

SLIDER_COUNT = 12


def default_directions(generator, count: int = SLIDER_COUNT) -> list[Direction]:
    """PCA directions in W from mapping-network samples (GANSpace), fixed seed: the same
    model always gives the same sliders (cached per model, see render.discovery)."""
    return discover(generator).directions("pca", count)


@dataclass
class StudioModel:
    renderer: Renderer
    info: dict[str, Any]
    directions: list[Direction]
    card_meta: dict[str, str] = field(default_factory=dict)  # model card front matter (licence, attribution)
    discovery: Discovery | None = None  # PCA / SeFa bases and W statistics (cached per model)
    named: list[Direction] = field(default_factory=list)  # shipped beside the weights, retired ones too
    reach: LayerReach | None = None  # where discovered directions act (None: not a StyleGAN the affines are read of)

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

    def direction_methods(self) -> dict[str, str]:
        """Discovery methods for a picker: key -> label (``pca``, ``sefa``, ``sefa-coarse`` ...)."""
        return self.discovery.methods() if self.discovery else {"pca": "PCA (GANSpace)"}

    def directions_for(self, method: str = "pca", count: int = SLIDER_COUNT) -> list[Direction]:
        """The named directions (not the retired ones), then the sliders of one discovery
        method, strongest first, each by default on the layers where it acts
        (:mod:`facestudio.latent.layer_reach`)."""
        if self.discovery is None:
            return list(self.directions)
        found = self.discovery.directions(method, count)
        if self.reach is not None:
            found = [self.reach.restrict(d) for d in found]
        return shown(self.named) + found

    def discovered_directions(self, count: int = SLIDER_COUNT) -> list[Direction]:
        """Every method's sliders: what recipes may refer to whichever method is shown."""
        if self.discovery is None:
            return list(self.directions)
        return self.named + self.discovery.all_directions(count)


def open_studio_model(path: str | Path | None = None,
                      progress: Callable[[int, int], None] | None = None) -> StudioModel:
    """Load a model (the bundled one when ``path`` is None). Raises ModelLoadError."""
    generator = load_generator(path, progress=progress)
    found = discover(generator)
    named = model_directions(generator)
    directions = shown(named) + found.directions("pca", SLIDER_COUNT)
    renderer = Renderer(generator, {d.id: d for d in named + found.all_directions(SLIDER_COUNT)})
    card_meta = dict(generator.card.meta) if generator.card else {}
    return StudioModel(renderer, generator.describe(), directions, card_meta, discovery=found, named=named,
                       reach=layer_reach(generator, found))


def layer_reach(generator, found: Discovery) -> LayerReach | None:
    """Where each discovered direction of ``generator`` acts, from its style affines (None for
    a network whose affines cannot be read)."""
    try:
        weights = style_affine_weights(generator)
    except DirectionError:
        return None
    return LayerReach(weights, found.stats.cov) if len(weights) == generator.num_ws else None
