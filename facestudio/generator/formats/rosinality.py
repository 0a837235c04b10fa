"""Weights from rosinality's ``stylegan2-pytorch`` checkpoints.

A checkpoint is a ``torch.save`` file: usually a dict with ``g_ema`` (the generator's state
dict) and optionally ``latent_avg`` (the mean w, written by its TF converter), ``g``, ``d``,
``g_optim``, ``d_optim``, ``args`` (an ``argparse.Namespace``) and ``ada_aug_p``; a bare
``g_ema`` state dict is accepted too. Files are read with ``weights_only=True``: only
tensors, plain containers and ``argparse.Namespace`` are unpickled, nothing is executed.

rosinality's generator computes exactly what :class:`StyleGAN2Generator` computes with
``architecture="skip"``, ``conv_clamp=None`` and no class input, so the weights map by name
(``style.{i+1}`` -> ``mapping.fc{i}``, ``conv1`` / ``convs.{2j}`` / ``convs.{2j+1}`` ->
``b{r}.conv1`` / ``conv0`` / ``conv1``, ``to_rgb1`` / ``to_rgbs.{j}`` -> ``b{r}.torgb``,
``noises.noise_{i}`` -> the layers' ``noise_const``). The two sides agree on: noise added
before bias + lrelu * sqrt(2); the 2x up conv as a stride-2 transposed conv with the kernel
unflipped, then the FIR blur (gain 4, pad (1, 1) for 3x3 and 4 taps); the skip image
upsampled by zero insertion + blur (pad (2, 1)); ToRGB's 1/sqrt(fan_in) weight gain and
unscaled bias; the two-per-block style indices, with a block's ToRGB sharing its style
vector with the next block's first conv. The only numeric difference: rosinality scales
demodulated kernels by 1/sqrt(fan_in) before the ``+1e-8`` of demodulation, so its epsilon
is relatively larger by fan_in (invisible at float32 precision for trained weights).
rosinality's ToRGB always upsamples with [1, 3, 3, 1], ignoring the generator's
``blur_kernel``; a model built with another blur kernel therefore uses two filters, which
our one ``resample_filter`` cannot express, and is refused.
"""

from __future__ import annotations

import argparse
import math
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.magic import LEGACY_TORCH_MAGIC, ZIP_MAGIC
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.stylegan2 import MappingNetwork, StyleGAN2Generator

DEFAULT_LR_MUL = 0.01
"""rosinality's ``lr_mlp`` default; train.py never changes it and does not store it."""

W_AVG_SEED = 0
W_AVG_SAMPLES = 10_000
"""Without ``latent_avg``, w_avg is the mean mapping output of
``np.random.RandomState(W_AVG_SEED).randn(W_AVG_SAMPLES, style_dim)`` (float32), so the
same file always gives the same w_avg."""

DEFAULT_TAPS = (1.0, 3.0, 3.0, 1.0)
_KERNEL_SUFFIXES = (".blur.kernel", ".upsample.kernel")  # FIR buffers, checked by _taps



def looks_like_rosinality(obj: Any) -> bool:
    """True for a loaded ``{"g_ema": state_dict, ...}`` or a bare rosinality g_ema state dict."""
    if isinstance(obj, Mapping) and isinstance(obj.get("g_ema"), Mapping):
        obj = obj["g_ema"]
    return isinstance(obj, Mapping) and "style.1.weight" in obj and "input.input" in obj


def read_rosinality_checkpoint(
    path: str | Path,
) -> tuple[GeneratorConfig, dict[str, torch.Tensor], dict]:
    """Load a rosinality checkpoint file as (config, StyleGAN2Generator state dict, metadata).

    The state dict holds float32 CPU tensors under StyleGAN2Generator's names (strict
    ``load_state_dict`` works); metadata says where ``lr_mul`` and ``w_avg`` came from.
    Raises :class:`ModelLoadError` (one sentence) for anything unreadable or inconsistent.
    """
    path = Path(path)
    return convert_rosinality_checkpoint(_load(path), path.name)


