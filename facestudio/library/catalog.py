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
  it, and a reader of one without them reads NULL (``Catalog.columns`` says which it has).
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
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.errors import FacestudioError

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
    """One face as the catalogue holds it (see the module's docstring for the fields)."""

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


@dataclass(frozen=True)
class SkippedRow:
    position: int
    seed: int
    reason: str
    detail: str


FACE_COLUMNS = tuple(FaceRow.__dataclass_fields__)


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
    from PIL import Image
    with Image.open(path) as img:
        return pixel_sha256(np.asarray(img.convert("RGB")))


def _describe(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "full" in text:
        return f"cannot write the catalogue {path}: the disk is full; free some space and run the same command again"
    if "readonly" in text or "read-only" in text:
        return f"cannot write the catalogue {path}: it is read-only"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not a facestudio library catalogue (or it is damaged)"
    return f"cannot use the catalogue {path}: {text}"


class Catalog:
    """The catalogue of the library at ``folder``; ``create`` makes it when missing,
    ``readonly`` opens it for reading only (never creating anything)."""

    def __init__(self, folder: Path, create: bool = False, readonly: bool = False):
        self.path = Path(folder) / CATALOG_NAME
        if not self.path.is_file() and not create:
            raise CatalogError(f"{folder} is not a facestudio library: it has no {CATALOG_NAME}")
        try:
            if readonly:
                self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                self._db = sqlite3.connect(self.path)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")  # safe against a killed process in WAL mode
                self._db.executescript(_TABLES)
                self._add_measure_columns()
            self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self.columns = {row[1] for row in self._db.execute("PRAGMA table_info(faces)")}
        except sqlite3.Error as exc:
            raise CatalogError(_describe(exc, self.path)) from None

    def _add_measure_columns(self) -> None:
        """Give a catalogue made before the measures were stored its (empty) measure columns."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(faces)")}
        for name in MEASURE_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE faces ADD COLUMN {name} REAL")

    def _select(self, names) -> str:
        """The columns ``names`` as a SELECT list: NULL for those this catalogue lacks."""
        return ",".join(n if n in self.columns else f"NULL AS {n}" for n in names)

    def close(self) -> None:
        self._db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _query(self, sql: str, args: tuple = ()) -> list:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise CatalogError(_describe(exc, self.path)) from None

    # ------------------------------------------------------------------ meta

    def meta(self, key: str) -> str | None:
        try:
            rows = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchall()
        except sqlite3.OperationalError:  # a catalogue without our tables
            raise CatalogError(f"{self.path} is not a facestudio library catalogue") from None
        return rows[0][0] if rows else None

    def set_spec(self, spec_json: str, spec_sha256: str, seeds: tuple[int, ...] | None) -> None:
        with self.transaction():
            values = [("format", SCHEMA), ("spec", spec_json), ("spec_sha256", spec_sha256)]
            if seeds is not None:
                values.append(("seeds", json.dumps(list(seeds))))
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", values)

    # ------------------------------------------------------------------ writing

    def transaction(self):
        """A context manager: one transaction, committed on success, rolled back on error;
        SQLite errors become :class:`CatalogError`."""
        catalog = self

        class _Transaction:
            def __enter__(self):
                catalog._db.execute("BEGIN IMMEDIATE")
                return catalog

            def __exit__(self, kind, exc, tb):
                try:
                    if kind is None:
                        catalog._db.execute("COMMIT")
                    else:
                        catalog._db.execute("ROLLBACK")
                except sqlite3.Error as error:
                    raise CatalogError(_describe(error, catalog.path)) from None
                if isinstance(exc, sqlite3.Error):
                    raise CatalogError(_describe(exc, catalog.path)) from None
                return False

        return _Transaction()

    def add_batch(self, faces: list[FaceRow], skipped: list[SkippedRow]) -> None:
        """Record one batch of decided positions in one transaction."""
        with self.transaction():
            self._db.executemany(f"INSERT INTO faces ({','.join(FACE_COLUMNS)}) VALUES "
                                 f"({','.join('?' * len(FACE_COLUMNS))})",
                                 [tuple(getattr(f, c) for c in FACE_COLUMNS) for f in faces])
            self._db.executemany("INSERT INTO skipped VALUES (?, ?, ?, ?)",
                                 [(s.position, s.seed, s.reason, s.detail) for s in skipped])

    # ------------------------------------------------------------------ reading

    def next_position(self) -> int:
        """The first position not yet decided (0 for an empty catalogue)."""
        row = self._query("SELECT max(p) FROM (SELECT max(position) AS p FROM faces "
                          "UNION ALL SELECT max(position) FROM skipped)")
        return 0 if row[0][0] is None else int(row[0][0]) + 1

    def face_count(self) -> int:
        return int(self._query("SELECT count(*) FROM faces")[0][0])

    def skipped_counts(self) -> dict[str, int]:
        counts = {r: 0 for r in SKIP_REASONS}
        counts.update({r: int(n) for r, n in self._query("SELECT reason, count(*) FROM skipped GROUP BY reason")})
        return counts

    def faces(self, where: str = "", args: tuple = (), limit: int | None = None, offset: int = 0) -> list[FaceRow]:
        """Rows in position order; ``where`` an SQL condition over the columns (with ``?``
        placeholders filled from ``args``)."""
        sql = f"SELECT {self._select(FACE_COLUMNS)} FROM faces" + (f" WHERE {where}" if where else "")
        sql += " ORDER BY position" + (f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else "")
        return [FaceRow(*r) for r in self._query(sql, args)]

    def count(self, face_filter: FaceFilter | None = None) -> int:
        where, args = (face_filter or FaceFilter()).sql(self.columns)
        return int(self._query("SELECT count(*) FROM faces" + (f" WHERE {where}" if where else ""), args)[0][0])

    def page(self, face_filter: FaceFilter | None, offset: int, limit: int) -> list[tuple]:
        """``(position, seed, file, age, p_female, tone, lookalike_distance)`` of the faces
        ``offset .. offset + limit`` that pass the filter, in position order: what a list of
        thumbnails shows, a page at a time (no recipes, no embeddings)."""
        where, args = (face_filter or FaceFilter()).sql(self.columns)
        return self._query("SELECT position, seed, file, age, p_female, tone, lookalike_distance FROM faces"
                           + (f" WHERE {where}" if where else "") + " ORDER BY position LIMIT ? OFFSET ?",
                           args + (int(limit), int(offset)))

    def files(self) -> dict[str, FaceRow]:
        return {f.file: f for f in self.faces()}

    def accepted_embeddings(self) -> tuple[list[int], np.ndarray]:
        """The seeds and identity embeddings of the faces that have one: ``[K]`` and float32 ``[K, 128]``."""
        rows = self._query("SELECT seed, embedding FROM faces WHERE embedding IS NOT NULL ORDER BY position")
        if not rows:
            return [], np.zeros((0, 128), np.float32)
        return [int(r[0]) for r in rows], np.stack([np.frombuffer(r[1], np.float32) for r in rows])

    def bin_counts(self, dims: tuple[str, ...]) -> dict[tuple[str, ...], int]:
        """Faces per balance bin over ``dims`` (as :func:`facestudio.analysis.selection.face_bins` names them)."""
        from facestudio.analysis.audit import Measurements
        from facestudio.analysis.selection import face_bins
        rows = self._query("SELECT age, p_female, ita FROM faces")
        if not rows:
            return {}
        cols = np.asarray(rows, np.float64).T
        counts: dict[tuple[str, ...], int] = {}
        for b in face_bins(Measurements(cols[0], cols[1], cols[2]), dims):
            counts[b] = counts.get(b, 0) + 1
        return counts


def now() -> float:
    return round(time.time(), 3)
