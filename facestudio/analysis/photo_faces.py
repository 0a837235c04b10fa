"""The faces in a photo, and one of them aligned the way a model's training faces were.

Used by the anonymizer (:mod:`facestudio.analysis.stand_ins`): dlib's frontal detector finds
the faces (at the identity check's detection scale, :func:`facestudio.analysis.identity.
_detection_scale`), its 68-point landmarks place them, and :func:`align` cuts the chosen face
out as the model's training faces were cut:

* ``"utkface"`` (the bundled model): UTKFace's aligned 200 px chips, centre-cropped. The
  template below is the median of dlib's landmarks over 299 of those chips (every 50th of
  the tar): eye centres at (0.295, 0.299) and (0.688, 0.299), mouth corners at (0.316, 0.691)
  and (0.668, 0.691) of the side. A similarity transform (rotation, scale, shift) is fitted
  to those four points by least squares.
* ``"ffhq"``: FFHQ's published recipe from the eyes and the mouth: the square is centred a
  tenth of the eye-to-mouth vector below the eyes' midpoint, its side the larger of twice the
  eye distance and 1.8 times the eye-to-mouth distance, turned with the line from eye to eye.

Everything stays in memory: nothing here writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from facestudio.analysis.identity import WEAK_DETECTION, _detection_scale, _resized
from facestudio.errors import FacestudioError

MIN_FACE_PIXELS = 64  # a face narrower than this in the photo holds too little to keep anything of
ALIGNMENTS = ("utkface", "ffhq")
UTKFACE_TEMPLATE = np.array([[0.2949, 0.2988], [0.6875, 0.2988], [0.3164, 0.6914], [0.6680, 0.6914]])
SUPERSAMPLE = 2  # the crop is cut at this many times its size, then reduced (Lanczos)


class PhotoFaceError(FacestudioError):
    """A photo the anonymizer cannot use (no face, a face too small, several faces); one sentence."""


@dataclass(frozen=True)
class PhotoFace:
    """One face found in a photo: its box (left, top, right, bottom) in the photo's pixels,
    its 68 landmarks ``[68, 2]`` in the photo's pixels, and the detector's score."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    def key_points(self) -> np.ndarray:
        """Eye centres and mouth corners ``[4, 2]``: left eye, right eye, left and right corner."""
        p = self.landmarks
        return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[48], p[54]])


class FaceFinder:
    """dlib's detector and 68-point landmarks (through ``measurer``, a
    :class:`~facestudio.analysis.face_measures.FaceMeasurer`, so the model files load once)."""

    def __init__(self, measurer):
        from facestudio.analysis.identity import import_dlib
        self._dlib = import_dlib()
        self._detector = self._dlib.get_frontal_face_detector()
        self._measurer = measurer

    def faces(self, pixels: np.ndarray) -> list[PhotoFace]:
        """Every face in ``pixels`` (uint8 ``[H, W, 3]``), left to right. An image in which the
        detector sees a face only at a lowered threshold is taken whole, as an aligned crop
        (UTKFace's chips and generated faces fill their frame, where the detector often misses)."""
        scale = _detection_scale(*pixels.shape[:2])
        image = np.ascontiguousarray(_resized(pixels, scale))
        boxes, scores, _ = self._detector.run(image, 1, WEAK_DETECTION)
        found = [(b, s) for b, s in zip(boxes, scores) if s >= 0.0]
        if not found and len(boxes):
            h, w = image.shape[:2]
            found = [(self._dlib.rectangle(0, 0, w - 1, h - 1), float(max(scores)))]
        faces = []
        for box, score in found:
            points = self._measurer.landmarks(image, box) / scale
            bounds = tuple(int(round(v / scale)) for v in (box.left(), box.top(), box.right(), box.bottom()))
            faces.append(PhotoFace(bounds, points, float(score)))
        return sorted(faces, key=lambda f: f.box[0])


