"""The measures the named sliders are fitted on and judged by."""

import numpy as np
import pytest

from facestudio.analysis.face_measures import (GEOMETRY, MEASURE_SIDE, MEASURES, geometry_from_landmarks,
                                               region_lightness, srgb_to_lightness, to_measure_size)


def mean_face():
    """A plausible 68-point layout (dlib's order) for a frontal face in a 256 px crop."""
    p = np.zeros((68, 2))
    t = np.linspace(-1, 1, 17)
    p[0:17] = np.c_[128 + 95 * t, 120 + 100 * (1 - t ** 2) ** 0.5 * 0.9 + 10]  # jaw, chin at 8
    p[17:22] = np.c_[np.linspace(60, 115, 5), [80] * 5]
    p[22:27] = np.c_[np.linspace(141, 196, 5), [80] * 5]
    p[27:31] = np.c_[[128] * 4, np.linspace(100, 150, 4)]  # nose bridge to tip (30)
    p[31:36] = np.c_[np.linspace(108, 148, 5), [158] * 5]
    for start, cx in ((36, 88), (42, 168)):  # eyes: corners and lids
        p[start:start + 6] = [(cx - 18, 105), (cx - 6, 99), (cx + 6, 99), (cx + 18, 105), (cx + 6, 111), (cx - 6, 111)]
    p[48:60] = np.c_[128 + 35 * np.cos(np.linspace(np.pi, -np.pi, 12, endpoint=False)),
                     190 + 10 * np.sin(np.linspace(np.pi, -np.pi, 12, endpoint=False))]
    p[51] = (128, 182)
    p[48], p[54] = (93, 190), (163, 190)
    p[60:68] = np.c_[128 + 25 * np.cos(np.linspace(np.pi, -np.pi, 8, endpoint=False)),
                     190 + 2 * np.sin(np.linspace(np.pi, -np.pi, 8, endpoint=False))]
    return p


def test_geometry_does_not_depend_on_where_the_face_is_or_how_large():
    p = mean_face()
    base = geometry_from_landmarks(p)
    moved = geometry_from_landmarks(p * 1.7 + (40, -12))
    assert set(base) == set(GEOMETRY)
    for k in GEOMETRY:
        assert moved[k] == pytest.approx(base[k], abs=1e-9)


def test_a_mirrored_face_turns_the_other_way_and_keeps_the_rest():
    p = mean_face()
    p[27:36, 0] += 20  # the nose sits right of the jaw's middle: turned to the image's right
    turned = geometry_from_landmarks(p)
    mirrored = p.copy()
    mirrored[:, 0] = 256 - mirrored[:, 0]
    order = np.r_[16:-1:-1, 26:16:-1, 27:31, 35:30:-1, 45:41:-1, 47:45:-1, 39:35:-1, 41:39:-1,
                  54:47:-1, 59:54:-1, 64:59:-1, 67:64:-1]  # dlib's left-right pairs swapped
    back = geometry_from_landmarks(mirrored[order])
    assert turned["yaw"] > 0.2 and back["yaw"] == pytest.approx(-turned["yaw"], abs=1e-9)
    for k in ("smile", "mouth_open", "eyes_open", "pitch", "face_width"):
        assert back[k] == pytest.approx(turned[k], abs=1e-9)


def test_each_measure_moves_with_what_it_names():
    p = mean_face()
    base = geometry_from_landmarks(p)
    opened = p.copy()
    opened[[65, 66, 67, 56, 57, 58, 5, 6, 7, 8, 9, 10, 11], 1] += 15  # the jaw drops
    assert geometry_from_landmarks(opened)["mouth_open"] > base["mouth_open"] + 0.1
    smiling = p.copy()
    smiling[[48, 54], 1] -= 12  # corners up and out
    smiling[48, 0] -= 6
    smiling[54, 0] += 6
    assert geometry_from_landmarks(smiling)["smile"] > base["smile"] + 0.1
    nodding = p.copy()
    nodding[30, 1] += 12  # the nose tip lower between the eyes and the chin
    assert geometry_from_landmarks(nodding)["pitch"] > base["pitch"] + 0.05
    wide = p.copy()
    wide[[37, 38, 43, 44], 1] -= 5
    wide[[40, 41, 46, 47], 1] += 5
    assert geometry_from_landmarks(wide)["eyes_open"] > base["eyes_open"] + 0.2


