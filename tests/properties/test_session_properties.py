"""Property: a ``.fsession`` file, however damaged or crafted, opens as a valid
:class:`SessionDocument` or fails with one :class:`SessionError` sentence, nothing else.

Known findings fixed on another branch and not asserted here: a direction scale of 0 or -5
is accepted (so the valid-object check does not look at ``scale``), duplicate zip members
(the last wins) and non-integer seeds."""

from __future__ import annotations

import pytest
import io
import json
import zipfile

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from facestudio.latent.recipe import Recipe
from facestudio.session.document import SessionDocument, SessionError, load_session, save_session
from tests.helpers import assert_one_sentence
from tests.properties.strategies import mutated, mutated_bytes
from tests.properties.strategies import check_valid
from tests.session.builders import make_document


def open_session(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("session") / "s.fsession"
    path.write_bytes(data)
    try:
        doc = load_session(path)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        assert_one_sentence(exc, SessionError, full_stop=False)
    else:
        assert isinstance(doc, SessionDocument)
        if doc.recipe is not None:
            check_valid(doc.recipe)
        for face in doc.gallery:
            check_valid(face.recipe)
            assert face.thumbnail is None or isinstance(face.thumbnail, bytes)
        for d in doc.directions:
            assert d.vector.dtype == np.float32 and np.isfinite(d.vector).all()
            assert all(isinstance(i, int) for i in d.layers) and 0 <= d.layers[0] < d.layers[1]
        json.dumps(doc.ui_state, allow_nan=True)


_VALID: dict[str, bytes] = {}


def valid_bytes() -> bytes:
    """One valid session's bytes (written once by the project's own writer)."""
    if not _VALID:
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as tmp:
            _VALID["s"] = save_session(make_document(), Path(tmp) / "s.fsession").read_bytes()
    return _VALID["s"]


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def with_manifest(manifest, raw: str | None = None) -> bytes:
    """The valid session with session.json replaced by ``manifest`` (or the text ``raw``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members(valid_bytes()).items():
            zf.writestr(name, raw if name == "session.json" and raw is not None else
                        json.dumps(manifest) if name == "session.json" else data)
    return buffer.getvalue()


MANIFEST = json.loads(members(valid_bytes())["session.json"])


@given(st.deferred(lambda: mutated_bytes(valid_bytes())))
def test_a_session_with_damaged_bytes_opens_or_is_one_sentence(tmp_path_factory, data):
    open_session(tmp_path_factory, data)


@settings(max_examples=60)
@given(mutated(MANIFEST))
@pytest.mark.slow
def test_a_session_with_a_crafted_manifest_opens_or_is_one_sentence(tmp_path_factory, manifest):
    open_session(tmp_path_factory, with_manifest(manifest))


@given(st.sampled_from(sorted(MANIFEST)), st.sampled_from(["gallery", "directions", "recipe"]),
       st.integers(0, 2))
def test_a_session_missing_parts_opens_or_is_one_sentence(tmp_path_factory, key, part, index):
    manifest = json.loads(json.dumps(MANIFEST))
    manifest.pop(key)
    value = manifest.get(part)
    if isinstance(value, list) and index < len(value):
        value[index] = {k: v for k, v in value[index].items() if k != sorted(value[index])[index]}
    open_session(tmp_path_factory, with_manifest(manifest))


@given(mutated_bytes(json.dumps(MANIFEST).encode()))
def test_a_session_whose_manifest_text_is_damaged_opens_or_is_one_sentence(tmp_path_factory, raw):
    open_session(tmp_path_factory, with_manifest(None, raw.decode("utf-8", errors="replace")))


def test_the_valid_session_opens(tmp_path_factory):
    open_session(tmp_path_factory, valid_bytes())
    assert isinstance(load_session(save_session(make_document(), tmp_path_factory.mktemp("v") / "v.fsession")).recipe,
                      Recipe)
