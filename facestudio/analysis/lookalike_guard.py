"""The export guard: before a face is written, is it a real person's face?

:class:`LookalikeGuard` holds the identity embedder, the model's training-set index (the
``lookalike-index.npz`` beside the bundled model, when it was built for the model being
used) and, optionally, the index of a folder of photos of people who must not appear
(``--against DIR``, built on first use and cached under the folder's digest). Its
:meth:`~LookalikeGuard.check` answers with a :class:`LookalikeVerdict`: whether any of the
faces resembles a photo, the nearest distance, and the XMP properties that record the check in
the exported file. A face that resembles a photo is refused (:meth:`LookalikeVerdict.refusal`)
unless the user allows it; a guard that cannot check (dlib not installed, no index for this
model) says so in the file and in one sentence, and never stops an export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from facestudio.analysis.identity import IdentityEmbedder, IdentityError
from facestudio.analysis.lookalike import (DEFAULT_THRESHOLD, LookalikeIndex, LookalikeIndexError, Progress,
                                           build_index, folder_digest, photo_files)
from facestudio.errors import FacestudioError
from facestudio.locations import bundled_weights_dir
from facestudio.shown_text import shown

CACHE_FOLDER = "lookalike-cache"
INDEX_NAME = "lookalike-index.npz"
# check_each with the faces' boxes given: a face whose distance lies this close to the threshold
# is measured again from its own detector search (the boxes the face measures found move the
# distance by 0.002 in the median, 0.029 at most in 800 faces of the bundled model), so every
# verdict is the one the search gives (docs/benchmarks.md, issue 35)
RECHECK_MARGIN = 0.05


def default_index_path() -> Path:
    """The index of the bundled model's training photos, shipped beside it in ``weights/``."""
    return bundled_weights_dir() / INDEX_NAME


@dataclass(frozen=True)
class LookalikeVerdict:
    """The check of the faces of one export. checked: False when nothing could be compared
    (``reason`` says why); faces / found: faces checked and faces in which dlib found one;
    distance / nearest: the closest training photo over all faces (None without an index);
    against_*: the same for ``--against``; notes: what the check could not cover."""

    checked: bool
    threshold: float = DEFAULT_THRESHOLD
    faces: int = 0
    found: int = 0
    distance: float | None = None
    nearest: str | None = None
    against_distance: float | None = None
    against_nearest: str | None = None
    reason: str = ""
    notes: tuple[str, ...] = ()

    @property
    def resembles_training_photo(self) -> bool:
        return self.distance is not None and self.distance < self.threshold

    @property
    def resembles_against(self) -> bool:
        return self.against_distance is not None and self.against_distance < self.threshold

    @property
    def resembles(self) -> bool:
        return self.resembles_training_photo or self.resembles_against

    def near_threshold(self, margin: float) -> bool:
        """Whether a distance of this verdict lies within ``margin`` of the threshold."""
        return any(d is not None and abs(d - self.threshold) < margin for d in (self.distance, self.against_distance))

    def summary(self) -> str:
        """A few words for the file and the studio's badge."""
        if not self.checked:
            return f"not checked: {self.reason}"
        if self.found == 0:
            return "no face found to check"
        if self.resembles_training_photo:
            return f"resembles training photo {shown(self.nearest)} (distance {self.distance:.3f})"
        if self.resembles_against:
            return f"resembles {shown(self.against_nearest)} of the --against photos (distance {self.against_distance:.3f})"
        parts = [f"training photos: nearest {self.distance:.3f}"] if self.distance is not None else []
        if self.against_distance is not None:
            parts.append(f"--against photos: nearest {self.against_distance:.3f}")
        return "no resemblance (" + "; ".join(parts) + f", threshold {self.threshold:.2f})"

    def refusal(self, what: str, override: str = "pass --allow-lookalike to write it anyway") -> str:
        """The one sentence that refuses to write ``what`` (call only when it resembles)."""
        if self.resembles_training_photo:
            who = f"the training photo {shown(self.nearest)} (distance {self.distance:.3f}, below {self.threshold:.2f})"
        else:
            who = (f"{shown(self.against_nearest)} of the --against photos (distance {self.against_distance:.3f}, "
                   f"below {self.threshold:.2f})")
        return (f"not writing {what}: the face resembles {who}, so it may show a real person; choose "
                f"another face, or {override}")

    def xmp_fields(self, allowed: bool = False) -> dict[str, str]:
        """``facestudio:`` XMP properties recording the check (see :mod:`facestudio.provenance.xmp`)."""
        fields = {"LookalikeCheck": self.summary()}
        if self.checked:
            fields["LookalikeVerdict"] = ("resembles a real photo" if self.resembles else
                                          "no face found" if self.found == 0 else "no resemblance")
            fields["LookalikeThreshold"] = f"{self.threshold:.3f}"
            if self.distance is not None:
                fields["LookalikeDistance"] = f"{self.distance:.4f}"
                fields["LookalikeNearest"] = shown(self.nearest)
            if self.against_distance is not None:
                fields["LookalikeAgainstDistance"] = f"{self.against_distance:.4f}"
            if self.faces > 1:
                fields["LookalikeFaces"] = f"{self.found} of {self.faces} faces found and checked"
            if self.resembles and allowed:
                fields["LookalikeOverride"] = "written anyway at the user's request (--allow-lookalike)"
        if self.notes:
            fields["LookalikeNotes"] = "; ".join(self.notes)
        return fields


