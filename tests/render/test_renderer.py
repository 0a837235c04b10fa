"""Renderer: W+ composition from recipes, exact full renders, previews, batches, refusals."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facestudio.generator.model import generator_from_network
from facestudio.latent.directions import Direction, DirectionError, apply_edits
from facestudio.latent.recipe import Edit, Mix, Recipe
from facestudio.latent.seeds import z_from_seed
from facestudio.render import ModelMismatchError, Renderer
from tests.conftest import randomised_network, small_config


def make_generator(**config):
    return generator_from_network(randomised_network(small_config(**config)))


@pytest.fixture(scope="module")
def skip_gen():
    return make_generator()


@pytest.fixture(scope="module")
def coarse_gen():
    """A skip generator whose 16 and 32 ToRGBs add little, like a trained model whose last
    blocks add detail rather than layout (a random network's last blocks repaint it)."""
    net = randomised_network(small_config())
    with torch.no_grad():
        for res in (16, 32):
            torgb = getattr(net.synthesis, f"b{res}").torgb
            torgb.weight.mul_(0.05)
            torgb.bias.mul_(0.05)
    return generator_from_network(net)


def directions_for(g):
    rng = np.random.RandomState(3)
    return {
        "smile": Direction("smile", "Smile", rng.randn(g.w_dim), layers=(0, g.num_ws), scale=2.0),
        "age": Direction("age", "Age", rng.randn(g.num_ws, g.w_dim), layers=(2, 6), scale=0.5,
                         model_sha256=g.sha256),
    }


def test_ws_for_equals_map_then_mix_then_edits(skip_gen):
    g = skip_gen
    dirs = directions_for(g)
    renderer = Renderer(g, dirs)
    recipe = Recipe(g.sha256, seed=11, psi=0.6, cutoff=5, mix=Mix(seed=99, layers=(3, 7)),
                    edits=(Edit("smile", 1.5, (0, 4)), Edit("age", -2.0, (2, 8))))
    expected = g.map(z_from_seed(11, g.z_dim), psi=0.6, cutoff=5)[0]
    expected[3:7] = g.map(z_from_seed(99, g.z_dim), psi=0.6, cutoff=5)[0, 3:7]
    expected = apply_edits(expected, [e.as_tuple() for e in recipe.edits], dirs)
    ws = renderer.ws_for(recipe)
    assert ws.shape == (g.num_ws, g.w_dim) and ws.dtype == np.float32
    assert np.array_equal(ws, expected)
    # Plain recipe: just the mapped seed.
    plain = Recipe(g.sha256, seed=11, psi=0.6, cutoff=5)
    assert np.array_equal(renderer.ws_for(plain), g.map(z_from_seed(11, g.z_dim), psi=0.6, cutoff=5)[0])


def test_ws_for_uses_class_and_returns_fresh_arrays_from_a_bounded_cache():
    g = make_generator(c_dim=4)
    renderer = Renderer(g, cache_size=2)
    recipe = Recipe(g.sha256, seed=5, psi=0.8, class_idx=2)
    ws = renderer.ws_for(recipe)
    assert np.array_equal(ws, g.map(z_from_seed(5, g.z_dim), c=2, psi=0.8)[0])
    assert not np.array_equal(ws, renderer.ws_for(recipe.replace(class_idx=1)))
    ws[:] = 0  # the caller owns its copy; the cache is untouched
    assert np.array_equal(renderer.ws_for(recipe), g.map(z_from_seed(5, g.z_dim), c=2, psi=0.8)[0])
    for seed in range(4):
        renderer.ws_for(recipe.replace(seed=seed))
    assert len(renderer.mapping._cache) == 2
    with pytest.raises(ValueError, match="conditional"):
        renderer.ws_for(recipe.replace(class_idx=None))


def test_render_level0_equals_generator_synthesize(skip_gen):
    g = skip_gen
    renderer = Renderer(g, directions_for(g))
    recipe = Recipe(g.sha256, seed=4, psi=0.7, edits=(Edit("smile", 1.0, (0, g.num_ws)),))
    image = renderer.render(recipe)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and image.flags["C_CONTIGUOUS"]
    assert np.array_equal(image, g.synthesize(renderer.ws_for(recipe)[None], noise="const")[0])


def test_preview_on_skip_is_full_size_and_close_to_a_downscaled_full_render(coarse_gen):
    g = coarse_gen
    renderer = Renderer(g)
    assert renderer.preview_levels_supported() and renderer.max_level == 3
    assert renderer.level_resolution(2) == 8
    diffs = []
    for seed in range(3):
        recipe = Recipe(g.sha256, seed=seed)
        full = renderer.render(recipe)
        preview = renderer.render(recipe, level=2)
        assert preview.shape == full.shape and preview.dtype == np.uint8 and preview.flags["C_CONTIGUOUS"]
        assert not np.array_equal(preview, full)  # the synthesis really stopped early
        diffs.append(np.abs(preview.astype(float) - down_up(full, 4)).mean())
    other = np.abs(down_up(renderer.render(Recipe(g.sha256, seed=0)), 4)
                   - down_up(renderer.render(Recipe(g.sha256, seed=1)), 4)).mean()
    assert max(diffs) < 20, diffs
    assert max(diffs) < other / 2, (diffs, other)


def test_preview_levels_clamp_and_run_on_an_uncoarsened_network(skip_gen):
    g = skip_gen
    renderer = Renderer(g)
    recipe = Recipe(g.sha256, seed=1)
    assert np.array_equal(renderer.render(recipe, level=10), renderer.render(recipe, level=3))
    assert renderer.effective_level(10) == 3
    assert not np.array_equal(renderer.render(recipe, level=1), renderer.render(recipe))
    with pytest.raises(ValueError, match="level"):
        renderer.render(recipe, level=-1)


@pytest.mark.parametrize("architecture", ["resnet", "orig"])
def test_preview_falls_back_to_an_exact_full_render(architecture):
    g = make_generator(architecture=architecture)
    renderer = Renderer(g)
    assert not renderer.preview_levels_supported()
    assert renderer.effective_level(2) == 0 and renderer.max_level == 0
    recipe = Recipe(g.sha256, seed=3)
    full = renderer.render(recipe)
    assert np.array_equal(renderer.render(recipe, level=2), full)
    assert np.array_equal(full, g.synthesize(renderer.ws_for(recipe)[None])[0])


def test_render_batch_matches_single_renders_across_chunks_and_noise_modes(skip_gen):
    g = skip_gen
    renderer = Renderer(g)
    recipes = [Recipe(g.sha256, seed=s, noise="none" if s == 2 else "const") for s in range(5)]
    batch = renderer.render_batch(recipes, max_batch=2)
    assert batch.shape == (5, 32, 32, 3) and batch.dtype == np.uint8
    for recipe, image in zip(recipes, batch):
        assert np.abs(image.astype(int) - renderer.render(recipe)).max() <= 1
    previews = renderer.render_batch(recipes[:3], level=2)
    assert previews.shape == (3, 32, 32, 3)
    assert renderer.render_batch([]).shape == (0, 32, 32, 3)
    ws = renderer.ws_batch_for(recipes[:2])
    assert renderer.render_ws(ws, level=1).shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="ws must have shape"):
        renderer.render_ws(ws[:, :3], level=1)


