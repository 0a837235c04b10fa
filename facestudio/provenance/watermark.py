"""The invisible watermark in the pixels of every image facestudio writes.

Metadata is stripped by most upload pipelines; the watermark stays in the pixels. It is the
DWT-DCT-SVD method of the ``invisible-watermark`` package (import name ``imwatermark``): the
largest singular value of each 4 x 4 DCT block of the Haar low band of the U (blue-difference)
channel is quantised to carry one bit, the bits repeating over the whole image. Measured on
the bundled model's faces it keeps 40.5 dB PSNR and survives JPEG 75 where the plain DWT-DCT
method loses about a quarter of the bits on smooth, upscaled faces even before any attack
(see README, ``tests/benchmarks/bench_watermark.py --compare``). The library's third method,
RivaGAN, ships its ONNX files but takes exactly 32 bits (too few for a marker, a model prefix
and check bits) and needs onnxruntime besides; it is not used.

The payload is 64 bits: a 16-bit marker, the first 32 bits (8 hex digits) of the model's
sha256, and a CRC-16 of both; the whole is XORed with a fixed whitening word so that flat or
periodic pixels (which decode to runs of equal bits) never form a codeword. A mark is
"found" only when the marker and the CRC both match: 32 check bits. The reader decodes
softly (each bit's share of votes; up to 4 of the 12 least sure bits may be flipped, which
WebP 80's chroma needs), so an unmarked image passes by chance about 794 / 2^32, 2 in 10
million. 32 bits of the sha256 name a model among
thousands (the chance that two models share them is 1 in 4 billion per pair); more bits would
mean fewer repetitions per bit and a weaker mark.

The library refuses images of fewer than 256 x 256 pixels; at that size the mark already
fails JPEG 75 on smooth, upscaled faces, at 512 x 512 it survives JPEG 75 and WebP 80. So
:func:`embed` Lanczos-upscales an image of fewer than :data:`MIN_PIXELS` (512 x 512) pixels by
the smallest whole factor that reaches it: the bundled model's 64 px face is exported at
512 px (x 8), a 128 px one at 512 px (x 4). :func:`detect` reads any image of the library's
256 x 256 pixels or more (a 512 px export halved still gets a try) and says "too small" below.
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from facestudio.errors import FacestudioError

MIN_SIDE = 512
MIN_PIXELS = MIN_SIDE * MIN_SIDE  # the smallest image marked: JPEG 75 and WebP 80 need the repeats
DETECT_MIN_PIXELS = 256 * 256   # the library's own minimum (rows x columns)
PAYLOAD_BITS = 64
MARKER = 0xFAC5                  # "facestudio"
PREFIX_HEX = 8                   # the model sha256 prefix, 32 bits
METHOD = "dwtDctSvd"
WEAKEST = 12                     # soft decoding: the least confident bits that may be flipped
MAX_FLIPS = 4                    # ... at most this many of them at once
EMBED_PASSES = 3                 # re-marks after clipping; a mostly pure-white or black image may still fail
SCALES = (0, 42, 0)              # Y, U, V quantisation steps: U only (40.5 dB; 36 lost WebP 80 on 5 of 50 faces)
# a fixed pseudo-random word XORed onto the payload (from a hash, so it is the same everywhere)
WHITENING = int.from_bytes(hashlib.sha256(b"facestudio watermark v1").digest()[:8], "big")
# detection reads at most this many pixels: a band of whole block rows from the top keeps the
# bits' positions, so a huge image is not decoded whole
MAX_DETECT_PIXELS = 1 << 19
INSTALL_HINT = ("install it with make setup, or pip install --no-deps invisible-watermark and then "
                "pip install PyWavelets opencv-python-headless")


class WatermarkError(FacestudioError, RuntimeError):
    """The watermark cannot be embedded (the library is missing); one sentence."""


@dataclass(frozen=True)
class WatermarkResult:
    """What :func:`detect` read. payload: the 16 hex digits of the de-whitened 64 bits
    (marker, sha256 prefix, CRC) when found; reason: why nothing was found, when it says."""

    found: bool
    payload: str | None = None
    model_sha256_prefix: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"found": self.found, "payload": self.payload, "model_sha256_prefix": self.model_sha256_prefix}

    def describe(self) -> str:
        if self.found:
            return f"found: made by facestudio with a model whose sha256 starts {self.model_sha256_prefix}"
        return f"not found ({self.reason})" if self.reason else "not found"


def _library():
    try:
        from imwatermark.dwtDctSvd import EmbedDwtDctSvd
    except ImportError:
        raise WatermarkError(f"the invisible watermark needs the package invisible-watermark; {INSTALL_HINT}") \
            from None
    return EmbedDwtDctSvd


def _crc(value48: int) -> int:
    return binascii.crc_hqx(value48.to_bytes(6, "big"), 0xFFFF)


def sha_prefix(model_sha256: str) -> int:
    """The first 32 bits of a hex sha256 (0 for an unknown or malformed one)."""
    head = (model_sha256 or "")[:PREFIX_HEX]
    try:
        return int(head, 16) if len(head) == PREFIX_HEX else 0
    except ValueError:
        return 0


def payload_word(model_sha256: str) -> int:
    """The 64-bit word written (before whitening): marker, sha256 prefix, CRC-16."""
    head = (MARKER << 32) | sha_prefix(model_sha256)
    return (head << 16) | _crc(head)


def _bits(word: int) -> list[int]:
    return [(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)]


def _word(bits) -> int:
    word = 0
    for b in bits:
        word = (word << 1) | int(bool(b))
    return word


def upscale_factor(width: int, height: int) -> int:
    """The smallest whole factor that brings ``width`` x ``height`` to :data:`MIN_PIXELS`."""
    return max(1, math.ceil(math.sqrt(MIN_PIXELS / max(1, width * height))))


def embed(image: Image.Image | np.ndarray, model_sha256: str) -> Image.Image:
    """``image`` with the watermark in its pixels (RGB). An image of fewer than
    :data:`MIN_PIXELS` pixels is first Lanczos-upscaled by :func:`upscale_factor`."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    img = img.convert("RGB")
    factor = upscale_factor(*img.size)
    if factor > 1:
        img = img.resize((img.width * factor, img.height * factor), Image.Resampling.LANCZOS)
    cls = _library()
    bits = _bits(payload_word(model_sha256) ^ WHITENING)
    bgr = np.asarray(img, dtype=np.float32)[..., ::-1].copy()  # float: rounded once a pass, never wrapped
    for _ in range(EMBED_PASSES):  # clipping to 0-255 can undo bits in saturated parts: mark again
        raw = np.rint(cls(bits, wmLen=PAYLOAD_BITS, scales=list(SCALES)).encode(bgr))
        bgr = np.clip(raw, 0, 255).astype(np.float32)
        if not (raw < 0).any() and not (raw > 255).any() or _decode_bits(cls, bgr) == bits:
            break
    return Image.fromarray(bgr[..., ::-1].astype(np.uint8), "RGB")


