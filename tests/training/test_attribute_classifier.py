"""The age / gender classifier that labels generated faces for the Age and Gender directions."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.analysis.attributes import load_classifier, predict
from facestudio.training.attribute_classifier import (LabelError, held_out_split, parse_utkface_labels,
                                                      save_classifier, train_classifier)


def test_utkface_names_give_age_and_gender_and_mask_the_rest():
    names = ["26_1_2_20170116174525125.jpg.chip.jpg", "folder/61_0_0_2017.jpg.chip.jpg",
             "39_1_20170116174525125.jpg.chip.jpg",  # race missing: age and gender still there
             "broken.jpg", "x_1_0_2017.jpg", "130_0_0_2017.jpg"]
    ages, genders, ok = parse_utkface_labels(names)
    assert ok.tolist() == [True, True, True, False, False, False]
    assert ages[:3].tolist() == [26, 61, 39]
    assert genders[:3].tolist() == [1, 0, 1]


def test_names_without_labels_are_one_sentence():
    with pytest.raises(LabelError, match="no image name carries UTKFace labels"):
        parse_utkface_labels(["a.jpg", "b.png"])


def _synthetic_faces(n: int, seed: int = 0):
    """Faces whose 'gender' is the red and whose 'age' is the green channel: signals a small
    CNN learns in a few epochs, so a working trainer must find them."""
    rng = np.random.default_rng(seed)
    genders = rng.integers(0, 2, n)
    ages = rng.uniform(5, 80, n).astype(np.float32)
    images = rng.integers(0, 40, (n, 32, 32, 3)).astype(np.uint8)
    images[..., 0] += np.where(genders == 1, 180, 40).astype(np.uint8)[:, None, None]
    images[..., 1] += (ages * 2.5).astype(np.uint8)[:, None, None]
    return images, ages, genders


@pytest.mark.slow
def test_training_learns_signals_in_the_images_and_round_trips(tmp_path):
    images, ages, genders = _synthetic_faces(320)
    logs = []
    net, report = train_classifier(images, ages, genders, epochs=8, batch=32, val_fraction=0.2,
                                   log=logs.append)
    assert report.val_count == 64 and report.train_count == 256
    assert report.gender_accuracy > 0.9  # chance is 0.5
    assert report.age_mae < 15  # predicting the mean age would miss by about 19 years
    assert len(logs) == 8 and all(np.isfinite(float(line.split("loss ")[1].split()[0])) for line in logs)
    path = tmp_path / "cls.safetensors"
    save_classifier(net, path)
    a1, p1 = predict(net, images[:16])
    a2, p2 = predict(load_classifier(path), images[:16])
    np.testing.assert_allclose(a1, a2, rtol=1e-5)
    np.testing.assert_allclose(p1, p2, rtol=1e-5)
    assert ((p1 >= 0) & (p1 <= 1)).all() and (a1 >= 0).all()


def test_too_few_faces_is_one_sentence():
    images, ages, genders = _synthetic_faces(5)
    with pytest.raises(LabelError, match="at least 10"):
        train_classifier(images, ages, genders)
