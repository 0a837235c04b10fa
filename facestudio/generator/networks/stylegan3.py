"""The StyleGAN3 generator (T and R configurations) in plain PyTorch.

Shapes: z ``[N, z_dim]``, ws ``[N, num_ws, w_dim]`` with ``num_ws = num_layers + 2``
(input, layers, ToRGB), images ``[N, img_channels, R, R]`` in about ``[-1, 1]``.
Parameter and buffer names mirror the reference (``synthesis.input.freqs``,
``synthesis.L3_52_512.up_filter``, ...) so that stored weights load by name. StyleGAN3 has
no noise inputs: the noise mode is accepted for a uniform API and has no effect.

One deliberate difference: the reference normalises the styles of a modulated convolution
by their mean square over the whole batch; here each sample is normalised on its own, which
is identical for batches of one (as the reference ``gen_images.py`` renders) and keeps every
face independent of what else is in its batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from facestudio.generator.networks.layers import FullyConnected
from facestudio.generator.networks.sg3_config import (InputSpec, LayerSpec, StyleGAN3Config, input_spec,
                                                      layer_specs)
from facestudio.generator.networks.sg3_ops import design_lowpass, filtered_lrelu, input_transform
from facestudio.generator.networks.stylegan2 import MappingNetwork
from facestudio.latent.noise import NOISE_MODES

Transform = tuple[float, float, float]  # (tx, ty, angle in degrees)


class SynthesisInput(nn.Module):
    """Fourier features: ``channels`` sinusoids with stored ``freqs`` ``[C, 2]`` and
    ``phases`` ``[C]``, rotated and translated per sample by an affine of w, then by the
    user ``transform`` ``[3, 3]`` (image -> feature frame), and mixed by ``weight``."""

    def __init__(self, w_dim: int, spec: InputSpec):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, spec.channels, spec.size
        self.sampling_rate, self.bandwidth = spec.sampling_rate, spec.bandwidth
        freqs = torch.randn(self.channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * self.bandwidth
        self.weight = nn.Parameter(torch.randn(self.channels, self.channels))
        self.affine = FullyConnected(w_dim, 4)
        with torch.no_grad():  # start as the identity: (cos, sin, tx, ty) = (1, 0, 0, 0)
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand(self.channels) - 0.5)

    def forward(self, w: torch.Tensor, transform: torch.Tensor | None = None) -> torch.Tensor:
        """w ``[N, w_dim]`` -> features ``[N, channels, size, size]``; ``transform``
        ``[3, 3]`` replaces the stored one for this call."""
        n = w.shape[0]
        user = self.transform if transform is None else transform.to(w)
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # (cos, sin, tx, ty) with a unit rotation
        rot = torch.eye(3, dtype=w.dtype, device=w.device).repeat(n, 1, 1)
        rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        shift = torch.eye(3, dtype=w.dtype, device=w.device).repeat(n, 1, 1)
        shift[:, 0, 2], shift[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = rot @ shift @ user.unsqueeze(0)  # [N, 3, 3]
        phases = self.phases.unsqueeze(0) + (self.freqs.unsqueeze(0) @ m[:, :2, 2:]).squeeze(2)
        freqs = self.freqs.unsqueeze(0) @ m[:, :2, :2]  # [N, C, 2]
        # Fade out frequencies above the bandwidth, gone at the Nyquist rate.
        amplitudes = (1 - (freqs.norm(dim=2) - self.bandwidth)
                      / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        # Sample centres, in units where the map spans size / sampling_rate.
        coords = (torch.arange(self.size, dtype=w.dtype, device=w.device) + 0.5 - self.size / 2) / self.sampling_rate
        x = (coords.reshape(1, 1, -1, 1) * freqs[:, :, 0].reshape(n, 1, 1, -1)
             + coords.reshape(1, -1, 1, 1) * freqs[:, :, 1].reshape(n, 1, 1, -1))
        x = torch.sin((x + phases.reshape(n, 1, 1, -1)) * (2 * math.pi))
        x = x * amplitudes.reshape(n, 1, 1, -1)  # [N, H, W, C]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class SynthesisLayer(nn.Module):
    """Modulated convolution (``conv_kernel`` x ``conv_kernel``; 1x1 without demodulation
    for ToRGB) followed by the filtered leaky ReLU with the ``up_filter`` / ``down_filter``
    buffers (absent when a side needs no filter). ``magnitude_ema`` (the running mean square
    of the input) normalises the input."""

    def __init__(self, w_dim: int, spec: LayerSpec, conv_clamp: float | None):
        super().__init__()
        self.spec = spec
        self.is_torgb = spec.is_torgb
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, spec.in_channels, bias_init=1.0)
        k = spec.conv_kernel
        self.weight = nn.Parameter(torch.randn(spec.out_channels, spec.in_channels, k, k))
        self.bias = nn.Parameter(torch.zeros(spec.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        self.register_buffer("up_filter", design_lowpass(
            spec.up_taps, spec.in_cutoff, spec.in_half_width * 2, spec.tmp_sampling_rate))
        self.register_buffer("down_filter", design_lowpass(
            spec.down_taps, spec.out_cutoff, spec.out_half_width * 2, spec.tmp_sampling_rate,
            radial=spec.down_radial))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x ``[N, in_channels, in_size, in_size]``, w ``[N, w_dim]``."""
        spec = self.spec
        n = x.shape[0]
        styles = self.affine(w)
        weight = self.weight
        if self.is_torgb:
            styles = styles * (1 / math.sqrt(spec.in_channels * spec.conv_kernel ** 2))
            wt = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)
        else:
            weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()
            wt = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)
            wt = wt * (wt.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        wt = wt * self.magnitude_ema.rsqrt()
        k = spec.conv_kernel
        x = torch.nn.functional.conv2d(x.reshape(1, -1, *x.shape[2:]),
                                       wt.reshape(-1, spec.in_channels, k, k),
                                       padding=k - 1, groups=n)
        x = x.reshape(n, -1, *x.shape[2:])
        return filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, spec.up_factor,
                              spec.down_factor, spec.padding,
                              gain=1.0 if self.is_torgb else math.sqrt(2),
                              slope=1.0 if self.is_torgb else 0.2, clamp=self.conv_clamp)


