"""The invisible watermark in the pixels of every image facestudio writes: facestudio's own,
written with numpy, that outlives re-encoding, resizing and cropping.

Metadata is stripped by most upload pipelines; the watermark stays in the pixels. The mark is
a *tile*: a :data:`TILE` x :data:`TILE` grid of pseudo-random signs, band-limited (Fourier
interpolation) to a :data:`PERIOD` x :data:`PERIOD` pixel pattern that repeats over the whole
image and is added to its brightness (the same amount to R, G and B). The tile is the sum of

* a *synchronisation* pattern, the same in every mark, which lets the reader find the tile's
  period (a resize changes it) and its offset (a crop shifts it), and
* the *payload*: each of the 64 bits owns :data:`TILE` ** 2 / 64 cells of the grid, scattered
  over the tile, each cell carrying the bit times its own pseudo-random sign.

Reading (:func:`detect`): the brightness is whitened (each frequency divided by its magnitude,
so the face itself counts for little); its autocorrelation peaks at the period of the tile,
whatever the image was resized to; the image is folded onto one period (all tiles summed) and
the sync pattern's circular cross-correlation with the fold gives the offset; the payload
cells are then read in place. A resize by any factor that leaves the tile at least
:data:`MIN_READ_PERIOD` pixels, any crop that leaves about two tiles, JPEG and WebP compression
and changes of brightness leave the mark readable (``tests/benchmarks/bench_watermark.py``
prints the table; docs/benchmarks.md holds the figures).

The payload is 64 bits: a 16-bit marker, the first 32 bits (8 hex digits) of the model's
sha256 and a CRC-16 of both, XORed with a fixed whitening word (so flat or periodic pixels,
which decode to runs of equal bits, never form a codeword). A mark is "found" only when the
marker and the CRC both match: 32 check bits. The reader decodes softly (up to
:data:`MAX_FLIPS` of the :data:`WEAKEST` least sure bits may be flipped) and tries at most
:data:`MAX_CANDIDATES` periods, so an unmarked image passes by chance about
794 x 4 / 2^32, under 1 in a million; the benchmark's thousands of photos and renders find none.

An image of fewer than :data:`MIN_PIXELS` pixels (512 x 512) holds too few tiles for the mark to
outlive a resize or a crop: :func:`embed` still marks any image of :data:`DETECT_MIN_PIXELS` or
more, and the export says in its stamp when its file is smaller than the mark needs
(:func:`mark_note`).
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from facestudio.errors import FacestudioError
from facestudio.provenance import watermark_v1

MIN_SIDE = 512
MIN_PIXELS = MIN_SIDE * MIN_SIDE  # the smallest image whose mark outlives a 50 % resize and a 10 % crop
DETECT_MIN_PIXELS = 256 * 256     # smaller images are neither marked nor read
PAYLOAD_BITS = 64
MARKER = 0xFAC5                   # "facestudio"
PREFIX_HEX = 8                    # the model sha256 prefix, 32 bits
TILE = 32                         # the tile's grid of cells (TILE x TILE)
PERIOD = 128                      # pixels per tile when embedded (4 pixels per cell)
MIN_READ_PERIOD = 40              # the smallest period searched: a resize to 31 % of a marked image
MAX_READ_PERIOD = 176             # the largest: an enlargement by 1.37
STRENGTH = 2.45                   # RMS of the pattern in 0-255 brightness: about 40.4 dB PSNR
SYNC_SHARE = 0.45                 # the share of the pattern's amplitude that is the sync
WEAKEST = 12                      # soft decoding: the least confident bits that may be flipped
MAX_FLIPS = 4                     # ... at most this many of them at once
MAX_CANDIDATES = 4                # periods tried per image
MAX_READ_SIDE = 1024              # a larger image is read in a central window this large
# a fixed pseudo-random word XORed onto the payload (from a hash, so it is the same everywhere)
WHITENING = int.from_bytes(hashlib.sha256(b"facestudio watermark v2").digest()[:8], "big")
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


class WatermarkError(FacestudioError, RuntimeError):
    """The watermark cannot be embedded; one sentence."""


@dataclass(frozen=True)
class WatermarkResult:
    """What :func:`detect` read. payload: the 16 hex digits of the de-whitened 64 bits
    (marker, sha256 prefix, CRC) when found; older: the mark is the one facestudio wrote before
    its own (:mod:`.watermark_v1`); reason: why nothing was found, when it says."""

    found: bool
    payload: str | None = None
    model_sha256_prefix: str | None = None
    reason: str | None = None
    older: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"found": self.found, "payload": self.payload, "model_sha256_prefix": self.model_sha256_prefix,
                "older_mark": self.older}

    def describe(self) -> str:
        if self.found:
            kind = " (an older mark)" if self.older else ""
            return f"found{kind}: made by facestudio with a model whose sha256 starts {self.model_sha256_prefix}"
        return f"not found ({self.reason})" if self.reason else "not found"


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


def _bits(word: int) -> np.ndarray:
    return np.array([(word >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)], np.int8)


def _word(bits) -> int:
    word = 0
    for b in bits:
        word = (word << 1) | int(bool(b))
    return word


def _valid(word: int) -> bool:
    head = word >> 16
    return head >> 32 == MARKER and _crc(head) == word & 0xFFFF


def mark_note(width: int, height: int) -> str | None:
    """What the stamp says about the mark of a file of ``width`` x ``height`` pixels: None when
    it is large enough for the mark, else one sentence."""
    if width * height < DETECT_MIN_PIXELS:
        return (f"{width} x {height} pixels is too small for facestudio's invisible watermark "
                f"(it needs {DETECT_MIN_PIXELS:,} pixels); this file carries none")
    if width * height < MIN_PIXELS:
        return (f"{width} x {height} pixels is smaller than facestudio's invisible watermark needs "
                f"({MIN_SIDE} x {MIN_SIDE}) to outlive resizing and cropping; the mark in this file is weak")
    return None


def upscale_factor(width: int, height: int) -> int:
    """The smallest whole factor that brings ``width`` x ``height`` to :data:`MIN_PIXELS`."""
    return max(1, math.ceil(math.sqrt(MIN_PIXELS / max(1, width * height))))


# ---- the pattern -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _layout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fixed layout: the sync signs, each cell's bit and each cell's sign (TILE x TILE)."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(b"facestudio tile v2").digest()[:8], "big"))
    sync = rng.choice(np.array([-1.0, 1.0], np.float32), (TILE, TILE))
    owner = rng.permutation(np.arange(TILE * TILE) % PAYLOAD_BITS).reshape(TILE, TILE)
    sign = rng.choice(np.array([-1.0, 1.0], np.float32), (TILE, TILE))
    return sync, owner, sign


def _resample(tile: np.ndarray, size: int) -> np.ndarray:
    """A periodic ``TILE`` x ``TILE`` (or any square) array band-limited to ``size`` x ``size``
    by Fourier interpolation (or decimation): its frequencies kept, the rest zero."""
    n = tile.shape[0]
    spectrum = np.fft.fftshift(np.fft.fft2(tile))
    out = np.zeros((size, size), np.complex128)
    keep = min(n, size) - (min(n, size) + 1) % 2  # odd: no Nyquist row to split
    a, b = n // 2 - keep // 2, size // 2 - keep // 2
    out[b:b + keep, b:b + keep] = spectrum[a:a + keep, a:a + keep]
    return np.real(np.fft.ifft2(np.fft.ifftshift(out))) * (size * size) / (n * n)


@functools.lru_cache(maxsize=8)
def _pattern(word: int) -> np.ndarray:
    """The embedded pattern of the whitened payload ``word``: ``PERIOD`` x ``PERIOD`` float32, RMS 1."""
    sync, owner, sign = _layout()
    bits = _bits(word).astype(np.float32) * 2 - 1
    cells = SYNC_SHARE * sync + (1 - SYNC_SHARE) * sign * bits[owner]
    tile = _resample(cells - cells.mean(), PERIOD)
    return (tile / np.sqrt(np.mean(tile ** 2))).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _sync_at(size: int) -> np.ndarray:
    """The conjugate spectrum of the sync pattern drawn at ``size`` x ``size`` pixels."""
    return np.conj(np.fft.rfft2(_resample(_layout()[0], size)))


def _as_rgb(image: Image.Image | np.ndarray) -> Image.Image:
    img = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    return img.convert("RGB")


def embed(image: Image.Image | np.ndarray, model_sha256: str) -> Image.Image:
    """``image`` with the watermark in its pixels (RGB), its size unchanged; an image of
    fewer than :data:`DETECT_MIN_PIXELS` pixels is returned unmarked (see :func:`mark_note`)."""
    img = _as_rgb(image)
    if img.width * img.height < DETECT_MIN_PIXELS:
        return img
    pattern = _pattern(payload_word(model_sha256) ^ WHITENING)
    reps = (-(-img.height // PERIOD), -(-img.width // PERIOD))
    delta = np.tile(pattern, reps)[:img.height, :img.width] * STRENGTH
    pixels = np.asarray(img, np.float32) + delta[..., None]
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")


# ---- reading -----------------------------------------------------------------------------


def _whitened(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The whitened brightness (each frequency at unit magnitude, the lowest removed) and its
    autocorrelation."""
    spectrum = np.fft.rfft2(gray - gray.mean())
    magnitude = np.abs(spectrum)
    spectrum = spectrum / (magnitude + np.mean(magnitude) * 0.05 + 1e-6)
    fy = np.abs(np.fft.fftfreq(gray.shape[0]))[:, None]
    fx = np.fft.rfftfreq(gray.shape[1])[None, :]
    spectrum[(fy < 1.5 / MAX_READ_PERIOD) & (fx < 1.5 / MAX_READ_PERIOD)] = 0
    flat = np.fft.irfft2(spectrum, s=gray.shape).astype(np.float32)
    auto = np.fft.irfft2(np.abs(spectrum) ** 2, s=gray.shape)
    return flat, auto


