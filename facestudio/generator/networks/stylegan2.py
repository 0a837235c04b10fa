"""The StyleGAN2 generator: mapping network, synthesis blocks, and the two together.

Shapes: z ``[N, z_dim]``, c ``[N, c_dim]`` (one-hot for conditional models),
ws ``[N, num_ws, w_dim]``, images ``[N, img_channels, R, R]`` in about ``[-1, 1]``.
The modules are differentiable so the training code can use them; the inference API in
:mod:`facestudio.generator.model` wraps them in ``torch.inference_mode``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.layers import Conv2d, FullyConnected, SynthesisLayer, ToRGB
from facestudio.generator.networks.ops import make_filter, normalize_2nd_moment, upsample2d
from facestudio.latent.noise import NOISE_MODES



NHWC_MIN_FEATURE_BYTES = 256 << 10


def inference_channels_last(config: GeneratorConfig, device: torch.device) -> bool:
    """Whether float32 inference lays the features out NHWC by default: on a CPU with oneDNN,
    for models whose largest feature map is at least :data:`NHWC_MIN_FEATURE_BYTES` per face.
    Measured on a 2-core CPU (images within one uint8 level of NCHW): 1.25-1.5x faster than
    NCHW for a 256 px model with 512 channels (16 MB), 1.2x for the bundled 64 px model
    (0.5 MB); no difference for 32 px test models (32 KB), which keep NCHW and its pixels."""
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    largest = max(res * res * ch for res, ch in config.channels.items())
    return largest * 4 >= NHWC_MIN_FEATURE_BYTES


class MappingNetwork(nn.Module):
    """z (and class c) -> w through ``num_layers`` lrelu dense layers; tracks the mean ``w_avg``."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int, num_layers: int = 8,
                 embed_features: int | None = None, layer_features: int | None = None,
                 lr_multiplier: float = 0.01, w_avg_beta: float = 0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers = num_layers
        self.w_avg_beta = w_avg_beta
        embed_features = 0 if c_dim == 0 else (embed_features or w_dim)
        layer_features = layer_features or w_dim
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnected(c_dim, embed_features)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnected(features[i], features[i + 1], activation="lrelu",
                                                   lr_multiplier=lr_multiplier))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor | None, c: torch.Tensor | None = None, psi: float = 1.0,
                cutoff: int | None = None, update_w_avg: bool = False) -> torch.Tensor:
        """Returns ws ``[N, num_ws, w_dim]``; truncation pulls the first ``cutoff`` layers
        (all when None) towards ``w_avg`` by ``psi``."""
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.float()))
        if self.c_dim > 0:
            parts.append(normalize_2nd_moment(self.embed(c.float())))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if update_w_avg:
            self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if psi != 1:
            n = self.num_ws if cutoff is None else cutoff
            ws[:, :n] = self.w_avg.lerp(ws[:, :n], psi)
        return ws


