"""Session files: round trip, atomic saves, and one-sentence errors for every bad file."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from facestudio.fileio import OutputPathError
from facestudio.session.document import SessionDocument, SessionError, load_session, save_session
from tests.session.builders import assert_same_document, make_document


def test_round_trip_restores_everything(tmp_path):
    doc = make_document()
    path = save_session(doc, tmp_path / "work.fsession")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("session.json"))
    assert {"session.json", "directions.npz"} <= names
    assert {f"thumbnails/{f.id}.png" for f in doc.gallery} <= names
    assert manifest["format"] == "facestudio-session" and manifest["version"] == 1
    assert_same_document(doc, load_session(path))


def test_empty_document_round_trips(tmp_path):
    doc = SessionDocument()
    assert_same_document(doc, load_session(save_session(doc, tmp_path / "empty.fsession")))


def test_face_without_thumbnail_round_trips(tmp_path):
    doc = make_document()
    doc.gallery.add(doc.recipe, name="No picture")
    loaded = load_session(save_session(doc, tmp_path / "s.fsession"))
    assert loaded.gallery.faces[-1].thumbnail is None
    assert_same_document(doc, loaded)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = save_session(make_document(), tmp_path / "s.fsession")
    before = path.read_bytes()
    with pytest.raises(OutputPathError, match="already exists"):
        save_session(SessionDocument(), path)
    assert path.read_bytes() == before
    save_session(SessionDocument(), path, overwrite=True)
    assert load_session(path).recipe is None


def test_missing_folder_writes_nothing(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        save_session(make_document(), tmp_path / "nowhere" / "s.fsession")
    assert list(tmp_path.iterdir()) == []


def test_unsaveable_direction_leaves_no_temp_file_and_keeps_old_file(tmp_path):
    path = save_session(make_document(), tmp_path / "s.fsession")
    before = path.read_bytes()
    doc = make_document()
    with pytest.raises(ValueError):
        doc.directions[1].vector[3, 5] = np.nan  # directions are read-only ...
    bad = doc.directions[1].vector.copy()
    bad[3, 5] = np.nan
    object.__setattr__(doc.directions[1], "vector", bad)  # ... so corrupt one by force
    with pytest.raises(SessionError, match="Age") as info:
        save_session(doc, path, overwrite=True)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == [path] and path.read_bytes() == before


@pytest.mark.parametrize("breakage", ["ui_state", "disk_full"])
def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch, breakage):
    doc = make_document()
    if breakage == "ui_state":
        doc.ui_state["widget"] = object()
    else:
        def no_space(*args, **kwargs):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(np, "savez", no_space)
    with pytest.raises(SessionError) as info:
        save_session(doc, tmp_path / "s.fsession")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ bad files

def rewrite(src, dst, manifest_change=None, members=None):
    """Copy session ``src`` to ``dst`` with the manifest edited and members replaced/dropped."""
    members = dict(members or {})
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = members.pop(name, zin.read(name))
            if name == "session.json" and manifest_change is not None:
                manifest = json.loads(data)
                manifest_change(manifest)
                data = json.dumps(manifest)
            if data is not None:
                zout.writestr(name, data)
        for name, data in members.items():
            zout.writestr(name, data)
    return dst


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def set_in(*keys_and_value):
    *keys, value = keys_and_value

    def change(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


VECTORS = {"d0": np.ones(32, np.float32), "d1": np.ones((8, 32), np.float32)}

BAD_FILES = {
    "missing": (lambda good, bad: bad, "no session file"),
    "folder": (lambda good, bad: (bad.mkdir(), bad)[1], "folder"),
    "not a zip": (lambda good, bad: (bad.write_text("hello"), bad)[1], "not a facestudio session file"),
    "truncated": (lambda good, bad: (bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2]), bad)[1],
                  "not a facestudio session file"),
    "no session.json": (lambda good, bad: rewrite(good, bad, members={"session.json": None}), "no session.json"),
    "not json": (lambda good, bad: rewrite(good, bad, members={"session.json": b"{nope"}), "not valid JSON"),
    "other format": (lambda good, bad: rewrite(good, bad, set_in("format", "zip-of-cats")), "not a facestudio session"),
    "newer version": (lambda good, bad: rewrite(good, bad, set_in("version", 99)), "newer facestudio"),
    "malformed recipe": (lambda good, bad: rewrite(good, bad, set_in("recipe", "seed", "forty-two")),
                         "current recipe is malformed"),
    "recipe without seed": (lambda good, bad: rewrite(good, bad, lambda m: m["recipe"].pop("seed")),
                            "current recipe is malformed"),
    "negative seed in gallery": (lambda good, bad: rewrite(good, bad, set_in("gallery", 1, "recipe", "seed", -1)),
                                 "gallery face 2"),
    "missing thumbnail": (lambda good, bad: rewrite(good, bad, set_in("gallery", 0, "thumbnail", "thumbnails/x.png")),
                          "no thumbnails/x.png"),
    "bad face id": (lambda good, bad: rewrite(good, bad, set_in("gallery", 0, "id", "../../etc")), "gallery face 1"),
    "direction with NaN": (lambda good, bad: rewrite(good, bad, members={"directions.npz": npz_bytes(
        d0=np.full(32, np.nan, np.float32), d1=VECTORS["d1"])}), "NaN"),
    "direction of wrong shape": (lambda good, bad: rewrite(good, bad, set_in("directions", 1, "shape", [2, 8, 32]),
                                                           members={"directions.npz": npz_bytes(
                                                               d0=VECTORS["d0"], d1=np.ones((2, 8, 32), np.float32))}),
                                 "[w_dim] or [num_ws, w_dim]"),
    "direction shape disagrees": (lambda good, bad: rewrite(good, bad, members={"directions.npz": npz_bytes(
        d0=np.ones(16, np.float32), d1=VECTORS["d1"])}), "wrong shape"),
    "pickled direction": (lambda good, bad: rewrite(good, bad, members={"directions.npz": npz_bytes(
        d0=np.array([{"x": 1}], dtype=object), d1=VECTORS["d1"])}), "directions.npz cannot be read"),
    "direction missing": (lambda good, bad: rewrite(good, bad, members={"directions.npz": npz_bytes(d0=VECTORS["d0"])}),
                          "missing from directions.npz"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_give_one_sentence(tmp_path, case):
    good = save_session(make_document(), tmp_path / "good.fsession")
    build, expected = BAD_FILES[case]
    bad = build(good, tmp_path / "bad.fsession")
    with pytest.raises(SessionError) as info:
        load_session(bad)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message and len(message) < 300
