"""Write rosinality ``stylegan2-pytorch`` style checkpoints from our own generator's weights.

The key layout and shapes follow rosinality's ``Generator.state_dict()``: ``style.{1..n}``,
``input.input`` ``[1, C, 4, 4]``, ``conv1`` / ``convs.{i}`` (``conv.weight`` ``[1, O, I, 3, 3]``,
``conv.modulation.*``, ``noise.weight`` ``[1]``, ``activate.bias`` ``[O]``, blur kernels for
the upsampling convs), ``to_rgb1`` / ``to_rgbs.{j}`` (``bias`` ``[1, 3, 1, 1]``, upsample
kernels), ``noises.noise_{i}`` ``[1, 1, r, r]``. Written independently of the loader so the
round-trip tests check the loader rather than mirror it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from facestudio.generator.networks.stylegan2 import StyleGAN2Generator


def _blur_kernel(taps) -> torch.Tensor:
    t = torch.tensor(taps, dtype=torch.float32)
    k = t[None, :] * t[:, None]
    return k / k.sum() * 4


def rosinality_state_dict(generator: StyleGAN2Generator) -> dict[str, torch.Tensor]:
    """The generator's weights under rosinality's names and shapes (no ``latent_avg``)."""
    ours = {k: v.detach().clone() for k, v in generator.state_dict().items()}
    cfg = generator.config
    kernel = _blur_kernel(cfg.resample_filter)
    sd: dict[str, torch.Tensor] = {}
    for i in range(cfg.mapping_layers):
        sd[f"style.{i + 1}.weight"] = ours[f"mapping.fc{i}.weight"]
        sd[f"style.{i + 1}.bias"] = ours[f"mapping.fc{i}.bias"]
    sd["input.input"] = ours["synthesis.b4.const"].unsqueeze(0)

    def styled_conv(dst: str, src: str, noise_index: int, upsample: bool) -> None:
        sd[f"{dst}.conv.weight"] = ours[f"{src}.weight"].unsqueeze(0)
        if upsample:
            sd[f"{dst}.conv.blur.kernel"] = kernel.clone()
        sd[f"{dst}.conv.modulation.weight"] = ours[f"{src}.affine.weight"]
        sd[f"{dst}.conv.modulation.bias"] = ours[f"{src}.affine.bias"]
        sd[f"{dst}.noise.weight"] = ours[f"{src}.noise_strength"].reshape(1)
        sd[f"{dst}.activate.bias"] = ours[f"{src}.bias"]
        sd[f"noises.noise_{noise_index}"] = ours[f"{src}.noise_const"][None, None]

    def to_rgb(dst: str, src: str, upsample: bool) -> None:
        if upsample:
            sd[f"{dst}.upsample.kernel"] = kernel.clone()
        sd[f"{dst}.conv.weight"] = ours[f"{src}.weight"].unsqueeze(0)
        sd[f"{dst}.conv.modulation.weight"] = ours[f"{src}.affine.weight"]
        sd[f"{dst}.conv.modulation.bias"] = ours[f"{src}.affine.bias"]
        sd[f"{dst}.bias"] = ours[f"{src}.bias"].reshape(1, -1, 1, 1)

    styled_conv("conv1", "synthesis.b4.conv1", 0, upsample=False)
    to_rgb("to_rgb1", "synthesis.b4.torgb", upsample=False)
    for j, res in enumerate(cfg.block_resolutions[1:]):
        styled_conv(f"convs.{2 * j}", f"synthesis.b{res}.conv0", 2 * j + 1, upsample=True)
        styled_conv(f"convs.{2 * j + 1}", f"synthesis.b{res}.conv1", 2 * j + 2, upsample=False)
        to_rgb(f"to_rgbs.{j}", f"synthesis.b{res}.torgb", upsample=True)
    return sd


def write_rosinality_checkpoint(generator: StyleGAN2Generator, path: str | Path,
                                with_latent_avg: bool = True, latent_avg_shape=None,
                                **extra) -> Path:
    """Save ``{"g_ema": ..., "latent_avg": w_avg, **extra}`` like rosinality's converter.

    latent_avg_shape: e.g. ``(1, w_dim)`` or ``(18, w_dim)`` to store the mean w repeated in
    another layout (default ``[w_dim]``); extra: more top-level entries (``args``, ``g``, ...).
    """
    path = Path(path)
    ckpt = {"g_ema": rosinality_state_dict(generator), **extra}
    if with_latent_avg:
        w_avg = generator.mapping.w_avg.detach().clone()
        if latent_avg_shape is not None:
            w_avg = w_avg.expand(*latent_avg_shape).clone()
        ckpt["latent_avg"] = w_avg
    torch.save(ckpt, path)
    return path
