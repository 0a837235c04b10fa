"""How many generated faces resemble a training photo (not a test; it takes minutes to an hour).

    python tests/benchmarks/lookalike_rate.py [--count 10000] [--psi 0.7,1.0] [--jobs 2]
        [--index weights/lookalike-index.npz] [--model PATH] [--out rate.json]

Renders seeds 0..count-1 of the model at each psi (the Renderer, noise const, as ``render``
does), measures each face with dlib as the export guard does (IdentityEmbedder.measure, in
``--jobs`` processes), and compares it with the lookalike index: per psi, the faces found, the
rate below the threshold (0.4) and below dlib's same-person 0.6, the distance percentiles and
the closest pairs (seed, photo, distance) so that a person can look at them. Prints one JSON
object (and writes it to ``--out``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

_state: dict = {}


def _start(model: str | None) -> None:
    import torch
    torch.set_num_threads(1)
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.generator import load_generator
    from facestudio.render.renderer import Renderer
    g = load_generator(model)
    _state.update(g=g, renderer=Renderer(g), embedder=IdentityEmbedder())


def _measure(job: tuple[float, list[int]]) -> list[np.ndarray | None]:
    """The embeddings of the faces of ``seeds`` at ``psi`` (None where no face is found)."""
    from facestudio.latent.seeds import z_from_seeds
    psi, seeds = job
    g, renderer, embedder = _state["g"], _state["renderer"], _state["embedder"]
    images = renderer.render_ws_batch(g.map(z_from_seeds(seeds, g.z_dim), psi=psi), "const")
    return [embedder.measure(np.ascontiguousarray(im)).embedding for im in images]


def nearest(index_embeddings: np.ndarray, queries: np.ndarray, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the index of the nearest index row and the Euclidean distance."""
    base = index_embeddings.astype(np.float32)
    base_sq = (base ** 2).sum(1)
    rows, dists = [], []
    for i in range(0, len(queries), chunk):
        q = queries[i:i + chunk]
        d2 = (q ** 2).sum(1)[:, None] + base_sq[None] - 2 * q @ base.T
        k = d2.argmin(1)
        rows.append(k)
        dists.append(np.sqrt(np.maximum(d2[np.arange(len(q)), k], 0)))
    return np.concatenate(rows), np.concatenate(dists)


def main() -> int:
    from facestudio.analysis.lookalike import DEFAULT_THRESHOLD, LookalikeIndex
    from facestudio.analysis.lookalike_guard import default_index_path
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--psi", default="0.7,1.0")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--index", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    index = LookalikeIndex.load(args.index or default_index_path())
    report = {"index": index.dataset, "index_photos": len(index), "threshold": DEFAULT_THRESHOLD,
              "count": args.count, "jobs": args.jobs, "psi": {}}
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.jobs, initializer=_start, initargs=(args.model,)) as pool:
        for psi in (float(p) for p in args.psi.split(",")):
            t0 = time.perf_counter()
            jobs = [(psi, list(range(s, min(s + args.batch, args.count)))) for s in range(0, args.count, args.batch)]
            embeddings: list = []
            for k, part in enumerate(pool.imap(_measure, jobs)):
                embeddings += part
                print(f"\rpsi {psi}: {len(embeddings):,} of {args.count:,} faces", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
            found = [i for i, e in enumerate(embeddings) if e is not None]
            rows, dist = nearest(index.embeddings, np.stack([embeddings[i] for i in found]))
            order = np.argsort(dist)
            report["psi"][str(psi)] = {
                "faces_found": len(found),
                "below_threshold": int((dist < DEFAULT_THRESHOLD).sum()),
                "rate_below_threshold": round(float((dist < DEFAULT_THRESHOLD).mean()), 4),
                "below_0.6": int((dist < 0.6).sum()),
                "distance_percentiles": {str(q): round(float(np.percentile(dist, q)), 4)
                                         for q in (0, 1, 5, 25, 50, 75, 95, 100)},
                "closest": [{"seed": found[i], "photo": index.names[rows[i]], "distance": round(float(dist[i]), 4)}
                            for i in order[:12]],
                "seconds": round(time.perf_counter() - t0, 1),
            }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
