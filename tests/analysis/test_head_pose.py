"""The 3-D head pose: known rotations of the shape are read back, a nod's sign is the
documented one, and the factorisation recovers a shape from its pictures alone."""

import numpy as np
import pytest

from facestudio.analysis.head_pose import HEAD_SHAPE, RIGID_POINTS, head_pose, shape_from_landmarks


def rotation(yaw, pitch, roll):
    """Camera axes x right, y down, z towards the camera; angles in degrees as head_pose reads them."""
    y, p, r = np.radians([yaw, pitch, roll])
    about_y = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])  # + : the nose to the right
    about_x = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    about_z = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return about_z @ about_y @ about_x  # roll after yaw after pitch, the order head_pose reads them in


def picture(shape, yaw=0.0, pitch=0.0, roll=0.0, scale=40.0, centre=(128, 120)):
    """68 landmarks (only the rigid points filled in) of ``shape`` seen under a scaled orthographic camera."""
    seen = scale * (rotation(yaw, pitch, roll) @ shape)[:2].T + np.asarray(centre)
    landmarks = np.full((68, 2), np.nan)
    landmarks[list(RIGID_POINTS)] = seen
    return landmarks


@pytest.mark.parametrize("angles", [(0, 0, 0), (20, 0, 0), (0, 15, 0), (0, -12, 0), (-25, 10, 5), (10, -8, -4)])
def test_known_rotations_read_back(angles):
    got = head_pose(picture(HEAD_SHAPE, *angles))
    assert np.allclose(got, angles, atol=0.5), (got, angles)


def test_nodding_down_is_positive_and_moves_the_nose_tip_down():
    tip = RIGID_POINTS.index(30)
    level, down = picture(HEAD_SHAPE), picture(HEAD_SHAPE, pitch=15)
    assert down[30, 1] > level[30, 1]  # the nose tip comes down towards the mouth in the picture
    assert head_pose(down)[1] > 10 and HEAD_SHAPE[2, tip] > 0


def test_scale_and_position_do_not_change_the_pose():
    a = head_pose(picture(HEAD_SHAPE, 12, -7, 3, scale=25, centre=(60, 70)))
    b = head_pose(picture(HEAD_SHAPE, 12, -7, 3, scale=90, centre=(200, 150)))
    assert np.allclose(a, b, atol=1e-6)


def test_factorisation_recovers_a_shape_from_its_pictures():
    rng = np.random.default_rng(0)
    faces = [picture(HEAD_SHAPE, *rng.normal(0, [15, 10, 3]), scale=rng.uniform(30, 60))
             + rng.normal(0, 0.05, (68, 2)) for _ in range(300)]
    faces.append(np.full((68, 2), np.nan))  # a face without landmarks is left out
    recovered = shape_from_landmarks(np.stack(faces))
    # the same shape up to the (small) rotation between the mean picture and a frontal view
    rotation_fit = head_pose(picture(recovered))
    assert np.abs(rotation_fit).max() < 5
    assert np.abs(recovered - HEAD_SHAPE).max() < 0.12
    assert recovered[2, RIGID_POINTS.index(30)] > 0.5  # the nose points at the camera


def test_too_few_faces_is_one_sentence():
    with pytest.raises(ValueError, match="three faces"):
        shape_from_landmarks(np.full((2, 68, 2), 1.0))
