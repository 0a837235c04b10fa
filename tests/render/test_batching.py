"""Batch sizes follow the model's activations, and the worker splits a grid into chunks of
that size so an interactive request never waits behind the whole grid."""

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from facestudio.generator.model import generator_from_network
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.latent.recipe import Recipe
from facestudio.render import BatchResult, Renderer, RenderResult, RenderWorker
from facestudio.render.synthesis import MAX_BATCH, batch_size_for
from tests.conftest import randomised_network, small_config

TIMEOUT = 10.0


def config_only(**kw):
    return SimpleNamespace(config=GeneratorConfig(**kw))


def test_batch_size_follows_the_largest_activation():
    bundled = config_only(resolution=64, z_dim=256, w_dim=256,
                          channels={4: 128, 8: 128, 16: 128, 32: 64, 64: 32})
    paper256 = config_only(resolution=256, z_dim=512, w_dim=512,
                           channels={4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64})
    assert batch_size_for(bundled) == 8  # 0.5 MB per face: batching paid (measured)
    assert batch_size_for(paper256) == 1  # 16 MB per face: batch 1 was fastest (measured)
    assert batch_size_for(SimpleNamespace(config=small_config())) == MAX_BATCH  # 32 px test models
    g = generator_from_network(randomised_network(small_config()))
    assert Renderer(g).batch_size == MAX_BATCH and Renderer(g, batch_size=3).batch_size == 3
    with pytest.raises(ValueError, match="batch_size"):
        Renderer(g, batch_size=0)


def test_render_batch_uses_the_batch_size():
    g = generator_from_network(randomised_network(small_config()))
    r = Renderer(g, batch_size=2)
    calls = []
    real = r.synthesis.render_ws  # the synthesis half renders each chunk

    def counting(ws, *args, **kw):
        calls.append(len(ws))
        return real(ws, *args, **kw)

    r.synthesis.render_ws = counting
    images = r.render_batch([Recipe(g.sha256, seed=s) for s in range(5)])
    assert calls == [2, 2, 1] and images.shape == (5, 32, 32, 3)


def test_the_worker_chunks_a_grid_by_the_renderer_batch_size_and_serves_a_slider_first():
    g = generator_from_network(randomised_network(small_config()))
    events: list = []
    lock = threading.Lock()
    slider = Recipe(g.sha256, seed=99, psi=0.5)
    worker = None

    def on_batch(chunk: BatchResult):
        with lock:
            events.append(("chunk", chunk.start_index, len(chunk.images)))
        if chunk.start_index == 0:  # the user grabs a slider while the grid renders
            worker.submit(slider, interactive=True)

    frames: list[RenderResult] = []

    def on_result(result: RenderResult):
        with lock:
            events.append(("frame", result.level))
            frames.append(result)

    renderer = Renderer(g, batch_size=1, preview_precision="bf16")
    worker = RenderWorker(renderer, on_result, on_batch_result=on_batch, settle_seconds=0.01,
                          preview_level=2)
    try:
        assert worker.batch_chunk == 1
        grid = [Recipe(g.sha256, seed=s) for s in range(6)]
        worker.submit_batch(grid, tag="grid")
        assert worker.wait_idle(TIMEOUT)
    finally:
        assert worker.shutdown(TIMEOUT)
    chunks = [e for e in events if e[0] == "chunk"]
    assert chunks == [("chunk", i, 1) for i in range(6)]
    # The preview and the settled frame come right after the chunk that was running.
    assert events[:3] == [("chunk", 0, 1), ("frame", 2), ("frame", 0)]
    assert np.array_equal(frames[-1].image, Renderer(g).render(slider))  # the exact frame