def _candidate_periods(auto: np.ndarray) -> list[float]:
    """The most likely tile periods in pixels: the strongest peaks of the autocorrelation along
    both axes, refined to a fraction of a pixel; a peak's half is tried too (a peak at two periods)."""
    h, w = auto.shape
    top = min(MAX_READ_PERIOD, h // 2, w // 2)  # two periods at least (the lag top + 1 wraps around)
    if top <= MIN_READ_PERIOD:
        return []
    lags = np.arange(MIN_READ_PERIOD - 1, top + 2)
    score = auto[0, lags] + auto[lags, 0]
    inner = score[1:-1]
    peaks = np.flatnonzero((inner > score[:-2]) & (inner >= score[2:])) + 1
    peaks = peaks[np.argsort(score[peaks])[::-1]]
    out: list[float] = []
    for i in peaks[:MAX_CANDIDATES]:
        left, mid, right = score[i - 1], score[i], score[i + 1]
        bend = left - 2 * mid + right
        period = float(lags[i] + (0.5 * (left - right) / bend if bend < 0 else 0.0))
        for p in (period, period / 2):
            if MIN_READ_PERIOD <= p and all(abs(p - q) > 1.0 for q in out):
                out.append(p)
    return out[:MAX_CANDIDATES]


def _fold(flat: np.ndarray, period: float) -> np.ndarray:
    """All tiles of period ``period`` summed onto one ``round(period)`` square (nearest pixel)."""
    size = int(round(period))
    h, w = flat.shape
    ys = (np.floor(np.arange(h) * size / period).astype(np.int64)) % size
    xs = (np.floor(np.arange(w) * size / period).astype(np.int64)) % size
    index = (ys[:, None] * size + xs[None, :]).ravel()
    return np.bincount(index, weights=flat.ravel(), minlength=size * size).reshape(size, size)


def _soft_bits(folded: np.ndarray) -> np.ndarray:
    """Each payload bit's soft value (sign: the bit, magnitude: confidence) from a fold: the
    sync's offset found by circular cross-correlation, the cells read at that offset."""
    size = folded.shape[0]
    corr = np.fft.irfft2(np.fft.rfft2(folded) * _sync_at(size), s=folded.shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    aligned = np.roll(folded, (-int(dy), -int(dx)), axis=(0, 1))
    cells = _resample(aligned, TILE)
    sync, owner, sign = _layout()
    gain = float(np.sum(cells * sync)) / sync.size
    data = (cells - gain * sync) * sign  # the sync's share taken out
    votes = np.bincount(owner.ravel(), weights=data.ravel(), minlength=PAYLOAD_BITS)
    return votes / (np.std(votes) + 1e-12)


def _soft_decode(scores: np.ndarray, whitening: int = WHITENING) -> int | None:
    """The de-whitened payload word nearest the soft bits, or None. The hard decision is tried
    first, then with up to :data:`MAX_FLIPS` of the :data:`WEAKEST` least confident bits
    flipped: the valid word with the smallest total confidence flipped wins (794 candidates)."""
    base = _word(scores > 0) ^ whitening
    if _valid(base):
        return base
    confidence = np.abs(scores)
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


def detect(image: Image.Image | np.ndarray) -> WatermarkResult:
    """Read the watermark of ``image``; ``found`` is False for an unmarked image or one too
    small to carry a mark (``reason`` says so)."""
    pixels = None
    if not isinstance(image, Image.Image):
        pixels = np.asarray(image)
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:  # not RGB bytes: as an image
            image, pixels = Image.fromarray(pixels), None
    h, w = pixels.shape[:2] if pixels is not None else image.size[::-1]
    if w * h < DETECT_MIN_PIXELS:
        return WatermarkResult(False, reason=f"{w} x {h} pixels is too small to carry a watermark "
                                             f"(it needs {DETECT_MIN_PIXELS:,} pixels, e.g. 256 x 256)")
    # a larger image is read in a central window: the period and the tiles stay
    left, top = max(0, (w - MAX_READ_SIDE) // 2), max(0, (h - MAX_READ_SIDE) // 2)
    box = (left, top, left + min(w, MAX_READ_SIDE), top + min(h, MAX_READ_SIDE))
    if pixels is not None:  # RGB bytes (a decoded file): read as they are, without a copy through Pillow
        window = pixels[box[1]:box[3], box[0]:box[2]].astype(np.float32)
    else:
        window = np.asarray((image.crop(box) if box != (0, 0, w, h) else image).convert("RGB"), np.float32)
    flat, auto = _whitened(window @ _LUMA)
    for period in _candidate_periods(auto):
        word = _soft_decode(_soft_bits(_fold(flat, period)))
        if word is not None:
            return _found(word)
    img = image if pixels is None else Image.fromarray(pixels)
    word = _soft_decode(watermark_v1.soft_scores(img), watermark_v1.WHITENING)  # a file exported before
    return _found(word, older=True) if word is not None else WatermarkResult(False)


def _found(word: int, older: bool = False) -> WatermarkResult:
    return WatermarkResult(True, f"{word:016x}", f"{(word >> 16) & 0xFFFFFFFF:08x}", older=older)
