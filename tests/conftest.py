"""Shared fixtures: small generators built with our own code, written in our own formats."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(1)

from facestudio.generator.config import GeneratorConfig  # noqa: E402
from facestudio.generator.native import write_native  # noqa: E402
from facestudio.generator.stylegan2 import StyleGAN2Generator  # noqa: E402

CARD = """---
name: Test faces
license: CC-BY-NC-4.0
license_url: https://creativecommons.org/licenses/by-nc/4.0/
attribution: facestudio test suite
trained: false
---
# Test model

Randomly initialised; it makes noise, not faces.
"""


def small_config(**overrides) -> GeneratorConfig:
    kw = dict(resolution=32, z_dim=32, w_dim=32, mapping_layers=2,
              channels={4: 32, 8: 32, 16: 16, 32: 8})
    kw.update(overrides)
    return GeneratorConfig(**kw)


def randomised_network(config: GeneratorConfig, seed: int = 0) -> StyleGAN2Generator:
    """A network whose biases, noise strengths and w_avg are non-zero, so they all matter."""
    torch.manual_seed(seed)
    net = StyleGAN2Generator(config).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("noise_strength") or name.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.3)
        net.mapping.w_avg.copy_(torch.randn(config.w_dim) * 0.5)
    return net


@pytest.fixture
def native_model(tmp_path):
    """A small native model folder with a model card; returns its path."""
    cfg = small_config()
    net = randomised_network(cfg)
    return write_native(tmp_path / "model", cfg, net.state_dict(), card_text=CARD)


@pytest.fixture
def conditional_model(tmp_path):
    cfg = small_config(c_dim=4)
    net = randomised_network(cfg)
    return write_native(tmp_path / "cond", cfg, net.state_dict(), card_text=CARD)
