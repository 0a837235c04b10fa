"""Property: a direction bundle (``.npz``), however damaged or crafted, reads as valid
directions for the model or fails with one :class:`DirectionError` sentence, nothing else.

What the reader now refuses is asserted too: a scale above :data:`MAX_SCALE` (such as
1e308), a model_sha256 that is not text, and a version that is not a whole number (which
is called malformed, not "newer")."""

from __future__ import annotations

import pytest
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from facestudio.latent.direction_files import read_directions, write_bundle
from facestudio.latent.directions import MAX_SCALE, Direction, DirectionError
from tests.helpers import assert_one_sentence
from tests.properties.strategies import mutated, mutated_bytes

W, NWS, SHA = 8, 6, "a" * 64


def valid_bundle() -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest and arrays of a bundle written by the project's own writer."""
    rng = np.random.RandomState(0)
    directions = [
        Direction("pca0", "PC 1", rng.randn(W), (0, NWS), scale=2.5, source="pca", model_sha256=SHA,
                  meta={"variance_ratio": 0.3}),
        Direction("user-x", "Smile", rng.randn(NWS, W), (2, 5), scale=0.7, source="user", model_sha256=SHA),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_bundle(directions, Path(tmp) / "b.npz")
        data = path.read_bytes()
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return json.loads(str(arrays.pop("manifest"))), arrays, data


MANIFEST, ARRAYS, DATA = valid_bundle()


def npz(manifest_text: str, arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, manifest=np.array(manifest_text), **arrays)
    return buffer.getvalue()


def read(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("bundle") / "b.npz"
    path.write_bytes(data)
    try:
        result = read_directions(path, W, NWS, model_sha256=SHA)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        assert_one_sentence(exc, DirectionError, full_stop=False)
    else:
        assert result.directions
        for d in result.directions:
            d.check_fits(NWS, W)
            assert d.vector.dtype == np.float32 and np.isfinite(d.vector).all()
            assert all(isinstance(i, int) for i in d.layers) and 0 <= d.layers[0] < d.layers[1] <= NWS
            assert 0 < d.scale <= MAX_SCALE  # 1e308 is refused
            assert d.model_sha256 is None or isinstance(d.model_sha256, str)


@given(mutated_bytes(DATA))
@pytest.mark.slow
def test_a_bundle_with_damaged_bytes_reads_or_is_one_sentence(tmp_path_factory, data):
    read(tmp_path_factory, data)


@settings(max_examples=60)
@given(mutated(MANIFEST))
@example({**MANIFEST, "directions": [{**MANIFEST["directions"][0], "layers": [0, float("inf")]}]})
@example({**MANIFEST, "directions": [{**MANIFEST["directions"][0], "scale": 10 ** 400}]})
@pytest.mark.slow
def test_a_bundle_with_a_crafted_manifest_reads_or_is_one_sentence(tmp_path_factory, manifest):
    # found: OverflowError from int(inf) layers and float(10**400) scale
    read(tmp_path_factory, npz(json.dumps(manifest), ARRAYS))


@given(mutated_bytes(json.dumps(MANIFEST).encode()))
def test_a_bundle_whose_manifest_text_is_damaged_reads_or_is_one_sentence(tmp_path_factory, raw):
    read(tmp_path_factory, npz(raw.decode("utf-8", errors="replace"), ARRAYS))


ARRAY = hnp.arrays(
    dtype=st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.complex_number_dtypes(),
                    st.just(np.dtype(bool)), st.just(np.dtype("U3"))),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=NWS + 2),
)


@given(st.sampled_from(sorted(ARRAYS)), ARRAY)
@pytest.mark.slow
def test_a_bundle_with_a_strange_array_reads_or_is_one_sentence(tmp_path_factory, key, array):
    read(tmp_path_factory, npz(json.dumps(MANIFEST), {**ARRAYS, key: array}))


def test_the_valid_bundle_reads(tmp_path_factory):
    read(tmp_path_factory, DATA)
    read(tmp_path_factory, npz(json.dumps(MANIFEST), ARRAYS))


def refused(tmp_path_factory, manifest: dict) -> str:
    path = tmp_path_factory.mktemp("bundle") / "b.npz"
    path.write_bytes(npz(json.dumps(manifest), ARRAYS))
    try:
        read_directions(path, W, NWS, model_sha256=SHA)
    except DirectionError as exc:
        return assert_one_sentence(exc, DirectionError, full_stop=False)
    raise AssertionError(f"{manifest} was read")


def with_first(**changes) -> dict:
    return {**MANIFEST, "directions": [{**MANIFEST["directions"][0], **changes}, *MANIFEST["directions"][1:]]}


def test_what_the_reader_refuses(tmp_path_factory):
    assert "at most 10000" in refused(tmp_path_factory, with_first(scale=1e308))
    assert "named by its sha256 as text, got 5" in refused(tmp_path_factory, with_first(model_sha256=5))
    said = refused(tmp_path_factory, {**MANIFEST, "version": "2"})
    assert "its version must be a whole number" in said and "newer" not in said
    assert "newer facestudio" in refused(tmp_path_factory, {**MANIFEST, "version": 99})
