"""Property (issue 33): a lookalike index file, however damaged or crafted (fields of another
shape, type or size, pickled objects, no names, flipped or truncated bytes), loads as a
usable index (at least one face, one name per embedding, finite float16 ``[N, 128]``) or
fails with one :class:`LookalikeIndexError` sentence, nothing else."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from facestudio.analysis.lookalike import INDEX_FORMAT, LookalikeIndex, LookalikeIndexError
from tests.helpers import assert_one_sentence
from tests.properties.strategies import mutated_bytes

VALID = {"format": np.array(INDEX_FORMAT), "embeddings": np.zeros((2, 128), np.float16),
         "names": np.array([b"a.jpg", b"b.jpg"]), "embedder_sha256": np.array("e" * 64),
         "dataset": np.array("photos sha256:00"), "model_sha256": np.array("")}
ODD_ARRAYS = [
    np.zeros((0, 128), np.float16), np.zeros((2, 127), np.float16), np.zeros((2, 128), np.float32),
    np.full((2, 128), np.nan, np.float16), np.zeros((1, 1, 128), np.float16), np.array([[b"a", b"b"]]),
    np.array([b"x" * 300, b"y"]), np.array(["a.jpg", "b.jpg"]), np.array([1, 2]), np.array([b"\x1b[2J", b"\n"]),
    np.array(b"bytes"), np.array(7), np.array(["two", "texts"]), np.array("t" * 10_000), np.array([None], object),
    np.array([]), np.array(INDEX_FORMAT + "x"),
]


def npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


VALID_BYTES = npz(VALID)


@st.composite
def crafted(draw) -> bytes:
    arrays = dict(VALID)
    for key in draw(st.lists(st.sampled_from(sorted(VALID)), min_size=1, max_size=3, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            del arrays[key]
        else:
            arrays[key] = draw(st.sampled_from(ODD_ARRAYS))
    return npz(arrays)


@given(data=st.one_of(crafted(), mutated_bytes(VALID_BYTES)))
def test_an_index_file_loads_whole_or_fails_in_one_sentence(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("index") / "index.npz"
    path.write_bytes(data)
    try:
        index = LookalikeIndex.load(path)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        assert_one_sentence(exc, LookalikeIndexError)
    else:
        assert len(index) >= 1 and len(index.names) == len(index.embeddings)
        assert index.embeddings.dtype == np.float16 and index.embeddings.shape[1] == 128
        assert np.isfinite(index.embeddings).all() and all(isinstance(n, str) for n in index.names)
