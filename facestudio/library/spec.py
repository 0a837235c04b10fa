"""What a stock library is made of: its build spec, as canonical JSON with a sha256.

A :class:`LibrarySpec` names everything that decides which faces a library holds and how
their files look: how many faces, which seeds in which order (from ``start_seed`` up, or the
list of a seeds file), the truncation psi, the model (by sha256), the file format, quality
and upscale, the filters and balance of ``facestudio find``, and the faces per render batch
(rendered in fixed batches, so every engine and any number of workers computes the same
pixels). A library keeps its spec in its catalogue; resuming with another spec is refused
(:func:`check_same_spec`), one sentence naming what differs.

Positions: the ``i``-th seed tried is at position ``i`` (:meth:`LibrarySpec.seed_at`); a
build decides the faces in position order, so the same spec always keeps the same faces.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from facestudio.analysis.filters import LEGACY_CONFIDENCE
from facestudio.errors import FacestudioError
from facestudio.latent.seeds import MAX_SEED
from facestudio.shown_text import shown

SPEC_VERSION = 1
MAX_COUNT = 1_000_000  # faces in one library: about 3 days here at 4 faces/s, 0.6 TB of 512 px PNGs
MAX_TRIES = 20_000_000  # seeds one build may try (filters and balance skip most of them)
RENDER_BATCH = 8  # faces per network call and per task a worker gets
FORMATS = ("png", "jpg", "webp")


class LibrarySpecError(FacestudioError, ValueError):
    """A spec that cannot be built, or one that is not the library's; one sentence."""


