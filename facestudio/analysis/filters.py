"""The attribute filters: one grammar for ``find``, ``library build``, the Find panel and the
Library tab.

A filter asks for one side of a measure of :mod:`facestudio.analysis.face_measures`
(``--smile yes``, ``--yaw left``, ``--hair light`` ...). Where the sides begin is set from
real photos, not from generated faces: the 10th / 50th / 90th percentiles of each measure
over UTKFace (``weights/measures.json``, written by ``facestudio attributes``; read only
through :func:`read_reference`). Each measure is put in real-photo *spreads* from the real
median, ``z = (value - p50) / spread`` with ``spread = (p90 - p10) / 2.563`` (a standard
deviation, were the measure normal), and:

* a two-sided filter (``no`` / ``yes``, ``dark`` / ``light``) splits at the real median;
* a three-sided filter (``left`` / ``front`` / ``right``, ``up`` / ``level`` / ``down``)
  has its middle band at ``|z| < 0.75`` (about the real photos' middle 55 %).

A face passes only when it is *clearly* on the asked side: ``margin`` spreads inside its
band (default 0.5: ``--smile yes`` keeps faces smiling more than about 69 % of real photos,
``--smile no`` less than about 31 %; ``--yaw left`` needs ``z <= -1.25``, ``--yaw front``
``|z| <= 0.25``). A face whose measure is missing (dlib found no face) passes no filter.

Left and right are the *image's*: ``--yaw right`` keeps faces turned towards the image's right
side (``yaw`` positive). ``--pitch down`` keeps heads nodding down.

Gender uses the classifier's P(female) with a confidence: ``female`` keeps faces with
P(female) >= confidence, ``male`` those with P(female) <= 1 - confidence (default 0.9). At
exactly 0.5 the rule is the old one (above / not above 0.5), which libraries built before
still use (their spec names no confidence).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.errors import FacestudioError

REFERENCE_NAME = "measures.json"  # in weights/: the real photos' percentiles of every measure
MAX_REFERENCE_BYTES = 1 << 20
DEFAULT_MARGIN = 0.5  # real-photo spreads inside the asked side
MAX_MARGIN = 2.0
MIDDLE_HALF_WIDTH = 0.75  # a three-sided filter's middle band: |z| < this
DEFAULT_CONFIDENCE = 0.9
LEGACY_CONFIDENCE = 0.5  # P(female) above / not above 0.5: what gender meant before margins


class FilterError(FacestudioError, ValueError):
    """A filter that cannot be used as asked, or a reference that cannot be read; one sentence."""


@dataclass(frozen=True)
class AttributeFilter:
    """One filterable measure: the option's key (``--mouth-open`` is ``mouth_open``), the
    measure it reads, its sides from low to high, and words for each side."""

    key: str
    measure: str
    sides: tuple[str, ...]
    words: tuple[str, ...]
    label: str

    def band(self, side: str) -> tuple[float, float]:
        """The side's band in real-photo spreads ``(low z, high z)`` before the margin."""
        index = self.sides.index(side)
        if len(self.sides) == 2:
            return ((-math.inf, 0.0), (0.0, math.inf))[index]
        m = MIDDLE_HALF_WIDTH
        return ((-math.inf, -m), (-m, m), (m, math.inf))[index]


FILTERS = (
    AttributeFilter("smile", "smile", ("no", "yes"), ("not smiling", "smiling"), "Smile"),
    AttributeFilter("mouth_open", "mouth_open", ("no", "yes"), ("mouth closed", "mouth open"), "Mouth open"),
    AttributeFilter("eyes_open", "eyes_open", ("no", "yes"), ("eyes narrowed", "eyes wide open"), "Eyes open"),
    AttributeFilter("yaw", "yaw", ("left", "front", "right"),
                    ("turned to the image's left", "facing the camera", "turned to the image's right"), "Head turn"),
    AttributeFilter("pitch", "pitch", ("up", "level", "down"),
                    ("looking up", "head level", "nodding down"), "Head nod"),
    AttributeFilter("hair", "hair", ("dark", "light"), ("dark-haired", "light-haired"), "Hair"),
)
BY_KEY = {f.key: f for f in FILTERS}
FILTER_MEASURES = tuple(f.measure for f in FILTERS)


