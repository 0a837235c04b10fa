"""Partial re-render: cached block outputs give bit-identical images and are reused only
for the blocks an edit did not touch."""

import numpy as np
import pytest
import torch

from facestudio.render.prefix_cache import PrefixCache, block_row_ends, first_changed_block, run_blocks
from tests.conftest import randomised_network, small_config


@pytest.fixture(params=["skip", "resnet"])
def net(request):
    return randomised_network(small_config(architecture=request.param), seed=3)


def full(net, ws, noise="const"):
    with torch.inference_mode():
        return net.synthesis(ws, noise_mode=noise)


def cached(net, ws, cache, noise="const"):
    with torch.inference_mode():
        _, img, reused = run_blocks(net.synthesis, ws, noise, cache)
    return img, reused


ROW_ENDS = {  # 32 px, blocks 4, 8, 16, 32
    "skip": [2, 4, 6, 8],    # every block has a ToRGB sharing its row with the next conv0
    "resnet": [1, 3, 5, 8],  # only the last block has a ToRGB
}


def test_row_ends_follow_the_torgb_rows(net):
    ends = ROW_ENDS[net.config.architecture]
    assert block_row_ends(net.synthesis) == ends
    assert first_changed_block(net.synthesis, 0) == 0
    assert first_changed_block(net.synthesis, ends[1]) == 2
    assert first_changed_block(net.synthesis, 7) == 3


def test_fine_edit_reuses_the_coarse_blocks_and_is_bit_identical(net):
    torch.manual_seed(0)
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    first, reused = cached(net, ws, cache)
    assert reused == 0 and torch.equal(first, full(net, ws))
    edited = ws.clone()
    edited[:, 6:] += 0.5  # rows 6-7: only the last block reads them
    img, reused = cached(net, edited, cache)
    assert reused == 3
    assert torch.equal(img, full(net, edited))
    middle = ws.clone()
    row = ROW_ENDS[net.config.architecture][1]  # the first row block 8's output ignores
    middle[:, row] -= 0.7
    img, reused = cached(net, middle, cache)
    assert reused == 2 and torch.equal(img, full(net, middle))


def test_random_noise_is_never_cached(net):
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    cached(net, ws, cache, noise="random")
    _, reused = cached(net, ws, cache, noise="random")
    assert reused == 0 and cache.nbytes == 0


def test_memory_bound_evicts_least_recent():
    net = randomised_network(small_config())
    cache = PrefixCache(max_bytes=60_000)
    for seed in range(5):
        torch.manual_seed(seed)
        cached(net, torch.randn(1, 8, 32), cache)
        assert cache.nbytes <= 60_000
    assert cache.nbytes > 0


def test_renderer_reuses_the_prefix_for_a_fine_layer_edit(native_model):
    from facestudio.render.studio_model import open_studio_model
    from facestudio.latent.recipe import Recipe
    model = open_studio_model(native_model)
    r = model.renderer
    base = Recipe(model.sha256, seed=4, psi=0.7)
    r.render(base)
    hits = r.prefix_cache.hits
    fine = base.with_edit(model.directions.shown()[0].id, 1.5, (6, 8))
    got = r.render(fine)
    assert r.prefix_cache.hits == hits + 1
    assert np.array_equal(got, r.generator.synthesize(r.ws_for(fine)[None])[0])


def test_a_preview_reaches_the_blocks_a_fine_edit_changes(native_model):
    """Dragging a fine-layer slider must change the preview, not only the settled frame."""
    from facestudio.render.studio_model import open_studio_model
    from facestudio.latent.recipe import Recipe
    model = open_studio_model(native_model)
    r = model.renderer
    r.set_preview_precision("fp32")  # a float32 preview that runs to the end is the exact frame
    base = Recipe(model.sha256, seed=4, psi=0.7)
    before = r.render(base, level=2)  # 8 px preview: blocks 4 and 8 only
    fine = base.with_edit(model.directions.shown()[0].id, 2.0, (6, 8))  # rows only block 32 reads
    after = r.render(fine, level=2)
    assert not np.array_equal(before, after)
    assert np.array_equal(after, r.generator.synthesize(r.ws_for(fine)[None])[0])  # ran to the end


