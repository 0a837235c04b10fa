"""A residual StyleGAN2 discriminator for small resolutions.

Blocks halve the resolution from R down to 4; the epilogue adds a minibatch standard
deviation channel, a 3x3 conv, a dense layer and the single real/fake logit.
Shapes: images ``[N, 3, R, R]`` in [-1, 1] -> logits ``[N, 1]``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from facestudio.generator.networks.layers import Conv2d, FullyConnected
from facestudio.generator.networks.ops import downsample2d, make_filter


class DiscriminatorBlock(nn.Module):
    """fromRGB (first block only), two 3x3 convs (the second downsamples) and a 1x1 skip."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int,
                 img_channels: int = 3, conv_clamp: float | None = None):
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = Conv2d(img_channels, tmp_channels, 1, activation="lrelu",
                                  conv_clamp=conv_clamp)
        self.conv0 = Conv2d(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2d(tmp_channels, out_channels, 3, activation="lrelu", down=True,
                            conv_clamp=conv_clamp)
        self.skip = Conv2d(tmp_channels, out_channels, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor, img: torch.Tensor | None) -> torch.Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(img)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv0(x)
        x = self.conv1(x, gain=math.sqrt(0.5))
        return y + x


class MinibatchStd(nn.Module):
    """Append the mean standard deviation over groups of samples as extra channels."""

    def __init__(self, group_size: int = 4, num_channels: int = 1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        if n % g:
            g = 1
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # [n/g, f]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class Discriminator(nn.Module):
    """channels: feature maps per resolution (same keys as the generator's).

    ``fade_in``: the network was grown by one input block. It keeps the smaller network's
    fromRGB as ``fromrgb_prev``; while ``alpha`` < 1 the second block's input is
    ``lerp(fromrgb_prev(downsampled image), first block(image), alpha)``, so a grown
    discriminator starts as the trained smaller one looking at a low-passed image.
    """

    def __init__(self, resolution: int, channels: dict[int, int], img_channels: int = 3,
                 mbstd_group: int = 4, conv_clamp: float | None = None, fade_in: bool = False):
        super().__init__()
        self.resolution = resolution
        self.alpha = 1.0
        if fade_in:
            self.fromrgb_prev = Conv2d(img_channels, channels[resolution // 2], 1,
                                       activation="lrelu", conv_clamp=conv_clamp)
            self.register_buffer("fade_filter", make_filter(), persistent=False)
        self.block_resolutions = [2 ** i for i in range(int(math.log2(resolution)), 2, -1)]
        for res in self.block_resolutions:
            in_ch = 0 if res == resolution else channels[res]
            block = DiscriminatorBlock(in_ch, channels[res], channels[res // 2], img_channels,
                                       conv_clamp=conv_clamp)
            setattr(self, f"b{res}", block)
        c4 = channels[4]
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = Conv2d(c4 + 1, c4, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.fc = FullyConnected(c4 * 16, c4, activation="lrelu")
        self.out = FullyConnected(c4, 1)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = None
        for res in self.block_resolutions:
            x = getattr(self, f"b{res}")(x, img)
            if res == self.resolution and self.alpha < 1 and hasattr(self, "fromrgb_prev"):
                prev = self.fromrgb_prev(downsample2d(img, self.fade_filter))
                x = torch.lerp(prev, x, self.alpha)
        x = self.conv(self.mbstd(x))
        x = self.fc(x.flatten(1))
        return self.out(x)
