"""The library's catalogue: ``LIB/catalog.sqlite``.

Tables:

* ``meta(key, value)``: ``spec`` (the canonical JSON of :class:`~facestudio.library.spec.LibrarySpec`),
  ``spec_sha256``, ``seeds`` (the seeds file's list as JSON, when there was one), ``format``
  (this schema's name).
* ``faces``: one row per face in the library: ``position`` (in the spec's seed order),
  ``seed``, ``file`` (relative to LIB), ``recipe`` (JSON), ``model_sha256``,
  ``pixel_sha256`` (:func:`pixel_sha256` of the file's decoded pixels), ``age`` (years),
  ``p_female``, ``ita`` (degrees), ``tone`` (category), ``lookalike_distance`` /
  ``lookalike_nearest`` (the nearest training photo, NULL when not checked or no face found),
  ``embedding`` (the dlib identity embedding, 128 float32, NULL when none), ``created``
  (Unix time), and the face measures of :mod:`facestudio.analysis.face_measures`
  (:data:`MEASURE_COLUMNS`: ``smile``, ``mouth_open``, ``eyes_open``, ``yaw``, ``pitch``,
  ``face_width``, ``hair``, ``skin``, ``background``; NULL where dlib found no face). The
  measure columns came later: a catalogue made before gets them (empty) when a build opens
  it, and a reader of one without them reads None (``Catalog.present`` says which it has).
* ``skipped``: one row per position decided against: ``reason`` is ``lookalike``,
  ``near-duplicate``, ``filter`` or ``quota`` (``detail`` says more), so a resumed build
  never tries them again.

One coordinator writes it (WAL journal; one transaction per batch of positions, the faces
and the skipped positions together), so positions ``0 .. next_position() - 1`` are always
decided and nothing after them is. Readers (``library info``, the studio) may read it while
a build runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.errors import FacestudioError
from facestudio.fileio import existing_mode
from facestudio.image_limits import open_bounded_image
from facestudio.library.sqlite_bounds import check_schema, open_bounded
from facestudio.shown_text import shown

CATALOG_NAME = "catalog.sqlite"
SCHEMA = "facestudio-library-catalog-1"
SKIP_REASONS = ("lookalike", "near-duplicate", "filter", "quota")

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faces (
    position INTEGER PRIMARY KEY, seed INTEGER NOT NULL UNIQUE, file TEXT NOT NULL UNIQUE,
    recipe TEXT NOT NULL, model_sha256 TEXT NOT NULL, pixel_sha256 TEXT NOT NULL,
    age REAL NOT NULL, p_female REAL NOT NULL, ita REAL NOT NULL, tone TEXT NOT NULL,
    lookalike_distance REAL, lookalike_nearest TEXT, embedding BLOB, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS skipped (
    position INTEGER PRIMARY KEY, seed INTEGER NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS faces_age ON faces(age);
CREATE INDEX IF NOT EXISTS faces_tone ON faces(tone);
"""
# added to ``faces`` after the first schema: nullable REAL columns, the only schema change
MEASURE_COLUMNS = ("smile", "mouth_open", "eyes_open", "yaw", "pitch", "face_width", "hair", "skin", "background")


class CatalogError(FacestudioError):
    """A catalogue that cannot be opened, read or written; one sentence."""


@dataclass(frozen=True)
class FaceRow:
    """One face as the catalogue holds it (see the module's docstring for the fields), and
    what a build's worker makes of one position: ``status`` (not a column) is ``written``
    (the file is in ``LIB/.incoming``; every row in the catalogue is one), ``lookalike`` or
    ``filter`` (nothing written: the coordinator records the position as skipped)."""

    position: int
    seed: int
    file: str
    recipe: str
    model_sha256: str
    pixel_sha256: str
    age: float
    p_female: float
    ita: float
    tone: str
    lookalike_distance: float | None
    lookalike_nearest: str | None
    embedding: bytes | None
    created: float
    smile: float | None = None
    mouth_open: float | None = None
    eyes_open: float | None = None
    yaw: float | None = None
    pitch: float | None = None
    face_width: float | None = None
    hair: float | None = None
    skin: float | None = None
    background: float | None = None
    status: str = "written"


