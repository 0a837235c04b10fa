"""RenderWorker: latest wins, preview then settle, errors keep it alive, batches yield."""

import threading

import numpy as np
import pytest

from facestudio.generator.model import generator_from_network
from facestudio.latent.recipe import Recipe
from facestudio.render import BatchResult, Renderer, RenderResult, RenderWorker
from tests.conftest import randomised_network, small_config

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def skip_gen():
    return generator_from_network(randomised_network(small_config()))


@pytest.fixture(scope="module")
def resnet_gen():
    return generator_from_network(randomised_network(small_config(architecture="resnet")))


class Collector:
    """Records results (and batch chunks) in arrival order, from the worker thread."""

    def __init__(self):
        self.events: list[RenderResult | BatchResult] = []
        self.lock = threading.Lock()

    def result(self, r: RenderResult) -> None:
        with self.lock:
            self.events.append(r)

    def batch(self, b: BatchResult) -> None:
        with self.lock:
            self.events.append(b)

    @property
    def results(self) -> list[RenderResult]:
        return [e for e in self.events if isinstance(e, RenderResult)]

    @property
    def chunks(self) -> list[BatchResult]:
        return [e for e in self.events if isinstance(e, BatchResult)]


@pytest.fixture
def make_worker():
    workers = []

    def make(generator, **kw):
        collector = Collector()
        kw.setdefault("settle_seconds", 0.05)
        kw.setdefault("preview_level", 2)  # fixed, so the scheduling tests know what a preview is
        renderer = Renderer(generator, preview_precision=kw.pop("preview_precision", "fp32"),
                            batch_size=kw.pop("batch_size", None))
        worker = RenderWorker(renderer, collector.result,
                              on_batch_result=kw.pop("on_batch_result", collector.batch), **kw)
        workers.append(worker)
        return worker, collector

    yield make
    for w in workers:
        assert w.shutdown(TIMEOUT)


def recipes(g, n, **kw):
    return [Recipe(g.sha256, seed=s, **kw) for s in range(n)]


def test_a_burst_of_requests_renders_few_and_ends_on_the_last(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen)
    burst = [Recipe(skip_gen.sha256, seed=7, psi=0.5 + i / 400) for i in range(200)]
    ids = [worker.submit(r) for r in burst]
    assert worker.wait_idle(TIMEOUT)
    stats = worker.stats
    assert stats.requested == 200 and stats.rendered < 50
    assert stats.replaced + stats.rendered + stats.errors == 200
    last = seen.results[-1]
    assert last.recipe == burst[-1] and last.request_id == ids[-1] and last.level == 0 and last.ok
    delivered = [r.request_id for r in seen.results]
    assert delivered == sorted(set(delivered))  # never backwards


def test_an_interactive_burst_shows_previews_then_settles_to_full(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen)
    burst = [Recipe(skip_gen.sha256, seed=3, psi=0.5 + i / 400) for i in range(200)]
    for r in burst:
        worker.submit(r, interactive=True)
    assert worker.wait_idle(TIMEOUT)
    assert worker.stats.rendered < 50 and worker.stats.settled >= 1
    results = seen.results
    assert results[-1].recipe == burst[-1] and results[-1].level == 0
    assert results[-2].recipe == burst[-1] and results[-2].level == 2
    delivered = [r.request_id for r in results]
    assert delivered == sorted(delivered)


def test_an_interactive_request_gets_a_preview_then_the_full_render(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen, preview_level=2)
    recipe = Recipe(skip_gen.sha256, seed=12, psi=0.7)
    request_id = worker.submit(recipe, interactive=True)
    assert worker.wait_idle(TIMEOUT)
    preview, full = seen.results
    assert (preview.request_id, preview.level, preview.recipe) == (request_id, 2, recipe)
    assert (full.request_id, full.level, full.recipe) == (request_id, 0, recipe)
    renderer = worker.renderer
    assert np.array_equal(preview.image, renderer.render(recipe, level=2))
    assert np.array_equal(full.image, renderer.render(recipe))
    assert full.image.flags["C_CONTIGUOUS"] and full.image.dtype == np.uint8 and full.elapsed_ms >= 0


