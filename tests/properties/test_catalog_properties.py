"""Property (issue 33): a library catalogue whose rows and spec hold anything SQLite can store
(NULLs, text where numbers belong, odd blobs, names with escape sequences, paths outside the
library, a mutated or raw spec) gives ``library info`` a summary or one sentence, and
``library verify`` one escaped line per problem or one sentence: never a traceback, and never
a file opened outside the library (a row naming a pipe outside would block verify)."""

from __future__ import annotations

import pytest
import json
import os
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from facestudio.commands.library import library_summary, verify_library
from facestudio.errors import FacestudioError
from facestudio.library.catalog import CATALOG_NAME, COLUMN_TYPES, FACE_COLUMNS, Catalog
from facestudio.library.spec import LibrarySpec
from tests.helpers import assert_one_sentence
from tests.library.hostile_catalogs import SHA, face_row, loosen_faces, valid_library
from tests.properties.strategies import JSON, mutated

HOSTILE = [None, "", "abc", "\x1b[2J\x1b]0;t\x07", "x\nforged line", "/etc/passwd", "../../../../../../etc/shadow",
           "faces/../../etc/passwd", b"", b"\x00\xff", b"\0" * 511, 2 ** 63 - 1, -(2 ** 63), 0, -1, 1.5, 1e308, -0.0,
           "nan", "Infinity"]
SPEC = json.loads(LibrarySpec(count=3, model_sha256=SHA, model_name="m", max_tries=100).canonical_json())


@st.composite
def rows(draw, pipe: str):
    """Up to four rows, each column the valid value or a hostile one (or the pipe's path)."""
    out = []
    for position in range(draw(st.integers(0, 4))):
        valid = face_row(position)
        values = []
        for column in FACE_COLUMNS[1:]:
            if draw(st.integers(0, 3)) == 0:
                values.append(draw(st.sampled_from(HOSTILE + [pipe, "../pipe"])))
            else:
                values.append(getattr(valid, column))
        out.append((position, *values))
    return out


SPECS = st.one_of(mutated(SPEC).map(json.dumps), JSON.map(json.dumps), st.text(max_size=20),
                  st.binary(max_size=20), st.integers(), st.none())


def library_with(folder: Path, face_rows: list[tuple], spec) -> Path:
    lib = valid_library(folder, count=1)
    loosen_faces(lib)
    db = sqlite3.connect(lib / CATALOG_NAME)
    try:
        db.execute("DELETE FROM faces")
        db.executemany(f"INSERT INTO faces VALUES ({','.join('?' * len(FACE_COLUMNS))})", face_rows)
        if spec is None:
            db.execute("DELETE FROM meta WHERE key = 'spec'")
        else:
            db.execute("UPDATE meta SET value = ? WHERE key = 'spec'", (spec,))
        db.commit()
    finally:
        db.close()
    return lib


def one_line(text: str) -> None:
    assert "\n" not in text and "\x1b" not in text and "\x07" not in text, repr(text)


@given(data=st.data())
@pytest.mark.slow
def test_a_crafted_catalogue_is_read_or_refused_in_one_sentence(tmp_path_factory, data):
    base = tmp_path_factory.mktemp("catalogue")
    pipe = base / "pipe"
    os.mkfifo(pipe)
    lib = library_with(base / "lib", data.draw(rows(str(pipe))), data.draw(SPECS))
    try:
        summary = library_summary(lib)
    except Exception as exc:  # noqa: BLE001 - the property is about which exceptions escape
        assert_one_sentence(exc, FacestudioError, full_stop=False)
        one_line(str(exc))
    else:
        assert summary["faces"] >= 0 and isinstance(summary["spec"]["count"], int)
    try:
        count, problems = verify_library(lib)
    except Exception as exc:  # noqa: BLE001
        assert_one_sentence(exc, FacestudioError, full_stop=False)
        one_line(str(exc))
    else:
        assert len(problems) >= count  # no face file exists, so every row is a problem
        for line in problems:
            one_line(line)
    try:
        with Catalog(lib, readonly=True) as catalog:
            page = catalog.page(None, 0, 10)
    except Exception as exc:  # noqa: BLE001
        assert_one_sentence(exc, FacestudioError, full_stop=False)
    else:
        for row in page:
            assert isinstance(row[0], int) and isinstance(row[3], float)
            assert row[6] is None or isinstance(row[6], COLUMN_TYPES["lookalike_distance"][0])
