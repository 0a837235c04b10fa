"""The groups every measurement of a set of faces is counted in: age bins and genders.

One place for the bins, so that the classifier's held-out error report, the audit of a set
and ``find`` count a face in the same bin. Ages are in years; a gender is 1 for female and
0 for male (UTKFace's convention inverted to "is female", as the classifier predicts it).
"""

from __future__ import annotations

import numpy as np

# bin i holds ages in [AGE_EDGES[i], AGE_EDGES[i + 1]); the last bin is open
AGE_EDGES = (0, 10, 20, 30, 40, 60, 80)
AGE_BINS = ("0-9", "10-19", "20-29", "30-39", "40-59", "60-79", "80+")
GENDERS = ("female", "male")


def age_bin(ages: np.ndarray) -> np.ndarray:
    """Bin index ``[N]`` (int64, into :data:`AGE_BINS`) of ages in years ``[N]``."""
    ages = np.asarray(ages, dtype=np.float64)
    return np.clip(np.searchsorted(AGE_EDGES, ages, side="right") - 1, 0, len(AGE_BINS) - 1).astype(np.int64)


def gender_names(is_female: np.ndarray) -> list[str]:
    """"female" / "male" for booleans (or 0/1) ``[N]``."""
    return [GENDERS[0] if f else GENDERS[1] for f in np.asarray(is_female, dtype=bool)]


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def error_by_group(true_age: np.ndarray, true_female: np.ndarray, pred_age: np.ndarray,
                   p_female: np.ndarray) -> dict:
    """The classifier's errors on labelled faces, overall and per group.

    ``overall``: age mean absolute error (years) and gender accuracy; ``age_mae_by_bin``,
    ``gender_accuracy_by_age_bin`` and ``count_by_age_bin`` per true age bin;
    ``gender_accuracy_by_gender`` and ``age_mae_by_gender`` per true gender. A group with
    no face has ``None`` (not 0, which would read as a perfect score)."""
    true_age, pred_age = np.asarray(true_age, np.float64), np.asarray(pred_age, np.float64)
    true_female = np.asarray(true_female, bool)
    abs_err = np.abs(pred_age - true_age)
    correct = (np.asarray(p_female) > 0.5) == true_female
    bins = age_bin(true_age)
    by_bin = [bins == i for i in range(len(AGE_BINS))]
    by_gender = {"female": true_female, "male": ~true_female}
    return {
        "overall": {"count": int(len(true_age)), "age_mae": _mean_or_none(abs_err),
                    "gender_accuracy": _mean_or_none(correct)},
        "age_mae_by_bin": {name: _mean_or_none(abs_err[m]) for name, m in zip(AGE_BINS, by_bin)},
        "gender_accuracy_by_age_bin": {name: _mean_or_none(correct[m]) for name, m in zip(AGE_BINS, by_bin)},
        "count_by_age_bin": {name: int(m.sum()) for name, m in zip(AGE_BINS, by_bin)},
        "gender_accuracy_by_gender": {g: _mean_or_none(correct[m]) for g, m in by_gender.items()},
        "age_mae_by_gender": {g: _mean_or_none(abs_err[m]) for g, m in by_gender.items()},
        "count_by_gender": {g: int(m.sum()) for g, m in by_gender.items()},
    }
