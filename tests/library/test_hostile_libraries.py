"""Issue 33: hostile stock libraries. A library is a folder facestudio owns: a build never
follows a link out of it, never deletes or writes outside it, and its readers read only the
files under it; a crafted catalogue (a view where a table belongs, damaged pages, values of
the wrong type, a damaged spec) ends in one sentence, within time and under 1.5 GB.

Findings (the issue's numbers): 1 links in a library being built, 3 a library folder named
like a URI, 4 rows naming files outside the library, 6 endless or huge views, 9 a huge CMYK
TIFF, 11 damaged specs, pages and columns. The heavy ones run in a memory-capped child
(:mod:`tests.memory_limit`)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

from facestudio.commands.main import main
from facestudio.library.build import LibraryError
from facestudio.library.catalog import CATALOG_NAME
from facestudio.library.sqlite_bounds import open_bounded
from facestudio.library.worker import face_file
from tests.helpers import assert_one_sentence
from tests.library.conftest import build_inline, cli, spec_for
from tests.library.hostile_catalogs import (alter, cmyk_tiff, endless_view, loosen_faces, snapshot,
                                            valid_library)
from tests.memory_limit import assert_refused, assert_within_limit
from tests.memory_limit import cli as capped_cli
from tests.memory_limit import python as capped_python
from tests.provenance.helpers import tiny_png_declaring


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def precious(tmp_path) -> Path:
    """Somebody's folder beside the library: a holiday photo, a thesis, a file named like a
    temporary file of ours."""
    folder = tmp_path / "precious"
    (folder / "2019").mkdir(parents=True)
    (folder / "thesis").mkdir()
    (folder / "2019" / "holiday.jpg").write_bytes(b"a holiday photo")
    (folder / "thesis" / "thesis.pdf").write_bytes(b"three years of work")
    (folder / "2019" / ".draft.abcdef.part").write_bytes(b"not ours either")
    return folder


# --- 1: links in a library being built ---------------------------------------------------

def test_1_a_build_into_a_library_whose_faces_folder_is_a_link_deletes_and_writes_nothing(tmp_path, model,
                                                                                         precious):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "faces").symlink_to(precious)
    before = snapshot(precious)
    done = cli("library", "build", "--model", str(model), "--count", "2", "--out", str(lib))
    assert done.returncode == 1, done.stderr
    assert_one_sentence(done.stderr, "is a link")
    assert snapshot(precious) == before


@pytest.mark.slow
def test_1_a_linked_shard_stops_the_build_before_anything_is_removed(tmp_path, model, precious):
    lib, spec = tmp_path / "lib", spec_for(model, 2)
    build_inline(lib, model, spec)
    (lib / "faces" / "999").symlink_to(precious / "2019")
    before = snapshot(precious)
    with pytest.raises(LibraryError) as caught:
        build_inline(lib, model, spec)
    assert_one_sentence(caught.value, "is a link", full_stop=False)
    assert snapshot(precious) == before


@pytest.mark.slow
def test_1_a_link_among_the_faces_is_removed_as_a_link_not_what_it_points_at(tmp_path, model, precious):
    lib, spec = tmp_path / "lib", spec_for(model, 2)
    build_inline(lib, model, spec)
    link = lib / "faces" / "000" / "seed-0000009000.png"
    link.symlink_to(precious / "thesis" / "thesis.pdf")
    before = snapshot(precious)
    report = build_inline(lib, model, spec)
    assert report.removed_orphans == 1 and not os.path.lexists(link)
    assert snapshot(precious) == before


@pytest.mark.parametrize("name", [".lock", CATALOG_NAME + "-wal"])
@pytest.mark.slow
def test_1_a_lock_or_journal_that_is_a_link_is_refused(tmp_path, model, name):
    lib, spec = tmp_path / "lib", spec_for(model, 2)
    build_inline(lib, model, spec)
    outside = tmp_path / "outside"
    (lib / name).unlink(missing_ok=True)
    (lib / name).symlink_to(outside)  # a dangling link: following it would create the file
    with pytest.raises(Exception) as caught:
        build_inline(lib, model, spec)
    assert_one_sentence(caught.value, "link", full_stop=False)
    assert not outside.exists()


@pytest.mark.slow
def test_1_an_incoming_folder_that_is_a_link_is_replaced_not_followed(tmp_path, model, precious):
    lib, spec = tmp_path / "lib", spec_for(model, 2)
    lib.mkdir()
    (lib / ".incoming").symlink_to(precious / "2019")
    before = snapshot(precious)
    report = build_inline(lib, model, spec)
    assert report.complete and not (lib / ".incoming").exists()
    assert snapshot(precious) == before


def test_1_verify_of_a_library_whose_faces_folder_is_a_link_is_one_sentence(capsys, tmp_path, precious):
    lib = valid_library(tmp_path / "lib")
    (lib / "faces").symlink_to(precious)
    code, _, err = run(capsys, "library", "verify", lib)
    assert code == 1
    assert_one_sentence(err, "is a link or a file, not the library's own folder of faces")


# --- 3: a library folder named like a URI --------------------------------------------------

@pytest.mark.parametrize("name", ["h#x", "q?x", "pct%41x"])
def test_3_info_and_verify_of_a_library_named_like_a_uri_read_it_and_create_nothing(capsys, tmp_path, name):
    lib = valid_library(tmp_path / name)
    before = sorted(os.listdir(tmp_path))
    code, out, err = run(capsys, "library", "info", lib)
    assert code == 0 and "3 of 3 faces" in out, err
    code, out, err = run(capsys, "library", "verify", lib)
    assert code == 1 and "faces/000/seed-0000000000.png (seed 0) is missing." in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing made beside the library (an "h" or a "q")


# --- 4: rows that name files outside the library -------------------------------------------

def test_4_verify_never_opens_a_file_a_row_names_outside_the_library(tmp_path):
    lib = valid_library(tmp_path / "lib", count=5)
    fifo = tmp_path / "outside.fifo"  # opening it would block verify for ever
    os.mkfifo(fifo)
    names = ["/etc/passwd", "../../../../../../etc/shadow", str(fifo), "../outside.fifo"]
    for position, name in enumerate(names):
        alter(lib, "UPDATE faces SET file = ? WHERE position = " + str(position), args=(name,))
    linked = lib / face_file(4, "png")  # and a face file that is a link to the pipe
    linked.parent.mkdir(parents=True)
    linked.symlink_to(fifo)
    result = capped_cli("library", "verify", lib, timeout=90)
    assert_within_limit(result)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    for name in names:
        assert any(name in line and "not a face file of the library; it is not opened" in line for line in lines), lines
    assert any("seed-0000000004.png (seed 4) is a link or not a regular file; it is not opened" in line
               for line in lines), lines
    assert lines[-1].endswith("failed verification: 5 problems in 5 faces.")


# --- 6: endless and huge views -------------------------------------------------------------

@pytest.mark.parametrize("table", ["faces", "skipped"])
@pytest.mark.parametrize("command", ["info", "audit"])
def test_6_a_catalogue_whose_table_is_an_endless_view_is_refused_at_once(tmp_path, table, command):
    lib = valid_library(tmp_path / "lib")
    endless_view(lib, table)
    argv = ("library", "info", lib) if command == "info" else ("audit", "--library", lib)
    assert_refused(capped_cli(*argv, timeout=90), rf"is not a facestudio library catalogue: its {table} is a view")


def test_6_a_view_computing_a_400_mb_blob_is_refused(tmp_path):
    lib = valid_library(tmp_path / "lib")
    alter(lib, "DROP TABLE meta",
          "CREATE VIEW meta AS SELECT 'spec' AS key, hex(randomblob(400000000)) AS value")
    assert_refused(capped_cli("library", "info", lib, timeout=90), r"its meta is a view, not a table")


def test_6_every_query_is_bounded_in_time_and_size(tmp_path):
    db = open_bounded(tmp_path / "x.sqlite", readonly=False, seconds=0.5, max_value_bytes=1 << 20)
    try:
        with pytest.raises(sqlite3.OperationalError, match="took longer than 0.5 s"):
            db.run("WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
        with pytest.raises(sqlite3.DataError, match="too big"):
            db.run("SELECT randomblob(400000000)")
    finally:
        db.close()


HEAP_BOMB = """
import sqlite3, sys
from facestudio.library.sqlite_bounds import open_bounded
db = open_bounded(sys.argv[1], readonly=False, seconds=60, max_value_bytes=1 << 20)
db.run("PRAGMA hard_heap_limit = 20000000")  # lower than the 512 MB, so the test stays small
try:
    db.run("WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r LIMIT 2000000) "
           "SELECT n, hex(randomblob(50)) FROM r ORDER BY random()")
