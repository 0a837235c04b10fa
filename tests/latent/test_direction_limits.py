"""Direction bundles and the directions cache that would take more than memory allows are
refused before they are unpacked (issue 17: a member that inflates to 2.5 GiB, 200,000
entries, the same bomb placed as the directions cache)."""

from __future__ import annotations

import json
import logging
import zipfile

import numpy as np
import pytest

from facestudio.latent.direction_files import read_directions, write_bundle
from facestudio.latent.directions import Direction, DirectionError
from facestudio.latent.discovery import Discovery
from facestudio.latent.discovery_cache import cache_path, load_discovery, save_discovery
from tests.archive_bombs import npy_claiming, npy_header, npz_bytes, peak_memory, plain_npy, zeros_member
from tests.helpers import change_bundle_manifest

SHA = "cd" * 32
W_DIM, NUM_WS = 16, 8


def manifest(count: int) -> bytes:
    entries = [{"key": "d0", "id": f"d{i}", "name": f"D {i}", "layers": [0, NUM_WS]} for i in range(count)]
    doc = {"format": "facestudio-directions", "version": 1, "w_dim": W_DIM, "num_ws": NUM_WS,
           "model_sha256": SHA, "directions": entries}
    return plain_npy(np.array(json.dumps(doc)))


def vector() -> bytes:
    return plain_npy(np.eye(W_DIM, dtype=np.float32)[0])


def test_a_member_that_inflates_past_its_bound_is_refused(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.npy", manifest(1))
        zeros_member(zf, "d0.npy", 128 << 20, npy_header((32 << 20,)))
    assert path.stat().st_size < 1 << 20
    with peak_memory(16), pytest.raises(DirectionError, match=r"d0\.npy in bomb\.npz would unpack to 128 MiB"):
        read_directions(path, W_DIM, NUM_WS, SHA)


def test_an_npy_header_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    path.write_bytes(npz_bytes({"manifest.npy": manifest(1), "d0.npy": npy_claiming((1 << 40, W_DIM))}))
    with peak_memory(16), pytest.raises(DirectionError, match=r"d0\.npy in huge\.npz declares"):
        read_directions(path, W_DIM, NUM_WS, SHA)


@pytest.mark.slow
def test_a_manifest_of_200000_entries_is_refused(tmp_path):
    path = tmp_path / "many.npz"
    path.write_bytes(npz_bytes({"manifest.npy": manifest(200_000), "d0.npy": vector()}))
    with pytest.raises(DirectionError, match="lists 200,000 directions, more than the 4096"):
        read_directions(path, W_DIM, NUM_WS, SHA)


def test_a_manifest_nested_100000_deep_is_one_sentence(tmp_path):
    path = tmp_path / "deep.npz"
    deep = plain_npy(np.array("[" * 100_000 + "]" * 100_000))
    path.write_bytes(npz_bytes({"manifest.npy": deep, "d0.npy": vector()}))
    with pytest.raises(DirectionError, match="the manifest of deep.npz is nested more than 32 levels deep"):
        read_directions(path, W_DIM, NUM_WS, SHA)


def test_an_archive_of_too_many_members_is_refused(tmp_path):
    path = tmp_path / "members.npz"
    one = vector()
    path.write_bytes(npz_bytes({"manifest.npy": manifest(1), **{f"d{i}.npy": one for i in range(5000)}}))
    with pytest.raises(DirectionError, match="holds 5,001 entries, more than the 4,097"):
        read_directions(path, W_DIM, NUM_WS, SHA)


@pytest.mark.parametrize("shape", [(1 << 20, 1 << 20), (100_000, W_DIM)])
def test_an_npy_declaring_too_many_directions_is_refused(tmp_path, shape):
    path = tmp_path / "basis_w.npy"
    path.write_bytes(npy_claiming(shape))
    with peak_memory(16), pytest.raises(DirectionError, match=r"declares an array of shape .* more than the 4096"):
        read_directions(path, W_DIM, NUM_WS, SHA)


def test_real_bundles_still_read(tmp_path):
    d = Direction(id="smile", name="Smile", vector=np.eye(W_DIM, dtype=np.float32)[1], layers=(0, NUM_WS))
    path = write_bundle([d], tmp_path / "real.npz")
    assert [x.id for x in read_directions(path, W_DIM, NUM_WS).directions] == ["smile"]


def test_a_bomb_placed_as_the_directions_cache_is_logged_and_recomputed(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path))
    path = cache_path(SHA)
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as zf:
        zeros_member(zf, "w_cov.npy", 136 << 20, npy_header((17 << 20,), "<f8"))
    assert path.stat().st_size < 2 << 20
    with caplog.at_level(logging.WARNING), peak_memory(16):
        assert load_discovery(SHA, {"samples": 100}) is None
    assert "Ignoring the directions cache and recomputing it" in caplog.text
    assert "w_cov.npy" in caplog.text and "more than the 128 MiB allowed" in caplog.text
    x = np.random.RandomState(0).randn(200, W_DIM)
    found = Discovery.compute(x, None, num_ws=NUM_WS, model_sha256=SHA, keep=4, params={"samples": 100})
    assert save_discovery(found) == path  # the start goes on and replaces it
    assert load_discovery(SHA, {"samples": 100}) is not None


def test_a_float64_direction_past_float32_range_is_refused_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy overflow warning would be a second line on stderr
        with pytest.raises(DirectionError, match="NaN or infinite"):
            Direction(id="big", name="big", vector=np.full(8, 1e300), layers=(0, 1))