@dataclass(frozen=True)
class SkippedRow:
    position: int
    seed: int
    reason: str
    detail: str


FACE_COLUMNS = tuple(f for f in FaceRow.__dataclass_fields__ if f != "status")  # the table's, in order
PAGE_COLUMNS = ("position", "seed", "file", "age", "p_female", "tone", "lookalike_distance")
EMBEDDING_FLOATS = 128
# what each column holds: (Python type, may be NULL); anything else read from a file is refused
COLUMN_TYPES = {"position": (int, False), "seed": (int, False), "file": (str, False), "recipe": (str, False),
                "model_sha256": (str, False), "pixel_sha256": (str, False), "age": (float, False),
                "p_female": (float, False), "ita": (float, False), "tone": (str, False),
                "lookalike_distance": (float, True), "lookalike_nearest": (str, True), "embedding": (bytes, True),
                "created": (float, False), **{m: (float, True) for m in MEASURE_COLUMNS}}
# the tables facestudio writes, column by column with its declared type (as _TABLES declares them)
SCHEMA_COLUMNS = {
    "meta": {"key": "TEXT", "value": "TEXT"},
    "faces": {"position": "INTEGER", "seed": "INTEGER", "file": "TEXT", "recipe": "TEXT", "model_sha256": "TEXT",
              "pixel_sha256": "TEXT", "age": "REAL", "p_female": "REAL", "ita": "REAL", "tone": "TEXT",
              "lookalike_distance": "REAL", "lookalike_nearest": "TEXT", "embedding": "BLOB", "created": "REAL"},
    "skipped": {"position": "INTEGER", "seed": "INTEGER", "reason": "TEXT", "detail": "TEXT"},
}
# the same with the measure columns, as a build now writes them (older catalogues have the above)
SCHEMA_WITH_MEASURES = {**SCHEMA_COLUMNS,
                        "faces": {**SCHEMA_COLUMNS["faces"], **{m: "REAL" for m in MEASURE_COLUMNS}}}
QUERY_SECONDS = 60.0  # one query of a catalogue; a library of a million faces reads in seconds
READ_VALUE_BYTES = 1 << 20  # any value a reader reads: recipes and the spec are a few KB
WRITE_VALUE_BYTES = 256 << 20  # the build's connection also writes the seeds list (up to 20 M seeds)
# a face file of 33.5 MP (5792 x 5792) at most: a 1024 px model at scale 5, 512 px at 8; verifying one
# (hash and watermark) stays under 1.5 GB
MAX_FACE_PIXELS = 1 << 25
MAX_FACE_BYTES = 256 << 20


@dataclass(frozen=True)
class FaceFilter:
    """Which faces to show: ``age`` [lo, hi) years, ``gender`` ``female`` / ``male`` with
    ``confidence`` (:func:`~facestudio.analysis.filters.gender_passes`; 0.5: above / not above
    0.5, as the audit counts), ``tone`` a category name, ``min_lookalike`` the least distance
    to the nearest training photo (faces never compared are left out when it is set),
    ``bounds`` the attribute filters (:class:`~facestudio.analysis.filters.MeasureBound`).
    None accepts anything."""

    age: tuple[float, float] | None = None
    gender: str | None = None
    tone: str | None = None
    min_lookalike: float | None = None
    confidence: float = 0.5
    bounds: tuple = ()

    def sql(self, columns: set[str] | None = None) -> tuple[str, tuple]:
        """An SQL condition over the ``faces`` columns (``columns``: those the catalogue has),
        with its arguments."""
        from facestudio.analysis.filters import bounds_sql, gender_sql
        parts, args = [], []
        if self.age is not None:
            parts.append("age >= ? AND age < ?")
            args += [float(self.age[0]), float(self.age[1])]
        if self.gender is not None:
            condition, values = gender_sql(self.gender, self.confidence)
            parts.append(condition)
            args += list(values)
        if self.bounds:
            condition, values = bounds_sql(self.bounds, columns)
            parts.append(condition)
            args += list(values)
        if self.tone is not None:
            parts.append("tone = ?")
            args.append(self.tone)
        if self.min_lookalike is not None:
            parts.append("lookalike_distance >= ?")
            args.append(float(self.min_lookalike))
        return " AND ".join(parts), tuple(args)