def _decode_bits(cls, bgr: np.ndarray) -> list[int]:
    return [int(b) for b in cls([], wmLen=PAYLOAD_BITS, scales=list(SCALES)).decode(bgr.copy())]


def detect(image: Image.Image | np.ndarray) -> WatermarkResult:
    """Read the watermark of ``image``; ``found`` is False for an unmarked image, one too
    small to carry a mark, or when the library is not installed (``reason`` says which)."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    w, h = img.size
    if w * h < DETECT_MIN_PIXELS:
        return WatermarkResult(False, reason=f"{w} x {h} pixels is too small to carry a watermark "
                                             f"(it needs {DETECT_MIN_PIXELS:,} pixels, e.g. 256 x 256)")
    try:
        cls = _library()
    except WatermarkError as exc:
        return WatermarkResult(False, reason=str(exc))
    if w * h > MAX_DETECT_PIXELS:
        rows = max(DETECT_MIN_PIXELS // w + 8, MAX_DETECT_PIXELS // w) // 8 * 8
        img = img.crop((0, 0, w, min(h, rows)))
    bgr = np.asarray(img.convert("RGB"), dtype=np.float32)[..., ::-1].copy()
    word = _soft_decode(_soft_scores(cls, bgr))
    if word is None:
        return WatermarkResult(False)
    return WatermarkResult(True, f"{word:016x}", f"{(word >> 16) & 0xFFFFFFFF:08x}")


def _valid(word: int) -> bool:
    head = word >> 16
    return head >> 32 == MARKER and _crc(head) == word & 0xFFFF


def _soft_scores(cls, bgr: np.ndarray) -> np.ndarray:
    """Each payload bit's share of 1-votes over its blocks (the library's ``decode`` without
    its final threshold): 0.5 is no confidence, 0 or 1 full confidence."""
    import cv2
    import pywt
    rows, cols = bgr.shape[0] // 4 * 4, bgr.shape[1] // 4 * 4
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    low, _ = pywt.dwt2(yuv[:rows, :cols, 1], "haar")  # U: the only channel with a step (SCALES)
    votes = cls([], wmLen=PAYLOAD_BITS, scales=list(SCALES)).decode_frame(low, SCALES[1], [[] for _ in
                                                                                          range(PAYLOAD_BITS)])
    return np.array([np.mean(v) if v else 0.5 for v in votes])


def _soft_decode(scores: np.ndarray) -> int | None:
    """The de-whitened payload word nearest the votes, or None. The hard decision is tried
    first, then with up to :data:`MAX_FLIPS` of the :data:`WEAKEST` least confident bits
    flipped (WebP's chroma loses a few bits there): the valid word with the smallest total
    confidence flipped wins. 794 candidates at most, so an unmarked image passes the 32
    check bits by chance about 794 / 2^32, 2 in 10 million."""
    hard = [int(s > 0.5) for s in scores]
    base = _word(hard) ^ WHITENING
    if _valid(base):
        return base
    confidence = np.abs(scores - 0.5)
    weakest = [int(i) for i in np.argsort(confidence, kind="stable")[:WEAKEST]]
    best, best_cost = None, None
    for k in range(1, MAX_FLIPS + 1):
        for combo in itertools.combinations(weakest, k):
            word = base
            for i in combo:
                word ^= 1 << (PAYLOAD_BITS - 1 - i)
            if _valid(word):
                cost = float(sum(confidence[i] for i in combo))
                if best_cost is None or cost < best_cost:
                    best, best_cost = word, cost
    return best
