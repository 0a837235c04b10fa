"""Building a stock library: the coordinator.

:func:`build_library` makes or finishes the library at ``LIB`` for a
:class:`~facestudio.library.spec.LibrarySpec`. Workers (an engine of
:mod:`facestudio.library.engines`) render, measure, check and write each block of
:data:`~facestudio.library.spec.RENDER_BATCH` positions into ``LIB/.incoming``; the
coordinator alone decides, in position order, which faces the library keeps and writes the
catalogue:

1. a face that resembles a training photo (the lookalike guard) is skipped, as is one the
   filters do not match or, with ``balanced``, one whose bin is full;
2. a near-duplicate is skipped: a face whose dlib identity embedding lies closer than
   :data:`NEAR_DUPLICATE_DISTANCE` (Euclidean) to a face already kept. dlib calls 0.6 the same
   person and the lookalike guard refuses below 0.4; 0.25 is well inside "the same person"
   (see README for the distances measured between library faces). A face in which dlib finds
   no face is not compared (its row has no embedding);
3. a kept face's file is moved from ``LIB/.incoming`` to ``LIB/faces/…`` (a rename), then
   the block's faces and skipped positions are committed in one transaction.

File before row, so a kill at any moment leaves only (a) temporary files and ``.incoming``,
removed on resume, (b) files in ``faces/`` without a row (moved, not committed), removed on
resume and made again, since their positions are not decided. A row without its file (a
file deleted by hand) is made again from its recipe on resume and must give the pixel hash
the row holds. Positions are decided in order and committed per block, so a resumed build
goes on at the first undecided position and keeps exactly the faces an uninterrupted one
keeps. A lock file stops two builds of one library at once.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from facestudio.errors import FacestudioError
from facestudio.library.catalog import Catalog, FaceRow, SkippedRow
from facestudio.library.spec import LibrarySpec, check_same_spec
from facestudio.library.worker import FACES, INCOMING, Task, WorkerConfig, is_face_file
from facestudio.provenance.export import ExportError
from facestudio.shown_text import shown

NEAR_DUPLICATE_DISTANCE = 0.25
LOCK_NAME = ".lock"


class LibraryError(FacestudioError):
    """A library that cannot be built or finished; one sentence."""


@dataclass
class BuildReport:
    """What one run did: faces added, positions decided, skipped per reason, files removed or
    made again while reconciling, and the time it took."""

    added: int = 0
    decided: int = 0
    total: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    removed_orphans: int = 0
    restored: int = 0
    seconds: float = 0.0
    complete: bool = False


Progress = Callable[[BuildReport], None]


def prepare_folder(lib: Path) -> None:
    """Make ``lib`` (its parent must exist) and refuse one that cannot be written."""
    lib = Path(lib)
    if lib.exists() and not lib.is_dir():
        raise LibraryError(f"cannot build a library at {lib}: it is a file, not a folder")
    if not lib.exists():
        if not lib.parent.is_dir():
            raise LibraryError(f"cannot build a library at {lib}: the folder {lib.parent} does not exist")
        try:
            lib.mkdir()
        except OSError as exc:
            raise LibraryError(f"cannot make the library folder {lib}: {exc.strerror}") from None
    if not os.access(lib, os.W_OK):
        raise LibraryError(f"cannot build into {lib}: the folder is read-only")


def lock_library(lib: Path):
    """Hold the library's lock (released when the process ends, however it ends). The lock
    file is opened without following a link: a ``.lock`` that points elsewhere is refused."""
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(Path(lib) / LOCK_NAME, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LibraryError(f"cannot build into {shown(lib)}: its {LOCK_NAME} is a link; a library holds no "
                               "links, remove it first") from None
        raise LibraryError(f"cannot build into {shown(lib)}: {exc.strerror}") from None
    handle = os.fdopen(fd, "a")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LibraryError(f"cannot build into {shown(lib)}: its {LOCK_NAME} is not a regular file")
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise LibraryError(f"another build of {shown(lib)} is running; wait for it or stop it first") from None
    except LibraryError:
        handle.close()
        raise
    return handle


def check_confined(lib: Path) -> None:
    """Refuse (:class:`LibraryError`) a library whose ``faces`` folder or one of its shard
    folders is a link (or not a folder): the build deletes and writes there, and a library
    never follows a link out of itself."""
    root = Path(lib) / FACES
    if not os.path.lexists(root):
        return
    if root.is_symlink() or not root.is_dir():
        raise LibraryError(f"{shown(root)} is a link or a file, not the library's own folder of faces; a library "
                           "never follows a link out of itself: move it away and run the same command again")
    for shard in os.scandir(root):
        if shard.is_symlink():
            raise LibraryError(f"{shown(shard.path)} is a link; a library never follows a link out of itself: "
                               "remove it and run the same command again")


def open_for_build(lib: Path, spec: LibrarySpec) -> Catalog:
    """The library's catalogue, made with ``spec`` when new; another spec is refused."""
    catalog = Catalog(lib, create=True)
    stored = catalog.meta("spec")
    if stored is None:
        catalog.set_spec(spec.canonical_json(), spec.sha256, spec.seeds)
    else:
        check_same_spec(stored, spec, lib)
    return catalog


