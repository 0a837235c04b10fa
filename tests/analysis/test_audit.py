"""Set statistics of the audit on planted measurements (faces of known attributes)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facestudio.analysis.audit import (JOINT_BINS, AuditError, Measurements, compare, empty_measurements,
                                       joint_entropy, measure_faces, read_training_summary, set_statistics)
from facestudio.analysis.skin_tone import ita_degrees, lab_to_srgb


def planted(ages, females, itas) -> Measurements:
    return Measurements(np.asarray(ages, float), np.where(np.asarray(females), 0.9, 0.1), np.asarray(itas, float))


def test_statistics_count_each_face_in_its_bins():
    m = planted([5, 25, 25, 45, 85], [True, True, False, False, True], [60, 45, 45, 0, -40])
    s = set_statistics(m)
    assert s["count"] == 5 and s["age"]["mean"] == 37
    assert s["age"]["counts"] == {"0-9": 1, "10-19": 0, "20-29": 2, "30-39": 0, "40-59": 1, "60-79": 0, "80+": 1}
    assert s["age"]["bins"]["20-29"] == 0.4 and sum(s["age"]["bins"].values()) == pytest.approx(1)
    assert s["female_share"] == 0.6 and s["gender"] == {"female": 3, "male": 2}
    assert s["skin_tone"]["counts"] == {"very light": 1, "light": 2, "intermediate": 0, "tan": 0, "brown": 1, "dark": 1}
    assert s["skin_tone"]["ita_mean"] == 22
    assert s["age_by_gender"]["20-29"] == {"female": 1, "male": 1} and s["age_by_gender"]["80+"] == {"female": 1, "male": 0}
    assert s["diversity"]["occupied_joint_bins"] == 5


def test_joint_entropy_is_one_when_every_bin_is_equally_full_and_zero_for_one_bin():
    ages = np.repeat([5, 15, 25, 35, 50, 70, 90], 12)
    females = np.tile(np.repeat([True, False], 6), 7)
    itas = np.tile([70, 48, 35, 20, 0, -50], 14)
    assert len(ages) == JOINT_BINS
    assert joint_entropy(planted(ages, females, itas)) == pytest.approx(1.0)
    assert joint_entropy(planted([30] * 10, [True] * 10, [45] * 10)) == 0.0
    two = joint_entropy(planted([30, 30], [True, False], [45, 45]))
    assert two == pytest.approx(math.log(2) / math.log(JOINT_BINS))


def test_an_empty_set_is_one_sentence():
    with pytest.raises(AuditError, match="no faces"):
        set_statistics(empty_measurements())


def test_compare_gives_differences_and_total_variation():
    a = set_statistics(planted([25] * 4, [True] * 4, [45] * 4))
    b = set_statistics(planted([25, 25, 65, 65], [True, False, True, False], [45, 45, 0, 0]))
    d = compare(a, b)
    assert d["age_bins"]["20-29"] == 0.5 and d["age_bins"]["60-79"] == -0.5
    assert d["age_total_variation"] == 0.5 and d["female_share"] == 0.5
    assert compare(a, a)["skin_tone_total_variation"] == 0.0


def test_measure_faces_reads_the_classifier_and_the_skin():
    class FixedNet:  # a stand-in classifier: every face is 33 years and surely female
        def eval(self):
            return self

        def __call__(self, x):
            import torch
            return torch.tensor([[4.0, math.log1p(33.0)]]).repeat(len(x), 1)

    faces = np.broadcast_to(lab_to_srgb(np.array([56.0, 14, 20])), (3, 48, 48, 3)).copy()
    m = measure_faces(faces, FixedNet())
    np.testing.assert_allclose(m.age, 33, rtol=1e-5)
    assert m.female.all()
    np.testing.assert_allclose(m.ita, ita_degrees(56, 20), atol=1)
    assert m.face(0)["tone"] == "tan" and m.face(0)["age_bin"] == "30-39"


def test_the_bundled_training_summary_is_shipped():
    s = read_training_summary()
    assert s["labels"]["count"] > 20000 and set(s["measured"]) >= {"age", "female_share", "skin_tone"}
    assert 0.3 < s["labels"]["female_share"] < 0.7
