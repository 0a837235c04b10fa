"""The preview level chosen from a model's cost and the measured speed."""

from __future__ import annotations

import pytest

from facestudio.generator.networks.config import GeneratorConfig, default_channels
from facestudio.render.preview_levels import (INITIAL_MS_PER_GMAC, PREVIEW_TARGET_MS, PreviewLevelChooser,
                                              block_gmacs)
from facestudio.render.renderer import Renderer
from facestudio.render.worker import RenderWorker
from facestudio.generator.model import generator_from_network
from facestudio.latent.recipe import Recipe
from tests.conftest import randomised_network, small_config

TIMEOUT = 30


@pytest.fixture(scope="module")
def skip_gen():
    return generator_from_network(randomised_network(small_config()))


def ffhq_config(resolution=1024):
    return GeneratorConfig(resolution=resolution, channels=default_channels(resolution), conv_clamp=256.0)


def test_block_costs_of_an_ffhq_size_network_add_up_to_its_known_size():
    costs = block_gmacs(ffhq_config())
    assert len(costs) == 9  # 4 .. 1024 px
    assert 70 < sum(costs) < 78  # about 74 G multiply-adds per face
    # The 1024 px block alone: 4.8 (transposed up-conv) + 9.7 (3x3) + 0.1 (ToRGB)
    assert costs[-1] == pytest.approx(14.6, abs=0.1)


def test_a_1024_px_network_previews_coarser_than_a_small_one():
    big = PreviewLevelChooser(block_gmacs(ffhq_config()), max_level=8, precision="bf16")
    small = PreviewLevelChooser(block_gmacs(ffhq_config(64)), max_level=4, precision="fp32")
    assert small.level == 1
    assert big.level == 4  # 64 px: 16 G multiply-adds, about 95 ms in bf16 on 2 cores
    assert big.estimate_ms(big.level) <= PREVIEW_TARGET_MS < big.estimate_ms(big.level - 1)
    fp32 = PreviewLevelChooser(block_gmacs(ffhq_config()), max_level=8, precision="fp32")
    assert fp32.level == 5  # float32 previews are slower per multiply-add: one level coarser


def test_measured_previews_move_the_level_both_ways():
    chooser = PreviewLevelChooser(block_gmacs(ffhq_config()), max_level=8, precision="bf16")
    start = chooser.level
    for _ in range(10):  # this machine is four times slower than assumed
        chooser.observe(4 * INITIAL_MS_PER_GMAC["bf16"] * 10.0, 10.0)
    assert chooser.level == start + 1
    for _ in range(20):  # and now (a GPU) a hundred times faster, on big previews
        chooser.observe(0.06 * 60.0, 60.0)
    assert chooser.level == 1
    level = chooser.level
    chooser.observe(500.0, 0.001)  # a preview served from the cache says nothing about speed
    assert chooser.level == level


def test_a_model_without_preview_levels_always_renders_full():
    assert PreviewLevelChooser([], max_level=0).level == 0


def test_the_worker_previews_at_the_chosen_level_and_learns_from_it(skip_gen):
    renderer = Renderer(skip_gen, preview_precision="fp32")
    seen = []
    worker = RenderWorker(renderer, seen.append, settle_seconds=0.05)
    try:
        assert worker.level_chooser is not None
        assert worker.preview_level == 1  # a small test model: the finest preview
        before = worker.level_chooser.ms_per_gmac
        worker.submit(Recipe(skip_gen.sha256, seed=3), interactive=True)
        assert worker.wait_idle(TIMEOUT)
    finally:
        assert worker.shutdown(TIMEOUT)
    assert [r.level for r in seen] == [1, 0]  # the preview, then the settled frame
    assert worker.level_chooser.ms_per_gmac != before  # the preview's time was folded in
    fixed = RenderWorker(renderer, seen.append, preview_level=3)
    try:
        assert fixed.level_chooser is None and fixed.preview_level == 3
    finally:
        assert fixed.shutdown(TIMEOUT)