def test_interactive_on_a_resnet_model_is_one_full_render(resnet_gen, make_worker):
    worker, seen = make_worker(resnet_gen)
    recipe = Recipe(resnet_gen.sha256, seed=2)
    worker.submit(recipe, interactive=True)
    assert worker.wait_idle(TIMEOUT)
    assert [(r.level, r.recipe) for r in seen.results] == [(0, recipe)]
    assert worker.stats.settled == 0


def test_a_finished_frame_that_is_no_longer_newest_is_dropped(skip_gen, make_worker, monkeypatch):
    worker, seen = make_worker(skip_gen)
    renderer = worker.renderer
    started, release = threading.Event(), threading.Event()
    real_render = renderer.render

    def slow_render(recipe, level=0):
        started.set()
        assert release.wait(TIMEOUT)
        return real_render(recipe, level)

    monkeypatch.setattr(renderer, "render", slow_render)
    old, new = recipes(skip_gen, 2)
    worker.submit(old)
    assert started.wait(TIMEOUT)
    new_id = worker.submit(new)
    release.set()
    assert worker.wait_idle(TIMEOUT)
    assert [(r.request_id, r.recipe) for r in seen.results] == [(new_id, new)]
    assert worker.stats.dropped == 1


def test_errors_become_results_and_the_worker_keeps_going(skip_gen, make_worker, monkeypatch):
    worker, seen = make_worker(skip_gen)
    good = Recipe(skip_gen.sha256, seed=1)
    worker.submit(good.with_edit("no-such-direction", 1.0, (0, 4)))
    assert worker.wait_idle(TIMEOUT)
    worker.submit(good)
    assert worker.wait_idle(TIMEOUT)
    failed, fine = seen.results
    assert failed.image is None and not failed.ok and "not loaded" in failed.error
    assert fine.ok and fine.image.shape == (32, 32, 3)

    real_render = worker.renderer.render
    calls = []

    def flaky(recipe, level=0):
        calls.append(recipe)
        if len(calls) == 1:
            raise RuntimeError("the accelerator caught fire")
        return real_render(recipe, level)

    monkeypatch.setattr(worker.renderer, "render", flaky)
    worker.submit(good.replace(seed=2))
    assert worker.wait_idle(TIMEOUT)
    worker.submit(good.replace(seed=3))
    assert worker.wait_idle(TIMEOUT)
    boom, after = seen.results[2:]
    assert boom.error == "rendering failed with RuntimeError: the accelerator caught fire"
    assert after.ok and after.recipe.seed == 3
    assert worker.stats.errors == 2


def test_a_failing_callback_does_not_stop_the_worker(skip_gen, make_worker):
    delivered = []

    def on_result(result):
        delivered.append(result)
        if len(delivered) == 1:
            raise RuntimeError("a widget went away")

    worker = make_worker(skip_gen)[0]
    worker.on_result = on_result
    for seed in (1, 2):
        worker.submit(Recipe(skip_gen.sha256, seed=seed))
        assert worker.wait_idle(TIMEOUT)
    assert [r.recipe.seed for r in delivered] == [1, 2]
    assert worker.stats.callback_errors == 1


