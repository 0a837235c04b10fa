"""Recipes to pixels: W+ composition, full renders, cheap previews and batches.

:class:`Renderer` turns an immutable :class:`~facestudio.latent.recipe.Recipe` into ws and
images for one loaded :class:`~facestudio.generator.model.Generator`:

* ``ws_for(recipe)`` -> ws ``[num_ws, w_dim]`` float32: the seed's z (reference convention,
  ``RandomState(seed).randn(1, z_dim)``) mapped with the recipe's psi / cutoff / class, the
  style-mixing rows taken from the mix seed (mapped the same way, with the donor's own
  edits when the mix carries any), then the edits.
* ``render(recipe, level)`` -> uint8 ``[R, R, 3]``. Level 0 is the exact full render (equal
  to ``Generator.synthesize`` of ``ws_for``). Level ``k > 0`` is a preview: synthesis stops
  after the block at resolution ``R / 2**k`` and its running RGB image is upscaled
  bilinearly to ``R x R``. Only the ``skip`` architecture has a running image at every
  block, so for ``resnet`` and ``orig`` previews fall back to full renders
  (:meth:`Renderer.preview_levels_supported` says which; :meth:`Renderer.effective_level`
  says what level a request really gets).
* Precision (:mod:`facestudio.render.precision`): level 0 is always the exact float32
  render; previews use :attr:`Renderer.preview_precision`, bf16 with channels_last features
  for large models on CPUs with bf16 units unless ``$FACESTUDIO_PREVIEW_PRECISION`` says
  otherwise. A preview
  is computed in that precision even when it has to run to the last block (a fine-layer edit).
* ``render_ws`` / ``render_batch`` render several faces per network call, in chunks of
  :attr:`Renderer.batch_size` (sized by the model's activations, see :func:`batch_size_for`).
* Partial re-render: StyleGAN2 renders go block by block through a
  :class:`~facestudio.render.prefix_cache.PrefixCache`, so an edit of the later ws rows
  restarts from the first block that reads them (bit-identical to a full render). Cached
  activations are tagged by precision: a bf16 preview never feeds an exact render.

The renderer holds no Qt and no threads; :class:`~facestudio.render.worker.RenderWorker`
runs it on a background thread. Its methods may be called from any one thread at a time;
the small ws cache is guarded by a lock and ``set_directions`` swaps a whole dict, so the
GUI thread may replace the directions while the worker renders.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.errors import FacestudioError
from facestudio.generator.model import Generator, images_to_uint8
from facestudio.generator.networks.sg3_config import layer_specs
from facestudio.latent.directions import Direction, DirectionError, apply_edits
from facestudio.latent.recipe import Recipe, check_layer_range
from facestudio.latent.seeds import z_from_seed
from facestudio.render.precision import BF16, FP32, Precision, preview_precision
from facestudio.render.prefix_cache import (PrefixCache, cache_bytes_for, exact_precision, first_changed_block,
                                           run_blocks)

BASE_WS_CACHE_SIZE = 256
PREVIEW_MIN_RESOLUTION = 4
BATCH_ACTIVATION_BYTES = 4 << 20  # per network call: about what a CPU's caches keep close
MAX_BATCH = 16


def batch_size_for(generator: Generator) -> int:
    """Faces per network call for grids and thumbnails.

    Batching pays while a block's activations for the whole batch stay in the CPU's caches,
    and costs once they do not: measured on a 2-core CPU, the bundled 64 px model (largest
    activation 0.5 MB per face) renders about 75 / 140 / 160 img/s at batch 1 / 4 / 16, while a
    256 px model with 512 channels (16 MB per face) renders 5.2 / 4.2 / 4.0 img/s.
    So: as many faces as fit in :data:`BATCH_ACTIVATION_BYTES` of float32 features, at least
    one, at most :data:`MAX_BATCH`.
    """
    return int(min(MAX_BATCH, max(1, BATCH_ACTIVATION_BYTES // largest_feature_bytes(generator))))


def largest_feature_bytes(generator: Generator) -> int:
    """Bytes of the model's largest float32 feature map for one face."""
    config = generator.config
    if config.family == "stylegan3":
        return 4 * max(spec.out_size ** 2 * spec.out_channels for spec in layer_specs(config))
    return 4 * max(res * res * ch for res, ch in config.channels.items())


class ModelMismatchError(FacestudioError, ValueError):
    """A recipe made with another model than the one loaded; the message is one sentence."""


