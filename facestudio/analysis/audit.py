"""The audit of a set of faces: what it holds in apparent age, gender and skin tone, against
the training data.

:func:`measure_faces` measures a batch (age and P(female) from the attribute classifier,
ITA from the skin patches); :func:`set_statistics` counts a set in the bins of
:mod:`facestudio.analysis.groups` and :mod:`facestudio.analysis.skin_tone`;
:func:`compare` puts a set beside the training data's summary.

A face counts as female when the classifier's P(female) is above 0.5. The one diversity
number is the normalised entropy of the joint bins: the Shannon entropy of the shares of
the 7 x 2 x 6 = 84 age x gender x tone bins divided by log(84), so 1 means every joint bin
equally full and 0 means every face in one bin. The training data's summary is measured
once and cached as ``weights/audit-training.json`` (``facestudio audit-training``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.analysis.groups import AGE_BINS, GENDERS, age_bin
from facestudio.analysis.skin_tone import TONE_CATEGORIES, skin_ita, tone_category
from facestudio.errors import FacestudioError

TRAINING_SUMMARY_NAME = "audit-training.json"  # in weights/
JOINT_BINS = len(AGE_BINS) * len(GENDERS) * len(TONE_CATEGORIES)


class AuditError(FacestudioError, ValueError):
    """A set that cannot be audited (empty, or a training summary that cannot be read)."""


@dataclass(frozen=True)
class Measurements:
    """Per-face measurements of a set: ``age`` in years, ``p_female`` in [0, 1] and ``ita``
    in degrees, each float ``[N]``; ``measures``, when the faces were measured with dlib
    (:func:`with_face_measures`), the geometry and lightness of
    :mod:`~facestudio.analysis.face_measures` (name -> float ``[N]``, NaN where not measured)."""

    age: np.ndarray
    p_female: np.ndarray
    ita: np.ndarray
    measures: dict | None = None

    def __len__(self) -> int:
        return len(self.age)

    @property
    def female(self) -> np.ndarray:
        return np.asarray(self.p_female) > 0.5

    @property
    def age_bin(self) -> np.ndarray:
        return age_bin(self.age)

    @property
    def tone(self) -> np.ndarray:
        return tone_category(self.ita)

    def concat(self, other: "Measurements") -> "Measurements":
        measures = None
        if self.measures is not None or other.measures is not None:
            mine, theirs = self.measures or {}, other.measures or {}
            measures = {k: np.concatenate([mine.get(k, np.full(len(self), np.nan)),
                                           theirs.get(k, np.full(len(other), np.nan))])
                        for k in dict.fromkeys([*mine, *theirs])}
        return Measurements(*(np.concatenate([a, b]) for a, b in
                              ((self.age, other.age), (self.p_female, other.p_female), (self.ita, other.ita))),
                            measures=measures)

    def face(self, i: int) -> dict:
        """One face's measurements, as the audit's per-face rows write them (the dlib
        measures too when there are some: None where the face was not found)."""
        row = {"age": round(float(self.age[i]), 1), "p_female": round(float(self.p_female[i]), 3),
               "ita": round(float(self.ita[i]), 1), "age_bin": AGE_BINS[int(self.age_bin[i])],
               "gender": GENDERS[0] if self.female[i] else GENDERS[1],
               "tone": TONE_CATEGORIES[int(self.tone[i])]}
        for name, values in (self.measures or {}).items():
            value = float(values[i])
            row[name] = round(value, 4) if np.isfinite(value) else None
        return row


def empty_measurements() -> Measurements:
    return Measurements(np.zeros(0), np.zeros(0), np.zeros(0))


def measure_faces(images: np.ndarray, net, batch: int = 128) -> Measurements:
    """Age, P(female) and ITA of uint8 faces ``[N, H, W, 3]`` (any size; aligned faces for
    the ITA), with the attribute classifier ``net``."""
    from facestudio.analysis.attributes import predict
    ages, probs = predict(net, images, batch=batch)
    return Measurements(ages.astype(np.float64), probs.astype(np.float64), skin_ita(images, batch=batch))


def with_face_measures(m: Measurements, images: np.ndarray, measurer, where: np.ndarray | None = None) -> Measurements:
    """``m`` with the dlib measures (:class:`~facestudio.analysis.face_measures.FaceMeasurer`
    ``measurer``) of ``images``, only of the faces ``where`` is true (the others NaN: dlib is
    the costly part, so callers measure only faces their cheaper filters kept)."""
    return _measured(m, images, measurer, where, boxes=False)[0]


def face_measures_and_boxes(m: Measurements, images: np.ndarray, measurer,
                            where: np.ndarray | None = None) -> tuple[Measurements, list]:
    """:func:`with_face_measures`, and the detector's box of each face in its image's pixels
    (left, top, right, bottom), None where it was not measured or no face was found (the
    library's workers start the identity check from it; the classifier is not run again)."""
    return _measured(m, images, measurer, where, boxes=True)


def _measured(m: Measurements, images: np.ndarray, measurer, where: np.ndarray | None,
              boxes: bool) -> tuple[Measurements, list]:
    from facestudio.analysis.face_measures import DETAILS, GEOMETRY, REGIONS
    names = GEOMETRY + REGIONS + DETAILS
    measures = {k: np.full(len(m), np.nan) for k in names}
    found_boxes: list = [None] * len(m)
    index = np.arange(len(m)) if where is None else np.flatnonzero(where)
    if len(index):
        faces = np.asarray(images)[index]
        found = measurer.measure(faces, boxes=True, classified=False) if boxes else measurer.measure(faces)
        for k in names:
            measures[k][index] = found[k]
        for i, box in zip(index, found["box"] if boxes else ()):
            found_boxes[int(i)] = None if np.isnan(box).any() else tuple(float(v) for v in box)
    return Measurements(m.age, m.p_female, m.ita, measures=measures), found_boxes


def _shares(index: np.ndarray, names: tuple[str, ...]) -> tuple[dict, dict]:
    counts = np.bincount(np.asarray(index, np.int64), minlength=len(names))
    total = max(1, int(counts.sum()))
    return ({n: round(float(c) / total, 4) for n, c in zip(names, counts)},
            {n: int(c) for n, c in zip(names, counts)})


def joint_bin(m: Measurements) -> np.ndarray:
    """Index ``[N]`` of each face's age x gender x tone bin, in ``[0, JOINT_BINS)``."""
    return (m.age_bin * len(GENDERS) + (~m.female).astype(np.int64)) * len(TONE_CATEGORIES) + m.tone


def joint_entropy(m: Measurements) -> float:
    """Shannon entropy of the age x gender x tone bin shares over log(:data:`JOINT_BINS`)."""
    if not len(m):
        return 0.0
    p = np.bincount(joint_bin(m), minlength=JOINT_BINS) / len(m)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / math.log(JOINT_BINS))


