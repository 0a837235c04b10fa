"""Finding faces by measured attributes: which seeds match a request, in seed order, with
an equal quota per bin when asked (the engine of ``facestudio find``).

The search measures seeds in batches through a ``measure(seeds) -> Measurements`` callable
(rendering and measuring are the caller's), keeps the seeds that match the
:class:`Criteria` and, with balancing, only while their bin's quota is open, and stops when
every quota is full or after ``max_tries`` seeds. It records after how many tries each bin
was filled, so a caller can say honestly which faces the model rarely makes.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from facestudio.analysis.audit import Measurements
from facestudio.analysis.filters import LEGACY_CONFIDENCE, MeasureBound, gender_passes
from facestudio.analysis.groups import AGE_BINS, AGE_EDGES, GENDERS
from facestudio.analysis.skin_tone import TONE_CATEGORIES

BALANCE_DIMENSIONS = ("age", "gender", "tone")


@dataclass(frozen=True)
class Criteria:
    """What a kept face must measure: ``age`` a range ``[lo, hi)`` in years, ``gender``
    ``"female"`` / ``"male"`` with ``confidence`` (:func:`~.filters.gender_passes`: P(female)
    at least / at most 1 minus it; 0.5 is the old rule, above / not above 0.5), ``tone`` an
    index into :data:`TONE_CATEGORIES`, ``bounds`` the attribute filters
    (:class:`~.filters.MeasureBound`, which need the dlib measures); None accepts anything."""

    age: tuple[float, float] | None = None
    gender: str | None = None
    tone: int | None = None
    confidence: float = LEGACY_CONFIDENCE
    bounds: tuple[MeasureBound, ...] = ()

    def matches_classified(self, m: Measurements) -> np.ndarray:
        """What the classifier and the skin patches decide (age, gender, tone): the cheap part."""
        ok = np.ones(len(m), dtype=bool)
        if self.age is not None:
            ok &= (m.age >= self.age[0]) & (m.age < self.age[1])
        if self.gender is not None:
            ok &= gender_passes(m.p_female, self.gender, self.confidence)
        if self.tone is not None:
            ok &= m.tone == self.tone
        return ok

    def matches(self, m: Measurements) -> np.ndarray:
        ok = self.matches_classified(m)
        if self.bounds:
            if m.measures is None:
                raise ValueError("the attribute filters need faces measured with dlib (with_face_measures)")
            for b in self.bounds:
                ok &= b.passes(m.measures[b.measure])
        return ok

    def describe(self) -> str:
        parts = [b.describe() for b in self.bounds]
        if self.age is not None:
            parts.append(f"aged {self.age[0]:g}-{self.age[1] - 1:g}")
        if self.gender is not None:
            parts.append(self.gender + (f" (P(female) {'>=' if self.gender == 'female' else '<='} "
                                        f"{self.confidence if self.gender == 'female' else 1 - self.confidence:.2g})"
                                        if self.confidence != LEGACY_CONFIDENCE else ""))
        if self.tone is not None:
            parts.append(f"of {TONE_CATEGORIES[self.tone]} skin tone")
        return ", ".join(parts) or "of any kind"


def bin_names(dims: Sequence[str], criteria: Criteria) -> list[tuple[str, ...]]:
    """The bins to balance over: the product of each dimension's bins that the criteria
    leave possible (an age bin that does not meet the age range is not a bin)."""
    choices = []
    for dim in dims:
        if dim == "age":
            lo, hi = criteria.age or (0, float("inf"))
            edges = list(AGE_EDGES) + [float("inf")]
            choices.append([name for i, name in enumerate(AGE_BINS) if edges[i] < hi and edges[i + 1] > lo])
        elif dim == "gender":
            choices.append([criteria.gender] if criteria.gender else list(GENDERS))
        elif dim == "tone":
            choices.append([TONE_CATEGORIES[criteria.tone]] if criteria.tone is not None else list(TONE_CATEGORIES))
        else:
            raise ValueError(f"cannot balance over {dim!r}; use {', '.join(BALANCE_DIMENSIONS)}")
    return [tuple(c) for c in itertools.product(*choices)]


def face_bins(m: Measurements, dims: Sequence[str]) -> list[tuple[str, ...]]:
    """Each face's bin over ``dims``, named as :func:`bin_names` names them."""
    columns = {"age": [AGE_BINS[i] for i in m.age_bin],
               "gender": [GENDERS[0] if f else GENDERS[1] for f in m.female],
               "tone": [TONE_CATEGORIES[i] for i in m.tone]}
    return list(zip(*(columns[d] for d in dims))) if dims else [()] * len(m)


