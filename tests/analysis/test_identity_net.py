"""dlib's recognition network run by torch gives dlib's own descriptors, one face or a batch;
a file that is not the network is one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.analysis.identity import IdentityEmbedder, model_files, read_face_image
from facestudio.analysis.identity_net import WeightFileError, read_weights


def dlib_descriptors(embedder: IdentityEmbedder, images: list[np.ndarray]) -> np.ndarray:
    """dlib's own compute_face_descriptor on the chips facestudio locates."""
    dlib = embedder._dlib
    network = dlib.face_recognition_model_v1(str(model_files()[1]))
    chips = [embedder._locate(image)[0] for image in images]
    return np.array([np.array(network.compute_face_descriptor(chip)) for chip in chips], np.float32)


@pytest.mark.slow
def test_the_torch_network_gives_dlibs_descriptors(dlib_ready, real_faces, bundled_faces):
    embedder = IdentityEmbedder()
    images = [read_face_image(p) for p in real_faces] + bundled_faces
    expected = dlib_descriptors(embedder, images)
    batch = np.stack([m.embedding for m in embedder.measure_many(images)])
    single = np.stack([embedder.measure(image).embedding for image in images])
    assert np.abs(batch - expected).max() < 1e-5 and np.abs(single - expected).max() < 1e-5
    assert np.linalg.norm(expected, axis=1).min() > 0.5  # real descriptors, not zeros


def test_a_file_that_is_not_the_network_is_refused(tmp_path):
    bad = tmp_path / "net.dat"
    bad.write_bytes(b"\x01\x02not dlib at all" * 100)
    with pytest.raises(WeightFileError, match="not dlib's face recognition network"):
        read_weights(bad)
    truncated = tmp_path / "short.dat"
    truncated.write_bytes(b"input_rgb_image_sized" + b"\x05con_4\x01\x02\x02\x80\x12\x01\x01\x01\x01\x01\x01" + b"\0" * 64)
    with pytest.raises(WeightFileError):
        read_weights(truncated)


@pytest.fixture
def bundled_faces() -> list[np.ndarray]:
    from facestudio.latent.recipe import Recipe
    from facestudio.render.renderer import open_renderer
    renderer = open_renderer(None, batch_size=4)
    g = renderer.generator
    return list(renderer.render_batch([Recipe(g.sha256, s, psi=0.7, model_name=g.name) for s in range(4)]))
