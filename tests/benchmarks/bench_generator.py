"""Full-render time per image: facestudio's generator against a naive reference-style one.

The network: 256 px, at most 512 channels, 8-layer mapping; by default NVIDIA's
``paper256`` channel plan (channel_base 16384, channel_max 512: 512 channels up to 32 px,
then 256/128/64), about 28 G multiply-adds per image. ``--channel-base 32768`` gives the
``stylegan2`` plan (512 channels up to 64 px), about 2.9x the work. The naive implementation computes the same image the way the reference's
"fused modconv" path reads on paper: a per-sample modulated kernel applied with a grouped
convolution, upsampling by explicit zero insertion + FIR filtering + a full convolution,
and the skip image upsampled the same way. Both are checked to agree before timing.

Run: ``.venv/bin/python -m tests.benchmarks.bench_generator [--threads N] [--reps R] [--json]``
Not part of the test suite: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from facestudio.generator.model import generator_from_network
from facestudio.generator.networks.config import GeneratorConfig, default_channels
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from tests.generator.reference_style import synthesis as naive_synthesis


def conv_gmacs(cfg: GeneratorConfig) -> float:
    """Multiply-adds of the 3x3 convolutions per image (they are almost all of the work)."""
    total = 0
    for res in cfg.block_resolutions:
        out = cfg.channels[res]
        if res > 4:
            total += cfg.channels[res // 2] * out * 9 * res * res
        total += out * out * 9 * res * res
    return total / 1e9


def timed(fn, reps: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--channel-base", type=int, default=16384)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = GeneratorConfig(resolution=args.resolution, z_dim=512, w_dim=512, mapping_layers=8,
                          channels=default_channels(args.resolution, args.channel_base, 512))
    torch.manual_seed(0)
    net = StyleGAN2Generator(cfg).eval().requires_grad_(False)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
    g = generator_from_network(net)
    z = np.random.RandomState(0).randn(4, cfg.z_dim)
    results = {"threads": torch.get_num_threads(), "resolution": cfg.resolution,
               "channel_base": args.channel_base, "gmacs_per_image": conv_gmacs(cfg),
               "parameters": sum(p.numel() for p in net.parameters())}
    for batch in (1, 4):
        ws = torch.from_numpy(g.map(z[:batch], psi=0.7))
        with torch.inference_mode():
            ours = g.synthesize_tensor(ws)
            naive = naive_synthesis(net, ws)
        diff = (ours - naive).abs().max().item()
        t_ours = timed(lambda: g.synthesize(ws), args.reps)
        with torch.inference_mode():
            t_naive = timed(lambda: naive_synthesis(net, ws), args.reps)
        results[f"batch{batch}"] = {
            "facestudio_ms_per_image": 1000 * statistics.median(t_ours) / batch,
            "naive_ms_per_image": 1000 * statistics.median(t_naive) / batch,
            "max_abs_diff": diff,
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{cfg.resolution} px, channel_base {args.channel_base} (max 512), 8-layer mapping, "
          f"{results['parameters'] / 1e6:.1f}M parameters, {results['gmacs_per_image']:.1f} G multiply-adds/image, "
          f"{results['threads']} threads, median of {args.reps}")
    print(f"{'batch':>5}  {'facestudio ms/img':>18}  {'naive ms/img':>13}  {'speed-up':>8}  {'max |diff|':>10}")
    for batch in (1, 4):
        r = results[f"batch{batch}"]
        print(f"{batch:>5}  {r['facestudio_ms_per_image']:>18.1f}  {r['naive_ms_per_image']:>13.1f}  "
              f"{r['naive_ms_per_image'] / r['facestudio_ms_per_image']:>7.2f}x  {r['max_abs_diff']:>10.2e}")


if __name__ == "__main__":
    main()
