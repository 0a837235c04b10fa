"""Issue 17's memory bombs, each run in a child process whose memory is capped
(:mod:`tests.memory_limit`): refused with one sentence, a non-zero exit, no traceback and a
peak resident memory under 1.5 GB. A regression that unpacks a bomb fails here (the cap
stops it) instead of swapping the machine. The crafted files are a few MB at most."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from facestudio.latent.discovery_cache import cache_path
from facestudio.session.document import save_session
from tests.archive_bombs import npy_header, plain_npy, zeros_member
from tests.memory_limit import assert_refused, assert_within_limit, cli, python
from tests.provenance.helpers import tiny_png_declaring
from tests.session.builders import make_document
from tests.session.builders import manifest_of, rewrite

SHA = "cd" * 32
W_DIM, NUM_WS = 16, 8


def refusing(function: str, error: str, *args: str) -> str:
    """Python source that calls ``function(sys.argv[1], ARGS...)`` and prints its ``error``
    as the CLI does (one line on stderr, exit 1); anything else is left to escape."""
    module, _, name = function.rpartition(".")
    emodule, _, ename = error.rpartition(".")
    return (f"import sys\nfrom {module} import {name}\nfrom {emodule or 'builtins'} import {ename}\n"
            f"try:\n    print({name}(sys.argv[1]{''.join(', ' + a for a in args)}))\n"
            f"except {ename} as exc:\n    print(f'facestudio: {{exc}}', file=sys.stderr)\n    sys.exit(1)\n")


LOAD_SESSION = refusing("facestudio.session.document.load_session", "facestudio.session.document.SessionError")
READ_DIRECTIONS = refusing("facestudio.latent.direction_files.read_directions",
                           "facestudio.latent.directions.DirectionError", str(W_DIM), str(NUM_WS))


# --- sessions ---------------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    return save_session(make_document(), tmp_path / "good.fsession")


def test_a_shared_thumbnail_inflating_to_960_mb(saved, tmp_path):
    manifest = manifest_of(saved)
    for face in manifest["gallery"]:  # three faces share one member
        face["thumbnail"] = "thumbnails/bomb.png"
    bomb = rewrite(saved, tmp_path / "bomb.fsession", manifest,
                   extra=lambda zf: zeros_member(zf, "thumbnails/bomb.png", 960 << 20, b"\x89PNG\r\n\x1a\n"))
    assert bomb.stat().st_size < 2 << 20
    assert_refused(python(LOAD_SESSION, bomb),
                   r"thumbnails/bomb\.png in the session would unpack to 960 MiB, more than the 1 MiB allowed")


@pytest.mark.parametrize("member, text", [
    ("zeros", r"session\.json in the session would unpack to 800 MiB, more than the 16 MiB allowed"),
    ("nested", r"session\.json is nested more than 32 levels deep"),
])
def test_a_json_bomb_session(saved, tmp_path, member, text):
    bomb = tmp_path / "json.fsession"
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != "session.json":
                zout.writestr(info, zin.read(info))
        if member == "zeros":
            zeros_member(zout, "session.json", 800 << 20, b'{"format": "facestudio-session", "x": "')
        else:
            zout.writestr("session.json", "[" * (15 << 20))
    assert bomb.stat().st_size < 1 << 20
    assert_refused(python(LOAD_SESSION, bomb), text)


def test_a_session_of_a_million_gallery_faces(saved, tmp_path):
    manifest = manifest_of(saved)
    manifest["gallery"] = [{}] * 1_000_000
    crowded = rewrite(saved, tmp_path / "crowded.fsession", manifest)
    assert crowded.stat().st_size < 1 << 20
    assert_refused(python(LOAD_SESSION, crowded), r"gallery holds 1,000,000 faces, more than the 10,000")


# --- direction bundles and the directions cache -----------------------------------------

def bundle_manifest(count: int) -> bytes:
    entries = [{"key": "d0", "id": f"d{i}", "name": f"D {i}", "layers": [0, NUM_WS]} for i in range(count)]
    doc = {"format": "facestudio-directions", "version": 1, "w_dim": W_DIM, "num_ws": NUM_WS,
           "model_sha256": SHA, "directions": entries}
    return plain_npy(np.array(json.dumps(doc)))


def test_a_bundle_member_inflating_to_2_5_gib(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        zf.writestr("manifest.npy", bundle_manifest(1))
        zeros_member(zf, "d0.npy", 5 << 29, npy_header(((5 << 29) // 4 - 32,)))
    assert path.stat().st_size < 3 << 20
    assert_refused(python(READ_DIRECTIONS, path), r"d0\.npy in bomb\.npz would unpack to 2,560 MiB")


@pytest.mark.slow
def test_a_bundle_of_200000_entries(tmp_path):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.npy", bundle_manifest(200_000))
        zf.writestr("d0.npy", plain_npy(np.eye(W_DIM, dtype=np.float32)[0]))
    assert path.stat().st_size < 2 << 20
    assert_refused(python(READ_DIRECTIONS, path), r"lists 200,000 directions, more than the 4096")


def test_the_bundle_bomb_placed_as_the_directions_cache(tmp_path, monkeypatch):
    """At start the studio logs the refusal and recomputes: exit 0, one warning, no bomb."""
    monkeypatch.setenv("FACESTUDIO_CACHE", str(tmp_path))
    path = cache_path(SHA)
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        zeros_member(zf, "w_cov.npy", 5 << 29, npy_header(((5 << 29) // 8 - 32,), "<f8"))
    result = python(refusing("facestudio.latent.discovery_cache.load_discovery", "ValueError",
                             "{'samples': 100}"), SHA)
    assert_within_limit(result)
    assert result.returncode == 0 and result.stdout.strip() == "None", result.stdout
    assert "Ignoring the directions cache" in result.stderr and "w_cov.npy" in result.stderr


def test_the_cli_refuses_a_bundle_bomb_given_to_edit(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        zf.writestr("manifest.npy", bundle_manifest(1))
        zeros_member(zf, "d0.npy", 5 << 29, npy_header(((5 << 29) // 4 - 32,)))
    assert_refused(cli("edit", "--seed", 1, "--direction", "d0=1", "--directions", path,
                       "--out", tmp_path / "out.png"),
                   r"^facestudio: d0\.npy in bomb\.npz would unpack to 2,560 MiB")
    assert not (tmp_path / "out.png").exists()


# --- model configs ----------------------------------------------------------------------

@pytest.mark.parametrize("change, text", [
    ({"channels": {"4": 10 ** 7, "8": 10 ** 7}}, "the channels at 4 px must lie between 1 and 8192"),
    ({"w_dim": 10 ** 7}, "w_dim must lie between 1 and 4096"),
    ({"c_dim": 10 ** 7}, "c_dim must lie between 0 and 100000"),
    ({"mapping_layers": 10 ** 6}, "mapping_layers must lie between 1 and 64"),
    ({"resolution": 2 ** 20, "channels": {}}, "resolution must lie between 4 and 4096"),
])
def test_a_model_whose_config_has_huge_dimensions(native_model, change, text):
    config = native_model / "config.json"
    doc = json.loads(config.read_text())
    doc["generator"].update(change)
    config.write_text(json.dumps(doc))
    assert_refused(cli("info", native_model), rf"^facestudio: .*config\.json has an invalid generator config: {text}")


# --- images and sheets ------------------------------------------------------------------

def test_inspect_of_a_png_declaring_15000_by_15000(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(tiny_png_declaring(15000, 15000))
    assert_refused(cli("inspect", path), r"^facestudio: cannot read .*bomb\.png: it declares more than")


@pytest.mark.parametrize("argv, text", [
    (("grid", "--seeds", "0-4294967295"), r"the seeds '0-4294967295' name more than 4096 faces"),
    (("grid", "--seeds", "0-199999"), r"the seeds '0-199999' name more than 4096 faces"),
    (("mix", "--rows", "0-9999", "--cols", "3"), r"the row seeds '0-9999' name more than 4096 faces"),
])
def test_a_sheet_of_too_many_faces(tmp_path, argv, text):
    assert_refused(cli(*argv, "--out", tmp_path / "sheet.png"), rf"^facestudio: {text}")
    assert not (tmp_path / "sheet.png").exists()
