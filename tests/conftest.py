"""Shared fixtures: small generators built with our own code, written in our own formats."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Commands run in this process must not keep freed memory (facestudio.render.allocator): the
# memory-capped tests fork children from it, and a child's reported peak starts at its parent's size.
os.environ["FACESTUDIO_KEEP_FREED_MEMORY"] = "0"
torch.set_num_threads(1)

from facestudio.generator.formats.native import write_native  # noqa: E402
from facestudio.generator.networks.config import GeneratorConfig  # noqa: E402
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator  # noqa: E402
from tests.lanes import mark_slow_lane  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Whole-window, subprocess and benchmark tests join the slow lane (tests/lanes.py)."""
    mark_slow_lane(items)

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


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Direction discovery caches per model on disk; tests use a private folder, never ~/.cache."""
    os.environ["FACESTUDIO_CACHE"] = str(tmp_path_factory.mktemp("facestudio-cache"))
    yield


def network_from(read) -> StyleGAN2Generator:
    """Build a network from a reader's ``(config, state, meta)``, refusing any mismatch."""
    config, state, _ = read
    net = StyleGAN2Generator(config).eval()
    net.load_state_dict(state, strict=True)
    return net


def sample_images(net: StyleGAN2Generator, psi: float = 0.7) -> torch.Tensor:
    """Three images for fixed z (seed 7), noise const: what the loader round trips compare."""
    import numpy as np
    z = torch.from_numpy(np.random.RandomState(7).randn(3, net.config.z_dim)).float()
    c = None
    if net.config.c_dim:
        c = torch.nn.functional.one_hot(torch.tensor([0, 1, 2]) % net.config.c_dim, net.config.c_dim).float()
    with torch.no_grad():
        return net(z, c, psi=psi, noise_mode="const")


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


# Property tests (tests/properties/): reproducible in CI and quick on a busy 2-core machine.
# derandomize draws the same examples on every run and needs no example database.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("facestudio", derandomize=True, database=None, deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# HYPOTHESIS_PROFILE=thorough hunts further (random, 500 examples a test) when changing a reader.
settings.register_profile("thorough", parent=settings.get_profile("facestudio"), derandomize=False,
                          max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "facestudio"))


@pytest.fixture
def without_watermark(monkeypatch):
    """Exports without the invisible watermark (and its upscale of small images), for the tests
    that compare a sheet's cells with the API's pixels; the mark has its own tests
    (tests/provenance/test_watermark.py)."""
    monkeypatch.setattr("facestudio.provenance.export.embed_watermark", lambda image, sha: image)
    monkeypatch.setattr("facestudio.provenance.export.upscale_factor", lambda width, height: 1)  # the mark's size


MEASURES_FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "measures.json")


@pytest.fixture
def measures_reference(monkeypatch):
    """The real photos' percentiles the attribute filters read (``weights/measures.json``):
    a copy of those measured on 3,000 UTKFace photos, whatever the weights folder holds."""
    from pathlib import Path
    monkeypatch.setattr("facestudio.analysis.filters.reference_path", lambda: Path(MEASURES_FIXTURE))
    from facestudio.analysis.filters import read_reference
    return read_reference()