def test_lightness_is_cielab():
    assert srgb_to_lightness(np.array([255, 255, 255], np.uint8)) == pytest.approx(100.0, abs=0.01)
    assert srgb_to_lightness(np.array([0, 0, 0], np.uint8)) == pytest.approx(0.0, abs=0.01)
    assert srgb_to_lightness(np.array([119, 119, 119], np.uint8)) == pytest.approx(50.0, abs=0.3)


def test_regions_read_the_hair_the_cheeks_and_the_corners():
    p = mean_face()
    img = np.full((MEASURE_SIDE, MEASURE_SIDE), 60.0)
    img[:70] = 20.0  # dark hair above the brows
    img[:, :25] = img[:, -25:] = 20.0  # and beside the face
    img[:20, :20] = img[:20, -20:] = 90.0  # a light background in the top corners
    img[120:190, 60:200] = 70.0  # cheeks
    r = region_lightness(img, p)
    assert r["hair"] == pytest.approx(20.0) and r["skin"] == pytest.approx(70.0)
    assert r["background"] == pytest.approx(90.0, abs=20)


def test_faces_of_any_size_are_measured_at_one_size():
    for shape in ((128, 128, 3), (1024, 1024, 3), (100, 80, 3)):
        out = to_measure_size(np.zeros(shape, np.uint8))
        assert out.shape == (MEASURE_SIDE, MEASURE_SIDE, 3) and out.dtype == np.uint8


@pytest.mark.slow
def test_the_bundled_models_faces_are_found_and_measured():
    pytest.importorskip("dlib")
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.generator import load_generator
    from facestudio.latent.seeds import z_from_seeds
    g = load_generator(None)
    faces = g.synthesize(g.map(z_from_seeds(range(200, 206), g.z_dim), psi=0.7))
    m = FaceMeasurer(identity=True).measure(faces)
    assert set(MEASURES) <= set(m) and m["identity"].shape == (6, 128)
    for k in MEASURES:
        assert np.isfinite(m[k]).all(), k
    assert (np.abs(m["yaw"]) < 0.6).all() and (0.1 < m["eyes_open"]).all()
    assert ((0 <= m["hair"]) & (m["hair"] <= 100)).all() and ((0 <= m["p_female"]) & (m["p_female"] <= 1)).all()
    blank = FaceMeasurer().measure(np.full((2, 128, 128, 3), 128, np.uint8))
    assert np.isnan(blank["smile"]).all() and np.isfinite(blank["age"]).all()  # no face: no geometry


def test_a_box_found_at_the_measures_size_is_given_in_the_images_own_pixels():
    """The library's identity check starts from the measures' box: padding and scale undone."""
    from types import SimpleNamespace
    from facestudio.analysis.face_measures import MEASURE_SIDE, box_in_image
    box = SimpleNamespace(left=lambda: 64, top=lambda: 32, right=lambda: 192, bottom=lambda: 224)
    assert box_in_image(box, (128, 128, 3)) == (32.0, 16.0, 96.0, 112.0)
    k = 200 / MEASURE_SIDE  # a 100 x 200 image was padded by 50 rows above and below
    assert box_in_image(box, (100, 200, 3)) == (64 * k, 32 * k - 50, 192 * k, 224 * k - 50)


def test_side_light_reads_which_side_of_the_face_is_lit():
    p = mean_face()
    img = np.full((MEASURE_SIDE, MEASURE_SIDE), 60.0)
    img[:, 128:] = 75.0  # the image's right half of the face lit, the left in shade
    assert region_lightness(img, p)["side_light"] == pytest.approx(15.0)
    assert region_lightness(img[:, ::-1].copy(), p)["side_light"] == pytest.approx(-15.0)
    assert region_lightness(np.full_like(img, 60.0), p)["side_light"] == pytest.approx(0.0)


def test_glasses_read_a_frame_across_the_top_of_the_nose():
    from facestudio.analysis.face_measures import glasses
    p = mean_face()
    skin = np.full((MEASURE_SIDE, MEASURE_SIDE), 60.0) + np.linspace(0, 3, MEASURE_SIDE)[:, None]  # soft shading
    framed = skin.copy()
    rows = np.r_[np.linspace(60, 15, 4), [15.0] * 4, np.linspace(15, 60, 4)]  # a dark bridge, its edges soft
    framed[92:104, 90:170] = rows[:, None]
    assert glasses(skin, p) < 0.1 and glasses(framed, p) > 10.0
