"""Full-render time per image: facestudio's generator against a naive reference-style one.

The network: 256 px, at most 512 channels, 8-layer mapping; by default NVIDIA's
``paper256`` channel plan (channel_base 16384, channel_max 512: 512 channels up to 32 px,
then 256/128/64), about 28 G multiply-adds per image. ``--channel-base 32768`` gives the
``stylegan2`` plan (512 channels up to 64 px), about 2.9x the work. The naive implementation computes the same image the way the reference's
"fused modconv" path reads on paper: a per-sample modulated kernel applied with a grouped
convolution, upsampling by explicit zero insertion + FIR filtering + a full convolution,
and the skip image upsampled the same way. Both are checked to agree before timing.

Run: ``.venv/bin/python tests/benchmarks/bench_generator.py [--threads N] [--reps R] [--json]``
Not part of the test suite: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.generator.model import generator_from_network
from facestudio.generator.networks.config import GeneratorConfig, default_channels
from facestudio.generator.networks.ops import SQRT2, upfirdn2d
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator


def naive_affine(fc, w):
    """The style affine recomputed from the stored weights on every call, as the reference does."""
    return torch.addmm(fc.bias * fc.bias_gain, w, (fc.weight * fc.weight_gain).t())


def naive_layer(layer, x, w, up):
    """One SynthesisLayer as per-sample kernels in a grouped convolution."""
    n = x.shape[0]
    styles = naive_affine(layer.affine, w)
    weight = layer.weight[None] * styles[:, None, :, None, None]  # [N, O, I, k, k]
    weight = weight * (weight.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    o, i, k = weight.shape[1], weight.shape[2], weight.shape[3]
    if up:
        x = upfirdn2d(x, layer.resample_filter, up=2, pad=(3, 2, 3, 2), gain=4)
        x = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), weight.flip([3, 4]).reshape(n * o, i, k, k), groups=n)
    else:
        x = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), weight.reshape(n * o, i, k, k), padding=k // 2, groups=n)
    x = x.reshape(n, o, *x.shape[2:]) + layer.noise_const * layer.noise_strength
    return F.leaky_relu(x + layer.bias[None, :, None, None], 0.2) * SQRT2


def naive_torgb(torgb, x, w):
    n = x.shape[0]
    styles = naive_affine(torgb.affine, w) * torgb.weight_gain
    weight = torgb.weight[None] * styles[:, None, :, None, None]
    o, i = weight.shape[1], weight.shape[2]
    y = F.conv2d(x.reshape(1, n * i, *x.shape[2:]), weight.reshape(n * o, i, 1, 1), groups=n)
    return y.reshape(n, o, *x.shape[2:]) + torgb.bias[None, :, None, None]


def naive_synthesis(net: StyleGAN2Generator, ws: torch.Tensor) -> torch.Tensor:
    x = img = None
    for block, bw in zip(net.synthesis.blocks(), net.synthesis.block_ws(ws)):
        ws_iter = iter(bw.unbind(1))
        if block.in_channels == 0:
            x = block.const[None].repeat(ws.shape[0], 1, 1, 1)
        else:
            x = naive_layer(block.conv0, x, next(ws_iter), up=True)
        x = naive_layer(block.conv1, x, next(ws_iter), up=False)
        if img is not None:
            img = upfirdn2d(img, block.resample_filter, up=2, pad=(2, 1, 2, 1), gain=4)
        y = naive_torgb(block.torgb, x, next(ws_iter))
        img = y if img is None else img + y
    return img


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
