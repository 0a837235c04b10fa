"""What a person sees in a face, as numbers: expression, head pose, hair, skin, age and sex.

These are the measures the named sliders are fitted on and judged by, the read-out in the
studio shows, and the attribute filters of ``find`` and ``library build`` select with. Each is
computed from things a person would point at, never from a network's hidden features:

* geometry from dlib's 68-point landmarks (``face-recognition-models``; the model's training
  data is non-commercial, as the bundled face model's is: the model card says so), every
  length divided by the distance between the eye centres so that the face's size drops out:
  ``smile`` (how far the mouth corners sit above the top of the upper lip, plus the mouth's
  width), ``mouth_open`` (the gap between the inner lips), ``eyes_open`` (the eyes' aspect
  ratio), ``yaw`` (where the nose tip sits between the two sides of the jaw; positive = the
  face turns towards the image's right), ``pitch`` (degrees, from a rigid 3-D shape of the
  nose and eyes fitted to the landmarks, :mod:`facestudio.analysis.head_pose`; positive = the
  head nods down), ``face_width`` (the jaw's width: a round or a narrow face, which a 2-D pose
  measure could otherwise be moved by);
* lightness (CIELAB L*, 0-100) of three regions placed by the landmarks: ``hair`` (above the
  brows, and beside the face above the eyes), ``skin`` (both cheeks) and ``background`` (the top
  corners); and ``side_light``, where the light falls from: the image's right side of the face
  minus its left (each between the jaw's edge and the side of the nose, from the lower eyelids to
  the mouth's corners), so that a slider which moves the lamp is seen doing it;
* ``glasses``: how sharp the horizontal edges are across the top of the nose between the eyes
  (the 90th percentile of L*'s vertical gradient there), where a frame's bridge crosses and skin
  is smooth; over UTKFace photos its highest readings are faces in glasses;
* ``age`` (years) and ``p_female`` from the bundled attribute classifier
  (:mod:`facestudio.analysis.attributes`).

Every face is measured at the measures' own size (:data:`MEASURE_SIDE` pixels for the
landmarks, the classifier's 64), whatever the model's resolution. A face the detector does
not find gets NaN geometry and regions; the classifier's values are always there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from facestudio.analysis.head_pose import head_pose
from facestudio.analysis.identity import DlibMissingError, INSTALL_HINT, _models_folder, import_dlib

LANDMARK68_FILE = "shape_predictor_68_face_landmarks.dat"
MEASURES_VERSION = 3  # 1: pitch as the nose's height between the eyes and the chin (moved by the jaw);
# 2: no side light and no glasses (Smile moved the light from one side of the face to the other unseen)
MEASURE_SIDE = 256  # faces are measured at this size (the detector misses faces much smaller)
GEOMETRY = ("smile", "mouth_open", "eyes_open", "yaw", "pitch", "face_width")
REGIONS = ("hair", "skin", "background", "side_light")
DETAILS = ("glasses",)
CLASSIFIED = ("age", "p_female")
MEASURES = GEOMETRY + REGIONS + DETAILS + CLASSIFIED
UNITS = {"smile": "mouth-corner lift and width, per eye distance", "mouth_open": "lip gap per eye distance",
         "eyes_open": "eye height per eye width", "yaw": "nose offset per jaw width (+ = turned right)",
         "pitch": "degrees (+ = nodding down)",
         "face_width": "jaw width per eye distance", "hair": "L* of the hair",
         "skin": "L* of the cheeks", "background": "L* of the top corners",
         "side_light": "L* of the face's right side minus its left", "glasses": "L* gradient across the nose's top",
         "age": "years",
         "p_female": "probability"}


@dataclass(frozen=True)
class Region:
    """A rectangle in landmark coordinates, as fractions of the eye distance around a point."""

    left: float
    top: float
    right: float
    bottom: float


def srgb_to_lightness(rgb: np.ndarray) -> np.ndarray:
    """CIELAB L* (D65) of uint8 sRGB pixels ``[..., 3]``."""
    c = np.asarray(rgb, dtype=np.float32) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116.0 * f - 16.0


def geometry_from_landmarks(p: np.ndarray) -> dict[str, float]:
    """The geometric measures of one face's 68 landmarks ``[68, 2]`` (x, y)."""
    p = np.asarray(p, dtype=np.float64)
    left_eye, right_eye = p[36:42].mean(0), p[42:48].mean(0)
    iod = float(np.linalg.norm(right_eye - left_eye))
    corners = (p[48] + p[54]) / 2
    lift = (p[51, 1] - corners[1]) / iod  # corners above the top of the upper lip: larger
    width = np.linalg.norm(p[54] - p[48]) / iod
    gap = (np.linalg.norm(p[66] - p[62]) + np.linalg.norm(p[67] - p[61]) + np.linalg.norm(p[65] - p[63])) / (3 * iod)

    def eye_ratio(e):
        return (np.linalg.norm(e[1] - e[5]) + np.linalg.norm(e[2] - e[4])) / (2 * np.linalg.norm(e[0] - e[3]))

    jaw_left, jaw_right, nose = p[1:4].mean(0), p[13:16].mean(0), p[30]
    yaw = ((nose[0] - jaw_left[0]) / (jaw_right[0] - jaw_left[0]) - 0.5) * 2
    pitch = head_pose(p)[1]
    return {"smile": float(lift + 0.5 * width), "mouth_open": float(gap),
            "eyes_open": float((eye_ratio(p[36:42]) + eye_ratio(p[42:48])) / 2),
            "yaw": float(yaw), "pitch": float(pitch),
            "face_width": float(np.linalg.norm(p[14] - p[2]) / iod)}


