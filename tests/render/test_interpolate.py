"""Interpolation strips: exact end points, per-layer travel, worker ws batches (writing them: tests/provenance/test_sequence.py)."""

import threading

import numpy as np
import pytest

from facestudio.generator.model import generator_from_network
from facestudio.latent.recipe import Mix, Recipe
from facestudio.render import Renderer, RenderWorker
from facestudio.render.interpolate import interpolation_ws, render_strip
from tests.conftest import randomised_network, small_config


@pytest.fixture(scope="module")
def renderer():
    return Renderer(generator_from_network(randomised_network(small_config()), name="interp"))


def faces(renderer):
    sha = renderer.generator.sha256
    return Recipe(sha, 1), Recipe(sha, 2, mix=Mix(3, (0, 2)))


def test_ws_go_linearly_from_a_to_b_with_exact_ends(renderer):
    a, b = faces(renderer)
    ws = interpolation_ws(renderer, a, b, 5)
    wa, wb = renderer.ws_for(a), renderer.ws_for(b)
    assert ws.shape == (5,) + wa.shape and ws.dtype == np.float32
    assert np.array_equal(ws[0], wa) and np.array_equal(ws[-1], wb)
    assert np.allclose(ws[2], (wa + wb) / 2, atol=1e-6)


def test_per_layer_option_moves_only_those_rows(renderer):
    a, b = faces(renderer)
    ws = interpolation_ws(renderer, a, b, 4, layers=(2, 5))
    wa, wb = renderer.ws_for(a), renderer.ws_for(b)
    assert np.array_equal(ws[:, :2], np.broadcast_to(wa[:2], ws[:, :2].shape))
    assert np.array_equal(ws[:, 5:], np.broadcast_to(wa[5:], ws[:, 5:].shape))
    assert np.array_equal(ws[-1, 2:5], wb[2:5])
    for bad in (1, 10_000, 2.5):
        with pytest.raises(ValueError, match="steps"):
            interpolation_ws(renderer, a, b, bad)
    with pytest.raises(ValueError, match="layers"):
        interpolation_ws(renderer, a, b, 3, layers=(0, 99))


def test_strip_ends_are_the_two_faces(renderer):
    a, b = faces(renderer)
    frames = render_strip(renderer, a, b, 6, max_batch=4)
    assert frames.shape == (6, 32, 32, 3) and frames.dtype == np.uint8
    assert np.abs(frames[0].astype(int) - renderer.render(a)).max() <= 1
    assert np.abs(frames[-1].astype(int) - renderer.render(b)).max() <= 1


def test_worker_renders_a_ws_batch_in_chunks(renderer):
    a, b = faces(renderer)
    chunks, done = [], threading.Event()

    def on_batch(result):
        chunks.append(result)
        if result.is_last:
            done.set()

    worker = RenderWorker(renderer, on_result=lambda r: None, on_batch_result=on_batch, batch_chunk=4)
    try:
        worker.submit_ws_batch(lambda r: interpolation_ws(r, a, b, 10), 10, tag="strip")
        assert done.wait(30)
    finally:
        worker.shutdown()
    assert [(c.start_index, c.stop_index, c.ok) for c in chunks] == [(0, 4, True), (4, 8, True), (8, 10, True)]
    frames = np.concatenate([c.images for c in chunks])
    assert np.array_equal(frames, np.concatenate(
        [renderer.render_ws(w) for w in np.split(interpolation_ws(renderer, a, b, 10), [4, 8])]))