def convert_rosinality_checkpoint(
    obj: Any, name: str = "the checkpoint",
) -> tuple[GeneratorConfig, dict[str, torch.Tensor], dict]:
    """Like :func:`read_rosinality_checkpoint` for an object already loaded with ``torch.load``."""
    wrapped = isinstance(obj, Mapping) and "g_ema" in obj
    sd = obj["g_ema"] if wrapped else obj
    if not looks_like_rosinality(sd):
        what = ("its g_ema lacks the mapping layer style.1.weight" if wrapped
                else "it holds no g_ema generator")
        raise ModelLoadError(f"{name} is not a rosinality checkpoint: {what}.")
    bad = sorted(str(k) for k, v in sd.items()
                 if not (isinstance(v, torch.Tensor) and v.is_floating_point()))
    if bad:
        raise ModelLoadError(f"{name} is not a rosinality checkpoint: g_ema entry {bad[0]} "
                             f"is not a float tensor.")

    style_dim = sd["style.1.weight"].shape[0]
    n_mlp = _count(sd, "style.{}.weight", start=1)
    n_up = _count(sd, "to_rgbs.{}.conv.weight", start=0)
    resolution = 4 * 2 ** n_up
    channels = {4: _shape(sd, "input.input", name, ndim=4)[1]}
    for j in range(n_up):
        channels[8 * 2 ** j] = _shape(sd, f"convs.{2 * j}.conv.weight", name, ndim=5)[1]
    args = obj.get("args") if wrapped else None
    lr_mul = _arg(args, "lr_mlp")
    config = GeneratorConfig(
        resolution=resolution, z_dim=style_dim, c_dim=0, w_dim=style_dim, channels=channels,
        mapping_layers=n_mlp, mapping_lr_multiplier=float(lr_mul or DEFAULT_LR_MUL),
        architecture="skip", conv_clamp=None, use_noise=True, resample_filter=_taps(sd, name))

    state, used = {}, set()

    def take(src: str, dst: str, src_shape: list[int], dst_shape: list[int]) -> None:
        if src not in sd:
            raise ModelLoadError(f"{name} is not a rosinality checkpoint: tensor {src} is missing.")
        if list(sd[src].shape) != src_shape:
            raise ModelLoadError(f"{name} does not match its own layout: {src} has shape "
                                 f"{list(sd[src].shape)} where {src_shape} was expected.")
        state[dst] = sd[src].detach().to("cpu", torch.float32, copy=True).reshape(dst_shape)
        used.add(src)

    d = style_dim
    for i in range(n_mlp):
        take(f"style.{i + 1}.weight", f"mapping.fc{i}.weight", [d, d], [d, d])
        take(f"style.{i + 1}.bias", f"mapping.fc{i}.bias", [d], [d])
    c4 = channels[4]
    take("input.input", "synthesis.b4.const", [1, c4, 4, 4], [c4, 4, 4])
    layers = [("conv1", "synthesis.b4.conv1", c4, c4, 4, "noises.noise_0")]
    rgbs = [("to_rgb1", "synthesis.b4.torgb", c4)]
    for j in range(n_up):
        r, cin, cout = 8 * 2 ** j, channels[4 * 2 ** j], channels[8 * 2 ** j]
        layers.append((f"convs.{2 * j}", f"synthesis.b{r}.conv0", cin, cout, r,
                       f"noises.noise_{2 * j + 1}"))
        layers.append((f"convs.{2 * j + 1}", f"synthesis.b{r}.conv1", cout, cout, r,
                       f"noises.noise_{2 * j + 2}"))
        rgbs.append((f"to_rgbs.{j}", f"synthesis.b{r}.torgb", cout))
    for src, dst, cin, cout, r, noise in layers:
        take(f"{src}.conv.weight", f"{dst}.weight", [1, cout, cin, 3, 3], [cout, cin, 3, 3])
        take(f"{src}.conv.modulation.weight", f"{dst}.affine.weight", [cin, d], [cin, d])
        take(f"{src}.conv.modulation.bias", f"{dst}.affine.bias", [cin], [cin])
        take(f"{src}.noise.weight", f"{dst}.noise_strength", [1], [])
        take(f"{src}.activate.bias", f"{dst}.bias", [cout], [cout])
        take(noise, f"{dst}.noise_const", [1, 1, r, r], [r, r])
    for src, dst, cin in rgbs:
        take(f"{src}.conv.weight", f"{dst}.weight", [1, 3, cin, 1, 1], [3, cin, 1, 1])
        take(f"{src}.conv.modulation.weight", f"{dst}.affine.weight", [cin, d], [cin, d])
        take(f"{src}.conv.modulation.bias", f"{dst}.affine.bias", [cin], [cin])
        take(f"{src}.bias", f"{dst}.bias", [1, 3, 1, 1], [3])
    extra = sorted(k for k in sd if k not in used and not k.endswith(_KERNEL_SUFFIXES))
    if extra:
        raise ModelLoadError(f"{name} is not a plain rosinality StyleGAN2 checkpoint: it has "
                             f"unexpected tensors such as {extra[0]}.")

    latent_avg = obj.get("latent_avg") if wrapped else None
    if latent_avg is not None:
        state["mapping.w_avg"] = _w_avg_from_latent(latent_avg, style_dim, name)
        w_avg_source = "latent_avg"
    else:
        state["mapping.w_avg"] = _mean_w(config, state)
        w_avg_source = f"mean of {W_AVG_SAMPLES} mapped z from RandomState({W_AVG_SEED})"
    _check_against_generator(config, state, name)
    meta = {"format": "rosinality-stylegan2", "style_dim": style_dim, "n_mlp": n_mlp,
            "lr_mul_source": "args.lr_mlp" if lr_mul else "default",
            "w_avg_source": w_avg_source, "args": _plain_args(args)}
    return config, state, meta


