"""The renderer with a StyleGAN3 model: full-resolution previews and the recipe transform."""

import numpy as np
import pytest

from facestudio.generator.model import generator_from_network
from facestudio.latent.recipe import Recipe
from facestudio.render.renderer import Renderer
from tests.generator.sg3_fixtures import make_sg3


@pytest.mark.slow
def test_stylegan3_renders_recipes_with_transforms():
    g = generator_from_network(make_sg3("T", seed=7))
    r = Renderer(g)
    assert not r.preview_levels_supported() and r.max_level == 0
    recipe = Recipe(g.sha256, seed=4, psi=0.7)
    ws = r.ws_for(recipe)[None]
    assert np.array_equal(r.render(recipe, level=2), g.synthesize(ws)[0])
    moved = recipe.replace(transform=(0.1, 0.05, 20))
    assert np.array_equal(r.render(moved), g.synthesize(ws, transform=(0.1, 0.05, 20))[0])
    batch = r.render_batch([recipe, moved, moved])
    assert np.array_equal(batch[0], r.render(recipe))
    assert np.array_equal(batch[2], r.render(moved))


def test_a_transform_on_a_stylegan2_recipe_is_refused(native_model):
    from facestudio.generator import load_generator
    g = load_generator(native_model)
    with pytest.raises(ValueError, match="only StyleGAN3"):
        Renderer(g).render(Recipe(g.sha256, seed=1, transform=(0.1, 0, 0)))


def test_sefa_reads_the_stylegan3_layer_affines():
    from facestudio.render.discovery import affine_layers_by_row, discover, style_affine_weights
    g = generator_from_network(make_sg3("R", seed=8))
    rows = affine_layers_by_row(g.network)
    assert len(rows) == g.num_ws and rows[0] == []
    assert [len(r) for r in rows[1:]] == [1] * (g.num_ws - 1)
    synthesis = g.network.synthesis
    torgb = getattr(synthesis, synthesis.layer_names[-1])
    weights = style_affine_weights(g)
    assert weights[0].shape == (0, g.w_dim) and weights[-1].shape == (torgb.weight.shape[1], g.w_dim)
    found = discover(g, samples=200, keep=4, use_cache=False)
    assert set(found.sefa) == {"all", "coarse", "middle", "fine"}  # SeFa too, not PCA only
