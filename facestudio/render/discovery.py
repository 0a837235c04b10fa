"""Discovery's generator side: W samples, the style affine weights, and the cached result.

The maths is in :mod:`facestudio.latent.discovery` (numpy only); this module reads what it
needs out of a loaded :class:`~facestudio.generator.model.Generator`:

* :func:`affine_layers_by_row` / :func:`style_affine_weights`: which style affines read each
  ws row, and their effective weights ``[channels, w_dim]`` (equalised-lr gains applied);
* :func:`sample_w`: W samples through the mapping network, reference seeding;
* :func:`discover`: PCA + SeFa for a model, loaded from the per-model cache when present.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from facestudio.latent.directions import DirectionError
from facestudio.latent.discovery import Discovery
from facestudio.latent.discovery_cache import load_discovery, save_discovery

SAMPLES = 10_000
SEED = 0
KEEP = 64
CHUNK = 2_000


def affine_layers_by_row(network) -> list[list[tuple[str, torch.nn.Module, float]]]:
    """For each ws row, the ``(name, affine module, extra gain)`` of every style affine that
    reads it. Row order follows :meth:`SynthesisNetwork.block_ws`: a block's convs read its
    own rows and its ToRGB reads the row the next block's first conv reads."""
    synthesis = getattr(network, "synthesis", None)
    if synthesis is not None and hasattr(synthesis, "layer_names"):
        # StyleGAN3: row 0 drives the input's rotation / translation (not a style); row
        # i + 1 is read by layer i alone (the last one is ToRGB, whose styles are scaled).
        rows = [[]]
        for name in synthesis.layer_names:
            layer = getattr(synthesis, name)
            gain = 1.0 / math.sqrt(layer.weight[0].numel()) if layer.is_torgb else 1.0
            rows.append([(f"{name}.affine", layer.affine, gain)])
        return rows
    if synthesis is None or not hasattr(synthesis, "blocks"):
        raise DirectionError("this network has no StyleGAN2 synthesis blocks, so its style "
                             "affines cannot be factorized")
    rows: list[list] = [[] for _ in range(synthesis.num_ws)]
    idx = 0
    for block in synthesis.blocks():
        res = block.resolution
        layers = ([("conv0", block.conv0)] if block.in_channels else []) + [("conv1", block.conv1)]
        for j, (name, layer) in enumerate(layers):
            rows[idx + j].append((f"b{res}.{name}.affine", layer.affine, 1.0))
        if block.num_torgb:
            rows[idx + block.num_conv].append((f"b{res}.torgb.affine", block.torgb.affine,
                                               block.torgb.weight_gain))
        idx += block.num_conv
    return rows


def style_affine_weights(generator) -> list[np.ndarray]:
    """Per ws row, the stacked effective affine weights ``[channels, w_dim]`` float64 (a
    style is ``s = A w + b``)."""
    out = []
    for row in affine_layers_by_row(generator.network):
        mats = [(m.weight.detach().cpu().double() * m.weight_gain * gain).numpy() for _, m, gain in row]
        out.append(np.concatenate(mats, axis=0) if mats else np.zeros((0, generator.w_dim)))
    return out


def sample_w(generator, count: int = SAMPLES, seed: int = SEED) -> np.ndarray:
    """``count`` W samples ``[count, w_dim]`` float32 from ``RandomState(seed).randn(count,
    z_dim)`` (classes in turn for conditional models), without truncation."""
    z = np.random.RandomState(seed).randn(count, generator.z_dim)
    c = (np.arange(count) % generator.c_dim) if generator.c_dim else None
    parts = []
    for start in range(0, count, CHUNK):
        cc = None if c is None else c[start:start + CHUNK]
        parts.append(generator.map(z[start:start + CHUNK], c=cc)[:, 0])
    return np.concatenate(parts, axis=0)


def discovery_params(samples: int = SAMPLES, seed: int = SEED, keep: int = KEEP) -> dict:
    return {"samples": samples, "seed": seed, "keep": keep, "sefa": "row-normalised A^T A"}


def discover(generator, samples: int = SAMPLES, seed: int = SEED, keep: int = KEEP,
             use_cache: bool = True) -> Discovery:
    """PCA and SeFa bases of ``generator``; read from / written to the per-model cache."""
    params = discovery_params(samples, seed, keep)
    if use_cache:
        cached = load_discovery(generator.sha256, params)
        if cached is not None and (cached.num_ws, cached.w_dim) == (generator.num_ws, generator.w_dim):
            return cached
    try:
        weights = style_affine_weights(generator)
    except DirectionError:
        weights = None  # another architecture: PCA only
    found = Discovery.compute(sample_w(generator, samples, seed), weights, generator.num_ws,
                              model_sha256=generator.sha256, keep=keep, params=params)
    if use_cache:
        save_discovery(found)
    return found
