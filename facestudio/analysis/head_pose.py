"""Head pose in degrees from dlib's 68 landmarks, by fitting a rigid 3-D face shape to them.

A 2-D ratio (where the nose tip sits between the eyes and the chin) mixes a nod with the face's
own proportions and with the jaw: an open mouth moves the chin, so a slider fitted on such a
measure learns to close the mouth while it nods. Fitting a 3-D shape of the rigid points (the
nose and the eyes, which neither expression nor the jaw moves) under a scaled orthographic
camera gives the rotation itself.

The shape (:data:`HEAD_SHAPE`) is not a published model: it was recovered here from the 2-D
landmarks of 1,500 of the bundled model's faces by rank-3 factorisation with the metric
constraints of a scaled orthographic camera, made left-right symmetric (:func:`shape_from_landmarks`;
re-derive it with
``python -m facestudio.analysis.head_pose LANDMARKS.npy``). Axes: x to the image's right, y down,
z towards the camera; unit: the mean distance of the points from their centre in the picture plane.
"""

from __future__ import annotations

import numpy as np

RIGID_POINTS = tuple(range(27, 36)) + tuple(range(36, 48))  # the nose (bridge and base) and both eyes
MIRROR = {31: 35, 32: 34, 36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46}  # dlib's left-right pairs
MIRROR.update({b: a for a, b in MIRROR.items()})
_TIP = RIGID_POINTS.index(30)
_EYES = [RIGID_POINTS.index(i) for i in range(36, 48)]
_MIRRORED = [RIGID_POINTS.index(MIRROR.get(i, i)) for i in RIGID_POINTS]
HEAD_SHAPE = np.array([
    [0.0000, 0.0000, 0.0000, 0.0000, -0.4838, -0.2499, 0.0000, 0.2499, 0.4838, -1.4845, -1.2199,
     -0.9026, -0.6224, -0.9254, -1.2410, 0.6224, 0.9026, 1.2199, 1.4845, 1.2410, 0.9254],
    [-0.5215, -0.1185, 0.2825, 0.6957, 0.9573, 1.0343, 1.1096, 1.0343, 0.9573, -0.4475, -0.6064,
     -0.5975, -0.3838, -0.3372, -0.3430, -0.3838, -0.5975, -0.6064, -0.4475, -0.3430, -0.3372],
    [0.2397, 0.4410, 0.6749, 0.8893, 0.2768, 0.4015, 0.4893, 0.4015, 0.2768, -0.4535, -0.3521,
     -0.3045, -0.2690, -0.3092, -0.3572, -0.2690, -0.3045, -0.3521, -0.4535, -0.3572, -0.3092],
])  # [3, len(RIGID_POINTS)]


def _rotation_from_affine(affine: np.ndarray) -> np.ndarray:
    """The rotation ``[3, 3]`` whose first two rows are nearest to the rows of a 2x3 camera."""
    u, _, vt = np.linalg.svd(affine, full_matrices=False)
    rows = u @ vt
    return np.vstack([rows, np.cross(rows[0], rows[1])])


def head_pose(landmarks: np.ndarray, shape: np.ndarray = HEAD_SHAPE) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` in degrees of one face's landmarks ``[68, 2]`` (image x, y):
    yaw + = the face turns towards the image's right, pitch + = the head nods down (the chin
    towards the chest), roll + = the head tilts clockwise in the picture."""
    points = np.asarray(landmarks, np.float64)[list(RIGID_POINTS)].T
    points = points - points.mean(1, keepdims=True)
    rotation = _rotation_from_affine(points @ np.linalg.pinv(shape))
    pitch = -np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(yaw), float(pitch), float(roll)


def _metric_row(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The coefficients of ``a^T L b`` in the six unknowns of a symmetric 3x3 ``L``."""
    return np.array([a[0] * b[0], a[0] * b[1] + a[1] * b[0], a[0] * b[2] + a[2] * b[0],
                     a[1] * b[1], a[1] * b[2] + a[2] * b[1], a[2] * b[2]])


def shape_from_landmarks(tracks: np.ndarray) -> np.ndarray:
    """The rigid 3-D shape ``[3, len(RIGID_POINTS)]`` of :data:`RIGID_POINTS` that best explains many faces' landmarks
    ``[F, 68, 2]`` (faces with a NaN are left out) as rotations and scalings of one shape,
    oriented so that its x, y match the faces' mean picture and the nose points at the camera."""
    seen = np.asarray(tracks, np.float64)[:, list(RIGID_POINTS)]
    seen = seen[np.isfinite(seen).all(axis=(1, 2))]
    if len(seen) < 3:
        raise ValueError("at least three faces with landmarks are needed to recover a 3-D shape")
    seen = seen - seen.mean(1, keepdims=True)
    faces = len(seen)
    stacked = np.concatenate([seen[:, :, 0], seen[:, :, 1]])  # [2F, K]: every face's x rows, then its y rows
    u, s, vt = np.linalg.svd(stacked, full_matrices=False)
    cameras, shape = u[:, :3] * np.sqrt(s[:3]), np.sqrt(s[:3])[:, None] * vt[:3]
    x_rows, y_rows = cameras[:faces], cameras[faces:]
    # a scaled orthographic camera's two rows are orthogonal and of equal length: solve for the
    # metric L = Q Q^T that makes them so (one face's scale fixed at 1)
    rows = [r for i, j in zip(x_rows, y_rows) for r in (_metric_row(i, j), _metric_row(i, i) - _metric_row(j, j))]
    rows.append(_metric_row(x_rows[0], x_rows[0]))
    target = np.zeros(len(rows))
    target[-1] = 1.0
    l = np.linalg.lstsq(np.array(rows), target, rcond=None)[0]
    metric = np.array([[l[0], l[1], l[2]], [l[1], l[3], l[4]], [l[2], l[4], l[5]]])
    shape = np.linalg.solve(np.linalg.cholesky(metric), shape)
    shape = _rotation_from_affine(seen.mean(0).T @ np.linalg.pinv(shape)) @ shape
    if shape[2, _TIP] < shape[2, _EYES].mean():  # depth is only known up to a mirror: the nose comes forward
        shape[2] = -shape[2]
    return symmetric(shape / np.linalg.norm(shape[:2], axis=0).mean())


def symmetric(shape: np.ndarray) -> np.ndarray:
    """The shape averaged with its mirror image (x negated, left and right points swapped),
    so that a mirrored face reads the same nod and the opposite turn."""
    mirrored = shape[:, _MIRRORED] * np.array([[-1.0], [1.0], [1.0]])
    return (shape + mirrored) / 2


if __name__ == "__main__":  # python -m facestudio.analysis.head_pose LANDMARKS.npy  ([F, 68, 2] from dlib)
    import sys
    np.set_printoptions(precision=4, suppress=True, linewidth=120)
    print(repr(shape_from_landmarks(np.load(sys.argv[1], allow_pickle=False))))