def _load(path: Path) -> Any:
    """``torch.load`` with weights_only, turning every failure into one sentence."""
    name = path.name
    try:
        with path.open("rb") as fh:
            head = fh.read(len(LEGACY_TORCH_MAGIC))
    except FileNotFoundError:
        raise ModelLoadError(f"{path} does not exist.") from None
    except OSError as exc:
        raise ModelLoadError(f"{path} could not be read: {exc.strerror or exc}.") from None
    if not (head.startswith(ZIP_MAGIC) or head == LEGACY_TORCH_MAGIC):
        raise ModelLoadError(f"{name} is not a rosinality checkpoint: it is not a PyTorch file.")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            # mmap: the discriminator and optimiser states are never read into memory.
            return torch.load(path, map_location="cpu", weights_only=True,
                              mmap=head.startswith(ZIP_MAGIC))
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" not in str(exc):
            raise ModelLoadError(f"{name} is not a rosinality checkpoint: "
                                 f"it is truncated or corrupt.") from None
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise ModelLoadError(f"{name} is not a rosinality checkpoint: it contains pickled objects "
                             f"other than tensors{what}, which are refused for safety.") from None
    except Exception:  # torch.load reports damage as RuntimeError, OSError, EOFError, ...
        raise ModelLoadError(f"{name} is not a rosinality checkpoint: "
                             f"it is truncated or corrupt.") from None


def _count(sd: Mapping, pattern: str, start: int) -> int:
    """Number of consecutive indices ``start, start+1, ...`` for which ``pattern`` is a key."""
    n = 0
    while pattern.format(start + n) in sd:
        n += 1
    return n


def _shape(sd: Mapping, key: str, name: str, ndim: int) -> list[int]:
    if key not in sd:
        raise ModelLoadError(f"{name} is not a rosinality checkpoint: tensor {key} is missing.")
    if sd[key].ndim != ndim:
        raise ModelLoadError(f"{name} does not match its own layout: {key} has {sd[key].ndim} "
                             f"dimensions where {ndim} were expected.")
    return list(sd[key].shape)


def _arg(args: Any, key: str) -> float | None:
    """A positive number from ``args`` (Namespace or dict), or None when absent."""
    value = args.get(key) if isinstance(args, Mapping) else getattr(args, key, None)
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _plain_args(args: Any) -> dict[str, Any]:
    """The JSON-friendly (str / number / bool) entries of ``args``."""
    if isinstance(args, argparse.Namespace):
        args = vars(args)
    items = args.items() if isinstance(args, Mapping) else []
    return {str(k): v for k, v in items if isinstance(v, (str, int, float, bool)) or v is None}


