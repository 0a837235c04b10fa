"""Differentiable augmentation with an adaptive strength, for training on ~24k images.

Every image shown to the discriminator (real and generated alike) goes through the same
random pipeline, each transform applied with probability ``p``: integer-ish translation,
isotropic scaling and rotation (one affine resample with reflection padding), and
brightness, contrast and saturation. Because the transforms are differentiable, the
generator learns through them; because they hit reals and fakes alike, they do not leak
into the generated distribution as long as ``p`` stays well below 1 (Karras et al. 2020).

``p`` adapts: :meth:`AdaptiveAugment.update` nudges it so that the share of reals the
discriminator calls real (``E[sign(D(real))]``) stays near ``target``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class AdaptiveAugment:
    def __init__(self, p: float = 0.0, target: float = 0.6, speed_images: int = 100_000,
                 max_p: float = 0.8):
        self.p = p
        self.target = target
        self.speed_images = speed_images
        self.max_p = max_p
        self._signs: list[float] = []

    def record(self, real_logits: torch.Tensor) -> None:
        self._signs.append(real_logits.detach().sign().mean().item())

    def update(self, images_since_last: int) -> float:
        """Move p by ``images / speed_images`` up if D is over-confident on reals, else down."""
        if not self._signs:
            return self.p
        rt = sum(self._signs) / len(self._signs)
        self._signs.clear()
        step = images_since_last / self.speed_images
        self.p = min(max(self.p + math.copysign(step, rt - self.target), 0.0), self.max_p)
        return rt

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return augment(x, self.p)

    def state_dict(self) -> dict:
        return {"p": self.p}

    def load_state_dict(self, d: dict) -> None:
        self.p = float(d["p"])


def _gate(n: int, p: float, device) -> torch.Tensor:
    return (torch.rand(n, device=device) < p).float()


def augment(x: torch.Tensor, p: float) -> torch.Tensor:
    """x: ``[N, 3, H, W]`` in [-1, 1]; returns the same shape."""
    if p <= 0:
        return x
    n, dev = x.shape[0], x.device
    # Geometric: one affine grid combining translation, scale and rotation.
    tx = (torch.rand(n, device=dev) * 2 - 1) * 0.125 * 2 * _gate(n, p, dev)
    ty = (torch.rand(n, device=dev) * 2 - 1) * 0.125 * 2 * _gate(n, p, dev)
    scale = torch.exp2(torch.randn(n, device=dev) * 0.2 * _gate(n, p, dev))
    angle = (torch.rand(n, device=dev) * 2 - 1) * math.pi * 0.1 * _gate(n, p, dev)
    if bool((tx != 0).any() or (ty != 0).any() or (scale != 1).any() or (angle != 0).any()):
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # Colour.
    b = torch.randn(n, 1, 1, 1, device=dev) * 0.2 * _gate(n, p, dev).reshape(n, 1, 1, 1)
    x = x + b
    c = torch.exp2(torch.randn(n, 1, 1, 1, device=dev) * 0.5 * _gate(n, p, dev).reshape(n, 1, 1, 1))
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * c + mean
    s = torch.exp2(torch.randn(n, 1, 1, 1, device=dev) * 1.0 * _gate(n, p, dev).reshape(n, 1, 1, 1))
    luma = x.mean(dim=1, keepdim=True)
    x = (x - luma) * s + luma
    return x