def test_a_recipe_for_another_model_is_refused(skip_gen):
    renderer = Renderer(skip_gen)
    recipe = Recipe("ab" * 32, seed=1, model_name="Other faces")
    with pytest.raises(ModelMismatchError, match="made with the model Other faces"):
        renderer.render(recipe)
    assert issubclass(ModelMismatchError, ValueError)


def test_bad_edits_mixes_and_directions_are_refused(skip_gen):
    g = skip_gen
    renderer = Renderer(g, directions_for(g))
    base = Recipe(g.sha256, seed=1)
    with pytest.raises(DirectionError, match="not loaded"):
        renderer.ws_for(base.with_edit("beard", 1.0, (0, 4)))
    with pytest.raises(ValueError, match="this model has layers 0 to 7"):
        renderer.ws_for(base.with_edit("smile", 1.0, (0, 40)))
    with pytest.raises(ValueError, match="style mix"):
        renderer.ws_for(base.replace(mix=Mix(2, (5, 3))))
    with pytest.raises(DirectionError, match="w_dim"):
        renderer.set_directions({"x": Direction("x", "X", np.ones(7), layers=(0, 2))})
    with pytest.raises(DirectionError, match="another model"):
        renderer.set_directions({"x": Direction("x", "X", np.ones(g.w_dim), layers=(0, 2),
                                                model_sha256="0" * 64)})
    assert set(renderer.directions) == {"smile", "age"}  # unchanged after a refusal
    renderer.set_directions({})
    with pytest.raises(DirectionError, match="not loaded"):
        renderer.ws_for(base.with_edit("smile", 1.0, (0, 4)))


def down_up(image: np.ndarray, factor: int) -> np.ndarray:
    """uint8 ``[H, W, 3]`` -> area-downscaled by ``factor`` then bilinear back, float."""
    t = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    small = F.avg_pool2d(t, factor)
    up = F.interpolate(small, size=image.shape[:2], mode="bilinear", align_corners=False)
    return up[0].permute(1, 2, 0).numpy()


def test_render_ws_batch_renders_any_ws_in_bounded_chunks(skip_gen, monkeypatch):
    g = skip_gen
    renderer = Renderer(g)
    ws = renderer.ws_batch_for([Recipe(g.sha256, seed=s) for s in range(5)])
    ws[3, :2] = ws[0, :2]  # a mix over rows no recipe names is still just ws
    whole = renderer.render_ws(ws)
    calls = []
    render_ws = renderer.synthesis.render_ws  # the synthesis half renders each chunk

    def counted(chunk, *args, **kwargs):
        calls.append(len(chunk))
        return render_ws(chunk, *args, **kwargs)

    monkeypatch.setattr(renderer.synthesis, "render_ws", counted)
    out = renderer.render_ws_batch(ws, max_batch=2)
    assert calls == [2, 2, 1]
    assert out.shape == (5, 32, 32, 3) and np.abs(out.astype(int) - whole).max() <= 1
    with pytest.raises(ValueError, match="max_batch must be at least 1"):
        renderer.render_ws_batch(ws, max_batch=0)