class Renderer:
    """Renders recipes with one generator and a set of latent directions.

    generator: the loaded model (its ``sha256`` must match every recipe's ``model_sha256``);
    directions: direction id -> :class:`Direction`, used by the recipes' edits (may be
    replaced later with :meth:`set_directions`);
    cache_size: how many mapped base ws (per seed, psi, cutoff, class) to keep;
    preview_precision: ``auto`` / ``fp32`` / ``bf16`` for previews (None:
    ``$FACESTUDIO_PREVIEW_PRECISION``, default auto);
    batch_size: faces per network call in batches (None: :func:`batch_size_for` the model).
    """

    def __init__(self, generator: Generator, directions: dict[str, Direction] | None = None,
                 cache_size: int = BASE_WS_CACHE_SIZE, preview_precision: str | None = None,
                 batch_size: int | None = None):
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self.generator = generator
        self.batch_size = int(batch_size) if batch_size is not None else batch_size_for(generator)
        self._device = next(generator.network.parameters()).device
        self.preview_precision = FP32
        self.set_preview_precision(preview_precision)
        self._directions: dict[str, Direction] = {}
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_size = max(1, int(cache_size))
        self._cache_lock = threading.Lock()
        synthesis = generator.network.synthesis
        self.prefix_cache = PrefixCache(cache_bytes_for(synthesis)) if hasattr(synthesis, "blocks") else None
        self._last_ws: np.ndarray | None = None  # what the previous render showed
        self.last_blocks_run: tuple[int, int] | None = None  # (first, last) block the last render computed
        self.set_directions(directions or {})

    # ------------------------------------------------------------------ directions

    @property
    def directions(self) -> dict[str, Direction]:
        """A copy of the directions recipes may use, by id."""
        return dict(self._directions)

    def set_directions(self, directions: dict[str, Direction]) -> None:
        """Replace the directions (all at once). Raises :class:`DirectionError` with one
        sentence for a direction of the wrong shape or one made for another model."""
        g = self.generator
        for d in directions.values():
            d.check_fits(g.num_ws, g.w_dim)
            if d.model_sha256 is not None and d.model_sha256 != g.sha256:
                raise DirectionError(f"direction {d.name!r} was made for another model "
                                     f"(sha256 {d.model_sha256[:12]}), not {g.name}")
        self._directions = dict(directions)

    # ------------------------------------------------------------------ ws

    def check_recipe(self, recipe: Recipe) -> None:
        """Raise :class:`ModelMismatchError` when ``recipe`` was made with another model."""
        g = self.generator
        if recipe.model_sha256 != g.sha256:
            made_with = recipe.model_name or f"sha256 {recipe.model_sha256[:12]}"
            raise ModelMismatchError(f"this face was made with the model {made_with}, "
                                     f"not with the loaded model {g.name} (sha256 {g.sha256[:12]})")

    def ws_for(self, recipe: Recipe) -> np.ndarray:
        """The recipe's W+ latent, a new float32 array ``[num_ws, w_dim]``.

        Order: map the seed (psi / cutoff / class), replace the mix rows ``[start, stop)``
        with the mix seed's ws mapped the same way, then add the edits in order.
        """
        self.check_recipe(recipe)
        num_ws = self.generator.num_ws
        ws = np.array(self._base_ws(recipe.seed, recipe), dtype=np.float32, copy=True)
        if recipe.mix is not None:
            start, stop = check_layer_range(recipe.mix.layers, num_ws, "the style mix")
            donor = self._base_ws(recipe.mix.seed, recipe)
            if recipe.mix.edits:
                donor = self._edited(donor, recipe.mix.edits)
            ws[start:stop] = donor[start:stop]
        if recipe.edits:
            ws = self._edited(ws, recipe.edits)
        return ws

    def _edited(self, ws: np.ndarray, edits) -> np.ndarray:
        """``ws`` ``[num_ws, w_dim]`` with ``edits`` applied in order (validated first)."""
        num_ws = self.generator.num_ws
        for edit in edits:
            check_layer_range(edit.layers, num_ws, f"the edit along {edit.direction_id!r}")
            if not np.isfinite(edit.amount):
                raise ValueError(f"the edit along {edit.direction_id!r} has a non-finite amount")
        return apply_edits(ws, [e.as_tuple() for e in edits], self._directions)

    def ws_batch_for(self, recipes: Sequence[Recipe]) -> np.ndarray:
        """``ws_for`` of each recipe stacked into ``[N, num_ws, w_dim]``."""
        g = self.generator
        if not recipes:
            return np.zeros((0, g.num_ws, g.w_dim), np.float32)
        return np.stack([self.ws_for(r) for r in recipes])

    def _base_ws(self, seed: int, recipe: Recipe) -> np.ndarray:
        """Read-only ws ``[num_ws, w_dim]`` of ``seed`` mapped with the recipe's psi, cutoff
        and class; kept in a bounded LRU cache."""
        key = (int(seed), float(recipe.psi), recipe.cutoff, recipe.class_idx)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        g = self.generator
        ws = g.map(z_from_seed(seed, g.z_dim), c=recipe.class_idx, psi=recipe.psi, cutoff=recipe.cutoff)[0]
        ws = np.ascontiguousarray(ws, dtype=np.float32)
        ws.setflags(write=False)
        with self._cache_lock:
            self._cache[key] = ws
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return ws

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    # ------------------------------------------------------------------ levels

    def preview_levels_supported(self) -> bool:
        """True when every synthesis block adds to a running RGB image (``skip``), so the
        synthesis can stop early; False for ``resnet`` / ``orig`` and for StyleGAN3, which
        has no early output (previews = full renders)."""
        synthesis = self.generator.network.synthesis
        if not hasattr(synthesis, "blocks"):
            return False
        return all(block.num_torgb > 0 for block in synthesis.blocks())

    @property
    def max_level(self) -> int:
        """Deepest preview level: the one that stops at the 4x4 block (0 when unsupported)."""
        if not self.preview_levels_supported():
            return 0
        return int(np.log2(self.generator.resolution // PREVIEW_MIN_RESOLUTION))

    def effective_level(self, level: int) -> int:
        """The level a request for ``level`` really renders at: clamped to
        ``[0, max_level]``, and 0 when previews are not supported."""
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level < 0:
            raise ValueError(f"a render level must be a whole number >= 0, got {level!r}")
        return min(int(level), self.max_level)

    def level_resolution(self, level: int) -> int:
        """The side (pixels) at which a render at ``level`` is computed before upscaling."""
        return self.generator.resolution >> self.effective_level(level)

    # ------------------------------------------------------------------ precision

    @property
    def exact_precision(self) -> Precision:
        """Float32, in the feature layout ``Generator.synthesize`` uses (NHWC for large models
        on CPUs with oneDNN, see ``inference_channels_last``), so that level 0 is exactly
        ``Generator.synthesize``."""
        return exact_precision(self.generator.network.synthesis, self._device)

    def set_preview_precision(self, setting: str | None = None) -> Precision:
        """Choose the precision of previews: ``auto`` (bf16 for a large model on a CPU with
        bf16 units, see :func:`~facestudio.render.precision.preview_precision`), ``fp32`` or ``bf16``; None reads ``$FACESTUDIO_PREVIEW_PRECISION``. Returns the
        precision chosen. Raises ValueError for an unknown setting. Exact renders are not
        affected, and the prefix cache keeps the two apart."""
        self.preview_precision = preview_precision(setting, self._device,
                                                   largest_feature_bytes(self.generator))
        return self.preview_precision

    def precision_for(self, level: int, precision: str | None = None) -> Precision:
        """What a render at (effective) ``level`` computes in: ``precision`` when given
        (``fp32`` = exact, ``bf16``), else exact at level 0 and the preview precision above."""
        if precision is None:
            precision = self.preview_precision.name if level > 0 else "fp32"
        if precision == "fp32":
            return self.exact_precision
        if precision == "bf16":
            return BF16
        raise ValueError(f"a render precision must be fp32 or bf16, got {precision!r}")

    # ------------------------------------------------------------------ rendering

    def render(self, recipe: Recipe, level: int = 0) -> np.ndarray:
        """One face, uint8 C-contiguous ``[R, R, 3]`` at full size (see the module doc for levels)."""
        return self.render_ws(self.ws_for(recipe)[None], recipe.noise, level,
                              transform=recipe.transform)[0]

    def render_ws(self, ws: np.ndarray, noise: str = "const", level: int = 0,
                  transform: tuple[float, float, float] | None = None,
                  precision: str | None = None) -> np.ndarray:
        """ws ``[N, num_ws, w_dim]`` -> uint8 C-contiguous ``[N, R, R, 3]``.

        Level 0 is exactly ``Generator.synthesize(ws, noise, transform)``; level ``k > 0``
        runs the synthesis up to resolution ``R / 2**k`` and upscales bilinearly (skip only),
        in the preview precision. ``precision`` (``fp32`` / ``bf16``) overrides the choice
        (the bench renders bf16 at full size this way). ``transform`` (StyleGAN3 only;
        ValueError otherwise) always renders exactly at level 0.
        """
        level = self.effective_level(level)
        g = self.generator
        compute = self.precision_for(level, precision)
        if transform is not None or self.prefix_cache is None:  # StyleGAN3: no blocks to reuse
            return g.synthesize(ws, noise, transform)
        ws_t = g.ws_tensor(ws, noise)
        synthesis = g.network.synthesis
        stop = None
        if level:  # the block at R / 2**level; its running image already includes its ToRGB
            stop = self._preview_stop(synthesis, ws, synthesis.block_resolutions.index(g.resolution >> level))
            if stop == len(synthesis.block_resolutions) - 1:
                stop, level = None, 0
        self._last_ws = np.array(ws, dtype=np.float32, copy=True)
        with torch.inference_mode():
            _, img, first = run_blocks(synthesis, ws_t, noise, self.prefix_cache, stop, compute,
                                       exact=self.exact_precision)
            self.last_blocks_run = (first, len(synthesis.block_resolutions) - 1 if stop is None else stop)
            if level:
                size = g.resolution
                img = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False)
            return images_to_uint8(img)

    def _preview_stop(self, synthesis, ws: np.ndarray, stop: int) -> int:
        """A preview must reach the first block that reads a changed ws row, or dragging a
        fine-layer slider would show no change until it settles. Those blocks are cheap:
        the unchanged ones before them come from the prefix cache."""
        last = self._last_ws
        if last is None or last.shape != np.shape(ws):
            return stop
        changed = np.flatnonzero(np.any(np.asarray(ws) != last, axis=(0, 2)))
        if changed.size == 0:
            return stop
        return max(stop, first_changed_block(synthesis, int(changed[0])))

    def clear_prefix_cache(self) -> None:
        """Forget cached block outputs (benchmarks use it to time renders from scratch)."""
        if self.prefix_cache is not None:
            self.prefix_cache.clear()

    def render_batch(self, recipes: Sequence[Recipe], level: int = 0,
                     max_batch: int | None = None) -> np.ndarray:
        """Several faces, uint8 ``[N, R, R, 3]``, at most ``max_batch`` (default
        :attr:`batch_size`) per network call.

        All ws are composed first, so a bad recipe raises before anything is rendered.
        Consecutive recipes with the same noise mode and transform share a network call.
        """
        max_batch = self._max_batch(max_batch)
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

    def _max_batch(self, max_batch: int | None) -> int:
        max_batch = self.batch_size if max_batch is None else max_batch
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        return max_batch

    def render_ws_batch(self, ws: np.ndarray, noise: str = "const", level: int = 0,
                        transform: tuple[float, float, float] | None = None, max_batch: int | None = None,
                        out: np.ndarray | None = None, progress=None) -> np.ndarray:
        """:meth:`render_ws` of ws ``[N, num_ws, w_dim]`` at most ``max_batch`` (default
        :attr:`batch_size`) per network call, so memory stays bounded however many faces;
        the images go into ``out`` (uint8 ``[N, R, R, 3]``, new when None), which is returned.
        ``progress(n)`` is called with the number of faces each call rendered.
        For latents no recipe names: a style mix over any set of layers, or seeds mapped in
        one call as the reference scripts do."""
        max_batch = self._max_batch(max_batch)
        size = self.generator.resolution
        if out is None:
            out = np.empty((len(ws), size, size, 3), np.uint8)
        for start in range(0, len(ws), max_batch):
            out[start:start + max_batch] = self.render_ws(ws[start:start + max_batch], noise, level,
                                                          transform=transform)
            if progress is not None:
                progress(len(ws[start:start + max_batch]))
        return out



def open_renderer(path=None, progress=None, batch_size: int | None = None) -> Renderer:
    """A :class:`Renderer` of the model at ``path`` (the bundled model when None), for code
    that may not import the generator package itself (the stock library's workers).
    Raises :class:`~facestudio.generator.ModelLoadError` with one sentence."""
    from facestudio.generator.model import load_generator
    return Renderer(load_generator(path, progress=progress), batch_size=batch_size)
