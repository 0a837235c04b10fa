"""The studio on an FFHQ-size 1024 px network, next to reference implementations in the same run.

Builds a StyleGAN2 config-f network of the FFHQ size (1024 px, 30.4M parameters, random
weights; or takes ``--model FOLDER``), then prints, as each is measured:

1. the exact full render (facestudio, float32), median of ``--reps``;
2. the same image computed the way the reference's code reads on paper
   (:mod:`tests.generator.reference_style`: per-face kernels, zero-insertion upsampling, one
   op after another), with the largest difference in uint8 levels;
3. with ``--reference-repo DIR`` (a local checkout of NVIDIA's stylegan2-ada-pytorch, never
   part of this project): NVIDIA's own ``training.networks.Generator`` built with the same
   architecture and given the same weights, ``force_fp32``, ``noise_mode='const'``;
4. everything ``facestudio bench`` measures (previews at each level, partial re-renders, bf16
   error, drags through the real render worker, batches, memory) within ``--budget`` seconds.

Run with the machine otherwise idle:
``.venv/bin/python -m tests.benchmarks.bench_1024 [--reference-repo DIR] [--budget 120]``.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from facestudio.generator.model import images_to_uint8, load_generator
from facestudio.generator.formats.native import write_native
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.latent.seeds import z_from_seed
from facestudio.render.allocator import keep_freed_memory
from facestudio.bench.measure import run_bench
from facestudio.render.studio_model import open_studio_model
from tests.benchmarks.ffhq_size_model import ffhq_size_config
from tests.generator import reference_style


def median_ms(fn, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def nvidia_generator(repo: Path, network: StyleGAN2Generator):
    """NVIDIA's Generator from a local checkout, with ``network``'s weights (same names)."""
    sys.path.insert(0, str(repo))
    from training.networks import Generator  # noqa: PLC0415 (the checkout is optional)
    c = network.config
    ref = Generator(z_dim=c.z_dim, c_dim=0, w_dim=c.w_dim, img_resolution=c.resolution, img_channels=3,
                    mapping_kwargs={"num_layers": c.mapping_layers},
                    synthesis_kwargs={"channel_base": 32768, "channel_max": 512, "num_fp16_res": 0,
                                      "conv_clamp": c.conv_clamp}).eval().requires_grad_(False)
    missing, unexpected = ref.load_state_dict(network.state_dict(), strict=False)
    missing = [k for k in missing if not k.endswith("resample_filter")]
    if missing or unexpected:
        raise SystemExit(f"the reference network does not take these weights: {missing[:3]} {unexpected[:3]}")
    return ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a 1024 px native model folder (default: build one)")
    parser.add_argument("--reference-repo", type=Path, help="a local stylegan2-ada-pytorch checkout")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for the facestudio bench part")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    keep_freed_memory()  # as the command line and the studio do at start
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = args.model
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="ffhq1024-"))
        torch.manual_seed(0)
        config = ffhq_size_config(1024)
        write_native(folder, config, StyleGAN2Generator(config).eval().state_dict())
    g = load_generator(folder)
    params = sum(p.numel() for p in g.network.parameters()) / 1e6
    print(f"{g.name}: {g.resolution} px, {params:.1f}M parameters, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}", flush=True)
    ws = g.map(z_from_seed(1, g.z_dim), psi=0.7)
    ws_t = torch.from_numpy(ws)
    ours = g.synthesize(ws, "const")
    ours_ms = median_ms(lambda: g.synthesize(ws, "const"), args.reps)
    print(f"  facestudio, exact full render       {ours_ms:8.1f} ms  (median of {args.reps})", flush=True)
    with torch.inference_mode():
        plain = images_to_uint8(reference_style.synthesis(g.network, ws_t, "const"))
        plain_ms = median_ms(lambda: reference_style.synthesis(g.network, ws_t, "const"), max(1, args.reps // 2))
    print(f"  reference-style, full render        {plain_ms:8.1f} ms  ({plain_ms / ours_ms:.2f} x facestudio; "
          f"max {np.abs(plain.astype(int) - ours).max()} levels apart)", flush=True)
    if args.reference_repo:
        ref = nvidia_generator(args.reference_repo, g.network)
        with torch.inference_mode():
            run = lambda: ref.synthesis(ws_t, noise_mode="const", force_fp32=True)  # noqa: E731
            nvidia = images_to_uint8(run())
            nvidia_ms = median_ms(run, max(1, args.reps // 2))
        print(f"  NVIDIA stylegan2-ada-pytorch        {nvidia_ms:8.1f} ms  ({nvidia_ms / ours_ms:.2f} x facestudio; "
              f"max {np.abs(nvidia.astype(int) - ours).max()} levels apart)", flush=True)
    print("facestudio bench:", flush=True)
    run_bench(open_studio_model(folder), budget_s=args.budget, emit=lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