def pixel_sha256(pixels: np.ndarray) -> str:
    """sha256 of uint8 RGB pixels ``[H, W, 3]`` with their shape: what a file shows,
    whatever its metadata (the stamp's creation time differs between two writes)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return hashlib.sha256(f"{pixels.shape[0]}x{pixels.shape[1]}:".encode() + pixels.tobytes()).hexdigest()


def file_pixel_sha256(path: Path) -> str:
    """:func:`pixel_sha256` of the face file ``path``, bounded before decoding
    (:data:`MAX_FACE_PIXELS`, :data:`MAX_FACE_BYTES`, regular files only); ImageLimitError
    (a ValueError, one sentence) when it is not read."""
    with open_bounded_image(path, "the face file", MAX_FACE_PIXELS, MAX_FACE_BYTES) as img:
        return pixel_sha256(np.asarray(img.convert("RGB")))


def _describe(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "full" in text:
        return f"cannot write the catalogue {shown(path)}: the disk is full; free some space and run the same command again"
    if "readonly" in text or "read-only" in text:
        return f"cannot write the catalogue {shown(path)}: it is read-only"
    if "not a database" in text or "malformed" in text:
        return f"{shown(path)} is not a facestudio library catalogue (or it is damaged)"
    if "took longer" in text or "too big" in text or "out of memory" in text:
        return f"{shown(path)} is not a facestudio library catalogue that can be read ({shown(text)})"
    return f"cannot use the catalogue {shown(path)}: {shown(text)}"


def check_catalog_files(folder: Path) -> None:
    """Refuse (:class:`CatalogError`) a catalogue whose file, or its journal, is a link or
    anything but a regular file: SQLite would follow it out of the library."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = Path(folder) / (CATALOG_NAME + suffix)
        try:
            mode = existing_mode(path)
        except OSError as exc:
            raise CatalogError(f"cannot use the catalogue {shown(path)}: {exc.strerror or exc}") from None
        if mode is not None and not stat.S_ISREG(mode):
            raise CatalogError(f"{shown(path)} is a link or not a regular file; a library's catalogue is a plain "
                               "file inside it")


def _checked(column: str, value, where: str):
    """``value`` of ``column`` as :data:`COLUMN_TYPES` wants it; CatalogError otherwise."""
    kind, nullable = COLUMN_TYPES[column]
    if value is None:
        if nullable:
            return None
        raise CatalogError(f"{where} has no {column} (NULL)")
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise CatalogError(f"{where} holds a {type(value).__name__} as its {column}, not a {kind.__name__}")
    if kind is float and not math.isfinite(value):
        raise CatalogError(f"{where} holds {value} as its {column}, not a finite number")
    if column == "embedding" and len(value) != 4 * EMBEDDING_FLOATS:
        raise CatalogError(f"{where} holds an embedding of {len(value)} bytes, not {4 * EMBEDDING_FLOATS}")
    return value


def checked_row(columns: tuple[str, ...], raw: tuple, path: Path) -> tuple:
    """A row of ``faces`` read from ``path``, each value checked (:func:`_checked`)."""
    where = f"the catalogue {shown(path)} is damaged: the face at position " + (
        str(raw[0]) if columns[0] == "position" and isinstance(raw[0], int) else "?")
    return tuple(_checked(c, v, where) for c, v in zip(columns, raw))


