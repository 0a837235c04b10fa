"""The anonymizer's parts that need no model: alignment, the face choice and its refusals,
--keep, what "kept" means, the sliders' effect matrix, and which models can serve."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from facestudio.anonymizer import model_alignment
from facestudio.analysis.photo_faces import (UTKFACE_TEMPLATE, PhotoFace, PhotoFaceError, align, choose_face,
                                             ffhq_square, similarity_to)
from facestudio.analysis.stand_ins import (DEFAULT_KEEP, StandInError, gap, kept, kept_measures, parse_keep,
                                           slider_effects)
from tests.helpers import assert_one_sentence


def face_with_key_points(points: np.ndarray, box=(0, 0, 100, 100)) -> PhotoFace:
    landmarks = np.zeros((68, 2))
    landmarks[36:42], landmarks[42:48], landmarks[48], landmarks[54] = points
    return PhotoFace(box, landmarks, 1.0)


def test_similarity_recovers_a_rotation_scale_and_shift():
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -2.0])
    m = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = np.array([[0.0, 0.0], [3.0, 1.0], [1.0, 4.0], [-2.0, 2.5]])
    fitted = similarity_to(points, points @ m.T + shift)
    assert np.allclose(fitted[:, :2], m) and np.allclose(fitted[:, 2], shift)


def test_a_utkface_chip_aligns_to_itself():
    """A chip whose key points sit on the template comes back as the chip, resized."""
    rng = np.random.default_rng(0)
    chip = np.kron(rng.integers(0, 255, (20, 20, 3)), np.ones((10, 10, 1))).astype(np.uint8)  # 200 px blocks
    face = face_with_key_points(UTKFACE_TEMPLATE * 200)
    out = align(chip, face, "utkface", 100)
    want = chip[::2, ::2].astype(float)
    inner = (slice(5, 95), slice(5, 95))
    assert out.shape == (100, 100, 3)
    assert np.mean(np.abs(out[inner].astype(float) - want[inner])) < 12


def test_alignment_follows_a_turned_photo():
    """The same chip turned by 90 degrees aligns to the same crop."""
    rng = np.random.default_rng(1)
    chip = np.kron(rng.integers(0, 255, (10, 10, 3)), np.ones((20, 20, 1))).astype(np.uint8)
    points = UTKFACE_TEMPLATE * 200
    upright = align(chip, face_with_key_points(points), "utkface", 64)
    turned = np.ascontiguousarray(np.rot90(chip))  # (x, y) -> (y, 199 - x)
    turned_points = np.stack([points[:, 1], 199 - points[:, 0]], axis=1)
    again = align(turned, face_with_key_points(turned_points), "utkface", 64)
    assert np.mean(np.abs(upright.astype(float)[4:-4, 4:-4] - again.astype(float)[4:-4, 4:-4])) < 6


def test_ffhq_square_is_centred_below_the_eyes_and_twice_their_distance():
    points = np.array([[40.0, 50.0], [60.0, 50.0], [42.0, 72.0], [58.0, 72.0]])
    m = ffhq_square(points)
    to_unit = lambda p: m[:, :2] @ p + m[:, 2]  # noqa: E731
    centre = np.array([50.0, 50.0 + 22.0 * 0.1])
    assert np.allclose(to_unit(centre), [0.5, 0.5], atol=1e-6)
    side = max(20 * 2.0, 22 * 1.8) * 2
    assert np.isclose(np.linalg.norm(m[:, 0]) * side, 1.0)


def test_the_face_choice_refuses_in_one_sentence():
    big = face_with_key_points(UTKFACE_TEMPLATE * 200, box=(10, 10, 210, 210))
    small = face_with_key_points(UTKFACE_TEMPLATE * 50, box=(300, 10, 350, 60))
    with pytest.raises(PhotoFaceError) as e:
        choose_face([], None, "photo.jpg")
    assert_one_sentence(e.value, "no face was found in photo.jpg")
    with pytest.raises(PhotoFaceError) as e:
        choose_face([big, small], None, "photo.jpg")
    assert_one_sentence(e.value, "2 faces", "--face K")
    with pytest.raises(PhotoFaceError) as e:
        choose_face([big, small], 2, "photo.jpg")
    assert_one_sentence(e.value, "50 pixels wide", "64 pixels")
    with pytest.raises(PhotoFaceError) as e:
        choose_face([big, small], 3, "photo.jpg")
    assert_one_sentence(e.value, "no face 3")
    assert choose_face([big, small], 1) is big and choose_face([big], None) is big


def test_keep_parses_names_and_refuses_others():
    assert parse_keep(None) == DEFAULT_KEEP
    assert parse_keep("Age, pose,age") == ("age", "pose")
    assert parse_keep("none") == ()
    assert kept_measures(("expression", "gender")) == ("smile", "mouth_open", "p_female")
    with pytest.raises(StandInError) as e:
        parse_keep("age,nose")
    assert_one_sentence(e.value, "nose", full_stop=False)


def test_kept_means_within_tolerance_and_gender_on_the_same_side():
    target = {"age": 30.0, "p_female": 0.8, "yaw": 0.1}
    measured = {"age": np.array([41.0, 43.0]), "p_female": np.array([0.55, 0.45]), "yaw": np.array([0.2, 0.3])}
    assert kept(target, measured, "age").tolist() == [True, False]
    assert kept(target, measured, "p_female").tolist() == [False, False]  # 0.55: the right side, not sure enough
    assert kept(target, {"p_female": np.array([0.85, 0.79])}, "p_female").tolist() == [True, False]
    assert kept({"p_female": 0.6}, {"p_female": np.array([0.61, 0.4])}, "p_female").tolist() == [True, False]
    assert kept(target, measured, "yaw").tolist() == [True, False]
    assert np.allclose(gap(target, measured, "age"), [-11.0, -13.0])
    assert gap(target, {"p_female": np.array([0.8])}, "p_female")[0] == pytest.approx(0.0, abs=1e-9)


def test_slider_effects_come_from_the_bundles_evidence():
    reference = {"smile": {"spread": 0.1}, "mouth_open": {"spread": 0.05}, "age": {"spread": 10.0}}
    smile = SimpleNamespace(meta={"measure": "smile", "evidence": {"own_spreads": 2.0,
                                                                    "leakage": {"mouth_open": 0.8, "age": 0.0}}})
    effects, sliders = slider_effects({"smile": smile}, reference, ("smile", "mouth_open", "age"))
    assert sliders == ["smile"]
    assert np.allclose(effects[:, 0], [2.0 / 4 * 0.1, 0.8 / 4 * 0.05, 0.0])


def test_only_a_model_whose_alignment_is_known_serves(tmp_path):
    def model(meta, path=tmp_path / "m"):
        return SimpleNamespace(card=SimpleNamespace(meta=meta), path=path, name="my model")
    assert model_alignment(model({"alignment": "FFHQ"})) == "ffhq"
    with pytest.raises(StandInError) as e:
        model_alignment(model({"alignment": "celeba"}))
    assert_one_sentence(e.value, "celeba", full_stop=False)
    with pytest.raises(StandInError) as e:
        model_alignment(model({}))
    assert_one_sentence(e.value, "alignment: utkface", full_stop=False)
    from facestudio.generator.formats.loader import bundled_model_path
    assert model_alignment(model({}, bundled_model_path())) == "utkface"
