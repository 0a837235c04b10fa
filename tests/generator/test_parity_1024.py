"""Parity at the size people bring: an FFHQ-size (config-f) 1024 px network, written as a
reference-style network pickle by the tests' own writer, loaded through the allow-list loader
and rendered by the studio's exact path, against the plain reference-style synthesis.

The studio folds one face's styles, demodulation and gain into the kernels, uses a transposed
convolution for the upsampling convolutions and NHWC features at this size; none of that may
move a pixel by more than one uint8 level. Slow for a unit test (a 30M-parameter network, about
20 s and 4 GB here), so it is built once for the module.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facestudio.generator.model import images_to_uint8, load_generator
from facestudio.generator.networks.config import GeneratorConfig, default_channels
from facestudio.latent.seeds import z_from_seed
from facestudio.render.renderer import Renderer
from tests.conftest import randomised_network
from tests.generator import reference_style
from tests.generator.nvidia_fixtures import write_nvidia_style_pickle


@pytest.fixture(scope="module")
def ffhq_size(tmp_path_factory):
    config = GeneratorConfig(resolution=1024, channels=default_channels(1024), conv_clamp=256.0)
    assert config.num_ws == 18 and config.channels[1024] == 32 and config.channels[64] == 512
    net = randomised_network(config, seed=7)
    path = write_nvidia_style_pickle(net, tmp_path_factory.mktemp("ffhq") / "ffhq-1024.pkl")
    del net
    return load_generator(path)


def reference_image(generator, ws: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        img = reference_style.synthesis(generator.network, torch.from_numpy(ws), "const")
    return images_to_uint8(img)


@pytest.mark.parametrize("seed", [42])
@pytest.mark.slow
def test_the_exact_1024_px_render_is_within_one_level_of_the_reference(ffhq_size, seed):
    g = ffhq_size
    assert g.resolution == 1024 and sum(p.numel() for p in g.network.parameters()) > 28e6
    ws = g.map(z_from_seed(seed, g.z_dim), psi=0.7)
    want = reference_image(g, ws)
    got = g.synthesize(ws, "const")
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert got.shape == (1, 1024, 1024, 3)
    assert want.std() > 10  # a real image, not a flat field that any code would match
    assert diff.max() <= 1, f"max {diff.max()} levels, {np.count_nonzero(diff > 1)} pixels over 1"
    # The studio's renderer, block by block through the prefix cache, gives the same frame,
    # and so does a partial re-render after a fine-layer edit is undone.
    renderer = Renderer(g)
    assert np.array_equal(renderer.render_ws(ws, "const"), got)
    # In a batch, a face renders within one level of itself alone: its large layers run one
    # face at a time with its own kernels, and oneDNN's kernels for a batch of the 512-channel
    # convolutions round differently (a few hundred pixels by one level, before this change too).
    pair = np.concatenate([g.map(z_from_seed(seed + 1, g.z_dim), psi=0.7), ws])
    assert np.abs(g.synthesize(pair, "const")[1].astype(np.int16) - got[0]).max() <= 1
    edited = ws.copy()
    edited[:, 13:] += 0.5
    assert not np.array_equal(renderer.render_ws(edited, "const"), got)
    assert np.array_equal(renderer.render_ws(ws, "const"), got)


def test_a_1024_px_drag_previews_at_64_px_in_bf16_close_to_the_exact_preview(ffhq_size):
    g = ffhq_size
    renderer = Renderer(g, preview_precision="bf16")
    ws = g.map(z_from_seed(3, g.z_dim), psi=0.7)
    level = 4  # what the preview chooser picks for this network on a 2-core CPU with bf16
    renderer.clear_prefix_cache()
    exact = renderer.render_ws(ws, "const", level, precision="fp32")
    renderer.clear_prefix_cache()
    fast = renderer.render_ws(ws, "const", level, precision="bf16")
    assert exact.shape == fast.shape == (1, 1024, 1024, 3)
    assert np.abs(exact.astype(np.int16) - fast.astype(np.int16)).max() <= 16
