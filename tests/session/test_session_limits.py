"""Session files that would take more than memory allows are refused with one sentence,
before they are unpacked (issue 17: a thumbnail that inflates to 960 MB, a JSON bomb, a
million gallery faces)."""

from __future__ import annotations

import json
import zipfile

import pytest

from facestudio.session import document
from facestudio.session.document import SessionError, load_session, save_session
from tests.archive_bombs import lie_about_size, npy_claiming, npz_bytes, peak_memory, zeros_member
from tests.session.builders import make_document
from tests.session.builders import manifest_of, rewrite

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def saved(tmp_path):
    return save_session(make_document(), tmp_path / "good.fsession")


def test_a_thumbnail_that_inflates_past_its_bound_is_refused(saved, tmp_path):
    manifest = manifest_of(saved)
    for face in manifest["gallery"]:  # three faces share one member
        face["thumbnail"] = "thumbnails/bomb.png"
    bomb = rewrite(saved, tmp_path / "bomb.fsession", manifest,
                   extra=lambda zf: zeros_member(zf, "thumbnails/bomb.png", 64 << 20))
    assert bomb.stat().st_size < 1 << 20
    with peak_memory(16), pytest.raises(SessionError, match=r"thumbnails/bomb\.png .*more than the 1 MiB allowed"):
        load_session(bomb)


def test_a_shared_thumbnail_counts_once_per_face(saved, tmp_path, monkeypatch):
    manifest = manifest_of(saved)
    for face in manifest["gallery"]:
        face["thumbnail"] = "thumbnails/shared.png"
    shared = rewrite(saved, tmp_path / "shared.fsession", manifest,
                     extra=lambda zf: zeros_member(zf, "thumbnails/shared.png", 900 << 10, PNG))
    monkeypatch.setattr(document, "MAX_SESSION_BYTES", 2 << 20)  # two reads fit, three do not
    with pytest.raises(SessionError, match="more than 2 MiB in all"):
        load_session(shared)


def test_a_json_bomb_is_refused_before_it_is_parsed(saved, tmp_path):
    def bomb(zf):
        zeros_member(zf, "session.json", 64 << 20)  # replaces nothing: written after the copy
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(tmp_path / "json.fsession", "w") as zout:
        for info in zin.infolist():
            if info.filename != "session.json":
                zout.writestr(info, zin.read(info))
        bomb(zout)
    with peak_memory(16), pytest.raises(SessionError, match=r"session\.json .*more than the 16 MiB allowed"):
        load_session(tmp_path / "json.fsession")


def test_a_member_that_inflates_past_its_declared_size_is_not_unpacked(saved, tmp_path):
    manifest = manifest_of(saved)
    manifest["gallery"][0]["thumbnail"] = "thumbnails/liar.png"
    liar = rewrite(saved, tmp_path / "liar.fsession", manifest,
                   extra=lambda zf: zeros_member(zf, "thumbnails/liar.png", 64 << 20))
    lie_about_size(liar, "thumbnails/liar.png", 1000)
    with peak_memory(16), pytest.raises(SessionError, match="liar.fsession"):
        load_session(liar)


@pytest.mark.parametrize("count", [10_001, 1_000_000])
@pytest.mark.slow
def test_a_gallery_past_the_face_bound_is_refused(saved, tmp_path, count):
    manifest = manifest_of(saved)
    face = dict(manifest["gallery"][0], thumbnail=None)
    manifest["gallery"] = [dict(face, id=f"f{i}") for i in range(count)] if count < 100_000 else [{}] * count
    crowded = rewrite(saved, tmp_path / "crowded.fsession", manifest)
    with pytest.raises(SessionError, match=f"gallery holds {count:,} faces, more than the 10,000"):
        load_session(crowded)


def test_a_directions_array_declaring_a_huge_shape_is_refused(saved, tmp_path):
    manifest = manifest_of(saved)
    manifest["directions"][0]["shape"] = [1 << 20, 1 << 20]
    huge = npz_bytes({"d0.npy": npy_claiming((1 << 20, 1 << 20)), "d1.npy": npy_claiming((8, 32))})
    bad = rewrite(saved, tmp_path / "huge.fsession", manifest, drop=("directions.npz",),
                  extra=lambda zf: zf.writestr("directions.npz", huge))
    with peak_memory(16), pytest.raises(SessionError, match=r"d0\.npy in directions\.npz declares 4,194,304 MiB"):
        load_session(bad)