def test_an_edit_of_only_the_last_torgb_row_reuses_every_block_s_features(net):
    torch.manual_seed(1)
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    cached(net, ws, cache)
    edited = ws.clone()
    edited[:, 7] += 0.8  # the last ToRGB's row: no convolution reads it
    img, reused = cached(net, edited, cache)
    assert reused == 4 and torch.equal(img, full(net, edited))


def test_a_skip_torgb_row_edit_redoes_only_that_block_s_image():
    net = randomised_network(small_config(), seed=4)
    torch.manual_seed(2)
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    cached(net, ws, cache)
    edited = ws.clone()
    edited[:, 5] -= 0.6  # block 16's ToRGB row and block 32's first conv row
    img, reused = cached(net, edited, cache)
    assert reused == 3 and torch.equal(img, full(net, edited))


def test_bf16_activations_never_serve_an_exact_render(net):
    from facestudio.render.precision import BF16
    torch.manual_seed(3)
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    with torch.inference_mode():
        _, fast, reused = run_blocks(net.synthesis, ws, "const", cache, precision=BF16)
        assert reused == 0 and cache.tags() == {BF16.tag}
        _, exact, reused = run_blocks(net.synthesis, ws, "const", cache)  # exact by default
        assert reused == 0 and torch.equal(exact, full(net, ws))
        assert not torch.equal(fast, exact) and (fast - exact).abs().mean() < 0.05
        # The other way round is allowed: a bf16 render may start from exact activations.
        edited = ws.clone()
        edited[:, 6:] += 0.3
        _, _, reused = run_blocks(net.synthesis, edited, "const", cache, precision=BF16)
        assert reused == 3


def test_an_edit_of_the_last_block_s_second_conv_keeps_its_first_conv():
    """32 px skip: the last block reads row 5 (its upsampling conv), 6 (conv1) and 7 (ToRGB)."""
    net = randomised_network(small_config(), seed=5)
    last = net.synthesis.blocks()[-1]
    assert last.splits_features
    calls = []
    last.conv0.register_forward_hook(lambda *_: calls.append("conv0"))
    torch.manual_seed(3)
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    cached(net, ws, cache)
    assert calls == ["conv0"]
    edited = ws.clone()
    edited[:, 6:] += 0.7
    img, reused = cached(net, edited, cache)
    assert calls == ["conv0"]  # its output came from the cache
    assert reused == 3 and torch.equal(img, full(net, edited))
    calls.clear()
    edited[:, 5] -= 0.4  # now the first conv's own row: it runs again
    img, _ = cached(net, edited, cache)
    assert calls == ["conv0"] and torch.equal(img, full(net, edited))
    assert not randomised_network(small_config(architecture="resnet")).synthesis.blocks()[-1].splits_features


def test_a_bf16_drag_of_the_last_block_starts_from_the_exact_first_conv_and_keeps_no_features():
    from facestudio.render.precision import BF16
    net = randomised_network(small_config(), seed=6)
    calls = []
    net.synthesis.blocks()[-1].conv0.register_forward_hook(lambda *_: calls.append("conv0"))
    torch.manual_seed(4)
    ws = torch.randn(1, 8, 32)
    cache = PrefixCache()
    cached(net, ws, cache)  # the settled exact frame
    entries = len(cache)
    for step in range(3):  # three preview frames of a drag on rows 6-7
        edited = ws.clone()
        edited[:, 6:] += 0.2 * (step + 1)
        with torch.inference_mode():
            _, fast, reused = run_blocks(net.synthesis, edited, "const", cache, precision=BF16)
        assert reused == 3 and (fast - full(net, edited)).abs().mean() < 0.05
    assert calls == ["conv0"] + ["conv0"] * 3  # only the full() references ran it again
    assert len(cache) == entries + 1  # the exact first conv cast to bf16 once; no features per frame