def decide(verdict: LookalikeVerdict, allowed: bool) -> dict[str, str] | None:
    """The one lookalike policy, "refuse or stamp", of every export (the CLI, the studio, the
    library and the Python API): None when the faces resemble a real photo and writing such
    faces is not ``allowed`` (the caller refuses with :meth:`LookalikeVerdict.refusal` or
    leaves the face out); else the XMP properties that record the check in the file."""
    if verdict.resembles and not allowed:
        return None
    return verdict.xmp_fields(allowed)


@dataclass
class LookalikeGuard:
    """What the faces of one model are compared with; build it with :func:`guard_for_model`."""

    embedder: IdentityEmbedder | None
    training: LookalikeIndex | None
    against: LookalikeIndex | None = None
    threshold: float = DEFAULT_THRESHOLD
    reason: str = ""  # why nothing can be checked, when embedder is None or no index is present
    notes: list[str] = field(default_factory=list)

    @property
    def can_check(self) -> bool:
        return self.embedder is not None and (self.training is not None or self.against is not None)

    def check(self, faces: Iterable[np.ndarray]) -> LookalikeVerdict:
        """The verdict over ``faces`` (uint8 ``[H, W, 3]`` each): the closest of them counts."""
        if not self.can_check:  # nothing to compare with: no need to measure the faces
            return LookalikeVerdict(False, self.threshold, reason=self.reason, notes=tuple(self.notes))
        return self.check_with_embeddings(faces)[0]

    def check_with_embeddings(self, faces: Iterable[np.ndarray]) -> tuple[LookalikeVerdict, list[np.ndarray | None]]:
        """:meth:`check`, and each face's identity embedding (float32 ``[128]``, None where
        dlib found no face or is missing), measured once for both: the library compares
        its faces with each other by them. Embeddings are measured even when there is no
        index to compare them with."""
        embeddings = self._embeddings(faces)
        return self._verdict(embeddings), embeddings

    def check_each(self, faces: Iterable[np.ndarray], boxes: list | None = None
                   ) -> list[tuple[LookalikeVerdict, np.ndarray | None]]:
        """:meth:`check_with_embeddings` of each face on its own, the faces measured and
        compared with the indexes in one batch (the library checks a block of faces at once).
        ``boxes``: each face's box already found by dlib's detector, or None (see
        :meth:`~facestudio.analysis.identity.IdentityEmbedder.measure_many`)."""
        faces = list(faces)
        embeddings = self._embeddings(faces, boxes)
        if boxes is not None and self.can_check:  # near the threshold, the face's own search decides
            recheck = [i for i, (e, v) in enumerate(zip(embeddings, self._verdicts(embeddings)))
                       if boxes[i] is not None and e is not None and v.near_threshold(RECHECK_MARGIN)]
            for i, e in zip(recheck, self._embeddings([faces[i] for i in recheck])):
                embeddings[i] = e
        return list(zip(self._verdicts(embeddings), embeddings))

    def _verdicts(self, embeddings: list[np.ndarray | None]) -> list[LookalikeVerdict]:
        """Each embedding's own verdict, the indexes searched once for all of them."""
        found = [e for e in embeddings if e is not None]
        nearest = {key: iter(index.nearest_many(found)) if index is not None and len(index) and found else None
                   for key, index in (("training", self.training), ("against", self.against))}
        return [self._verdict([e], [{key: None if e is None or it is None else next(it)
                                     for key, it in nearest.items()}]) for e in embeddings]

    def _embeddings(self, faces: Iterable[np.ndarray], boxes: list | None = None) -> list[np.ndarray | None]:
        faces = [np.ascontiguousarray(p, dtype=np.uint8) for p in faces]
        if self.embedder is None:
            return [None] * len(faces)
        return [m.embedding for m in self.embedder.measure_many(faces, boxes)]

    def _verdict(self, embeddings: list[np.ndarray | None], matches: list[dict] | None = None) -> LookalikeVerdict:
        """The verdict over faces of these embeddings: the closest of them counts. ``matches``:
        each embedding's nearest photo per index (``"training"``, ``"against"``), when already found."""
        if not self.can_check:
            return LookalikeVerdict(False, self.threshold, reason=self.reason, notes=tuple(self.notes))
        count = found = 0
        best: dict[str, tuple[float, str] | None] = {"training": None, "against": None}
        for i, embedding in enumerate(embeddings):
            count += 1
            if embedding is None:
                continue
            found += 1
            for key, index in (("training", self.training), ("against", self.against)):
                if matches is not None:
                    match = matches[i][key]
                else:
                    match = index.nearest(embedding) if index is not None and len(index) else None
                if match is not None and (best[key] is None or match.distance < best[key][0]):
                    best[key] = (match.distance, match.name)
        t, a = best["training"], best["against"]
        return LookalikeVerdict(True, self.threshold, count, found,
                                None if t is None else round(t[0], 4), None if t is None else t[1],
                                None if a is None else round(a[0], 4), None if a is None else a[1],
                                notes=tuple(self.notes))