@dataclass(frozen=True)
class LibrarySpec:
    """count: faces the library holds when done; start_seed / seeds: the seeds tried, in order
    (``seeds`` None: ``start_seed, start_seed + 1, ...``); max_tries: positions tried at
    most; psi: truncation; model_sha256 / model_name: the model; format / quality / scale: the
    files; age [lo, hi) years, gender (with confidence), tone (category index), bounds
    (attribute filters), balanced (dimensions): the filters of find; batch: faces per render
    batch."""

    count: int
    model_sha256: str
    model_name: str = ""
    start_seed: int = 0
    seeds: tuple[int, ...] | None = None
    max_tries: int = 0
    psi: float = 0.7
    format: str = "png"
    quality: int = 95
    scale: int | None = None  # None: large enough for the watermark (see ExportOptions)
    age: tuple[float, float] | None = None
    gender: str | None = None
    tone: int | None = None
    balanced: tuple[str, ...] = ()
    batch: int = RENDER_BATCH
    version: int = field(default=SPEC_VERSION)
    confidence: float = LEGACY_CONFIDENCE
    bounds: tuple = ()  # MeasureBound of the attribute filters, resolved when the library was begun

    def __post_init__(self):
        if isinstance(self.count, bool) or not 1 <= int(self.count) <= MAX_COUNT:
            raise LibrarySpecError(f"--count {self.count:,} is outside 1 to {MAX_COUNT:,}, the most faces one "
                                   "library holds")
        if self.format not in FORMATS:
            raise LibrarySpecError(f"the format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if not 1 <= self.max_tries <= MAX_TRIES:
            raise LibrarySpecError(f"a build tries 1 to {MAX_TRIES:,} seeds, not {self.max_tries:,}")
        if self.seeds is None:
            if not 0 <= self.start_seed <= MAX_SEED + 1 - self.max_tries:
                raise LibrarySpecError(f"--start-seed {self.start_seed} leaves no room for {self.max_tries:,} "
                                       f"seeds below {MAX_SEED}")
        elif self.max_tries > len(self.seeds):
            raise LibrarySpecError("max_tries cannot exceed the seeds listed")

    @property
    def tries(self) -> int:
        """How many positions there are to try."""
        return self.max_tries

    def seed_at(self, position: int) -> int:
        return self.seeds[position] if self.seeds is not None else self.start_seed + position

    def as_dict(self) -> dict:
        d = asdict(self)
        d["age"] = list(self.age) if self.age is not None else None
        d["balanced"] = list(self.balanced)
        # the attribute filters came later: left out when unused, so that a library begun
        # before them keeps its spec text (and resumes); the bounds are stored resolved, so a
        # new weights/measures.json never changes what a library keeps
        if self.confidence == LEGACY_CONFIDENCE:
            del d["confidence"]
        d.pop("bounds")
        if self.bounds:
            d["bounds"] = [b.as_list() for b in self.bounds]
        if self.seeds is not None:  # the list itself is in the catalogue's meta; the spec names it by digest
            d["seeds"] = {"count": len(self.seeds), "sha256": seeds_digest(self.seeds)}
        return d

    def canonical_json(self) -> str:
        """Sorted keys, no spaces, floats as Python writes them: equal specs, equal text."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def seeds_digest(seeds: tuple[int, ...]) -> str:
    return hashlib.sha256(",".join(map(str, seeds)).encode()).hexdigest()


def default_max_tries(count: int, filtered: bool, available: int | None = None) -> int:
    """Seeds a build tries at most: 20 per face (200 with filters or balance, which skip
    most seeds), at least 2,000, at most :data:`MAX_TRIES` or the seeds listed."""
    tries = min(MAX_TRIES, max(2000, (200 if filtered else 20) * count))
    return tries if available is None else min(tries, available)



# what `library info` shows of a stored spec, with the types it must have
STORED_FIELDS = {"count": int, "model_sha256": str, "model_name": str, "psi": (int, float), "format": str,
                 "scale": (int, type(None))}  # scale None: large enough for the watermark


def read_stored_spec(stored_json: str | None, where: Path) -> dict:
    """The spec a library's catalogue holds, as a JSON object whose :data:`STORED_FIELDS`
    have their types (``count`` within 1 to :data:`MAX_COUNT`, ``format`` one of
    :data:`FORMATS`); :class:`LibrarySpecError` (one sentence) for anything else: a
    missing, damaged, deeply nested or crafted spec."""
    from facestudio.bounded_json import JsonError, loads_bounded
    from facestudio.provenance.export import MAX_SCALE
    damaged = f"{shown(where)} holds a damaged build spec"
    if stored_json is None:
        raise LibrarySpecError(f"{shown(where)} holds no build spec: it is not a facestudio library")
    try:
        spec = loads_bounded(stored_json, f"the build spec of {shown(where)}")
    except JsonError as exc:
        raise LibrarySpecError(f"{damaged} ({exc})") from None
    if not isinstance(spec, dict):
        raise LibrarySpecError(f"{damaged}: it is a {type(spec).__name__}, not a JSON object")
    for key, kind in STORED_FIELDS.items():
        value = spec.get(key)
        if key not in spec or isinstance(value, bool) or not isinstance(value, kind):
            raise LibrarySpecError(f"{damaged}: its {key} is missing or not a {getattr(kind, '__name__', 'number')}")
    if (not 1 <= spec["count"] <= MAX_COUNT or spec["format"] not in FORMATS or not math.isfinite(spec["psi"])
            or spec["scale"] is not None and not 1 <= spec["scale"] <= MAX_SCALE):
        raise LibrarySpecError(f"{damaged}: its count, format, psi or scale is out of range")
    return spec


def check_same_spec(stored_json: str, spec: LibrarySpec, where: Path) -> None:
    """Refuse (one sentence) to go on with ``spec`` in a library built with ``stored_json``."""
    if stored_json == spec.canonical_json():
        return
    try:
        stored = read_stored_spec(stored_json, where)
    except LibrarySpecError as exc:
        raise LibrarySpecError(f"{exc}; build the library in a new folder") from None
    new = spec.as_dict()
    differ = sorted(k for k in set(stored) | set(new) if stored.get(k) != new.get(k))
    if "model_sha256" in differ:
        raise LibrarySpecError(f"{shown(where)} was built with another model (sha256 {shown(stored['model_sha256'][:12])}, "
                               f"not {spec.model_sha256[:12]}); build this one in a new folder")
    said = shown(", ".join(f"{k} {json.dumps(stored.get(k))[:80]} (now {json.dumps(new.get(k))})" for k in differ[:4]))
    raise LibrarySpecError(f"{shown(where)} was built with another spec ({said}); rerun with the same options to finish "
                           "it, or build the new one in a new folder")