class SynthesisNetwork(nn.Module):
    """ws -> image: ``input`` then layers ``L0_*`` .. ``L{num_layers}_*`` (ToRGB), scaled by
    ``output_scale``."""

    def __init__(self, config: StyleGAN3Config):
        super().__init__()
        self.config = config
        self.num_ws = config.num_ws
        self.input = SynthesisInput(config.w_dim, input_spec(config))
        self.layer_names = []
        for spec in layer_specs(config):
            setattr(self, spec.name, SynthesisLayer(config.w_dim, spec, config.conv_clamp))
            self.layer_names.append(spec.name)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const",
                transform: torch.Tensor | None = None) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.config.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.config.w_dim}], "
                             f"got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        ws = ws.float().unbind(dim=1)
        x = self.input(ws[0], transform)
        for name, w in zip(self.layer_names, ws[1:]):
            x = getattr(self, name)(x, w)
        return x * self.config.output_scale if self.config.output_scale != 1 else x


class StyleGAN3Generator(nn.Module):
    """Mapping + synthesis, named ``mapping`` and ``synthesis`` like the reference."""

    def __init__(self, config: StyleGAN3Config):
        super().__init__()
        self.config = config
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(config.z_dim, config.c_dim, config.w_dim, self.num_ws,
                                      num_layers=config.mapping_layers,
                                      lr_multiplier=config.mapping_lr_multiplier,
                                      w_avg_beta=0.998)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0,
                cutoff: int | None = None, noise_mode: str = "const",
                transform: Transform | None = None) -> torch.Tensor:
        m = None if transform is None else input_transform(*transform)
        return self.synthesis(self.mapping(z, c, psi, cutoff), noise_mode=noise_mode, transform=m)


def transform_matrix(transform: Transform) -> torch.Tensor:
    """Check ``(tx, ty, angle)`` and return the input's ``[3, 3]`` transform for it."""
    values = np.asarray(transform, dtype=np.float64) if transform is not None else None
    if values is None or values.shape != (3,) or not np.isfinite(values).all():
        raise ValueError(f"a transform is (tx, ty, angle in degrees), got {transform!r}")
    return input_transform(*values.tolist())
