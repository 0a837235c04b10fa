"""Grow a training state by one resolution: 64 px -> 128 px (or any R -> 2R).

The generator (skip architecture) gets a new last block whose ToRGB starts at zero, so the
grown generator first renders exactly the smaller one's image, upsampled by the skip path's
FIR filter. The discriminator gets a new input block in front of its trained ones; the old
fromRGB is kept as ``fromrgb_prev`` for the fade-in (see :class:`Discriminator`). Every
trained weight, the EMA generator, the Adam moments of the trained parameters, the
augmentation state and the image count carry over; the new parameters start fresh.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.training.checkpoint import save_checkpoint
from facestudio.training.data import DatasetError
from facestudio.training.loop import TrainSettings, make_optimizers


def grown_settings(old: TrainSettings, resolution: int, images_seen: int, *,
                   channels: int | None = None, fade_kimg: float = 0.0,
                   r1_gamma: float | None = None) -> TrainSettings:
    """The settings of ``old`` grown to ``resolution`` (exactly twice the old one).

    ``channels``: feature maps of the new block (default: those of the old last block).
    ``r1_gamma``: default scales the old one by 4: with four times the pixels, a
    discriminator that looks at the image's low-passed half-size version has a quarter of
    the input-gradient energy, so the same regularisation needs four times the weight.
    """
    if resolution != 2 * old.resolution:
        raise DatasetError(f"a {old.resolution} px training state grows one block at a time: "
                           f"use --resolution {2 * old.resolution}")
    new = copy.deepcopy(old)
    new.resolution = resolution
    c = int(channels or old.channels[old.resolution])
    if c < 1 or c > 1024:
        raise DatasetError(f"the new block's channels must be between 1 and 1024, got {c}")
    new.channels = {**old.channels, resolution: c}
    if old.d_channels:
        new.d_channels = {**old.d_channels, resolution: c}
    new.r1_gamma = old.r1_gamma * 4 if r1_gamma is None else float(r1_gamma)
    new.grown_at = int(images_seen)
    new.fade_kimg = float(fade_kimg)
    return new


def _copy_matching(target: torch.nn.Module, source: dict[str, torch.Tensor],
                   renames: dict[str, str | None]) -> None:
    """Load every entry of ``source`` into ``target`` under its (renamed) key; a rename to
    None drops the entry. A trained weight with nowhere to go stops the grow."""
    state = target.state_dict()
    for key, value in source.items():
        name = renames.get(key, key)
        if name is None:
            continue
        if name not in state or state[name].shape != value.shape:
            raise DatasetError(f"cannot grow: trained weight {key} has no place in the grown network")
        state[name] = value
    target.load_state_dict(state)


def _moved_optimizer(old_state: dict, old_names: list[str], new_names: list[str],
                     renames: dict[str, str | None]) -> dict:
    """An Adam state dict for the grown parameter list: the moments of trained parameters
    follow them by name (dropped with them), new parameters start without state."""
    index = {name: i for i, name in enumerate(new_names)}
    state = {}
    for i, v in old_state["state"].items():
        name = renames.get(old_names[i], old_names[i])
        if name is not None:
            state[index[name]] = v
    group = dict(old_state["param_groups"][0])
    group["params"] = list(range(len(new_names)))
    return {"state": state, "param_groups": [group]}


def grow_checkpoint(ckpt: dict, resolution: int, out: Path, *, channels: int | None = None,
                    fade_kimg: float = 0.0, r1_gamma: float | None = None) -> TrainSettings:
    """Write to ``out`` a training checkpoint grown from ``ckpt`` (a loaded checkpoint)."""
    old = TrainSettings.of_checkpoint(ckpt)
    images_seen = int(ckpt["images_seen"])
    new = grown_settings(old, resolution, images_seen, channels=channels, fade_kimg=fade_kimg,
                         r1_gamma=r1_gamma)
    old_res = old.resolution
    g_old = StyleGAN2Generator(old.generator_config())
    d_old = old.discriminator()
    # The old input block's fromRGB feeds the fade-in, or has no further use without one;
    # a fromRGB kept from an earlier grow is dropped.
    d_renames = {f"b{old_res}.fromrgb.{p}": (f"fromrgb_prev.{p}" if new.fade_kimg > 0 else None)
                 for p in ("weight", "bias")} | {f"fromrgb_prev.{p}": None for p in ("weight", "bias")}
    G = StyleGAN2Generator(new.generator_config())
    G_ema = StyleGAN2Generator(new.generator_config())
    D = new.discriminator()
    _copy_matching(G, ckpt["G"], {})
    _copy_matching(G_ema, ckpt["G_ema"], {})
    _copy_matching(D, ckpt["D"], d_renames)
    with torch.no_grad():
        for net in (G, G_ema):
            torgb = getattr(net.synthesis, f"b{resolution}").torgb
            torgb.weight.zero_()
            torgb.bias.zero_()
    opt_G, opt_D = make_optimizers(G, D, new)
    opt_G.load_state_dict(_moved_optimizer(ckpt["opt_G"], _names(g_old), _names(G), {}))
    opt_D.load_state_dict(_moved_optimizer(ckpt["opt_D"], _names(d_old), _names(D), d_renames))
    save_checkpoint(out, G=G, G_ema=G_ema, D=D, opt_G=opt_G, opt_D=opt_D,
                    extra={"augment": ckpt["augment"], "images_seen": images_seen,
                           "steps": int(ckpt["steps"]), "settings": json.dumps(new.to_dict())})
    return new


def _names(net: torch.nn.Module) -> list[str]:
    return [n for n, _ in net.named_parameters()]
