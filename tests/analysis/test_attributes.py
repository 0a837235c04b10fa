"""The attribute classifier's inference (analysis) and the groups its errors are counted in."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from facestudio.analysis.attributes import (AttributeNet, ClassifierFileError, bundled_paths, load_classifier,
                                            predict, read_error_report, to_input)
from facestudio.analysis.groups import AGE_BINS, age_bin, error_by_group
from facestudio.training.attribute_classifier import held_out_split, save_classifier
from tests.helpers import assert_one_sentence


def test_age_bins_have_the_issue_edges():
    ages = np.array([0, 9.9, 10, 19, 20, 29.5, 30, 39, 40, 59, 60, 79, 80, 116])
    names = [AGE_BINS[i] for i in age_bin(ages)]
    assert names == ["0-9", "0-9", "10-19", "10-19", "20-29", "20-29", "30-39", "30-39",
                     "40-59", "40-59", "60-79", "60-79", "80+", "80+"]


def test_errors_per_group_count_each_face_in_its_true_group():
    true_age = np.array([5, 5, 25, 25, 70])
    pred_age = np.array([7, 9, 25, 35, 70])  # errors 2, 4, 0, 10, 0
    true_female = np.array([True, False, True, True, False])
    p_female = np.array([0.9, 0.8, 0.2, 0.7, 0.1])  # right, wrong, wrong, right, right
    r = error_by_group(true_age, true_female, pred_age, p_female)
    assert r["overall"] == {"count": 5, "age_mae": 16 / 5, "gender_accuracy": 3 / 5}
    assert r["age_mae_by_bin"]["0-9"] == 3 and r["age_mae_by_bin"]["20-29"] == 5
    assert r["age_mae_by_bin"]["80+"] is None and r["count_by_age_bin"]["80+"] == 0
    assert r["gender_accuracy_by_age_bin"]["0-9"] == 0.5
    assert r["gender_accuracy_by_gender"] == {"female": 2 / 3, "male": 0.5}


def test_held_out_split_is_fixed_by_its_seed_and_disjoint():
    a_val, a_tr = held_out_split(1000, 0.1, seed=3)
    b_val, _ = held_out_split(1000, 0.1, seed=3)
    c_val, _ = held_out_split(1000, 0.1, seed=4)
    assert len(a_val) == 100 and len(a_tr) == 900 and not set(a_val) & set(a_tr)
    assert np.array_equal(a_val, b_val) and not np.array_equal(a_val, c_val)


def test_predict_reads_any_size_and_an_empty_batch():
    torch.manual_seed(0)
    net = AttributeNet()
    faces = np.random.default_rng(0).integers(0, 255, (3, 100, 100, 3), dtype=np.uint8)
    ages, probs = predict(net, faces)
    assert ages.shape == probs.shape == (3,) and (ages >= 0).all() and ((probs > 0) & (probs < 1)).all()
    ages, probs = predict(net, faces[:0])
    assert ages.shape == probs.shape == (0,)
    with pytest.raises(ValueError, match="uint8"):
        to_input(faces[0])


def test_a_saved_net_loads_and_predicts_the_same(tmp_path):
    torch.manual_seed(1)
    net = AttributeNet().eval()
    save_classifier(net, tmp_path / "a.safetensors")
    faces = np.random.default_rng(1).integers(0, 255, (2, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(predict(net, faces)[0], predict(load_classifier(tmp_path / "a.safetensors"), faces)[0])


def test_a_missing_or_broken_classifier_is_one_sentence(tmp_path):
    with pytest.raises(ClassifierFileError) as exc:
        load_classifier(tmp_path / "none.safetensors")
    assert_one_sentence(exc.value, "does not exist", full_stop=False)
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(ClassifierFileError) as exc:
        load_classifier(tmp_path / "bad.safetensors")
    assert_one_sentence(exc.value, "cannot be read", full_stop=False)
    (tmp_path / "r.json").write_text(json.dumps({"nothing": 1}))
    with pytest.raises(ClassifierFileError, match="overall"):
        read_error_report(tmp_path / "r.json")


def test_the_bundled_classifier_ships_with_its_error_report():
    weights, report_path = bundled_paths()
    assert weights.is_file() and weights.stat().st_size < 4 << 20
    report = read_error_report(report_path)
    assert set(report["age_mae_by_bin"]) == set(AGE_BINS)
    assert report["split"]["seed"] == 0 and report["training_data"]["sha256"]
    assert report["overall"]["gender_accuracy"] > 0.8 and report["overall"]["age_mae"] < 10
    net = load_classifier(weights)
    assert isinstance(net, AttributeNet)