class SynthesisBlock(nn.Module):
    """One resolution: (const input | upsampling conv0) + conv1, and ToRGB where the
    architecture calls for it. Consumes ``num_conv + num_torgb`` style vectors."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 img_channels: int, is_last: bool, architecture: str = "skip",
                 conv_clamp: float | None = None, use_noise: bool = True,
                 resample_filter=(1, 3, 3, 1)):
        super().__init__()
        self.in_channels = in_channels
        self.resolution = resolution
        self.architecture = architecture
        self.is_last = is_last
        self.register_buffer("resample_filter", make_filter(resample_filter), persistent=False)
        layer_kw = dict(w_dim=w_dim, resolution=resolution, conv_clamp=conv_clamp,
                        use_noise=use_noise, resample_filter=resample_filter)
        self.num_conv = 0
        self.num_torgb = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=True, **layer_kw)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer_kw)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGB(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
            self.num_torgb = 1
        if in_channels != 0 and architecture == "resnet":
            self.skip = Conv2d(in_channels, out_channels, kernel_size=1, bias=False, up=True,
                               resample_filter=resample_filter)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: str = "random", dtype: torch.dtype = torch.float32,
                channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """ws: ``[N, num_conv + num_torgb, w_dim]``. Returns features and the running image
        (see :meth:`features` and :meth:`image`)."""
        x = self.features(x, ws, noise_mode, dtype, channels_last)
        return x, self.image(x, img, ws)

    def features(self, x: torch.Tensor | None, ws: torch.Tensor, noise_mode: str = "random",
                 dtype: torch.dtype = torch.float32, channels_last: bool = False) -> torch.Tensor:
        """The block's convolutions: x ``[N, in_channels, r/2, r/2]`` (None for the first
        block) -> ``[N, out_channels, r, r]``, reading ws rows ``[0, num_conv)``.

        The features keep x's dtype and memory format; the first block lays its constant
        input out as ``dtype`` / ``channels_last`` (float32 NCHW is the exact path).
        """
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            if dtype != x.dtype or channels_last:
                fmt = torch.channels_last if channels_last else torch.contiguous_format
                x = x.to(dtype=dtype, memory_format=fmt)
            return self.conv1(x, next(w_iter), noise_mode)
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_mode)
            x = self.conv1(x, next(w_iter), noise_mode, gain=math.sqrt(0.5))
            return y + x
        return self.second_conv(self.first_conv(x, ws, noise_mode), ws, noise_mode)

    @property
    def splits_features(self) -> bool:
        """Whether :meth:`features` is :meth:`first_conv` then :meth:`second_conv` (a block
        with an upsampling convolution and no resnet skip), so that a renderer may keep the
        first one's output for an edit that starts at the second one's ws row."""
        return self.in_channels != 0 and self.architecture != "resnet"

    def first_conv(self, x: torch.Tensor, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        """The upsampling convolution (ws row 0): ``[N, in_channels, r/2, r/2]`` -> ``[N, out_channels, r, r]``."""
        return self.conv0(x, ws[:, 0], noise_mode)

    def second_conv(self, x: torch.Tensor, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        """The second convolution (ws row 1) on :meth:`first_conv`'s output; x is not modified."""
        return self.conv1(x, ws[:, 1], noise_mode)

    def image(self, x: torch.Tensor, img: torch.Tensor | None, ws: torch.Tensor) -> torch.Tensor | None:
        """The running image after this block: the previous one ``img`` (None before the
        first ToRGB) upsampled, plus ToRGB of the features ``x`` with ws row ``num_conv``.
        Kept in float32 (or wider) whatever the features' dtype."""
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, ws[:, self.num_conv])
            y = y.to(torch.promote_types(y.dtype, torch.float32))
            img = img + y if img is not None else y
        return img


class SynthesisNetwork(nn.Module):
    """ws -> image through blocks ``b4 .. b{resolution}``.

    ``channels_last``: the layout of the features at inference: True (NHWC), False (NCHW)
    or None (the default: :func:`inference_channels_last` for the model and device). With
    gradients on (training) the features are NCHW whatever it says.
    """

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.channels_last: bool | None = None
        self.block_resolutions = config.block_resolutions
        self.num_ws = 0
        for res in self.block_resolutions:
            in_ch = config.channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(in_ch, config.channels[res], config.w_dim, res,
                                   config.img_channels, is_last=res == config.resolution,
                                   architecture=config.architecture, conv_clamp=config.conv_clamp,
                                   use_noise=config.use_noise,
                                   resample_filter=config.resample_filter)
            self.num_ws += block.num_conv + (block.num_torgb if block.is_last else 0)
            setattr(self, f"b{res}", block)
        assert self.num_ws == config.num_ws

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    def block_ws(self, ws: torch.Tensor) -> list[torch.Tensor]:
        """Split ws per block; consecutive blocks share one vector (ToRGB / next conv0)."""
        out, idx = [], 0
        for block in self.blocks():
            out.append(ws.narrow(1, idx, block.num_conv + block.num_torgb))
            idx += block.num_conv
        return out

    def features_channels_last(self, device: torch.device) -> bool:
        """Whether a float32 synthesis on ``device`` lays its features out NHWC now."""
        if torch.is_grad_enabled():
            return False
        if self.channels_last is None:
            return inference_channels_last(self.config, device)
        return bool(self.channels_last)

    def forward(self, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.config.w_dim):
            raise ValueError(f"ws must have shape [N, {self.num_ws}, {self.config.w_dim}], "
                             f"got {list(ws.shape)}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        x = img = None
        channels_last = self.features_channels_last(ws.device)
        for block, w in zip(self.blocks(), self.block_ws(ws.float())):
            x, img = block(x, img, w, noise_mode, channels_last=channels_last)
        return img


class StyleGAN2Generator(nn.Module):
    """Mapping + synthesis, named ``mapping`` and ``synthesis`` like the reference."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(config.z_dim, config.c_dim, config.w_dim, self.num_ws,
                                      num_layers=config.mapping_layers,
                                      embed_features=config.embed_features,
                                      layer_features=config.layer_features,
                                      lr_multiplier=config.mapping_lr_multiplier)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, psi: float = 1.0,
                cutoff: int | None = None, noise_mode: str = "random") -> torch.Tensor:
        return self.synthesis(self.mapping(z, c, psi, cutoff), noise_mode=noise_mode)