def test_real_sessions_still_open(saved):
    doc = load_session(saved)
    assert len(doc.gallery) == 3 and len(doc.directions) == 2


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_member_name_used_twice_is_refused(saved, tmp_path):
    """Of two members of one name a reader sees only the last: refuse rather than pick one."""
    manifest = manifest_of(saved)
    shown = dict(manifest, recipe=dict(manifest["recipe"], seed=7))
    twice = rewrite(saved, tmp_path / "twice.fsession", manifest,
                    extra=lambda zf: zf.writestr("session.json", json.dumps(shown)))
    with zipfile.ZipFile(twice) as zf:
        assert [i.filename for i in zf.infolist()].count("session.json") == 2
    with pytest.raises(SessionError, match="holds two entries named session.json") as info:
        load_session(twice)
    assert "\n" not in str(info.value)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_thumbnail_name_used_twice_is_refused(saved, tmp_path):
    manifest = manifest_of(saved)
    name = manifest["gallery"][0]["thumbnail"]
    twice = rewrite(saved, tmp_path / "thumbs.fsession", manifest,
                    extra=lambda zf: zf.writestr(name, PNG + b"other"))
    with pytest.raises(SessionError, match=f"holds two entries named {name}"):
        load_session(twice)


def _with(manifest, where, **fields):
    if where == "recipe":
        manifest["recipe"].update(fields)
    elif where == "face":
        manifest["gallery"][1]["recipe"].update(fields)
    else:
        manifest["directions"][0].update(fields)
    return manifest


@pytest.mark.parametrize("where, fields, words", [
    ("recipe", {"seed": 42.9}, "the seed must be a whole number"),
    ("face", {"seed": 42.9}, "the seed must be a whole number"),
    ("recipe", {"seed": "42"}, "the seed must be a whole number"),
    ("direction", {"scale": 0}, "the scale of direction 'Smile' is 0; it must be above 0"),
    ("direction", {"scale": -5}, "the scale of direction 'Smile' is -5; it must be above 0"),
    ("direction", {"scale": 1e308}, "the scale of direction 'Smile' is 1e\\+308; it must be above 0 and at most"),
    ("direction", {"scale": "2"}, "the scale of direction 'Smile' must be a number"),
    ("direction", {"layers": [0, 7.5]}, "a layer of direction 'Smile' must be a whole number"),
    ("direction", {"layers": [0, 1, 2]}, "layers of direction 'Smile' must be two whole numbers"),
])
def test_bad_numbers_in_a_session_are_refused_not_rounded(saved, tmp_path, where, fields, words):
    bad = rewrite(saved, tmp_path / "bad.fsession", _with(manifest_of(saved), where, **fields))
    with pytest.raises(SessionError, match=words) as info:
        load_session(bad)
    assert "\n" not in str(info.value)


def test_whole_floats_and_the_scale_limit_still_open(saved, tmp_path):
    from facestudio.latent.directions import MAX_SCALE
    manifest = _with(manifest_of(saved), "direction", scale=MAX_SCALE, layers=[0.0, 8.0])
    manifest["recipe"]["seed"] = 42.0
    doc = load_session(rewrite(saved, tmp_path / "edge.fsession", manifest))
    assert doc.recipe.seed == 42 and doc.directions[0].scale == MAX_SCALE
    assert doc.directions[0].layers == (0, 8)


@pytest.mark.parametrize("edit, words", [
    (lambda m: json.dumps({**m, "recipe": {**m["recipe"], "psi": 1e308}}), "truncation psi"),
    (lambda m: json.dumps({**m, "recipe": {**m["recipe"], "seed": 1e999}}), "seed"),  # written as Infinity
    (lambda m: json.dumps({**m, "gallery": [{**m["gallery"][0], "recipe": {**m["gallery"][0]["recipe"],
                                                                          "psi": 1e30}}]}), "truncation psi"),
    (lambda m: json.dumps({**m, "recipe": [1, 2]}), "not a mapping"),
    (lambda m: json.dumps(m)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested more than"),
])
def test_a_session_with_an_absurd_recipe_is_refused(saved, tmp_path, edit, words):
    crafted = rewrite(saved, tmp_path / "crafted.fsession", edit(manifest_of(saved)))
    with pytest.raises(SessionError, match=words) as info:
        load_session(crafted)
    assert "\n" not in str(info.value)