def guard_for_model(model_sha256: str, index_path: Path | None, against: Path | None = None,
                    threshold: float = DEFAULT_THRESHOLD, data_dir: Path | None = None,
                    progress: Progress | None = None, log: Callable[[str], None] = lambda _m: None) -> LookalikeGuard:
    """The guard for a model: its training-set index at ``index_path`` when that index was
    built for ``model_sha256`` (an index of another model's photos is left out, with a note),
    and the cached index of ``against`` (built with ``progress`` on first use, in
    ``data_dir``). Without dlib, the guard cannot check and says how to install it; a damaged
    index raises :class:`LookalikeIndexError` (one sentence)."""
    try:
        embedder = IdentityEmbedder()
    except IdentityError as exc:
        if against is not None:  # the user asked for this check by name: it must not pass silently
            raise
        return LookalikeGuard(None, None, threshold=threshold, reason=str(exc).rstrip("."))
    training, notes = None, []
    if index_path is not None and Path(index_path).is_file():
        index = LookalikeIndex.load(index_path, embedder.sha256)
        if index.is_for(model_sha256):
            training = index
        else:
            notes.append("there is no index of this model's training photos")
    else:
        notes.append("there is no index of this model's training photos")
    against_index = cached_folder_index(Path(against), embedder, data_dir, progress, log) if against else None
    if training is None and against_index is None:  # nothing to compare with: the reason says it all
        return LookalikeGuard(embedder, None, None, threshold, notes[0])
    return LookalikeGuard(embedder, training, against_index, threshold, "", notes)


def cached_folder_index(folder: Path, embedder: IdentityEmbedder, data_dir: Path | None,
                        progress: Progress | None = None, log: Callable[[str], None] = lambda _m: None) -> LookalikeIndex:
    """The index of the photos in ``folder``, kept in ``data_dir/lookalike-cache`` under the
    digest of the folder's names and contents (a changed folder is indexed again; a damaged
    cache file is rebuilt, never trusted). The cache is optional: when the data folder
    cannot be read or written, the folder is indexed all the same and ``log`` says why it
    was not kept. A folder in which no face is found is refused: nothing could be compared."""
    if not folder.is_dir():
        raise LookalikeIndexError(f"{shown(folder)} is not a folder of photos")
    files, _ = photo_files(folder)
    digest = folder_digest(files, folder)
    cache = (Path(data_dir) / CACHE_FOLDER / f"{digest[:32]}-{embedder.sha256[:12]}.npz") if data_dir else None
    try:
        if cache is not None and cache.is_file():
            return LookalikeIndex.load(cache, embedder.sha256)
    except (FacestudioError, OSError):
        _forget(cache)
    index, report = build_index(folder, embedder, f"folder {folder.name}", progress)
    log(f"{shown(folder)}: {report.line()}")
    if not len(index):
        raise LookalikeIndexError(f"no face was found in the {len(files):,} photos of {shown(folder)}, so nothing "
                                  "can be compared with them")
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            index.save(cache, overwrite=True)
        except (FacestudioError, OSError) as exc:
            log(f"{shown(folder)}: the index is not kept for next time: the data folder {shown(cache.parent)} cannot "
                f"be written ({shown(getattr(exc, 'strerror', None) or exc)})")
    return index


def _forget(cache: Path) -> None:
    """Remove a cache file that cannot be used, when it can be removed."""
    try:
        cache.unlink(missing_ok=True)
    except OSError:
        pass
