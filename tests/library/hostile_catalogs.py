"""Hostile stock libraries made in the tests (issue 33): a valid catalogue written with the
project's own code, then changed with plain SQLite the way a crafted file would be; and a
snapshot of a folder tree, to show that a command changed nothing outside its library."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

from facestudio.latent.recipe import Recipe
from facestudio.library.catalog import CATALOG_NAME, Catalog, FaceRow
from facestudio.library.spec import LibrarySpec
from facestudio.library.worker import face_file

SHA = "ab" * 32


def face_row(position: int, **changes) -> FaceRow:
    """A plausible row for seed ``position`` (its file need not exist)."""
    values = dict(position=position, seed=position, file=face_file(position, "png"),
                  recipe=json.dumps(Recipe(SHA, position, psi=0.7).to_dict(), sort_keys=True),
                  model_sha256=SHA, pixel_sha256="0" * 64, age=30.0 + position, p_female=0.2, ita=20.0,
                  tone="intermediate", lookalike_distance=0.7, lookalike_nearest="x.jpg",
                  embedding=np.zeros(128, np.float32).tobytes(), created=0.0)
    values.update(changes)
    return FaceRow(**values)


def valid_library(lib: Path, count: int = 3) -> Path:
    """A library of ``count`` catalogued faces (no files), with a real spec."""
    lib.mkdir(parents=True, exist_ok=True)
    spec = LibrarySpec(count=count, model_sha256=SHA, model_name="test", max_tries=100)
    with Catalog(lib, create=True) as catalog:
        catalog.set_spec(spec.canonical_json(), spec.sha256, None)
        catalog.add_batch([face_row(p) for p in range(count)], [])
    return lib


def alter(lib: Path, *statements: str, args: tuple = ()) -> None:
    """Run ``statements`` on the catalogue with plain SQLite (as a crafted file would be made)."""
    db = sqlite3.connect(lib / CATALOG_NAME)
    try:
        for i, sql in enumerate(statements):
            db.execute(sql, args if i == len(statements) - 1 else ())
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def loosen_faces(lib: Path) -> None:
    """``faces`` with the same columns and declared types but no NOT NULL: a NULL can be stored."""
    from facestudio.library.catalog import SCHEMA_WITH_MEASURES
    columns = ", ".join(f"{name} {kind}" + (" PRIMARY KEY" if name == "position" else "")
                        for name, kind in SCHEMA_WITH_MEASURES["faces"].items())
    alter(lib, "ALTER TABLE faces RENAME TO old_faces", f"CREATE TABLE faces ({columns})",
          "INSERT INTO faces SELECT * FROM old_faces", "DROP TABLE old_faces")


def endless_view(lib: Path, table: str) -> None:
    """``table`` replaced by a view over an endless recursive query with its columns."""
    columns = {"faces": "n, n, 'f', '{}', 'a', 'b', 30.0, 0.5, 10.0, 't', NULL, NULL, NULL, 0.0",
               "skipped": "n, n, 'quota', 'x'"}[table]
    alter(lib, f"DROP TABLE {table}",
          f"CREATE VIEW {table} AS WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r) "
          f"SELECT {columns} FROM r")


def cmyk_tiff(side: int) -> bytes:
    """A deflate-compressed CMYK TIFF of ``side`` x ``side`` pixels (all zeros; decoding it
    takes 4 bytes a pixel and converting it to RGB 3 more), made without allocating it."""
    compressor, parts, row = zlib.compressobj(9), [], b"\0" * (4 * side)
    for _ in range(side):
        parts.append(compressor.compress(row))
    data = b"".join(parts) + compressor.flush()
    entries = [(256, 4, 1, side), (257, 4, 1, side), (258, 3, 4, None), (259, 3, 1, 8), (262, 3, 1, 5),
               (273, 4, 1, None), (277, 3, 1, 4), (278, 4, 1, side), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    ifd_at = 8
    bits_at = ifd_at + 2 + 12 * len(entries) + 4
    data_at = bits_at + 8
    out = bytearray(b"II*\0" + struct.pack("<I", ifd_at) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        value = bits_at if tag == 258 else data_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<4H", 8, 8, 8, 8) + data
    return bytes(out)


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (links not followed): its kind, size, content digest and
    modification time, to compare before and after a command."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            st = os.lstat(path)
            digest = zlib.crc32(path.read_bytes()) if stat.S_ISREG(st.st_mode) else None
            out[str(path.relative_to(folder))] = (stat.S_IFMT(st.st_mode), st.st_size, digest, st.st_mtime_ns)
    return out
