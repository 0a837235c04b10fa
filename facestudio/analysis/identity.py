"""A face's identity: dlib's 128-d face descriptor of the face in an image.

The networks are dlib's (PyPI ``dlib-bin``) with the files of PyPI ``face-recognition-models``:
only its 5-point landmark model and its ResNet recognition model, both CC0 (the 68-point
model in that package is never loaded: its training data is non-commercial). Two photos of
one person lie less than dlib's 0.6 apart (Euclidean distance of the descriptors). dlib finds
the face, its landmarks and its aligned chip; the recognition network itself runs in torch
(:mod:`.identity_net`: dlib's weights, the same descriptors within 1e-6, many times faster
than the BLAS-less dlib wheel) and takes several faces at once (:meth:`IdentityEmbedder.measure_many`).

* :func:`read_face_image` opens an image with its size bounded before any pixel is decoded;
* :class:`IdentityEmbedder` finds the face and measures it; "no face found" is a
  :class:`FaceMeasurement` with ``embedding=None``, not an exception.

A caller that has already found the face's box with dlib's detector (the library's workers:
the face measures search each face once, at 256 px) passes it to :meth:`IdentityEmbedder.measure_many`,
and only the landmarks, chip and network run (about 12 ms of one core less per 128 px face).

Generated faces and UTKFace photos are aligned crops whose face fills the frame, where the
frontal detector often misses. When it finds nothing at its usual threshold, the whole
image is taken as the face box, but only when the detector at a lowered threshold
(:data:`WEAK_DETECTION`) still sees a face somewhere, so that a blank or noise image is "no
face". ``face_box`` says which was used.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from facestudio.analysis.identity_net import (CHIP_PADDING, CHIP_SIZE, RecognitionNet, WeightFileError,
                                             read_weights)
from facestudio.errors import FacestudioError
from facestudio.fileio import file_sha256
from facestudio.image_limits import ImageLimitError, open_bounded_image
from facestudio.shown_text import shown

INSTALL_HINT = "pip install 'facestudio[lookalike]'"
LANDMARK_FILE = "shape_predictor_5_face_landmarks.dat"  # CC0; never the 68-point model
RECOGNITION_FILE = "dlib_face_recognition_resnet_model_v1.dat"  # CC0
EMBEDDING_DIM = 128
SAME_PERSON = 0.6  # dlib's published threshold for "the same person"

MAX_IMAGE_BYTES = 64 << 20  # a face photo larger than this on disk is not read
MAX_IMAGE_PIXELS = 40_000_000  # nor one that declares more pixels (checked before decoding)
MIN_DETECT_SIDE = 200  # smaller images are enlarged (Lanczos) to this before detection
MAX_DETECT_SIDE = 1024  # larger ones are reduced to this for detection
MAX_DETECT_PIXELS = MAX_DETECT_SIDE ** 2  # and no enlargement makes more pixels than this
MAX_ASPECT = 8.0  # a face photo is never more than this many times longer than wide
WEAK_DETECTION = -0.8  # the lowered detector threshold that admits the whole-image box


class IdentityError(FacestudioError):
    """An image that cannot be measured (unreadable, too large); one sentence."""


class DlibMissingError(IdentityError):
    """dlib or its model files are not installed; the message says how to install them."""


@dataclass(frozen=True)
class FaceMeasurement:
    """What :meth:`IdentityEmbedder.measure` found in one image.

    embedding: float32 ``[128]`` descriptor, or None when no face was found;
    face_box: ``"detector"`` (dlib's frontal detector), ``"whole image"`` (the detector saw
    only a weak face, so the image was taken as an aligned crop) or None (no face);
    box: (left, top, right, bottom) in the image's pixels, or None.
    """

    embedding: np.ndarray | None
    face_box: str | None
    box: tuple[int, int, int, int] | None = None

    @property
    def found(self) -> bool:
        return self.embedding is not None


def _models_folder() -> Path:
    """Where face-recognition-models keeps its files, found without importing the package
    (its ``__init__`` needs setuptools' ``pkg_resources``, which recent environments lack)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise DlibMissingError(f"the lookalike check needs the face-recognition-models package, "
                               f"which is not installed: install it with {INSTALL_HINT}.")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def import_dlib():
    """The dlib module, or :class:`DlibMissingError` saying how to install it."""
    try:
        return importlib.import_module("dlib")
    except ImportError:
        raise DlibMissingError(f"the lookalike check needs dlib, which is not installed: install it "
                               f"with {INSTALL_HINT} (the rest of facestudio works without it).") from None


def model_files() -> tuple[Path, Path]:
    """The 5-point landmark and recognition model files, checked to be present."""
    folder = _models_folder()
    files = folder / LANDMARK_FILE, folder / RECOGNITION_FILE
    for f in files:
        if not f.is_file():
            raise DlibMissingError(f"the model file {f.name} of face-recognition-models is missing: "
                                   f"reinstall it with {INSTALL_HINT}.")
    return files