def bundle_with(tmp_path, name: str, top=None, **entry):
    """A real one-direction bundle whose manifest is changed: ``entry`` fields of its direction,
    ``top`` fields of the manifest itself."""
    d = Direction(id="smile", name="Smile", vector=np.eye(W_DIM, dtype=np.float32)[1], layers=(0, NUM_WS),
                  scale=2.0, model_sha256=SHA)
    return change_bundle_manifest(write_bundle([d], tmp_path / name), entry, top)


@pytest.mark.parametrize("entry, top, words", [
    ({"scale": 1e308}, None, r"the scale of direction 1 in b\.npz is 1e\+308; it must be above 0 and at most 10000"),
    ({"scale": 0}, None, r"the scale of direction 1 in b\.npz is 0; it must be above 0"),
    ({"scale": -5}, None, r"the scale of direction 1 in b\.npz is -5; it must be above 0"),
    ({"scale": "2"}, None, r"the scale of direction 1 in b\.npz must be a number"),
    ({"model_sha256": 5}, None, r"the model of direction 1 in b\.npz must be named by its sha256 as text, got 5"),
    ({"layers": [0, 7.5]}, None, r"a layer of direction 1 in b\.npz must be a whole number"),
    ({}, {"version": "newer facestudio (version 1)"}, r"b\.npz is not a readable direction bundle: its version must "
                                                      r"be a whole number from 1, got 'newer"),
    ({}, {"version": True}, "its version must be a whole number"),
    ({}, {"version": 2}, r"b\.npz was written by a newer facestudio \(direction bundle version 2; this one reads up to 1\)"),
])
def test_absurd_values_in_a_bundle_are_one_sentence(tmp_path, entry, top, words):
    path = bundle_with(tmp_path, "b.npz", top, **entry)
    with pytest.raises(DirectionError, match=words) as info:
        read_directions(path, W_DIM, NUM_WS, SHA)  # what the CLI's edit and the studio's import call
    assert "\n" not in str(info.value)


def test_a_bundle_at_the_scale_limit_still_reads(tmp_path):
    from facestudio.latent.directions import MAX_SCALE
    path = bundle_with(tmp_path, "edge.npz", scale=MAX_SCALE, layers=[0.0, float(NUM_WS)])
    (d,) = read_directions(path, W_DIM, NUM_WS, SHA).directions
    assert (d.scale, d.layers) == (MAX_SCALE, (0, NUM_WS))


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_bundle_with_a_member_name_used_twice_is_refused(tmp_path):
    path = tmp_path / "twice.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.npy", manifest(1))
        zf.writestr("d0.npy", vector())
        zf.writestr("d0.npy", plain_npy(np.full(W_DIM, 3.0, np.float32)))
    with pytest.raises(DirectionError, match=r"twice\.npz holds two entries named d0\.npy"):
        read_directions(path, W_DIM, NUM_WS, SHA)


def _cached_discovery(tmp_path, monkeypatch) -> Discovery:
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path))
    rng = np.random.RandomState(0)
    affine = [rng.randn(4, W_DIM) for _ in range(NUM_WS)]
    found = Discovery.compute(rng.randn(200, W_DIM), affine, num_ws=NUM_WS, model_sha256=SHA, keep=4,
                              params={"samples": 200})
    assert save_discovery(found) == cache_path(SHA)
    return found


def _tamper(meta_change=None, **arrays_change):
    path = cache_path(SHA)
    with np.load(path) as npz:
        arrays = dict(npz)
    meta = json.loads(str(arrays["meta"]))
    for group, rows in (meta_change or {}).items():
        meta["sefa_layers"][group] = rows
    arrays["meta"] = np.array(json.dumps(meta))
    arrays.update(arrays_change)
    np.savez(path, **arrays)


@pytest.mark.parametrize("meta_change, arrays_change, words", [
    ({"coarse": [0, 99]}, {}, "the SeFa coarse layers [0, 99] are not a range within its 8 ws rows"),
    ({"fine": [-3, 2]}, {}, "the SeFa fine layers [-3, 2]"),
    ({"middle": [5, 2]}, {}, "the SeFa middle layers [5, 2]"),
    ({"all": [4, 4]}, {}, "the SeFa all layers [4, 4]"),
    ({"all": [0, 4, 8]}, {}, "the SeFa all layers [0, 4, 8]"),
    (None, {"pca_vectors": np.zeros((0, W_DIM)), "pca_variances": np.zeros(0)}, "its PCA basis has shape [0, 16]"),
    (None, {"sefa_fine_vectors": np.zeros((0, W_DIM)), "sefa_fine_eigenvalues": np.zeros(0)},
     "its SeFa fine basis has shape [0, 16]"),
    (None, {"pca_variances": -np.ones(4)}, "negative variances"),
    (None, {"pca_vectors": np.zeros((4, W_DIM))}, "not unit vectors"),
])
def test_a_cache_whose_contents_disagree_is_logged_and_recomputed(tmp_path, monkeypatch, caplog, meta_change,
                                                                  arrays_change, words):
    """Such a cache made every start fail while making its directions (issue 17)."""
    found = _cached_discovery(tmp_path, monkeypatch)
    assert load_discovery(SHA, {"samples": 200}).all_directions(4)  # the real one is used
    _tamper(meta_change, **arrays_change)
    with caplog.at_level(logging.WARNING):
        assert load_discovery(SHA, {"samples": 200}) is None
    assert "Ignoring the directions cache" in caplog.text and words in caplog.text
    save_discovery(found)  # what a start does next
    assert len(load_discovery(SHA, {"samples": 200}).all_directions(4)) == 20