def library_files(lib: Path) -> set[str]:
    """The face files under ``LIB/faces`` (relative to LIB), temporary files left out. No
    link to a folder is followed: a linked shard is not looked into, and a link found in a
    shard is listed as what it is (removing it removes the link, never what it points at)."""
    found = set()
    root = Path(lib) / FACES
    if root.is_dir() and not root.is_symlink():
        for shard in os.scandir(root):
            if shard.is_dir(follow_symlinks=False):
                for entry in os.scandir(shard.path):
                    if not entry.name.startswith(".") and not entry.is_dir(follow_symlinks=False):
                        found.add(f"{FACES}/{shard.name}/{entry.name}")
    return found


INCOMING_SETTLE_S = 30.0  # how long a killed build's last workers may take to notice and stop


def fresh_incoming(lib: Path, settle_s: float = INCOMING_SETTLE_S) -> None:
    """An empty ``.incoming``. A worker of a build killed a moment ago may still be writing
    into the old one until it notices (the engines end their workers with their build); the
    folder is cleared again until it stays empty, for at most ``settle_s`` seconds."""
    deadline = time.monotonic() + settle_s
    while True:
        incoming = lib / INCOMING
        if os.path.lexists(incoming) and (incoming.is_symlink() or not incoming.is_dir()):
            incoming.unlink()  # not ours (a link, a file, a pipe): remove it, never what a link points at
        shutil.rmtree(lib / INCOMING, ignore_errors=True)
        try:
            (lib / INCOMING).mkdir()
            return
        except FileExistsError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def reconcile(lib: Path, catalog: Catalog) -> tuple[int, list[FaceRow]]:
    """Clear what a killed build left: ``.incoming``, temporary files, files without a row.
    Returns how many files were removed and the rows whose file is missing."""
    lib = Path(lib)
    check_confined(lib)
    fresh_incoming(lib)
    root = lib / FACES
    if root.is_dir():
        for shard in os.scandir(root):
            if shard.is_dir(follow_symlinks=False):
                for part in Path(shard.path).glob(".*.part"):
                    part.unlink(missing_ok=True)
    rows = catalog.files()
    for name, row in rows.items():
        if not is_face_file(name):
            raise LibraryError(f"the catalogue of {shown(lib)} is damaged: the face at position {row.position} names "
                               f"the file {shown(name)}, which is not a face file of the library; build the library "
                               "in a new folder")
    present = library_files(lib)
    orphans = present - set(rows)
    for name in orphans:
        (lib / name).unlink(missing_ok=True)
    return len(orphans), [rows[name] for name in sorted(set(rows) - present)]