@dataclass(frozen=True)
class MeasureBound:
    """A filter resolved against the reference: ``measure`` must lie in ``[low, high]``
    (None: unbounded on that end), in the measure's own units."""

    key: str
    side: str
    measure: str
    low: float | None
    high: float | None

    def passes(self, values) -> np.ndarray:
        v = np.asarray(values, np.float64)
        ok = np.isfinite(v)
        if self.low is not None:
            ok &= v >= self.low
        if self.high is not None:
            ok &= v <= self.high
        return ok

    def describe(self) -> str:
        f = BY_KEY[self.key]
        return f.words[f.sides.index(self.side)]

    def as_list(self) -> list:
        """As a library spec stores it (JSON)."""
        return [self.key, self.side, self.measure, self.low, self.high]

    @classmethod
    def from_list(cls, item) -> "MeasureBound":
        key, side, measure, low, high = item
        return cls(str(key), str(side), str(measure), None if low is None else float(low),
                   None if high is None else float(high))


def reference_path() -> Path:
    """``weights/measures.json``: the one place the percentiles are read from."""
    from facestudio.locations import bundled_weights_dir
    return bundled_weights_dir() / REFERENCE_NAME


def read_reference(path: Path | None = None) -> dict[str, dict[str, float]]:
    """The real photos' percentiles: measure -> {``p10``, ``p50``, ``p90``, ``spread``}, from
    ``weights/measures.json`` as ``facestudio attributes`` writes it (``real_photos`` of a
    ``facestudio-measures`` document) or a bare table of them (:class:`FilterError` when
    missing or not such a file)."""
    from facestudio.fileio import read_limited
    path = Path(path) if path is not None else reference_path()
    try:
        data = json.loads(read_limited(path, MAX_REFERENCE_BYTES, "the real photos' measures"))
    except FileNotFoundError:
        raise FilterError(f"the attribute filters need the real photos' measures in {path}, which is missing; "
                          "facestudio attributes writes it") from None
    except (OSError, ValueError, FacestudioError) as exc:
        raise FilterError(f"the real photos' measures {path} cannot be read ({exc})") from None
    if isinstance(data, dict) and data.get("format") == "facestudio-measures":
        data = data.get("real_photos")  # as facestudio attributes writes it; else the bare table (real-N.json)
    if not isinstance(data, dict):
        raise FilterError(f"the real photos' measures {path} are not a table of measures")
    for name in FILTER_MEASURES:
        row = data.get(name)
        if not isinstance(row, dict) or not all(isinstance(row.get(k), (int, float)) and math.isfinite(row[k])
                                                for k in ("p10", "p50", "p90", "spread")) or row["spread"] <= 0:
            raise FilterError(f"the real photos' measures {path} hold no usable percentiles for {name}")
    return data


def optional_reference() -> tuple[dict | None, str]:
    """The reference and ``""``, or None and the sentence why it cannot be read (for readers
    that show the measures without it)."""
    try:
        return read_reference(), ""
    except FilterError as exc:
        return None, str(exc)


def resolve(key: str, side: str, margin: float = DEFAULT_MARGIN, reference: dict | None = None) -> MeasureBound:
    """The bound that ``--KEY SIDE`` with ``margin`` spreads means (FilterError when it
    means nothing: an unknown key or side, a margin that leaves the side empty)."""
    f = BY_KEY.get(key)
    if f is None:
        raise FilterError(f"there is no attribute filter {key!r}; use one of {', '.join(BY_KEY)}")
    if side not in f.sides:
        raise FilterError(f"--{key.replace('_', '-')} takes {' | '.join(f.sides)}, not {side!r}")
    if not 0 <= margin <= MAX_MARGIN:
        raise FilterError(f"the margin {margin:g} is outside 0 to {MAX_MARGIN:g} real-photo spreads")
    lo, hi = f.band(side)
    lo, hi = lo + margin, hi - margin
    if lo >= hi:
        raise FilterError(f"a margin of {margin:g} spreads leaves nothing of '{side}' for {key} (that band is "
                          f"{2 * MIDDLE_HALF_WIDTH:g} spreads wide); use a margin below {MIDDLE_HALF_WIDTH:g}")
    r = (reference if reference is not None else read_reference())[f.measure]
    p50, spread = float(r["p50"]), float(r["spread"])
    return MeasureBound(key, side, f.measure, None if math.isinf(lo) else p50 + lo * spread,
                        None if math.isinf(hi) else p50 + hi * spread)