class Catalog:
    """The catalogue of the library at ``folder``; ``create`` makes it when missing,
    ``readonly`` opens it for reading only (never creating anything). Every query is bounded
    (:mod:`facestudio.library.sqlite_bounds`), a file whose tables are not the ones facestudio
    writes is refused, and every value read is checked before use."""

    def __init__(self, folder: Path, create: bool = False, readonly: bool = False):
        self.path = Path(folder) / CATALOG_NAME
        check_catalog_files(folder)
        if not self.path.is_file() and not create:
            raise CatalogError(f"{shown(folder)} is not a facestudio library: it has no {CATALOG_NAME}")
        try:
            self._db = open_bounded(self.path, readonly, QUERY_SECONDS,
                                    READ_VALUE_BYTES if readonly else WRITE_VALUE_BYTES)
        except sqlite3.Error as exc:
            raise CatalogError(_describe(exc, self.path)) from None
        try:
            if not readonly:
                self._db.run("PRAGMA journal_mode=WAL")
                self._db.run("PRAGMA synchronous=NORMAL")  # safe against a killed process in WAL mode
                for statement in filter(str.strip, _TABLES.split(";")):
                    self._db.run(statement)
                if check_schema(self._db, SCHEMA_COLUMNS) is None:  # made before the measures were stored
                    for name in MEASURE_COLUMNS:
                        self._db.run(f"ALTER TABLE faces ADD COLUMN {name} REAL")
            problem = check_schema(self._db, SCHEMA_WITH_MEASURES)
            self.present = set(SCHEMA_WITH_MEASURES["faces"])  # the faces columns this catalogue has
            if problem is not None and check_schema(self._db, SCHEMA_COLUMNS) is None:
                problem, self.present = None, set(SCHEMA_COLUMNS["faces"])  # older, read only: no measures
        except sqlite3.Error as exc:
            self._db.close()
            raise CatalogError(_describe(exc, self.path)) from None
        if problem is not None:
            self._db.close()
            raise CatalogError(f"{shown(self.path)} is not a facestudio library catalogue: {problem}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _query(self, sql: str, args: tuple = ()) -> list:
        try:
            return self._db.run(sql, args)
        except sqlite3.Error as exc:
            raise CatalogError(_describe(exc, self.path)) from None

    # ------------------------------------------------------------------ meta

    def meta(self, key: str) -> str | None:
        """The text of ``meta`` row ``key``, None when there is none; CatalogError when it is not text."""
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        if rows and not isinstance(rows[0][0], str):
            raise CatalogError(f"the catalogue {shown(self.path)} is damaged: its {key} is a "
                               f"{type(rows[0][0]).__name__}, not text")
        return rows[0][0] if rows else None

    def set_spec(self, spec_json: str, spec_sha256: str, seeds: tuple[int, ...] | None) -> None:
        with self.transaction():
            values = [("format", SCHEMA), ("spec", spec_json), ("spec_sha256", spec_sha256)]
            if seeds is not None:
                values.append(("seeds", json.dumps(list(seeds))))
            self._db.run("INSERT OR REPLACE INTO meta VALUES (?, ?)", values, many=True)

    # ------------------------------------------------------------------ writing

    def transaction(self):
        """A context manager: one transaction, committed on success, rolled back on error;
        SQLite errors become :class:`CatalogError`."""
        catalog = self

        class _Transaction:
            def __enter__(self):
                catalog._query("BEGIN IMMEDIATE")
                return catalog

            def __exit__(self, kind, exc, tb):
                catalog._query("COMMIT" if kind is None else "ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise CatalogError(_describe(exc, catalog.path)) from None
                return False

        return _Transaction()

    def add_batch(self, faces: list[FaceRow], skipped: list[SkippedRow]) -> None:
        """Record one batch of decided positions in one transaction."""
        with self.transaction():
            self._db.run(f"INSERT INTO faces ({','.join(FACE_COLUMNS)}) VALUES "
                         f"({','.join('?' * len(FACE_COLUMNS))})",
                         [tuple(getattr(f, c) for c in FACE_COLUMNS) for f in faces], many=True)
            self._db.run("INSERT INTO skipped VALUES (?, ?, ?, ?)",
                         [(s.position, s.seed, s.reason, s.detail) for s in skipped], many=True)

    # ------------------------------------------------------------------ reading

    def _int(self, sql: str, args: tuple = ()) -> int | None:
        """The single whole number (or NULL) ``sql`` gives."""
        value = self._query(sql, args)[0][0]
        if value is not None and not isinstance(value, int):
            raise CatalogError(f"the catalogue {shown(self.path)} is damaged: it holds a {type(value).__name__} "
                               "where a position belongs")
        return value

    def next_position(self) -> int:
        """The first position not yet decided (0 for an empty catalogue)."""
        last = self._int("SELECT max(p) FROM (SELECT max(position) AS p FROM faces "
                         "UNION ALL SELECT max(position) FROM skipped)")
        return 0 if last is None else last + 1

    def face_count(self) -> int:
        return self._int("SELECT count(*) FROM faces")

    def skipped_counts(self) -> dict[str, int]:
        """Positions skipped per reason (:data:`SKIP_REASONS`; rows of any other reason are not counted)."""
        counts = {r: 0 for r in SKIP_REASONS}
        counts.update({r: n for r, n in self._query(
            f"SELECT reason, count(*) FROM skipped WHERE reason IN ({','.join('?' * len(SKIP_REASONS))}) "
            "GROUP BY reason", SKIP_REASONS)})
        return counts

    def columns(self, columns: tuple[str, ...], where: str = "", args: tuple = (), limit: int | None = None,
                offset: int = 0) -> list[tuple]:
        """``columns`` of the faces in position order, each value checked (:func:`checked_row`);
        ``where`` an SQL condition over the columns (with ``?`` placeholders filled from ``args``)."""
        read = ("position",) + columns  # the position names a damaged row
        sql = f"SELECT {','.join(read)} FROM faces" + (f" WHERE {where}" if where else "") + " ORDER BY position"
        if limit is not None:
            sql, args = sql + " LIMIT ? OFFSET ?", tuple(args) + (int(limit), int(offset))
        return [checked_row(read, raw, self.path)[1:] for raw in self._query(sql, args)]

    def faces(self, where: str = "", args: tuple = (), limit: int | None = None, offset: int = 0) -> list[FaceRow]:
        """Whole rows in position order (see :meth:`columns`); a catalogue made before the
        measures were stored reads None for them."""
        present = tuple(c for c in FACE_COLUMNS if c in self.present)
        missing = len(FACE_COLUMNS) - len(present)
        return [FaceRow(*r, *([None] * missing)) for r in self.columns(present, where, args, limit, offset)]

    def faces_without_embedding(self) -> int:
        return self._int("SELECT count(*) FROM faces WHERE embedding IS NULL")

    def count(self, face_filter: FaceFilter | None = None) -> int:
        where, args = (face_filter or FaceFilter()).sql(self.present)
        return self._int("SELECT count(*) FROM faces" + (f" WHERE {where}" if where else ""), args)

    def page(self, face_filter: FaceFilter | None, offset: int, limit: int) -> list[tuple]:
        """``(position, seed, file, age, p_female, tone, lookalike_distance)`` of the faces
        ``offset .. offset + limit`` that pass the filter, in position order: what a list of
        thumbnails shows, a page at a time (no recipes, no embeddings)."""
        where, args = (face_filter or FaceFilter()).sql(self.present)
        return self.columns(PAGE_COLUMNS, where, args, limit, offset)

    def files(self) -> dict[str, FaceRow]:
        return {f.file: f for f in self.faces()}

    def accepted_embeddings(self) -> tuple[list[int], np.ndarray]:
        """The seeds and identity embeddings of the faces that have one: ``[K]`` and float32 ``[K, 128]``."""
        rows = self.columns(("seed", "embedding"), "embedding IS NOT NULL")
        if not rows:
            return [], np.zeros((0, EMBEDDING_FLOATS), np.float32)
        return [r[0] for r in rows], np.stack([np.frombuffer(r[1], np.float32) for r in rows])

    def bin_counts(self, dims: tuple[str, ...]) -> dict[tuple[str, ...], int]:
        """Faces per balance bin over ``dims`` (as :func:`facestudio.analysis.selection.face_bins` names them)."""
        from facestudio.analysis.audit import Measurements
        from facestudio.analysis.selection import face_bins
        rows = self.columns(("age", "p_female", "ita"))
        if not rows:
            return {}
        cols = np.asarray(rows, np.float64).T
        counts: dict[tuple[str, ...], int] = {}
        for b in face_bins(Measurements(cols[0], cols[1], cols[2]), dims):
            counts[b] = counts.get(b, 0) + 1
        return counts


def now() -> float:
    return round(time.time(), 3)
