"""Full-render time per image of facestudio's StyleGAN3 (T and R configs).

By default two randomly initialised networks with the reference training configs at
``--resolution`` (T: channel_base 32768, channel_max 512, 3x3 kernels; R: both doubled,
1x1 kernels, radial filters), or the generator in ``--model`` (any StyleGAN3 pickle).
``--reference-ms`` prints a time measured with the reference code (its pure-PyTorch
filtered_lrelu path, ``force_fp32=True``, one image) beside ours, for the same network.

Run: ``.venv/bin/python tests/benchmarks/bench_stylegan3.py [--threads N] [--reps R] [--json]``
Not part of the test suite: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from facestudio.generator import load_generator
from facestudio.generator.model import generator_from_network
from facestudio.generator.networks.sg3_config import StyleGAN3Config
from facestudio.generator.networks.stylegan3 import StyleGAN3Generator

CONFIGS = {
    "stylegan3-t": dict(),
    "stylegan3-r": dict(channel_base=65536, channel_max=1024, conv_kernel=1,
                        use_radial_filters=True),
}


def time_render(g, reps: int, batch: int = 1) -> list[float]:
    ws = g.map(np.random.RandomState(0).randn(batch, g.z_dim), psi=0.7)
    g.synthesize(ws)  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        g.synthesize(ws)
        times.append((time.perf_counter() - t) / batch)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--model", default=None, help="a StyleGAN3 pickle to time instead")
    ap.add_argument("--reference-ms", type=float, default=None,
                    help="the reference's time for the same network, to print beside ours")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        generators = {args.model: load_generator(args.model)}
    else:
        generators = {}
        for name, kw in CONFIGS.items():
            torch.manual_seed(0)
            cfg = StyleGAN3Config(resolution=args.resolution, **kw)
            generators[name] = generator_from_network(StyleGAN3Generator(cfg).eval(), name)
    results = {}
    for name, g in generators.items():
        times = time_render(g, args.reps)
        results[name] = {"resolution": g.resolution,
                         "parameters": sum(p.numel() for p in g.network.parameters()),
                         "facestudio_ms_per_image": 1000 * statistics.median(times),
                         "reference_ms_per_image": args.reference_ms,
                         "threads": torch.get_num_threads()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'model':>14}  {'px':>5}  {'facestudio ms/img':>18}  {'reference ms/img':>17}")
    for name, r in results.items():
        ref = "-" if r["reference_ms_per_image"] is None else f"{r['reference_ms_per_image']:.0f}"
        print(f"{name[-14:]:>14}  {r['resolution']:>5}  {r['facestudio_ms_per_image']:>18.0f}  {ref:>17}")


if __name__ == "__main__":
    main()