def blocks(spec: LibrarySpec, first: int) -> Iterator[Task]:
    """The tasks from the block holding position ``first`` on: fixed blocks of ``spec.batch``."""
    start = first // spec.batch * spec.batch
    index = start // spec.batch
    while start < spec.tries:
        positions = tuple(range(start, min(start + spec.batch, spec.tries)))
        yield Task(index, positions, tuple(spec.seed_at(p) for p in positions))
        start += spec.batch
        index += 1


class Decider:
    """The coordinator's choices, in position order: lookalike, filter, quota, near-duplicate."""

    def __init__(self, spec: LibrarySpec, catalog: Catalog):
        from facestudio.analysis.selection import Criteria, bin_names, quotas
        self.spec = spec
        self.kept = catalog.face_count()
        self.embedded_seeds, kept = catalog.accepted_embeddings()
        self._buffer = np.zeros((max(1024, 2 * len(kept)), kept.shape[1]), np.float32)  # grows by doubling
        self._buffer[:len(kept)] = kept
        self.dims = tuple(spec.balanced)
        criteria = Criteria(age=spec.age, gender=spec.gender, tone=spec.tone)
        self.quota = quotas(bin_names(self.dims, criteria), spec.count) if self.dims else {}
        self.filled = catalog.bin_counts(self.dims) if self.dims else {}

    def _bin(self, r: FaceRow) -> tuple[str, ...]:
        from facestudio.analysis.audit import Measurements
        from facestudio.analysis.selection import face_bins
        return face_bins(Measurements(np.array([r.age]), np.array([r.p_female]), np.array([r.ita])), self.dims)[0]

    def decide(self, r: FaceRow) -> tuple[str, str] | None:
        """None to keep the face, else ``(reason, detail)``."""
        if r.status == "lookalike":
            return "lookalike", f"resembles {r.lookalike_nearest} (distance {r.lookalike_distance:.3f})"
        if r.status == "filter":
            return "filter", f"age {r.age:.0f}, P(female) {r.p_female:.2f}, ITA {r.ita:.0f}"
        if self.dims:
            b = self._bin(r)
            if self.filled.get(b, 0) >= self.quota.get(b, 0):
                return "quota", "/".join(b)
        if r.embedding is not None and self.embedded_seeds:
            e = np.frombuffer(r.embedding, np.float32)
            d = np.sqrt(((self._buffer[:len(self.embedded_seeds)] - e) ** 2).sum(axis=1))
            if float(d.min()) < NEAR_DUPLICATE_DISTANCE:
                return "near-duplicate", f"distance {float(d.min()):.3f} to seed {self.embedded_seeds[int(d.argmin())]}"
        return None

    def keep(self, r: FaceRow) -> None:
        self.kept += 1
        if r.embedding is not None:
            n = len(self.embedded_seeds)
            if n == len(self._buffer):
                self._buffer = np.concatenate([self._buffer, np.zeros_like(self._buffer)])
            self._buffer[n] = np.frombuffer(r.embedding, np.float32)
            self.embedded_seeds.append(r.seed)
        if self.dims:
            b = self._bin(r)
            self.filled[b] = self.filled.get(b, 0) + 1


def _move_into_place(lib: Path, r: FaceRow) -> None:
    """Move a kept face from ``.incoming`` to its shard, which is made when missing and is
    never a link (one made while the build runs is refused, as :func:`check_confined` does)."""
    target = lib / r.file
    for folder in (target.parent.parent, target.parent):
        if folder.is_symlink():
            raise LibraryError(f"{shown(folder)} is a link; a library never follows a link out of itself: remove "
                               "it and run the same command again")
        folder.mkdir(exist_ok=True)
    os.replace(lib / INCOMING / Path(r.file).name, target)