def bounds_from_args(args, reference: dict | None = None) -> tuple[MeasureBound, ...]:
    """The bounds asked for on a command line (attributes ``args.<key>``, ``args.margin``),
    the reference read only when some filter was asked for."""
    asked = [(f.key, getattr(args, f.key, None)) for f in FILTERS if getattr(args, f.key, None) is not None]
    if not asked:
        return ()
    margin = getattr(args, "margin", DEFAULT_MARGIN)
    reference = reference if reference is not None else read_reference()
    return tuple(resolve(key, side, margin, reference) for key, side in asked)


def check_confidence(confidence: float) -> float:
    if not LEGACY_CONFIDENCE <= confidence < 1.0:
        raise FilterError(f"--confidence {confidence:g} must be at least 0.5 and below 1 (the P(female) a "
                          "female face needs; a male face needs at most 1 minus it)")
    return float(confidence)


def gender_passes(p_female, gender: str, confidence: float = DEFAULT_CONFIDENCE) -> np.ndarray:
    """Which faces are clearly ``gender`` (see the module's docstring)."""
    p = np.asarray(p_female, np.float64)
    if confidence == LEGACY_CONFIDENCE:
        return p > 0.5 if gender == "female" else p <= 0.5
    return p >= confidence if gender == "female" else 1.0 - p >= confidence


def gender_sql(gender: str, confidence: float = DEFAULT_CONFIDENCE) -> tuple[str, tuple]:
    """:func:`gender_passes` as an SQL condition over ``p_female``."""
    if confidence == LEGACY_CONFIDENCE:
        return ("p_female > 0.5", ()) if gender == "female" else ("p_female <= 0.5", ())
    return ("p_female >= ?", (confidence,)) if gender == "female" else ("1.0 - p_female >= ?", (confidence,))


def bounds_sql(bounds, columns: set[str] | None = None) -> tuple[str, tuple]:
    """The bounds as an SQL condition over the measure columns (a column the catalogue lacks:
    an old library, built before measures were stored, passes no bound)."""
    parts, args = [], []
    for b in bounds:
        if columns is not None and b.measure not in columns:
            parts.append("0")
            continue
        parts.append(f"{b.measure} IS NOT NULL")
        if b.low is not None:
            parts.append(f"{b.measure} >= ?")
            args.append(b.low)
        if b.high is not None:
            parts.append(f"{b.measure} <= ?")
            args.append(b.high)
    return " AND ".join(parts), tuple(args)


def add_filter_args(sp) -> None:
    """The attribute options (and ``--margin``, ``--confidence``) of a command."""
    for f in FILTERS:
        option = "--" + f.key.replace("_", "-")
        sides = " / ".join(f"{s} ({w})" for s, w in zip(f.sides, f.words))
        sp.add_argument(option, dest=f.key, choices=f.sides, default=None, help=f"keep faces {sides}")
    sp.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                    help=f"how clearly a face must be on the asked side of --smile, --yaw ..., in real-photo "
                         f"spreads (default {DEFAULT_MARGIN}; see docs/filters.md)")
    sp.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE,
                    help=f"--gender female keeps faces with P(female) at least this, male at most 1 minus it "
                         f"(default {DEFAULT_CONFIDENCE})")


def side_of(key: str, value: float, reference: dict, margin: float = DEFAULT_MARGIN) -> str | None:
    """The side of filter ``key`` that ``value`` is clearly on (the one ``--KEY SIDE`` with
    ``margin`` would keep it for), or None when it is on none (in between, or not measured)."""
    for side in BY_KEY[key].sides:
        try:
            if resolve(key, side, margin, reference).passes([value])[0]:
                return side
        except FilterError:  # a middle side the margin leaves empty
            continue
    return None
