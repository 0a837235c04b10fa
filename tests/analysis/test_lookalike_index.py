"""The lookalike index: nearest neighbour, a bounded and pickle-free round trip, and refusal of
an index made with other weights."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.analysis.lookalike import LookalikeIndex, LookalikeIndexError
from tests.helpers import assert_one_sentence

SHA_A, SHA_B = "a" * 64, "b" * 64


def small_index(n: int = 5, sha: str = SHA_A, model: str = "") -> LookalikeIndex:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(n, 128)).astype(np.float32) * 0.1
    return LookalikeIndex(emb, [f"photo{i}.jpg" for i in range(n)], sha, "test photos", model)


def test_nearest_finds_the_photo_and_its_distance():
    index = small_index()
    probe = index.embeddings[3].astype(np.float32) + 0.01
    match = index.nearest(probe)
    assert match.name == "photo3.jpg"
    assert match.distance == pytest.approx(0.01 * np.sqrt(128), rel=0.05)


def test_round_trip_keeps_embeddings_names_and_identity(tmp_path):
    index = small_index(model=SHA_B)
    index.save(tmp_path / "i.npz")
    back = LookalikeIndex.load(tmp_path / "i.npz", SHA_A)
    assert back.names == index.names and back.dataset == "test photos" and back.model_sha256 == SHA_B
    assert back.embeddings.dtype == np.float16 and np.array_equal(back.embeddings, index.embeddings)


def test_an_index_of_other_recognition_weights_is_refused(tmp_path):
    small_index(sha=SHA_B).save(tmp_path / "i.npz")
    with pytest.raises(LookalikeIndexError) as e:
        LookalikeIndex.load(tmp_path / "i.npz", SHA_A)
    assert_one_sentence(e.value, "another face recognition model")


def test_an_index_of_another_models_training_set_is_refused():
    with pytest.raises(LookalikeIndexError) as e:
        small_index(model=SHA_B).check_model(SHA_A)
    assert_one_sentence(e.value, "another model")


def test_save_does_not_overwrite_silently(tmp_path):
    (tmp_path / "i.npz").write_bytes(b"keep")
    from facestudio.fileio import OutputPathError
    with pytest.raises(OutputPathError) as e:
        small_index().save(tmp_path / "i.npz")
    assert_one_sentence(e.value, "already exists", full_stop=False)
    assert (tmp_path / "i.npz").read_bytes() == b"keep"


def test_an_npz_with_pickled_names_is_refused(tmp_path):
    p = tmp_path / "i.npz"
    np.savez(p, format=np.array("facestudio-lookalike-index-1"), embeddings=np.zeros((1, 128), np.float16),
             names=np.array([{"x": 1}], dtype=object), embedder_sha256=np.array(SHA_A), dataset=np.array("d"))
    with pytest.raises(LookalikeIndexError) as e:
        LookalikeIndex.load(p, SHA_A)
    assert_one_sentence(e.value)


def test_an_npz_declaring_a_huge_array_is_refused_before_unpacking(tmp_path):
    import zipfile
    p = tmp_path / "i.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 128), np.float16))
    header["shape"] = (10**9, 128)
    with zipfile.ZipFile(p, "w") as zf:
        with zf.open("embeddings.npy", "w") as f:
            np.lib.format.write_array_header_1_0(f, header)
    with pytest.raises(LookalikeIndexError) as e:
        LookalikeIndex.load(p, SHA_A)
    assert_one_sentence(e.value, "declares")


def test_a_file_that_is_not_an_index_is_one_sentence(tmp_path):
    p = tmp_path / "i.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(LookalikeIndexError) as e:
        LookalikeIndex.load(p, SHA_A)
    assert_one_sentence(e.value)


def test_nearest_many_is_the_exhaustive_search_to_the_last_bit():
    """Batched search (candidates by a product of matrices, then exact) gives the match and
    the float distance of comparing with every photo, ties going to the first photo."""
    rng = np.random.default_rng(3)
    emb = (rng.normal(size=(3000, 128)) * 0.1).astype(np.float16)
    emb[2000] = emb[10]  # a duplicate photo: a tie the first must win
    index = LookalikeIndex(emb, [f"p{i}.jpg" for i in range(len(emb))], SHA_A, "test photos")
    table = emb.astype(np.float32)
    probes = np.concatenate([table[:40] + rng.normal(0, 0.01, (40, 128)).astype(np.float32),
                             table[[10, 2000, 7]], (rng.normal(size=(20, 128)) * 0.1).astype(np.float32)])
    found = index.nearest_many(probes)
    for probe, match in zip(probes, found):
        d2 = ((table - probe) ** 2).sum(axis=1, dtype=np.float32)
        diff = table - probe
        exact = np.einsum("ij,ij->i", diff, diff)
        i = int(np.argmin(exact))
        assert match.name == f"p{i}.jpg" and match.distance == float(np.sqrt(exact[i]))
        assert abs(match.distance - float(np.sqrt(d2.min()))) < 1e-6
    assert found[40].name == found[41].name == "p10.jpg" and found[40].distance == 0.0
    assert [index.nearest(p) for p in probes[:5]] == found[:5]
    empty = LookalikeIndex(np.zeros((0, 128), np.float16), [], SHA_A, "none")
    assert empty.nearest_many(probes[:2]) == [None, None]