def choose_face(faces: list[PhotoFace], index: int | None, what: str = "the photo") -> PhotoFace:
    """The face to replace: the only one, or number ``index`` (1-based, left to right);
    :class:`PhotoFaceError` for no face, a face under :data:`MIN_FACE_PIXELS` and several
    faces without ``index``."""
    if not faces:
        raise PhotoFaceError(f"no face was found in {what}, so there is nothing to replace.")
    if index is None and len(faces) > 1:
        sizes = ", ".join(f"{i} at x {f.box[0]} ({f.width} px)" for i, f in enumerate(faces, 1))
        raise PhotoFaceError(f"{what} holds {len(faces)} faces ({sizes}, numbered left to right): "
                             "choose one with --face K.")
    if index is not None and not 1 <= index <= len(faces):
        raise PhotoFaceError(f"{what} holds {len(faces)} face{'s' if len(faces) != 1 else ''}, "
                             f"so there is no face {index}: give --face from 1 to {len(faces)}.")
    face = faces[0 if index is None else index - 1]
    if face.width < MIN_FACE_PIXELS:
        raise PhotoFaceError(f"the face in {what} is {face.width} pixels wide, smaller than the "
                             f"{MIN_FACE_PIXELS} pixels it takes to keep its age, expression and pose.")
    return face


def similarity_to(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The 2 x 3 similarity transform (rotation, uniform scale, shift) that maps ``points``
    ``[K, 2]`` closest to ``targets`` ``[K, 2]`` in the least-squares sense."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(points, targets):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows, float), np.array(rhs, float), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


def ffhq_square(points: np.ndarray) -> np.ndarray:
    """FFHQ's crop from the key points: the 2 x 3 transform from the photo to a unit square."""
    eye_left, eye_right, mouth_left, mouth_right = points
    eye_mid, mouth_mid = (eye_left + eye_right) / 2, (mouth_left + mouth_right) / 2
    eye_to_eye, eye_to_mouth = eye_right - eye_left, mouth_mid - eye_mid
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x = x / np.linalg.norm(x) * max(np.linalg.norm(eye_to_eye) * 2.0, np.linalg.norm(eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])
    centre = eye_mid + eye_to_mouth * 0.1
    corners = np.array([centre - x - y, centre + x - y, centre - x + y])  # top-left, top-right, bottom-left
    return similarity_to(corners, np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))


def alignment_transform(face: PhotoFace, alignment: str) -> np.ndarray:
    """The 2 x 3 transform from the photo's pixels to the unit square of the aligned crop."""
    if alignment == "utkface":
        return similarity_to(face.key_points(), UTKFACE_TEMPLATE)
    if alignment == "ffhq":
        return ffhq_square(face.key_points())
    raise ValueError(f"unknown alignment {alignment!r}; known: {', '.join(ALIGNMENTS)}")


def align(pixels: np.ndarray, face: PhotoFace, alignment: str, side: int) -> np.ndarray:
    """The face cut out of ``pixels`` as ``alignment`` cuts training faces, uint8 ``[side, side, 3]``
    (the photo's edge repeated where the square reaches past it)."""
    forward = np.vstack([alignment_transform(face, alignment), [0, 0, 1]])
    big = side * SUPERSAMPLE
    inverse = np.linalg.inv(np.diag([big, big, 1.0]) @ forward)  # output pixel -> photo pixel
    padded, pad = _edge_padded(pixels)
    shift = np.array([[1, 0, pad], [0, 1, pad], [0, 0, 1]], float)
    coefficients = (shift @ inverse)[:2].ravel()
    cut = Image.fromarray(padded).transform((big, big), Image.AFFINE, tuple(coefficients), resample=Image.BICUBIC)
    return np.array(cut.resize((side, side), Image.LANCZOS))


def _edge_padded(pixels: np.ndarray) -> tuple[np.ndarray, int]:
    """The photo with a border of its edge pixels a quarter of its size wide (a crop that
    reaches past the photo's edge gets the edge, not black)."""
    pad = max(pixels.shape[:2]) // 4
    return np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)), mode="edge"), pad
