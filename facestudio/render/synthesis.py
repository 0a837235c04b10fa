"""ws to pixels: the synthesis half of rendering.

:class:`Synthesis` renders ws ``[N, num_ws, w_dim]`` with one loaded
:class:`~facestudio.generator.model.Generator` into uint8 images ``[N, R, R, 3]``:

* Level 0 is the exact full render (equal to ``Generator.synthesize``). Level ``k > 0`` is
  a preview: synthesis stops after the block at resolution ``R / 2**k`` and its running RGB
  image is upscaled bilinearly to ``R x R``. Only the ``skip`` architecture has a running
  image at every block, so for ``resnet`` and ``orig`` previews fall back to full renders
  (:meth:`Synthesis.preview_levels_supported` says which; :meth:`Synthesis.effective_level`
  says what level a request really gets).
* Precision (:mod:`facestudio.render.precision`): level 0 is always the exact float32
  render; previews use :attr:`Synthesis.preview_precision`, bf16 with channels_last
  features for large models on CPUs with bf16 units unless
  ``$FACESTUDIO_PREVIEW_PRECISION`` says otherwise. A preview is computed in that precision
  even when it has to run to the last block (a fine-layer edit).
* ``render_ws_batch`` renders many faces in chunks of :attr:`Synthesis.batch_size` (sized
  by the model's activations, see :func:`batch_size_for`).
* Partial re-render: StyleGAN2 renders go block by block through a
  :class:`~facestudio.render.prefix_cache.PrefixCache`, so an edit of the later ws rows
  restarts from the first block that reads them (bit-identical to a full render). Cached
  activations are tagged by precision: a bf16 preview never feeds an exact render.

It holds no Qt and no threads and remembers the last ws it rendered, so one thread at a
time renders with it: in the studio, the render worker.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.generator.model import Generator, images_to_uint8
from facestudio.generator.networks.sg3_config import layer_specs
from facestudio.render.precision import BF16, FP32, Precision, preview_precision
from facestudio.render.prefix_cache import (PrefixCache, cache_bytes_for, exact_precision, first_changed_block,
                                           run_blocks)

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


class Synthesis:
    """ws -> pixels for one generator.

    preview_precision: ``auto`` / ``fp32`` / ``bf16`` for previews (None:
    ``$FACESTUDIO_PREVIEW_PRECISION``, default auto); batch_size: faces per network call in
    batches (None: :func:`batch_size_for` the model).
    """

    def __init__(self, generator: Generator, preview_precision: str | None = None, batch_size: int | None = None):
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size!r}")
        self.generator = generator
        self.batch_size = int(batch_size) if batch_size is not None else batch_size_for(generator)
        self._device = next(generator.network.parameters()).device
        self.preview_precision = FP32
        self.set_preview_precision(preview_precision)
        synthesis = generator.network.synthesis
        self.prefix_cache = PrefixCache(cache_bytes_for(synthesis)) if hasattr(synthesis, "blocks") else None
        self._last_ws: np.ndarray | None = None  # what the previous render showed
        self.last_blocks_run: tuple[int, int] | None = None  # (first, last) block the last render computed

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

    def chunk_size(self, max_batch: int | None) -> int:
        """Faces per network call: ``max_batch``, or :attr:`batch_size` when None."""
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
        max_batch = self.chunk_size(max_batch)
        size = self.generator.resolution
        if out is None:
            out = np.empty((len(ws), size, size, 3), np.uint8)
        for start in range(0, len(ws), max_batch):
            out[start:start + max_batch] = self.render_ws(ws[start:start + max_batch], noise, level,
                                                          transform=transform)
            if progress is not None:
                progress(len(ws[start:start + max_batch]))
        return out