def _taps(sd: Mapping, name: str) -> tuple[float, ...]:
    """1-D resampling taps recovered from the stored blur kernels ``outer(t, t) / sum(t)^2 * 4``.

    Our generator uses one filter for the up convs and the skip image, so every
    ``*.blur.kernel`` / ``*.upsample.kernel`` buffer must agree. rosinality's ToRGB ignores
    the generator's ``blur_kernel`` argument (always [1, 3, 3, 1]), so a model built with
    another blur_kernel is refused here. No buffers -> (1, 3, 3, 1).
    """
    kernels = [v.double() for k, v in sd.items() if k.endswith(_KERNEL_SUFFIXES)]
    if not kernels:
        return DEFAULT_TAPS
    k = kernels[0]
    if not all(v.shape == k.shape and torch.allclose(v, k, atol=1e-6) for v in kernels):
        raise ModelLoadError(f"{name} uses one blur kernel for its upsampling convs and another "
                             f"for its ToRGB skip path, which facestudio's generator does not support.")
    taps = k.sum(dim=0) / k.sum() if k.ndim == 2 else k
    if not (k.ndim == 2 and abs(float(k.sum()) - 4) < 1e-4
            and torch.allclose(torch.outer(taps, taps) * 4, k, atol=1e-6)):
        raise ModelLoadError(f"{name} uses a blur kernel that is not a separable 2x resampling "
                             f"filter, which facestudio's generator does not support.")
    default = torch.tensor(DEFAULT_TAPS, dtype=torch.float64)
    if taps.shape == default.shape and torch.allclose(taps, default / default.sum(), atol=1e-6):
        return DEFAULT_TAPS
    return tuple(float(t) for t in taps)


def _w_avg_from_latent(latent_avg: Any, style_dim: int, name: str) -> torch.Tensor:
    """``latent_avg`` as ``[style_dim]``; accepts ``[D]``, ``[1, D]`` or ``[k, D]`` with equal rows."""
    if not isinstance(latent_avg, torch.Tensor) or latent_avg.shape[-1:] != (style_dim,):
        raise ModelLoadError(f"{name} has a latent_avg that is not a tensor of {style_dim} "
                             f"values per row.")
    rows = latent_avg.detach().to("cpu", torch.float32).reshape(-1, style_dim)
    if not torch.allclose(rows, rows[:1].expand_as(rows)):
        raise ModelLoadError(f"{name} has a per-layer latent_avg, which facestudio's generator "
                             f"(one w_avg for all layers) does not support.")
    return rows[0].clone()


@torch.no_grad()
def _mean_w(config: GeneratorConfig, state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean mapping output ``[w_dim]`` over the fixed z sample described at :data:`W_AVG_SEED`."""
    mapping = MappingNetwork(config.z_dim, 0, config.w_dim, num_ws=1, num_layers=config.mapping_layers,
                             lr_multiplier=config.mapping_lr_multiplier)
    prefix = "mapping."
    mapping.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)},
                            strict=False)
    z = torch.from_numpy(np.random.RandomState(W_AVG_SEED).randn(W_AVG_SAMPLES, config.z_dim))
    total = torch.zeros(config.w_dim, dtype=torch.float64)
    for chunk in z.float().split(2000):
        total += mapping(chunk)[:, 0].double().sum(dim=0)
    return (total / W_AVG_SAMPLES).float()


def _check_against_generator(config: GeneratorConfig, state: Mapping[str, torch.Tensor],
                             name: str) -> None:
    """Every name and shape of ``StyleGAN2Generator(config).state_dict()`` must be in ``state``."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in StyleGAN2Generator(config).state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    for key in sorted(set(expected) | set(got)):
        if expected.get(key) != got.get(key):
            raise ModelLoadError(f"{name} could not be mapped onto the StyleGAN2 generator: "
                                 f"{key} is {got.get(key, 'missing')} where "
                                 f"{expected.get(key, 'nothing')} is needed.")
    if not math.isfinite(float(sum(v.double().sum() for v in state.values()))):
        raise ModelLoadError(f"{name} holds non-finite weights.")
