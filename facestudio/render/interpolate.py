"""Interpolation strips: N steps between two faces, linear in W.

* :func:`interpolation_ws` -> ws ``[steps, num_ws, w_dim]``: frame ``i`` is
  ``(1 - t) * ws_a + t * ws_b`` with ``t = i / (steps - 1)`` on the ws rows ``layers``
  (half-open; all rows by default) and ``ws_a`` elsewhere (the per-layer option: e.g. only
  the coarse rows travel from A to B). The ends are exactly A's and B's ws, so the first and
  last frames equal the two faces rendered alone.
* :func:`render_strip` renders them in batches; :func:`strip_sheet` puts them side by side.

Writing a strip (a sheet, an animation, numbered frames) is the provenance export's
(:mod:`facestudio.provenance.sequence`), so every file carries the stamp. No Qt; the studio
runs :func:`interpolation_ws` on its render worker.
"""

from __future__ import annotations

import numpy as np

from facestudio.latent.recipe import Recipe, check_layer_range
from facestudio.render.renderer import Renderer
from facestudio.sheets import tile

MAX_STEPS = 240


def interpolation_ws(renderer: Renderer, a: Recipe, b: Recipe, steps: int,
                     layers: tuple[int, int] | None = None) -> np.ndarray:
    """ws ``[steps, num_ws, w_dim]`` float32 from face ``a`` to face ``b`` (see module doc)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 2 <= steps <= MAX_STEPS:
        raise ValueError(f"an interpolation strip needs 2 to {MAX_STEPS} steps, got {steps!r}")
    ws_a, ws_b = renderer.ws_for(a), renderer.ws_for(b)
    start, stop = check_layer_range(layers or (0, ws_a.shape[0]), ws_a.shape[0], "the interpolation")
    t = np.linspace(0.0, 1.0, int(steps), dtype=np.float64)[:, None, None]
    out = np.repeat(ws_a[None], int(steps), axis=0)
    rows = slice(start, stop)
    out[:, rows] = ((1.0 - t) * ws_a[None, rows] + t * ws_b[None, rows]).astype(np.float32)
    out[-1, rows] = ws_b[rows]  # exact end point
    return np.ascontiguousarray(out, dtype=np.float32)


def render_strip(renderer: Renderer, a: Recipe, b: Recipe, steps: int,
                 layers: tuple[int, int] | None = None, max_batch: int | None = None, progress=None) -> np.ndarray:
    """The strip's frames, uint8 ``[steps, R, R, 3]`` (noise mode of ``a``), at most
    ``max_batch`` (default ``renderer.batch_size``) per network call; ``progress(n)`` after each."""
    ws = interpolation_ws(renderer, a, b, steps, layers)
    return renderer.render_ws_batch(ws, a.noise, max_batch=max(1, int(max_batch or renderer.batch_size)),
                                    progress=progress)


def strip_sheet(frames: np.ndarray, gap: int = 0) -> np.ndarray:
    """Frames ``[N, H, W, 3]`` side by side (``gap`` black pixels between): ``[H, N*W + ..., 3]``."""
    return tile(frames, len(frames), gap=gap)