def quotas(bins: list[tuple[str, ...]], count: int) -> dict[tuple[str, ...], int]:
    """``count`` shared as equally as it can be: the first ``count % len(bins)`` bins get one more."""
    base, extra = divmod(count, len(bins))
    return {b: base + (1 if i < extra else 0) for i, b in enumerate(bins)}


@dataclass
class BinProgress:
    quota: int
    kept: int = 0
    filled_after: int | None = None  # tries when the quota was met


@dataclass
class SearchResult:
    """``kept``: (seed, that face's measurements as :meth:`Measurements.face` gives them) in
    seed order; ``tries``: seeds measured; ``complete``: every quota met; ``bins``: per bin."""

    kept: list[tuple[int, dict]] = field(default_factory=list)
    tries: int = 0
    complete: bool = False
    bins: dict[tuple[str, ...], BinProgress] = field(default_factory=dict)
    seconds: float = 0.0
    left_out: list[tuple[int, str]] = field(default_factory=list)  # (seed, why) of matches vetoed


class Search:
    """A search run step by step: :meth:`next_seeds` says which seeds to measure next and
    :meth:`feed` takes their measurements (the studio renders and measures on its own
    threads; :func:`search` is the loop for the command line). Seeds ``first_seed,
    first_seed + 1, ...``, ``batch`` at a time, at most ``max_tries`` of them, until ``count``
    faces matching ``criteria`` are kept (with ``dims``, an equal quota per bin of
    :func:`bin_names`)."""

    def __init__(self, criteria: Criteria, count: int, max_tries: int, first_seed: int = 0,
                 dims: Sequence[str] = (), batch: int = 64):
        self.criteria, self.max_tries, self.first_seed, self.dims, self.batch = (criteria, max_tries, first_seed,
                                                                                 tuple(dims), batch)
        bins = bin_names(dims, criteria)
        self.result = SearchResult(bins={b: BinProgress(q) for b, q in quotas(bins, count).items()})
        self.open_bins = {b for b, p in self.result.bins.items() if p.quota > 0}
        self._t0 = time.time()

    @property
    def done(self) -> bool:
        return not self.open_bins or self.result.tries >= self.max_tries

    def next_seeds(self) -> list[int]:
        tries = self.result.tries
        return list(range(self.first_seed + tries, self.first_seed + min(self.max_tries, tries + self.batch)))

    def feed(self, seeds: list[int], m: Measurements,
             veto: Callable[[int, int], str | None] | None = None) -> list[tuple[int, int, dict]]:
        """Take the measurements of ``seeds`` (as :meth:`next_seeds` gave them); returns the
        faces kept, as (seed, its index in ``seeds``, its measurements). ``veto(seed, index)``,
        asked about each face before it is kept, may give a reason to leave it out (the
        lookalike guard: a face that resembles a training photo)."""
        result, kept = self.result, []
        ok = self.criteria.matches(m)
        for i, (seed, b) in enumerate(zip(seeds, face_bins(m, self.dims))):
            if not ok[i] or b not in self.open_bins:
                continue
            why = veto(seed, i) if veto is not None else None
            if why:
                result.left_out.append((seed, why))
                continue
            state = result.bins[b]
            state.kept += 1
            result.kept.append((seed, m.face(i)))
            kept.append((seed, i, m.face(i)))
            if state.kept == state.quota:
                state.filled_after = seed - self.first_seed + 1
                self.open_bins.discard(b)
                if not self.open_bins:
                    result.tries = seed - self.first_seed + 1
                    break
        else:
            result.tries += len(seeds)
        result.seconds = time.time() - self._t0
        result.complete = not self.open_bins
        return kept


def search(measure: Callable[[list[int]], Measurements], criteria: Criteria, count: int, max_tries: int,
           first_seed: int = 0, dims: Sequence[str] = (), batch: int = 64,
           progress: Callable[[SearchResult], None] | None = None,
           veto: Callable[[int], str | None] | None = None) -> SearchResult:
    """The whole :class:`Search` with ``measure(seeds) -> Measurements``; ``veto(seed)`` may
    leave a matching face out (see :meth:`Search.feed`); ``progress`` is called after every
    batch."""
    s = Search(criteria, count, max_tries, first_seed, dims, batch)
    while not s.done:
        seeds = s.next_seeds()
        s.feed(seeds, measure(seeds), None if veto is None else (lambda seed, _i: veto(seed)))
        if progress is not None:
            progress(s.result)
    s.result.complete = not s.open_bins
    return s.result