def read_face_image(path: str | Path) -> np.ndarray:
    """The RGB pixels of the image ``path``, uint8 C-contiguous ``[H, W, 3]``; only a regular
    file, its file size, declared pixel count and aspect ratio bounded before anything is
    decoded (:func:`facestudio.image_limits.open_bounded_image`). :class:`IdentityError` for
    a file that is not an image or is too large."""
    try:
        with open_bounded_image(path, "the face photo", MAX_IMAGE_PIXELS, MAX_IMAGE_BYTES, MAX_ASPECT) as img:
            img.draft("RGB", (MAX_DETECT_SIDE, MAX_DETECT_SIDE))  # JPEG: decode reduced when large
            return np.ascontiguousarray(np.asarray(img.convert("RGB")))
    except ImageLimitError as exc:
        raise IdentityError(f"{exc}.") from None
    except (UnidentifiedImageError, SyntaxError, ValueError, EOFError) as exc:
        raise IdentityError(f"cannot read {shown(path)}: it is not an image facestudio can open "
                            f"({shown(exc)}).") from None
    except OSError as exc:
        raise IdentityError(f"cannot read {shown(path)}: {shown(exc.strerror or exc)}.") from None


def _detection_scale(h: int, w: int) -> float:
    """How much an image is resized before detection: small ones enlarged towards
    :data:`MIN_DETECT_SIDE` on their short side, large ones reduced to :data:`MAX_DETECT_SIDE`
    on their long side; the result never holds more than :data:`MAX_DETECT_PIXELS` pixels
    (a long thin image is not enlarged past it, whatever its short side)."""
    side = min(h, w)
    scale = MIN_DETECT_SIDE / side if side < MIN_DETECT_SIDE else min(1.0, MAX_DETECT_SIDE / max(h, w))
    return min(scale, (MAX_DETECT_PIXELS / (h * w)) ** 0.5)


def _resized(pixels: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return pixels
    h, w = pixels.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.LANCZOS))


class IdentityEmbedder:
    """dlib's detector, 5-point landmarks and recognition network, loaded once (about 30 MB,
    a second); :class:`DlibMissingError` when dlib or the model files are not installed."""

    def __init__(self):
        self._dlib = import_dlib()
        landmarks, recognition = model_files()
        self._recognition_file = recognition
        self._detector = self._dlib.get_frontal_face_detector()
        self._landmarks = self._dlib.shape_predictor(str(landmarks))
        try:
            self._network = RecognitionNet(read_weights(recognition))  # dlib's network, run by torch
        except (WeightFileError, OSError) as exc:
            raise IdentityError(f"cannot read the face recognition network {recognition}: {exc}") from None

    @cached_property
    def sha256(self) -> str:
        """The recognition model file's sha256: what an index's embeddings were made with."""
        return file_sha256(self._recognition_file)

    def measure(self, pixels: np.ndarray) -> FaceMeasurement:
        """The identity of the largest face in ``pixels`` (uint8 ``[H, W, 3]``)."""
        return self.measure_many([pixels])[0]

    def measure_many(self, images: list[np.ndarray], boxes: list | None = None) -> list[FaceMeasurement]:
        """:meth:`measure` of each image, the recognition network run once on all their faces.
        ``boxes``: for each image, the face's box already found by dlib's detector (left, top,
        right, bottom in the image's pixels, e.g. by the face measures), or None to search."""
        boxes = boxes if boxes is not None else [None] * len(images)
        located = [self._locate(pixels, box) for pixels, box in zip(images, boxes, strict=True)]
        chips = [found[0] for found in located if found is not None]
        descriptors = iter(self._network(np.stack(chips)) if chips else ())
        return [FaceMeasurement(None, None) if found is None else
                FaceMeasurement(np.asarray(next(descriptors), dtype=np.float32), found[1], found[2])
                for found in located]

    def _locate(self, pixels: np.ndarray, known: tuple | None = None
                ) -> tuple[np.ndarray, str, tuple[int, int, int, int]] | None:
        """The aligned 150 px chip of the largest face (dlib's detector, 5 landmarks and chip,
        as dlib's own ``compute_face_descriptor`` makes it), how its box was found and the box
        in ``pixels``; None when there is no face. ``known``: the detector's box, already
        found (in ``pixels``' coordinates): the landmarks start from it, without a search."""
        if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
            raise ValueError(f"expected uint8 [H, W, 3] pixels, got {pixels.dtype} {pixels.shape}")
        scale = _detection_scale(*pixels.shape[:2])
        image = np.ascontiguousarray(_resized(pixels, scale))
        if known is not None:
            box = self._dlib.rectangle(*(int(round(v * scale)) for v in known))
            return self._chip(image, box, scale, "detector")
        boxes, scores, _ = self._detector.run(image, 1, WEAK_DETECTION)
        strong = [b for b, s in zip(boxes, scores) if s >= 0.0]
        if strong:
            box, how = max(strong, key=lambda b: b.area()), "detector"
        elif boxes:
            h, w = image.shape[:2]
            box, how = self._dlib.rectangle(0, 0, w - 1, h - 1), "whole image"
        else:
            return None
        return self._chip(image, box, scale, how)

    def _chip(self, image: np.ndarray, box, scale: float, how: str) -> tuple[np.ndarray, str, tuple[int, ...]]:
        """The aligned chip of the face in ``box`` of the detection image (``scale`` times the
        original), how the box was found and the box in the original's pixels."""
        chip = self._dlib.get_face_chip(image, self._landmarks(image, box), CHIP_SIZE, CHIP_PADDING)
        bounds = tuple(int(round(v / scale)) for v in (box.left(), box.top(), box.right(), box.bottom()))
        return np.asarray(chip), how, bounds

    def measure_file(self, path: str | Path) -> FaceMeasurement:
        return self.measure(read_face_image(path))
