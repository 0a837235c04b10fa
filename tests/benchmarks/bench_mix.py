"""A 4 x 4 style-mixing grid: one batched pass against 16 separate renders.

On the bundled model (``weights/``): the 16 cell recipes of a 4 x 4 grid (rows = seeds
1-4, columns = seeds 11-14, coarse layers) rendered

* as the Mix view does it: one ``RenderWorker.submit_batch`` (chunks of ``--chunk`` images,
  the worker's default 4), timed from submission to the last chunk;
* as one ``Renderer.render_batch`` call with all 16 in one network call;
* as 16 separate ``Renderer.render`` calls (batch of 1 each).

It also compares every batched cell with its recipe rendered alone (CPU convolutions may
round differently for a batch of 4 than for a batch of 1).
The mapped ws are warmed first (the renderer caches them), so only synthesis is timed.

Run: ``.venv/bin/python tests/benchmarks/bench_mix.py [--threads N] [--reps R] [--chunk C]``
Not part of the test suite: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np
import torch

from facestudio.generator import load_generator
from facestudio.latent.discovery import layer_groups
from facestudio.latent.mixing import MixGrid
from facestudio.latent.recipe import Recipe
from facestudio.render.renderer import Renderer
from facestudio.render.worker import RenderWorker


def timed(fn, reps: int) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--reps", type=int, default=5, help="repetitions; the median is printed")
    parser.add_argument("--chunk", type=int, default=4, help="images per worker chunk")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    g = load_generator(None)
    renderer = Renderer(g)
    template = Recipe(g.sha256, 0, psi=0.7, model_name=g.name)
    grid = MixGrid(tuple(template.replace(seed=s) for s in (1, 2, 3, 4)),
                   tuple(template.replace(seed=s) for s in (11, 12, 13, 14)),
                   layer_groups(g.num_ws)["coarse"])
    cells = grid.cells()
    renderer.ws_batch_for(cells)  # warm the ws cache and the network
    renderer.render_batch(cells[:4], max_batch=4)

    done = threading.Event()
    chunks: list = []

    def on_batch(result) -> None:
        chunks.append(result)
        if result.is_last:
            done.set()

    worker = RenderWorker(renderer, on_result=lambda _r: None, on_batch_result=on_batch,
                          batch_chunk=args.chunk)

    def worker_pass() -> None:
        chunks.clear()
        done.clear()
        worker.submit_batch(cells, tag="mix")
        if not done.wait(600):
            raise RuntimeError("the worker did not finish the grid")

    try:
        t_worker = timed(worker_pass, args.reps)
        stats = worker.stats
    finally:
        worker.shutdown()
    grid_images = np.concatenate([c.images for c in chunks])
    t_batch16 = timed(lambda: renderer.render_batch(cells, max_batch=16), args.reps)
    singles = []
    t_single = timed(lambda: singles.__setitem__(slice(None), [renderer.render(r) for r in cells]),
                     args.reps)
    diff = np.abs(grid_images.astype(int) - np.stack(singles).astype(int))

    print(f"model {g.name}: {g.resolution} px, num_ws {g.num_ws}; 4x4 grid, layers "
          f"{grid.layers[0]}-{grid.layers[1] - 1}; torch threads {args.threads}; median of {args.reps}")
    print(f"  one worker batch (submit_batch, chunks of {args.chunk}): {t_worker:8.1f} ms "
          f"({len(chunks)} chunks, {stats.batches_requested // args.reps} submission per grid, "
          f"{stats.rendered} single renders)")
    print(f"  one render_batch call (16 per network call):   {t_batch16:8.1f} ms")
    print(f"  16 separate renders (batch of 1 each):          {t_single:8.1f} ms")
    print(f"  speed-up of the worker batch over separate renders: {t_single / t_worker:.2f}x")
    print(f"  batched cells vs the same recipes rendered alone: max difference {diff.max()} levels, "
          f"{(diff > 0).mean() * 100:.3f}% of values differ (0 = bit-exact)")


if __name__ == "__main__":
    main()