def set_statistics(m: Measurements) -> dict:
    """The distributions of a set: ``count``; ``age`` {``mean``, ``median``, ``bins``
    (shares), ``counts``}; ``female_share`` and ``gender`` counts; ``skin_tone``
    {``ita_mean``, ``ita_median``, ``bins``, ``counts``}; ``age_by_gender`` (counts per age bin
    and gender) and ``diversity`` (see the module's docstring). AuditError when empty."""
    if not len(m):
        raise AuditError("the set holds no faces to audit")
    age_shares, age_counts = _shares(m.age_bin, AGE_BINS)
    tone_shares, tone_counts = _shares(m.tone, TONE_CATEGORIES)
    female = m.female
    table = {name: {"female": int((female & (m.age_bin == i)).sum()), "male": int((~female & (m.age_bin == i)).sum())}
             for i, name in enumerate(AGE_BINS)}
    return {
        "count": int(len(m)),
        "age": {"mean": round(float(np.mean(m.age)), 2), "median": round(float(np.median(m.age)), 2),
                "std": round(float(np.std(m.age)), 2), "bins": age_shares, "counts": age_counts},
        "female_share": round(float(female.mean()), 4),
        "gender": {"female": int(female.sum()), "male": int((~female).sum())},
        "skin_tone": {"ita_mean": round(float(np.mean(m.ita)), 2), "ita_median": round(float(np.median(m.ita)), 2),
                      "ita_std": round(float(np.std(m.ita)), 2), "bins": tone_shares, "counts": tone_counts},
        "age_by_gender": table,
        "diversity": {"normalised_joint_entropy": round(joint_entropy(m), 4),
                      "occupied_joint_bins": int(len(np.unique(joint_bin(m)))),
                      "joint_bins": JOINT_BINS,
                      "what": "Shannon entropy of the shares of the 7 age x 2 gender x 6 skin tone bins "
                              "divided by log(84): 1 = all joint bins equally full, 0 = one bin"},
    }