def test_a_batch_arrives_in_chunks_with_all_images(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen, batch_chunk=4)
    batch = recipes(skip_gen, 10)
    batch_id = worker.submit_batch(batch, tag="grid")
    assert worker.wait_idle(TIMEOUT)
    chunks = seen.chunks
    assert [(c.start_index, len(c.images)) for c in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert all(c.tag == "grid" and c.batch_id == batch_id and c.total == 10 and c.ok for c in chunks)
    assert chunks[-1].is_last and not chunks[0].is_last
    images = np.concatenate([c.images for c in chunks])
    assert np.array_equal(images, worker.renderer.render_batch(batch, max_batch=4))
    assert [r for c in chunks for r in c.recipes] == batch


def test_an_interactive_request_is_served_before_a_long_batch_ends(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen, batch_chunk=2)
    drag = Recipe(skip_gen.sha256, seed=42, psi=0.3)

    def on_batch(chunk):
        seen.batch(chunk)
        if chunk.start_index == 0:  # the user grabs a slider while the grid renders
            worker.submit(drag, interactive=True)

    worker.on_batch_result = on_batch
    worker.submit_batch(recipes(skip_gen, 16), tag="grid")
    assert worker.wait_idle(TIMEOUT)
    kinds = [("chunk", e.start_index) if isinstance(e, BatchResult) else ("result", e.level)
             for e in seen.events]
    assert kinds[:3] == [("chunk", 0), ("result", 2), ("result", 0)]
    assert [c.start_index for c in seen.chunks] == list(range(0, 16, 2))


def test_a_newer_batch_with_the_same_tag_cancels_the_older(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen, batch_chunk=2)
    newer = recipes(skip_gen, 4, psi=0.4)

    def on_batch(chunk):
        seen.batch(chunk)
        if chunk.batch_id == first_id and chunk.start_index == 0:
            worker.submit_batch(newer, tag="thumbs")

    worker.on_batch_result = on_batch
    first_id = worker.submit_batch(recipes(skip_gen, 12), tag="thumbs")
    assert worker.wait_idle(TIMEOUT)
    got = [(c.batch_id == first_id, c.start_index) for c in seen.chunks]
    assert got == [(True, 0), (False, 0), (False, 2)]
    assert worker.stats.batches_cancelled == 1
    assert worker.cancel_batch("thumbs") is False


def test_shutdown_joins_the_thread_and_is_safe_twice(skip_gen, make_worker):
    worker, seen = make_worker(skip_gen)
    worker.submit(Recipe(skip_gen.sha256, seed=1))
    assert worker.shutdown(TIMEOUT)
    assert not worker._thread.is_alive() and not worker.is_running
    assert worker.shutdown(TIMEOUT)
    before = len(seen.results)
    worker.submit(Recipe(skip_gen.sha256, seed=2))  # ignored after shutdown
    assert worker.wait_idle(0.5) and len(seen.results) == before


def test_constructor_and_batch_arguments_are_checked(skip_gen):
    renderer = Renderer(skip_gen)
    with pytest.raises(ValueError, match="preview_level"):
        RenderWorker(renderer, print, preview_level=-1)
    with RenderWorker(renderer, print) as worker:
        with pytest.raises(ValueError, match="on_batch_result"):
            worker.submit_batch(recipes(skip_gen, 2))
        with pytest.raises(TypeError, match="Recipe"):
            worker.submit("seed 4")
    assert not worker.is_running


def test_ws_jobs_map_recipes_on_the_worker_thread_with_the_directions_handed_over(skip_gen, make_worker):
    from facestudio.latent.directions import Direction, DirectionError
    threads, results = [], []
    worker, _ = make_worker(skip_gen, on_ws_result=lambda r: (threads.append(threading.current_thread()),
                                                              results.append(r)))
    g = skip_gen
    smile = Direction("smile", "Smile", np.eye(g.w_dim)[0], layers=(0, g.num_ws), scale=2.0)
    recipes = [Recipe(g.sha256, 3), Recipe(g.sha256, 4).with_edit("smile", 1.0, (0, g.num_ws))]
    worker.submit_ws(recipes[1:], tag="before")  # the direction is not known yet: one sentence
    assert worker.wait_idle(TIMEOUT)
    worker.set_directions({"smile": smile})
    with pytest.raises(DirectionError):  # refused at once, and the directions before stay
        worker.set_directions({"wide": Direction("wide", "Wide", np.ones(g.w_dim + 1), layers=(0, 1))})
    job = worker.submit_ws(recipes, tag="after")
    assert worker.wait_idle(TIMEOUT)
    before, after = results
    assert before.ws is None and "smile" in before.error
    assert after.ok and after.tag == "after" and after.job_id == job and after.ws.shape == (2, g.num_ws, g.w_dim)
    np.testing.assert_array_equal(after.ws[1], worker.renderer.ws_for(recipes[1]))
    assert all(t is worker._thread for t in threads)