def restore_missing(lib: Path, spec: LibrarySpec, missing: list[FaceRow], engine) -> int:
    """Make again the files of ``missing`` rows (their whole blocks, so the pixels are those
    first made) and check each against its row's pixel hash."""
    by_position = {row.position: row for row in missing}
    tasks = {t.index: t for row in missing for t in [next(blocks(spec, row.position))]}
    for results in engine.run(sorted(tasks.values(), key=lambda t: t.index)):
        for r in results:
            row = by_position.get(r.position)
            if row is None:
                continue
            if r.status != "written" or r.pixel_sha256 != row.pixel_sha256:
                raise LibraryError(f"the file {row.file} is missing and seed {row.seed} no longer renders the face "
                                   "the catalogue holds (its pixel hash differs); was the model or a library "
                                   "changed? run facestudio library verify")
            _move_into_place(lib, r)
    fresh_incoming(lib)
    return len(missing)


def _disk_error(exc: OSError, lib: Path) -> LibraryError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LibraryError(f"the disk holding {lib} is full; the library is kept: free some space and run the same "
                            "command again to finish it")
    return LibraryError(f"cannot write into {lib}: {exc.strerror or exc}")


def build_library(lib: Path, spec: LibrarySpec, config: WorkerConfig, make_engine: Callable[[], object],
                  progress: Progress | None = None) -> BuildReport:
    """Make or finish the library (see the module's docstring). ``make_engine()`` gives the
    engine, started only when there is work. Raises :class:`LibraryError` (and the engine's
    and catalogue's errors) with one sentence; what was committed stays and a rerun finishes."""
    lib = Path(lib)
    prepare_folder(lib)
    lock = lock_library(lib)
    started = time.perf_counter()
    engine = None
    try:
        check_confined(lib)  # before anything is made in it
        catalog = open_for_build(lib, spec)
        report = BuildReport(total=spec.count)
        try:
            report.removed_orphans, missing = reconcile(lib, catalog)
            decider = Decider(spec, catalog)
            if decider.kept >= spec.count and not missing:
                report.complete = True
                return report
            engine = make_engine()
            if missing:
                report.restored = restore_missing(lib, spec, missing, engine)
            first = catalog.next_position()
            report.complete = decider.kept >= spec.count  # only files were missing
            for results in engine.run(blocks(spec, first) if not report.complete else ()):
                faces, skipped = [], []
                for r in results:
                    if r.position < first:
                        continue
                    if decider.kept >= spec.count:
                        break
                    verdict = decider.decide(r)
                    if verdict is None:
                        _move_into_place(lib, r)
                        decider.keep(r)
                        faces.append(r)
                    else:
                        skipped.append(SkippedRow(r.position, r.seed, *verdict))
                        report.skipped[verdict[0]] = report.skipped.get(verdict[0], 0) + 1
                for r in results:  # what was not kept leaves .incoming now
                    (lib / INCOMING / Path(r.file).name).unlink(missing_ok=True)
                catalog.add_batch(faces, skipped)
                report.added += len(faces)
                report.decided += len(faces) + len(skipped)
                report.seconds = time.perf_counter() - started
                if progress is not None:
                    progress(report)
                if decider.kept >= spec.count:
                    report.complete = True
                    break
            report.seconds = time.perf_counter() - started
            if not report.complete:
                raise LibraryError(f"after all {spec.tries:,} seeds of the spec the library holds {decider.kept:,} "
                                   f"of the {spec.count:,} faces asked for (the rest were skipped: "
                                   f"{describe_skipped(catalog.skipped_counts())}); what it holds is kept")
            return report
        finally:
            if engine is not None:  # the tasks still running past the last face kept are not waited for
                engine.close(abandon=report.complete)  # (when the library is complete) or end ...
                shutil.rmtree(lib / INCOMING, ignore_errors=True)  # ... and their files are not wanted
            catalog.close()
    except OSError as exc:
        raise _disk_error(exc, lib) from None
    except ExportError as exc:  # a worker could not write a face (a full disk): the library stays resumable
        raise LibraryError(f"{exc}; the library is kept: run the same command again to finish it") from None
    finally:
        lock.close()


def describe_skipped(counts: dict[str, int]) -> str:
    parts = [f"{n:,} {reason}" for reason, n in counts.items() if n]
    return ", ".join(parts) if parts else "none"