def measure_distributions(m: Measurements, reference: dict | None) -> dict:
    """The 10th / 50th / 90th percentiles of each dlib measure of the set (faces where dlib
    found none left out, and counted), beside the real photos' (``reference``,
    :func:`facestudio.analysis.filters.read_reference`; None: not shown), and how far the
    set's median sits from theirs in real-photo spreads. Empty when the set has no measures."""
    out = {}
    for name, values in (m.measures or {}).items():
        v = np.asarray(values, np.float64)
        v = v[np.isfinite(v)]
        row = {"measured": int(len(v)), "not_found": int(len(values) - len(v))}
        if len(v):
            row.update({k: round(float(x), 4) for k, x in zip(("p10", "p50", "p90"), np.percentile(v, [10, 50, 90]))})
        real = (reference or {}).get(name)
        if real:
            row["training"] = {k: round(float(real[k]), 4) for k in ("p10", "p50", "p90")}
            if len(v):
                row["median_shift_spreads"] = round((row["p50"] - float(real["p50"])) / float(real["spread"]), 3)
        out[name] = row
    return out


def _total_variation(a: dict, b: dict) -> float:
    return round(0.5 * sum(abs(a[k] - b.get(k, 0.0)) for k in a), 4)


def compare(stats: dict, training: dict) -> dict:
    """How ``stats`` (a :func:`set_statistics` result) differs from the training data's:
    per bin the share in the set minus the share in the training data, and per distribution
    the total variation distance (half the sum of absolute differences: 0 = the same
    distribution, 1 = nothing in common)."""
    out = {"age_mean_years": round(stats["age"]["mean"] - training["age"]["mean"], 2),
           "female_share": round(stats["female_share"] - training["female_share"], 4),
           "ita_mean_degrees": round(stats["skin_tone"]["ita_mean"] - training["skin_tone"]["ita_mean"], 2)}
    for key, dist in (("age", stats["age"]["bins"]), ("skin_tone", stats["skin_tone"]["bins"])):
        other = training[key]["bins"]
        out[f"{key}_bins"] = {k: round(dist[k] - other.get(k, 0.0), 4) for k in dist}
        out[f"{key}_total_variation"] = _total_variation(dist, other)
    out["diversity"] = round(stats["diversity"]["normalised_joint_entropy"]
                             - training["diversity"]["normalised_joint_entropy"], 4)
    return out


def training_summary(true_age: np.ndarray, true_female: np.ndarray, ita: np.ndarray, measured: Measurements,
                     data_digest: dict) -> dict:
    """The training data's summary for the cache: ``labels`` (the UTKFace labels for age and
    gender, the measured ITA), ``measured`` (the classifier's reading of the same photos,
    what a generated set is measured with) and what data it came from."""
    labels = Measurements(np.asarray(true_age, np.float64), np.asarray(true_female, np.float64), np.asarray(ita))
    return {"what": "UTKFace: age and gender from the file-name labels, skin tone (ITA) measured on the photos; "
                    "'measured' is the attribute classifier's reading of the same photos (90 % of which it was "
                    "trained on, so its agreement with the labels there is optimistic)",
            "labels": set_statistics(labels), "measured": set_statistics(measured), "training_data": data_digest}


def read_training_summary(path: Path | None = None) -> dict:
    """The cached training summary (``weights/audit-training.json`` by default)."""
    from facestudio.fileio import read_limited
    if path is None:
        from facestudio.locations import bundled_weights_dir
        path = bundled_weights_dir() / TRAINING_SUMMARY_NAME
    try:
        summary = json.loads(read_limited(Path(path), 1 << 20, "the training data's audit summary"))
    except (OSError, ValueError) as exc:
        raise AuditError(f"the training data's audit summary {path} cannot be read ({exc}); "
                         "build it with facestudio audit-training") from None
    if not isinstance(summary, dict) or "labels" not in summary:
        raise AuditError(f"the training data's audit summary {path} holds no 'labels' summary")
    return summary