except sqlite3.OperationalError as exc:
    print(f"facestudio: {exc}", file=sys.stderr)
    sys.exit(1)
"""


def test_6_a_query_past_sqlites_heap_limit_is_an_sqlite_error(tmp_path):
    assert_refused(capped_python(HEAP_BOMB, tmp_path / "x.sqlite", timeout=90),
                   r"out of memory: a query needed more memory than SQLite may use")


def test_6_ctrl_c_stops_an_endless_query(tmp_path):
    db = open_bounded(tmp_path / "x.sqlite", readonly=False, seconds=60, max_value_bytes=1 << 20)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            db.run("WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r")
    finally:
        timer.cancel()
        db.close()


# --- 9 and 11: huge images in a library ----------------------------------------------------

@pytest.mark.parametrize("make, text", [
    (lambda: cmyk_tiff(13000), r"declares far more pixels than such an image has"),  # 169 MP CMYK TIFF
    (lambda: tiny_png_declaring(13500, 13500), r"declares far more pixels than such an image has"),  # 182 MP PNG
    (lambda: tiny_png_declaring(6000, 6000), r"declares 6000 x 6000 pixels, more than the 33.5544 megapixels"),
])
def test_9_11_verify_of_a_huge_image_is_one_problem_within_the_memory_limit(tmp_path, make, text):
    lib = valid_library(tmp_path / "lib", count=1)
    path = lib / face_file(0, "png")
    path.parent.mkdir(parents=True)
    path.write_bytes(make())
    result = capped_cli("library", "verify", lib, timeout=120)
    assert_within_limit(result)
    assert result.returncode == 1 and "Warning" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "seed-0000000000.png (seed 0) cannot be read" in lines[0], lines
    assert re.search(text, lines[0]), lines[0]


# --- 11: damaged specs, pages and columns --------------------------------------------------

@pytest.mark.parametrize("value, text", [
    ("{", r"damaged build spec \(the build spec of .* is not valid JSON\)"),
    ("[1, 2]", "damaged build spec: it is a list, not a JSON object"),
    ("42", "damaged build spec: it is a int, not a JSON object"),
    ('{"model_sha256": "ab", "model_name": "m", "psi": 0.7, "format": "png", "scale": 1}', "its count is missing"),
    ('{"cuont": 3, "model_sha256": "ab", "model_name": "m", "psi": 0.7, "format": "png", "scale": 1}',
     "its count is missing"),
    ("[" * 200_000 + "]" * 200_000, "is nested more than 32 levels deep"),
    (b"\x00\xff{", "its spec is a bytes, not text"),
])
def test_11_a_damaged_spec_is_one_sentence(capsys, tmp_path, value, text):
    lib = valid_library(tmp_path / "lib")
    alter(lib, "UPDATE meta SET value = ? WHERE key = 'spec'", args=(value,))
    code, _, err = run(capsys, "library", "info", lib)
    assert code == 1
    assert re.search(text, assert_one_sentence(err)), err


@pytest.mark.parametrize("change, text", [
    ("UPDATE faces SET age = 'abc' WHERE position = 1", "the face at position 1 holds a str as its age"),
    ("UPDATE faces SET age = NULL WHERE position = 2", "the face at position 2 has no age \\(NULL\\)"),
    ("UPDATE faces SET tone = NULL WHERE position = 0", None),  # info does not read the tone
    ("UPDATE faces SET lookalike_distance = 'far' WHERE position = 0", "holds a str as its lookalike_distance"),
    ("UPDATE faces SET p_female = X'00ff' WHERE position = 0", "the face at position 0 holds a bytes as its p_female"),
])
def test_11_columns_of_the_wrong_type_or_null_are_one_sentence(capsys, tmp_path, change, text):
    lib = valid_library(tmp_path / "lib")
    loosen_faces(lib)
    alter(lib, change)
    code, out, err = run(capsys, "library", "info", lib)
    if text is None:
        assert code == 0, err
        return
    assert code == 1, out
    assert re.search(text, assert_one_sentence(err)), err


def test_11_verify_of_a_row_without_a_file_is_one_sentence(capsys, tmp_path):
    lib = valid_library(tmp_path / "lib")
    loosen_faces(lib)
    alter(lib, "UPDATE faces SET file = NULL WHERE position = 1")
    code, _, err = run(capsys, "library", "verify", lib)
    assert code == 1
    assert_one_sentence(err, "the face at position 1 has no file (NULL)")


@pytest.mark.parametrize("keep", [4096, 0])
def test_11_zeroed_pages_are_one_sentence(capsys, tmp_path, keep):
    lib = valid_library(tmp_path / "lib", count=200)
    path = lib / CATALOG_NAME
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(keep)
        f.write(b"\0" * (size - keep))
    for command in ("info", "verify"):
        code, _, err = run(capsys, "library", command, lib)
        assert code == 1
        assert_one_sentence(err, "is not a facestudio library catalogue")


def test_9_a_build_refuses_faces_larger_than_its_readers_open_before_any_work():
    from facestudio.commands.arguments import UserError
    from facestudio.commands.library import _check_face_size
    _check_face_size(5120)  # a 1024 px model at scale 5
    with pytest.raises(UserError) as caught:
        _check_face_size(8192)  # at scale 8
    assert_one_sentence(caught.value, "8192 x 8192 pixels", "choose a smaller --scale", full_stop=False)
