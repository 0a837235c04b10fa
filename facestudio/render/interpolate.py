"""Interpolation strips: N steps between two faces, linear in W, and their export.

* :func:`interpolation_ws` -> ws ``[steps, num_ws, w_dim]``: frame ``i`` is
  ``(1 - t) * ws_a + t * ws_b`` with ``t = i / (steps - 1)`` on the ws rows ``layers``
  (half-open; all rows by default) and ``ws_a`` elsewhere (the per-layer option: e.g. only
  the coarse rows travel from A to B). The ends are exactly A's and B's ws, so the first and
  last frames equal the two faces rendered alone.
* :func:`render_strip` renders them in batches; :func:`save_strip` writes one image (frames
  side by side), numbered frames in a folder, or an animated WebP / GIF (Pillow).

No Qt; the studio runs :func:`interpolation_ws` on its render worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from facestudio.latent.recipe import Recipe, check_layer_range
from facestudio.render.renderer import Renderer
from facestudio.sheets import tile

MAX_STEPS = 240
ANIMATED = (".webp", ".gif")
SHEETS = (".png", ".jpg", ".jpeg")


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
                 layers: tuple[int, int] | None = None, max_batch: int | None = None) -> np.ndarray:
    """The strip's frames, uint8 ``[steps, R, R, 3]`` (noise mode of ``a``), at most
    ``max_batch`` (default ``renderer.batch_size``) per network call."""
    ws = interpolation_ws(renderer, a, b, steps, layers)
    return renderer.render_ws_batch(ws, a.noise, max_batch=max(1, int(max_batch or renderer.batch_size)))


def strip_sheet(frames: np.ndarray, gap: int = 0) -> np.ndarray:
    """Frames ``[N, H, W, 3]`` side by side (``gap`` black pixels between): ``[H, N*W + ..., 3]``."""
    return tile(frames, len(frames), gap=gap)


def save_strip(frames: np.ndarray, path: str | Path, frame_ms: int = 80, loop: bool = True) -> list[Path]:
    """Write the strip; returns the files written.

    ``.png`` / ``.jpg``: one sheet; ``.webp`` / ``.gif``: an animation (forth and back when
    ``loop``); a path without a suffix: a folder of numbered PNG frames ``frame_0000.png``...
    Raises ValueError for another suffix, OSError when the place cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    images = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8), "RGB") for f in frames]
    if suffix in SHEETS:
        Image.fromarray(strip_sheet(np.asarray(frames))).save(path)
        return [path]
    if suffix in ANIMATED:
        sequence = images + images[-2:0:-1] if loop and len(images) > 2 else images
        options = {"lossless": True} if suffix == ".webp" else {}
        sequence[0].save(path, save_all=True, append_images=sequence[1:], duration=int(frame_ms),
                         loop=0, **options)
        return [path]
    if suffix:
        raise ValueError(f"cannot write a strip as {suffix}; use .png, .jpg, .webp, .gif or a folder")
    path.mkdir(parents=True, exist_ok=True)
    written = []
    for i, image in enumerate(images):
        written.append(path / f"frame_{i:04d}.png")
        image.save(written[-1])
    return written
