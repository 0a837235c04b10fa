"""The image -> w encoder: its file (safetensors, refused in one sentence when damaged), that it
is tied to its model, and that the bundled one finds the w of generated faces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from facestudio.analysis.encoder import (MAX_ENCODER_BYTES, EncoderFileError, FaceEncoder, bundled_paths, encode,
                                         encoder_for, load_encoder)
from facestudio.training.encoder import save_encoder
from tests.helpers import assert_one_sentence

HELD_OUT_SEED = 9_100_000  # seeds no encoder training step drew (its own streams) and the studio does not browse


@pytest.fixture(scope="module")
def bundled_generator():
    from facestudio.generator import load_generator
    return load_generator(None)


def small_encoder(w_dim: int = 16) -> FaceEncoder:
    torch.manual_seed(0)
    net = FaceEncoder(w_dim, width=4)
    net.w_avg.copy_(torch.linspace(-1, 1, w_dim))
    net.w_scale.copy_(torch.linspace(0.5, 2, w_dim))
    return net.eval()


def test_an_encoder_round_trips_through_safetensors(tmp_path):
    net = small_encoder()
    path = tmp_path / "encoder.safetensors"
    save_encoder(net, path, "ab" * 32)
    loaded, model_sha256 = load_encoder(path)
    assert model_sha256 == "ab" * 32 and loaded.w_dim == 16 and loaded.width == 4
    faces = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
    # weights are stored in float16: the ws agree to that precision, the mean and spread exactly
    assert np.allclose(encode(loaded, faces), encode(net, faces), atol=0.05)
    assert torch.equal(loaded.w_avg, net.w_avg) and torch.equal(loaded.w_scale, net.w_scale)
    assert path.stat().st_size < 200_000


def test_damaged_foreign_and_oversized_files_are_refused_in_one_sentence(tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 64)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(3)}, str(foreign))
    absurd = tmp_path / "absurd.safetensors"
    save_file({"x": torch.zeros(3)}, str(absurd), metadata={"format": "facestudio-encoder", "w_dim": "100000000",
                                                             "width": "4"})
    wrong = tmp_path / "wrong.safetensors"
    save_file({"head.weight": torch.zeros(2, 2)}, str(wrong), metadata={"format": "facestudio-encoder",
                                                                        "w_dim": "16", "width": "4"})
    huge = tmp_path / "huge.safetensors"
    with huge.open("wb") as f:
        f.truncate(MAX_ENCODER_BYTES + 1)
    for path, words in ((garbage, "cannot be read"), (foreign, "not a facestudio encoder"),
                        (absurd, "w_dim between 1 and"), (wrong, "cannot be read"), (huge, "larger than"),
                        (tmp_path / "absent.safetensors", "does not exist")):
        with pytest.raises(EncoderFileError) as exc:
            load_encoder(path)
        assert_one_sentence(exc.value, words)


def test_an_encoder_serves_only_the_model_it_was_trained_for(tmp_path, bundled_generator):
    g = bundled_generator
    net = small_encoder(g.w_dim)
    path = tmp_path / "encoder.safetensors"
    save_encoder(net, path, "0" * 64)
    assert encoder_for(g, path) is None
    save_encoder(net, path, g.sha256, overwrite=True)
    assert encoder_for(g, path) is not None
    assert encoder_for(g, tmp_path / "none.safetensors") is None


def test_the_bundled_encoder_finds_generated_faces_ws_better_than_the_mean_w(bundled_generator):
    from facestudio.latent.seeds import z_from_seeds
    g = bundled_generator
    assert bundled_paths()[0].is_file()
    encoder = encoder_for(g)
    assert encoder is not None, "weights/encoder.safetensors is not the bundled model's"
    ws = g.map(z_from_seeds(range(HELD_OUT_SEED, HELD_OUT_SEED + 6), g.z_dim), psi=0.7)
    true_w = ws[:, 0]
    found = encode(encoder, g.synthesize(ws))
    spread = encoder.w_scale.numpy()
    encoder_error = (((found - true_w) / spread) ** 2).mean(axis=1)
    mean_error = (((encoder.w_avg.numpy() - true_w) / spread) ** 2).mean(axis=1)
    assert (encoder_error < mean_error).all(), (encoder_error, mean_error)
    assert encoder_error.mean() < 0.5 * mean_error.mean(), (encoder_error, mean_error)


def test_the_projection_starts_from_the_encoder_and_takes_its_own_steps(bundled_generator):
    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.projection import ENCODER_STEPS, project
    from facestudio.latent.seeds import z_from_seeds
    g = bundled_generator
    encoder = encoder_for(g)
    ws = g.map(z_from_seeds([HELD_OUT_SEED + 10], g.z_dim), psi=0.7)
    face = g.synthesize(ws)[0]
    steps = []
    by_default = project(g, face, load_bundled_classifier(), progress=steps.append, encoder=encoder)
    assert len(steps) == ENCODER_STEPS
    start_only = project(g, face, load_bundled_classifier(), steps=0, encoder=encoder)
    assert np.allclose(start_only.w, encode(encoder, face[None])[0], atol=1e-5)
    steps.clear()
    refined = project(g, face, load_bundled_classifier(), steps=4, progress=steps.append, encoder=encoder)
    assert len(steps) == 4 and not np.allclose(refined.w, start_only.w)
    mean_face = g.synthesize(np.repeat(encoder.w_avg.numpy()[None, None], g.num_ws, axis=1))[0]
    mean_error = float((((mean_face.astype(np.float32) - face.astype(np.float32)) / 127.5) ** 2).mean())
    for p in (by_default, start_only, refined):
        assert p.pixel_error < 0.25 * mean_error, (p.pixel_error, mean_error)