def region_lightness(lightness: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Median L* of the hair, cheek and background regions of one face whose lightness image
    ``[S, S]`` and landmarks ``[68, 2]`` are at the same size."""
    side = lightness.shape[0]
    iod = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0)))
    brow_top = float(p[17:27, 1].min())

    def median(x0, y0, x1, y1):
        x0, x1 = int(np.clip(x0, 0, side - 1)), int(np.clip(x1, 1, side))
        y0, y1 = int(np.clip(y0, 0, side - 1)), int(np.clip(y1, 1, side))
        if x1 <= x0 or y1 <= y0:
            return float("nan")
        return float(np.median(lightness[y0:y1, x0:x1]))

    # aligned crops cut the head off just above the brows: the hair is what lies above the
    # brows, and beside the face (outside the jaw's width) above the eyes
    eyes_y = float((p[36:42, 1].mean() + p[42:48, 1].mean()) / 2)
    ys, xs = np.mgrid[0:side, 0:side]
    beside = (ys < eyes_y) & ((xs < p[0, 0]) | (xs > p[16, 0]))
    hair_mask = (ys < brow_top - 0.1 * iod) | beside
    hair = float(np.median(lightness[hair_mask])) if hair_mask.any() else float("nan")
    half = 0.15 * iod
    cheeks = []
    for a, b in ((2, 31), (14, 35)):
        cx, cy = (p[a] + p[b]) / 2
        cheeks.append(median(cx - half, cy - half, cx + half, cy + half))
    corner = max(2, side // 10)
    background = float(np.median(np.concatenate([lightness[:corner, :corner].ravel(),
                                                 lightness[:corner, -corner:].ravel()])))
    return {"hair": hair, "skin": float(np.nanmean(cheeks)), "background": background,
            "side_light": side_light(lightness, p)}


def side_light(lightness: np.ndarray, p: np.ndarray) -> float:
    """The image's right side of the face minus its left, in median L*; NaN where the
    landmarks leave no room for a side."""
    top, bottom = int(max(p[41, 1], p[46, 1])), int(min(p[48, 1], p[54, 1]))
    left = int(p[2, 0] + 0.2 * (p[31, 0] - p[2, 0])), int(p[31, 0])
    right = int(p[35, 0]), int(p[14, 0] - 0.2 * (p[14, 0] - p[35, 0]))
    if bottom <= top + 2 or left[1] <= left[0] + 2 or right[1] <= right[0] + 2 or min(top, left[0]) < 0:
        return float("nan")
    return float(np.median(lightness[top:bottom, right[0]:right[1]]) - np.median(lightness[top:bottom, left[0]:left[1]]))


def glasses(lightness: np.ndarray, p: np.ndarray) -> float:
    """The 90th percentile of L*'s vertical gradient across the top of the nose, between the
    inner eye corners (a frame's bridge makes sharp horizontal edges there; skin does not)."""
    iod = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0)))
    x0, x1 = int(p[39, 0] + 0.1 * iod), int(p[42, 0] - 0.1 * iod)
    y0, y1 = max(0, int(p[27, 1] - 0.25 * iod)), int(p[28, 1] + 0.1 * iod)
    band = np.abs(np.diff(lightness[y0:y1 + 1, max(0, x0):x1], axis=0))
    return float(np.percentile(band, 90)) if band.size else float("nan")


