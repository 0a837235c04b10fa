"""Recipes to pixels: the two halves of rendering, put together.

:class:`Renderer` is a :class:`~facestudio.render.ws_mapping.WsMapping` (recipe -> ws: the
mapping network, its cache of mapped seeds, style mixing, the edits along the directions it
was handed) and a :class:`~facestudio.render.synthesis.Synthesis` (ws -> pixels: preview
levels, precision, the prefix cache, batches) for one loaded generator; ``renderer.mapping``
and ``renderer.synthesis`` are the halves, and the renderer answers for both:

* ``ws_for(recipe)`` -> ws ``[num_ws, w_dim]`` float32 (see :mod:`~facestudio.render.ws_mapping`);
* ``render(recipe, level)`` -> uint8 ``[R, R, 3]``: ``render_ws`` of ``ws_for``; level 0 is
  exactly ``Generator.synthesize`` of ``ws_for``, level ``k > 0`` a preview (see
  :mod:`~facestudio.render.synthesis`);
* ``render_batch(recipes)``: all ws composed first, then rendered several faces per network
  call.

The renderer holds no Qt and no threads. In the studio the
:class:`~facestudio.render.worker.RenderWorker` owns it and is the only thread that calls
it: the GUI sends recipes and directions snapshots and gets frames and ws back as results.
The command line, the library's workers and the API call it directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from facestudio.generator.model import Generator
from facestudio.latent.directions import Direction
from facestudio.latent.recipe import Recipe
from facestudio.render.synthesis import Synthesis
from facestudio.render.ws_mapping import BASE_WS_CACHE_SIZE, WsMapping


class Renderer:
    """Renders recipes with one generator and a set of latent directions.

    generator: the loaded model; directions: direction id -> :class:`Direction`, used by the
    recipes' edits (replaced whole with :meth:`set_directions`); cache_size: how many mapped
    base ws to keep; preview_precision: ``auto`` / ``fp32`` / ``bf16`` for previews;
    batch_size: faces per network call in batches (None:
    :func:`~facestudio.render.synthesis.batch_size_for` the model).
    """

    def __init__(self, generator: Generator, directions: Mapping[str, Direction] | None = None,
                 cache_size: int = BASE_WS_CACHE_SIZE, preview_precision: str | None = None,
                 batch_size: int | None = None):
        self.generator = generator
        self.synthesis = Synthesis(generator, preview_precision, batch_size)
        self.mapping = WsMapping(generator, directions, cache_size)

    # --- recipe -> ws (the mapping half) ----------------------------------------------------
    directions = property(lambda self: self.mapping.directions)

    def set_directions(self, directions: Mapping[str, Direction]) -> None:
        self.mapping.set_directions(directions)

    def check_recipe(self, recipe: Recipe) -> None:
        self.mapping.check_recipe(recipe)

    def ws_for(self, recipe: Recipe) -> np.ndarray:
        return self.mapping.ws_for(recipe)

    def ws_batch_for(self, recipes: Sequence[Recipe]) -> np.ndarray:
        return self.mapping.ws_batch_for(recipes)

    def clear_cache(self) -> None:
        self.mapping.clear_cache()

    # --- ws -> pixels (the synthesis half) ------------------------------------------------------
    batch_size = property(lambda self: self.synthesis.batch_size)
    prefix_cache = property(lambda self: self.synthesis.prefix_cache)
    last_blocks_run = property(lambda self: self.synthesis.last_blocks_run)
    max_level = property(lambda self: self.synthesis.max_level)
    exact_precision = property(lambda self: self.synthesis.exact_precision)
    preview_precision = property(lambda self: self.synthesis.preview_precision)

    def preview_levels_supported(self) -> bool:
        return self.synthesis.preview_levels_supported()

    def effective_level(self, level: int) -> int:
        return self.synthesis.effective_level(level)

    def level_resolution(self, level: int) -> int:
        return self.synthesis.level_resolution(level)

    def set_preview_precision(self, setting: str | None = None):
        return self.synthesis.set_preview_precision(setting)

    def precision_for(self, level: int, precision: str | None = None):
        return self.synthesis.precision_for(level, precision)

    def render_ws(self, ws: np.ndarray, noise: str = "const", level: int = 0,
                  transform: tuple[float, float, float] | None = None,
                  precision: str | None = None) -> np.ndarray:
        return self.synthesis.render_ws(ws, noise, level, transform, precision)

    def render_ws_batch(self, ws: np.ndarray, noise: str = "const", level: int = 0,
                        transform: tuple[float, float, float] | None = None, max_batch: int | None = None,
                        out: np.ndarray | None = None, progress=None) -> np.ndarray:
        return self.synthesis.render_ws_batch(ws, noise, level, transform, max_batch, out, progress)

    def clear_prefix_cache(self) -> None:
        self.synthesis.clear_prefix_cache()

    # --- both --------------------------------------------------------------------------------
    def render(self, recipe: Recipe, level: int = 0) -> np.ndarray:
        """One face, uint8 C-contiguous ``[R, R, 3]`` at full size."""
        return self.render_ws(self.ws_for(recipe)[None], recipe.noise, level, transform=recipe.transform)[0]

    def render_batch(self, recipes: Sequence[Recipe], level: int = 0,
                     max_batch: int | None = None) -> np.ndarray:
        """Several faces, uint8 ``[N, R, R, 3]``, at most ``max_batch`` (default
        :attr:`batch_size`) per network call.

        All ws are composed first, so a bad recipe raises before anything is rendered.
        Consecutive recipes with the same noise mode and transform share a network call.
        """
        max_batch = self.synthesis.chunk_size(max_batch)
        ws = self.ws_batch_for(recipes)
        size = self.generator.resolution
        out = np.empty((len(recipes), size, size, 3), np.uint8)
        start = 0
        while start < len(recipes):
            noise, transform = recipes[start].noise, recipes[start].transform
            stop = start + 1
            while stop < len(recipes) and recipes[stop].noise == noise and recipes[stop].transform == transform:
                stop += 1
            self.render_ws_batch(ws[start:stop], noise, level, transform, max_batch, out=out[start:stop])
            start = stop
        return out


def open_renderer(path=None, progress=None, batch_size: int | None = None) -> Renderer:
    """A :class:`Renderer` of the model at ``path`` (the bundled model when None), for code
    that may not import the generator package itself (the stock library's workers).
    Raises :class:`~facestudio.generator.ModelLoadError` with one sentence."""
    from facestudio.generator.model import load_generator
    return Renderer(load_generator(path, progress=progress), batch_size=batch_size)
