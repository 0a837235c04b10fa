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