class FaceMeasurer:
    """dlib's detector and 68-point landmarks plus the attribute classifier, loaded once
    (:class:`DlibMissingError` when dlib or its models are missing)."""

    def __init__(self, classifier=None, identity: bool = False):
        self._dlib = import_dlib()
        self._identity = None
        if identity:  # dlib's descriptor from the same face box (for holding a face's identity in a fit)
            from facestudio.analysis.identity import model_files
            five, recognition = model_files()
            self._identity = (self._dlib.shape_predictor(str(five)),
                              self._dlib.face_recognition_model_v1(str(recognition)))
        path = _models_folder() / LANDMARK68_FILE
        if not path.is_file():
            raise DlibMissingError(f"the model file {path.name} of face-recognition-models is missing: "
                                   f"reinstall it with {INSTALL_HINT}.")
        self._detector = self._dlib.get_frontal_face_detector()
        self._landmarks = self._dlib.shape_predictor(str(path))
        if classifier is None:
            from facestudio.analysis.attributes import load_bundled_classifier
            classifier = load_bundled_classifier()
        self._classifier = classifier

    def face_box(self, face: np.ndarray):
        """dlib's box of the largest face in ``face`` (uint8 ``[S, S, 3]`` at
        :data:`MEASURE_SIDE`), or None when the detector finds none."""
        boxes = self._detector(face, 0)
        if not len(boxes):
            boxes = self._detector(face, 1)
        return max(boxes, key=lambda b: b.area()) if len(boxes) else None

    def landmarks(self, face: np.ndarray, box=None) -> np.ndarray | None:
        """68 landmarks ``[68, 2]`` of the largest face in ``face`` (or in ``box``), or None."""
        box = box or self.face_box(face)
        if box is None:
            return None
        shape = self._landmarks(face, box)
        return np.array([(shape.part(i).x, shape.part(i).y) for i in range(68)], dtype=np.float64)

    def measure(self, images: np.ndarray, boxes: bool = False, classified: bool = True) -> dict[str, np.ndarray]:
        """Every measure of uint8 faces ``[N, H, W, 3]``: name -> float64 ``[N]`` (NaN where
        the face was not found); a measurer made with ``identity`` adds ``"identity"``, dlib's
        descriptors ``[N, 128]``; ``boxes`` adds ``"box"``, the detector's box of each face in
        its image's own pixels (left, top, right, bottom; float64 ``[N, 4]``, NaN where none),
        which the library's identity check starts from instead of searching again;
        ``classified=False`` leaves age and P(female) NaN (a caller that has them already)."""
        from facestudio.analysis.attributes import predict
        images = np.asarray(images)
        out = {name: np.full(len(images), np.nan) for name in MEASURES}
        if self._identity:
            out["identity"] = np.full((len(images), 128), np.nan, np.float32)
        if boxes:
            out["box"] = np.full((len(images), 4), np.nan)
        if not len(images):
            return out
        if classified:
            ages, probs = predict(self._classifier, images)
            out["age"], out["p_female"] = ages.astype(np.float64), probs.astype(np.float64)
        for i, image in enumerate(images):
            face = to_measure_size(image)
            box = self.face_box(face)
            p = self.landmarks(face, box)
            if p is None:
                continue
            if boxes:
                out["box"][i] = box_in_image(box, image.shape)
            if self._identity:
                five, network = self._identity
                out["identity"][i] = np.asarray(network.compute_face_descriptor(face, five(face, box), 0))
            lightness = srgb_to_lightness(face)
            for name, value in {**geometry_from_landmarks(p), **region_lightness(lightness, p),
                                "glasses": glasses(lightness, p)}.items():
                out[name][i] = value
        return out


def box_in_image(box, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    """A dlib box found in :func:`to_measure_size`'s face, in the pixels of the image of
    ``shape`` it was made from (the padding taken off, the scale undone)."""
    h, w = shape[:2]
    side = max(h, w)
    k = side / MEASURE_SIDE
    dx, dy = (side - w) // 2, (side - h) // 2
    return (box.left() * k - dx, box.top() * k - dy, box.right() * k - dx, box.bottom() * k - dy)


def to_measure_size(image: np.ndarray) -> np.ndarray:
    """A square face ``[H, W, 3]`` resized (Lanczos) to :data:`MEASURE_SIDE`; a non-square one
    is padded to a square first, so landmarks keep their proportions."""
    h, w = image.shape[:2]
    if h != w:
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)
        square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = image
        image = square
    if image.shape[0] == MEASURE_SIDE:
        return np.ascontiguousarray(image)
    return np.asarray(Image.fromarray(image).resize((MEASURE_SIDE, MEASURE_SIDE), Image.LANCZOS))
