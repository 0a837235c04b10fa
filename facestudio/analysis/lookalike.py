"""The lookalike index: identity embeddings of real photos and the search for the nearest.

An index holds float16 ``[N, 128]`` embeddings, the N photos' names, the sha256 of the
recognition model that made them (embeddings of another model are not comparable, so such
an index is refused) and what it was built from (``dataset``: a name and a digest of the
photos' names and contents). It is saved as an ``.npz`` of plain arrays, read back through
:mod:`facestudio.archive_limits`'s bounds and without pickles.

The threshold is measured (``tests/benchmarks/lookalike_threshold.py``): below it, a face is
said to resemble the photo it is nearest to.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from facestudio.analysis.identity import EMBEDDING_DIM, IdentityEmbedder, IdentityError
from facestudio.archive_limits import ArchiveLimitError, check_npz
from facestudio.errors import FacestudioError
from facestudio.fileio import InputFileError, atomic_write, open_regular
from facestudio.shown_text import shown

INDEX_FORMAT = "facestudio-lookalike-index-1"
# Measured by tests/benchmarks/lookalike_threshold.py on 500 UTKFace photos (README, "Does this
# person exist?"): a mirrored, JPEG-q75, 5 %-cropped copy lies 0.21 from its original (median;
# 99th percentile 0.33, largest 0.48), and 199 of 200 copies lie below 0.4; dlib's same-person
# 0.6 would put 82 % of the photos within reach of another photo of the 500.
DEFAULT_THRESHOLD = 0.4
MAX_INDEX_FACES = 1_000_000
MAX_NAME_BYTES = 256
MAX_TEXT_CHARS = 4096  # the index's other texts: format, digests, what the photos are
# nearest_many: photos whose distance computed by a product of matrices lies this close (relative)
# to the least are compared again exactly; the float32 product errs by far less (about 1e-6)
CANDIDATE_MARGIN = 1e-3
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}

Progress = Callable[[int, int], None]


class LookalikeIndexError(FacestudioError):
    """An index file that cannot be used (unreadable, malformed, made for other weights)."""


@dataclass(frozen=True)
class Match:
    """The nearest indexed photo to one face: its name and the Euclidean distance."""

    name: str
    distance: float


@dataclass
class LookalikeIndex:
    """Embeddings of real photos. embeddings: float16 ``[N, 128]``; names: N photo names;
    embedder_sha256: the recognition model's sha256; dataset: what the photos are;
    model_sha256: the generators whose training photos they are, if they are (comma-separated
    sha256s: a model grown from another, trained on the same photos, shares its index)."""

    embeddings: np.ndarray
    names: list[str]
    embedder_sha256: str
    dataset: str
    model_sha256: str = ""  # the generator trained on these photos ("" for any other folder)
    _float32: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.embeddings.ndim != 2 or self.embeddings.shape[1] != EMBEDDING_DIM:
            raise LookalikeIndexError(f"a lookalike index holds [N, {EMBEDDING_DIM}] embeddings, "
                                      f"not {list(self.embeddings.shape)}.")
        if len(self.names) != len(self.embeddings):
            raise LookalikeIndexError(f"a lookalike index names {len(self.names)} photos for "
                                      f"{len(self.embeddings)} embeddings.")
        self.embeddings = np.ascontiguousarray(self.embeddings, dtype=np.float16)

    def __len__(self) -> int:
        return len(self.names)

    def check_embedder(self, embedder_sha256: str, where: str = "the lookalike index") -> None:
        """Refuse an index made with another recognition model than ``embedder_sha256``."""
        if self.embedder_sha256 != embedder_sha256:
            raise LookalikeIndexError(f"{where} was built with another face recognition model "
                                      f"(sha256 {self.embedder_sha256[:12]}, not {embedder_sha256[:12]}); "
                                      f"rebuild it with this facestudio.")

    @property
    def models(self) -> tuple[str, ...]:
        """The sha256s of the generators trained on these photos (empty for any other folder)."""
        return tuple(m for m in self.model_sha256.split(",") if m)

    def is_for(self, model_sha256: str) -> bool:
        """True when these are ``model_sha256``'s training photos, or no model's in particular."""
        return not self.models or model_sha256 in self.models

    def with_model(self, model_sha256: str) -> "LookalikeIndex":
        """The same index, also recorded as the training photos of ``model_sha256``."""
        if not self.models:
            raise LookalikeIndexError("this index is of a folder of photos, not of a model's training set; "
                                      "build it with --training-set-of")
        models = self.models + (() if model_sha256 in self.models else (model_sha256,))
        return LookalikeIndex(self.embeddings, self.names, self.embedder_sha256, self.dataset, ",".join(models))

    def check_model(self, model_sha256: str, where: str = "the lookalike index") -> None:
        """Refuse an index of another generator's training photos than ``model_sha256``'s."""
        if not self.is_for(model_sha256):
            raise LookalikeIndexError(f"{where} holds the training photos of another model (sha256 "
                                      f"{self.models[0][:12]}, not {model_sha256[:12]}); build one "
                                      f"for this model with facestudio lookalike-index.")

    def nearest(self, embedding: np.ndarray) -> Match | None:
        """The indexed photo nearest to ``embedding`` (float ``[128]``), None for an empty index."""
        return self.nearest_many([embedding])[0]

    def nearest_many(self, embeddings) -> list[Match | None]:
        """:meth:`nearest` of each embedding (float ``[K, 128]``). The few photos that can be
        nearest are found for all K at once with a product of matrices, and the nearest of
        them by the exact distance (float32 differences, summed), so the match and distance
        are those of comparing with every photo one by one, to the last bit."""
        queries = np.asarray(embeddings, np.float32).reshape(-1, EMBEDDING_DIM)
        if not len(self):
            return [None] * len(queries)
        table, norms = self._as_float32()
        approx = norms[None, :] - 2.0 * (queries @ table.T) + np.einsum("ij,ij->i", queries, queries)[:, None]
        out = []
        for query, row in zip(queries, approx):
            margin = CANDIDATE_MARGIN * (1.0 + float(query @ query) + float(norms.max()))
            near = np.flatnonzero(row <= row.min() + margin)  # in index order: ties go to the first, as before
            diff = table[near] - query[None]
            d2 = np.einsum("ij,ij->i", diff, diff)
            k = int(np.argmin(d2))
            out.append(Match(self.names[int(near[k])], float(np.sqrt(d2[k]))))
        return out

    def _as_float32(self) -> tuple[np.ndarray, np.ndarray]:
        """The embeddings as float32 (exact: every float16 is a float32) and their squared
        norms, converted once (a library worker compares thousands of faces with them)."""
        if self._float32 is None or self._float32[0] is not self.embeddings:
            table = self.embeddings.astype(np.float32)
            self._float32 = (self.embeddings, table, np.einsum("ij,ij->i", table, table))
        return self._float32[1], self._float32[2]

    def save(self, path: str | Path, overwrite: bool = False) -> None:
        """Write the index atomically as an ``.npz`` of plain arrays."""
        names = np.array([n.encode("utf-8")[:MAX_NAME_BYTES] for n in self.names] or [b""][:0], dtype=bytes)
        with atomic_write(Path(path), overwrite=overwrite) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, format=np.array(INDEX_FORMAT), embeddings=self.embeddings, names=names,
                         embedder_sha256=np.array(self.embedder_sha256), dataset=np.array(self.dataset),
                         model_sha256=np.array(self.model_sha256))

    @classmethod
    def load(cls, path: str | Path, embedder_sha256: str | None = None) -> "LookalikeIndex":
        """The index in ``path``, its size bounded before unpacking; refused when it was made
        with another recognition model than ``embedder_sha256`` (when given)."""
        path = Path(path)
        limit = MAX_INDEX_FACES * MAX_NAME_BYTES
        try:
            check_npz(str(path), f"the lookalike index {path}", max_members=8,
                      max_member_bytes=limit, max_total_bytes=2 * limit)
            with np.load(path, allow_pickle=False) as z:
                fmt = _text_field(z, "format", path, required=False)
                if fmt != INDEX_FORMAT:
                    raise LookalikeIndexError(f"{shown(path)} is not a facestudio lookalike index.")
                embeddings, names = z["embeddings"], z["names"]
                if (embeddings.dtype != np.float16 or names.dtype.kind != "S" or names.ndim != 1
                        or names.dtype.itemsize > MAX_NAME_BYTES or not np.isfinite(embeddings).all()):
                    raise LookalikeIndexError(f"the lookalike index {shown(path)} does not hold finite float16 "
                                              f"embeddings and a list of names of at most {MAX_NAME_BYTES} bytes.")
                if not len(names):
                    raise LookalikeIndexError(f"the lookalike index {shown(path)} holds no faces, so nothing can be "
                                              "compared with it; build it from a folder of photos with faces.")
                index = cls(embeddings, [bytes(n).decode("utf-8", "replace") for n in names],
                            _text_field(z, "embedder_sha256", path), _text_field(z, "dataset", path),
                            _text_field(z, "model_sha256", path, required=False) or "")
        except ArchiveLimitError as exc:
            raise LookalikeIndexError(f"{_one_line(exc)}.") from None
        except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
            raise LookalikeIndexError(f"cannot read the lookalike index {shown(path)}: {shown(_one_line(exc))}.") from None
        if embedder_sha256 is not None:
            index.check_embedder(embedder_sha256, f"the lookalike index {path}")
        return index


@dataclass
class BuildReport:
    """What :func:`build_index` did: photos indexed, and files skipped for why."""

    indexed: int = 0
    no_face: int = 0
    unreadable: int = 0
    not_images: int = 0

    @property
    def skipped(self) -> int:
        return self.no_face + self.unreadable + self.not_images

    def line(self) -> str:
        return (f"{self.indexed:,} faces indexed; skipped {self.no_face:,} without a face, "
                f"{self.unreadable:,} unreadable, {self.not_images:,} not images")


def photo_files(folder: str | Path) -> tuple[list[Path], int]:
    """The image files directly and recursively under ``folder`` (by suffix), sorted, and how
    many other entries there are. Only regular files (or links to them) count as images: a
    pipe, a device, a socket or a link to one is never opened (it would block the read or
    never end it), and is counted with the others."""
    images, others = [], 0
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            p = Path(root) / name
            if p.suffix.lower() in IMAGE_SUFFIXES and _is_regular(p):
                images.append(p)
            else:
                others += 1
    return images, others


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def folder_digest(files: Iterable[Path], base: Path) -> str:
    """A sha256 of the files' relative names and contents: the identity of a photo folder.
    Each file is opened only when it is a regular file (:func:`open_regular`); one that is
    not, or cannot be read, counts as unreadable."""
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(base)).encode("utf-8", "surrogateescape") + b"\0")
        try:
            with open_regular(p, "the photo") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except (OSError, InputFileError):
            h.update(b"\1unreadable")
        h.update(b"\0")
    return h.hexdigest()


def _measure_photo(embedder: IdentityEmbedder, path: Path) -> tuple[str, np.ndarray | None]:
    """("face", embedding), ("no face", None) or ("unreadable", None) for one photo."""
    try:
        m = embedder.measure_file(path)
    except IdentityError:
        return "unreadable", None
    return ("face", m.embedding) if m.found else ("no face", None)


_worker_embedder: IdentityEmbedder | None = None


def _start_worker() -> None:
    global _worker_embedder
    _worker_embedder = IdentityEmbedder()


def _measure_in_worker(path: Path) -> tuple[str, np.ndarray | None]:
    assert _worker_embedder is not None
    return _measure_photo(_worker_embedder, path)


def _measurements(files: list[Path], embedder: IdentityEmbedder, jobs: int):
    """The photos' measurements in order: in this process, or in ``jobs`` worker processes
    (each loads its own copy of dlib's networks, about 30 MB)."""
    if jobs <= 1 or len(files) < 2:
        for p in files:
            yield _measure_photo(embedder, p)
        return
    import multiprocessing
    with multiprocessing.get_context("spawn").Pool(min(jobs, len(files)), _start_worker) as pool:
        yield from pool.imap(_measure_in_worker, files, chunksize=16)


def build_index(folder: str | Path, embedder: IdentityEmbedder, dataset_name: str,
                progress: Progress | None = None, limit: int | None = None, model_sha256: str = "",
                jobs: int = 1) -> tuple[LookalikeIndex, BuildReport]:
    """An index of the faces in the photos under ``folder`` (at most ``limit`` of them, in
    name order); files that are not images, cannot be read or show no face are skipped and
    counted. ``jobs`` > 1 measures in that many processes (the index is the same).
    ``progress(done, total)`` is called after each photo."""
    folder = Path(folder)
    files, others = photo_files(folder)
    if limit is not None:
        files = files[:limit]
    report = BuildReport(not_images=others)
    embeddings, names = [], []
    for i, (p, (kind, embedding)) in enumerate(zip(files, _measurements(files, embedder, jobs))):
        if kind == "face":
            embeddings.append(embedding)
            names.append(str(p.relative_to(folder)))
            report.indexed += 1
        elif kind == "no face":
            report.no_face += 1
        else:
            report.unreadable += 1
        if progress:
            progress(i + 1, len(files))
    dataset = f"{dataset_name} sha256:{folder_digest(files, folder)}"
    array = np.array(embeddings, np.float16).reshape(-1, EMBEDDING_DIM)
    return LookalikeIndex(array, names, embedder.sha256, dataset, model_sha256), report


def _text_field(z, key: str, path: Path, required: bool = True) -> str | None:
    """The short text ``key`` of the index ``z`` (a 0-d string array); None when it is absent
    and not ``required``; :class:`LookalikeIndexError` for anything else."""
    if key not in z.files:
        if required:
            raise LookalikeIndexError(f"the lookalike index {shown(path)} has no {key}.")
        return None
    value = z[key]
    if value.ndim != 0 or value.dtype.kind != "U" or value.dtype.itemsize > 4 * MAX_TEXT_CHARS:
        raise LookalikeIndexError(f"the {key} of the lookalike index {shown(path)} is not a short text.")
    return str(value)


def _one_line(message: object) -> str:
    return " ".join(str(message).split()).rstrip(".")
