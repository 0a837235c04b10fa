"""Skin tone (ITA) on planted faces: flat patches of known CIELAB colours."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.analysis.skin_tone import (TONE_CATEGORIES, category_index, ita_degrees, lab_to_srgb,
                                           skin_ita, skin_mask, srgb_to_lab, tone_category)


def test_lab_of_reference_colours():
    """White is L*=100 a*=b*=0 under D65; sRGB (255, 0, 0) is L* 53.24, a* 80.09, b* 67.20
    (Lindbloom's calculator); mid grey 119 is L* 50.0."""
    np.testing.assert_allclose(srgb_to_lab(np.array([255, 255, 255])), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(srgb_to_lab(np.array([255, 0, 0])), [53.24, 80.09, 67.20], atol=0.02)
    assert srgb_to_lab(np.array([119, 119, 119]))[0] == pytest.approx(50.0, abs=0.1)
    np.testing.assert_allclose(srgb_to_lab(np.zeros(3)), [0, 0, 0], atol=1e-9)


def test_lab_round_trips_through_srgb():
    rgb = np.random.default_rng(0).integers(0, 256, (500, 3)).astype(np.uint8)
    assert np.abs(lab_to_srgb(srgb_to_lab(rgb)).astype(int) - rgb).max() <= 1


def test_ita_angle_formula():
    assert ita_degrees(50, 10) == pytest.approx(0.0)
    assert ita_degrees(60, 10) == pytest.approx(45.0)
    assert ita_degrees(40, 10) == pytest.approx(-45.0)
    assert ita_degrees(70, 0) == pytest.approx(90.0)


@pytest.mark.parametrize("lab, category", [
    ((80, 8, 12), "very light"),  # ITA 68.2
    ((68, 12, 17), "light"),  # 46.6
    ((62, 12, 18), "intermediate"),  # 33.7
    ((56, 14, 20), "tan"),  # 16.7
    ((42, 14, 22), "brown"),  # -20.0
    ((28, 10, 16), "dark"),  # -54.0
])
def test_a_flat_face_of_known_lab_has_its_ita_and_category(lab, category):
    expected = float(ita_degrees(lab[0], lab[2]))
    face = np.broadcast_to(lab_to_srgb(np.array(lab, float)), (1, 64, 64, 3)).copy()
    ita = skin_ita(face)
    assert ita[0] == pytest.approx(expected, abs=1.0)  # the uint8 rounding moves it by < 1 degree
    assert TONE_CATEGORIES[tone_category(ita)[0]] == category


def test_only_the_skin_patches_count_and_shadows_are_left_out():
    skin, background = lab_to_srgb(np.array([56.0, 14, 20])), lab_to_srgb(np.array([90.0, 0, -40]))
    faces = np.broadcast_to(background, (2, 128, 96, 3)).copy()
    mask = skin_mask(128, 96)
    faces[:, mask] = skin
    faces[1, 70:74, 20:30] = 5  # a dark shadow inside a cheek patch: L* < 15, excluded
    ita = skin_ita(faces)
    np.testing.assert_allclose(ita, ita_degrees(56, 20), atol=1.0)
    assert mask[int(0.5 * 128), int(0.27 * 96)] and not mask[5, 5] and not mask[int(0.2 * 128), 48]
    assert 0.05 < mask.mean() < 0.25


def test_an_all_dark_face_still_gets_an_angle():
    assert np.isfinite(skin_ita(np.zeros((1, 32, 32, 3), np.uint8))).all()


def test_boundaries_go_to_the_darker_category_and_names_are_read():
    names = [TONE_CATEGORIES[i] for i in tone_category(np.array([90, 55.0, 41, 28, 10, -30, -80]))]
    assert names == ["very light", "light", "intermediate", "tan", "brown", "dark", "dark"]
    assert category_index("very-light") == 0 and category_index("Dark") == 5
    with pytest.raises(ValueError, match="very-light, light"):
        category_index("olive")


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        skin_ita(np.zeros((32, 32, 3), np.uint8))
