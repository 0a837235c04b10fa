"""Preview precision: bf16 previews stay close to float32 ones, never leak into exact frames,
and the setting (argument, environment, CPU detection) picks what it says."""

import numpy as np
import pytest
import torch

from facestudio.generator.model import generator_from_network
from facestudio.latent.recipe import Recipe
from facestudio.render import Renderer
from facestudio.render.precision import (
    BF16,
    FP32,
    PREVIEW_PRECISION_ENV,
    cpu_has_bf16_units,
    preview_precision,
    preview_precision_setting,
)
from tests.conftest import randomised_network, small_config


@pytest.fixture(scope="module")
def gen():
    return generator_from_network(randomised_network(small_config(), seed=5))


def recipes(g, n=4):
    return [Recipe(g.sha256, seed=s, psi=0.7) for s in range(n)]


@pytest.mark.parametrize("level", [0, 1, 2])
def test_bf16_renders_stay_close_to_float32(gen, level):
    exact = Renderer(gen, preview_precision="fp32")
    fast = Renderer(gen, preview_precision="bf16")
    mode = "bf16" if level == 0 else None  # level 0 is exact unless bf16 is asked for
    diffs = []
    for recipe in recipes(gen):
        want = exact.render(recipe, level)
        got = fast.render_ws(fast.ws_for(recipe)[None], recipe.noise, level, precision=mode)[0]
        assert got.shape == want.shape and got.dtype == np.uint8 and got.flags["C_CONTIGUOUS"]
        diffs.append(np.abs(got.astype(int) - want))
    diffs = np.stack(diffs)
    assert diffs.mean() < 1.5, diffs.mean()  # a random network: larger than a trained one
    assert diffs.max() <= 16, diffs.max()
    assert diffs.any()  # really computed in bf16


def test_exact_frames_after_bf16_previews_are_bit_identical(gen):
    directions = {"d": _direction(gen)}
    plain = Renderer(gen, directions, preview_precision="fp32")
    r = Renderer(gen, directions, preview_precision="bf16")
    base = Recipe(gen.sha256, seed=3, psi=0.7)
    drag = [base.with_edit("d", a, (4, 8)) for a in (0.5, 1.0, 1.5)]  # a fine-layer drag
    for recipe in [base] + drag:
        r.render(recipe, level=2)
    assert r.prefix_cache.tags() == {BF16.tag}
    for recipe in [drag[-1], base, drag[0]]:  # settle, undo, an earlier value
        assert np.array_equal(r.render(recipe), plain.render(recipe))
    assert r.prefix_cache.tags() == {BF16.tag, r.exact_precision.tag}
    # Previews after exact frames may start from them; exact frames still match.
    r.render(drag[1], level=2)
    assert np.array_equal(r.render(drag[1]), plain.render(drag[1]))


def test_a_bf16_preview_of_a_fine_edit_reuses_the_cached_prefix(gen):
    r = Renderer(gen, {"d": _direction(gen)}, preview_precision="bf16")
    base = Recipe(gen.sha256, seed=6, psi=0.7)
    r.render(base)  # the exact frame being shown
    hits = r.prefix_cache.hits
    r.render(base.with_edit("d", 1.0, (6, 8)), level=2)  # starts from the exact prefix
    assert r.prefix_cache.hits == hits + 1
    r.render(base.with_edit("d", 1.2, (6, 8)), level=2)
    assert r.prefix_cache.hits == hits + 2


def test_the_preview_precision_setting(gen, monkeypatch):
    monkeypatch.setenv(PREVIEW_PRECISION_ENV, "fp32")
    r = Renderer(gen)
    assert r.preview_precision == FP32 and preview_precision_setting() == "fp32"
    preview = r.render(Recipe(gen.sha256, seed=2), level=1)
    assert r.prefix_cache.tags() == {r.exact_precision.tag}
    monkeypatch.setenv(PREVIEW_PRECISION_ENV, " BF16 ")
    assert Renderer(gen).preview_precision == BF16
    assert r.set_preview_precision("bf16") == BF16 and r.precision_for(1) == BF16
    assert r.precision_for(0) == r.exact_precision and r.precision_for(0, "bf16") == BF16
    assert r.exact_precision.exact and r.precision_for(2, "fp32") == r.exact_precision
    r.clear_prefix_cache()  # else the bf16 preview would start from the cached fp32 one
    assert not np.array_equal(r.render(Recipe(gen.sha256, seed=2), level=1), preview)
    assert r.set_preview_precision("fp32") == FP32
    assert np.array_equal(r.render(Recipe(gen.sha256, seed=2), level=1), preview)
    monkeypatch.setenv(PREVIEW_PRECISION_ENV, "fp64")  # unknown: logged, read as auto
    assert preview_precision_setting() == "auto"
    with pytest.raises(ValueError, match="preview precision"):
        r.set_preview_precision("half")
    with pytest.raises(ValueError, match="fp32 or bf16"):
        r.render_ws(r.ws_for(Recipe(gen.sha256, seed=2))[None], precision="fp16")


def test_auto_is_bf16_only_with_bf16_units(monkeypatch):
    with_units = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile amx_bf16\n"
    without = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512bw\n"
    onednn_bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert cpu_has_bf16_units(with_units) == onednn_bf16
    assert cpu_has_bf16_units(without) is False
    assert cpu_has_bf16_units("") is False
    import facestudio.render.precision as precision
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)
    assert preview_precision("auto") == BF16 and preview_precision("auto", "cuda") == FP32
    assert preview_precision("auto", feature_bytes=16 << 20) == BF16  # a 256 px model
    assert preview_precision("auto", feature_bytes=512 << 10) == FP32  # the bundled 64 px one
    assert preview_precision("bf16", feature_bytes=1) == BF16
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: False)
    assert preview_precision("auto") == FP32 and preview_precision("bf16") == BF16


def _direction(g):
    from facestudio.latent.directions import Direction
    return Direction("d", "D", np.random.RandomState(1).randn(g.w_dim), layers=(0, g.num_ws))


def test_an_nhwc_exact_path_is_generator_synthesize_and_cached_apart(gen):
    g = generator_from_network(randomised_network(small_config(), seed=6))
    g.network.synthesis.channels_last = True  # the default for large models on a CPU
    r = Renderer(g, {"d": _direction(g)}, preview_precision="bf16")
    assert r.exact_precision.channels_last and r.exact_precision.tag != FP32.tag
    base = Recipe(g.sha256, seed=1, psi=0.7)
    r.render(base, level=2)
    fine = base.with_edit("d", 1.0, (6, 8))
    r.render(fine, level=2)
    assert np.array_equal(r.render(fine), g.synthesize(r.ws_for(fine)[None])[0])
    assert r.prefix_cache.tags() == {BF16.tag, r.exact_precision.tag}
