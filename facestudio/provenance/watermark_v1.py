"""The reader of the older mark, the one facestudio wrote before its own (until issue 35): the
DWT-DCT-SVD method of the ``invisible-watermark`` package with a quantisation step of 42 on
the blue-difference channel. Files exported then still say who made them; nothing writes
this mark any more, and the package is no longer needed to read it.

The method, as read here: the U channel (``0.492 (B - Y) + 0.5``) is halved in resolution by
the Haar transform (each 2 x 2 block's sum over 2), the low band cut into 4 x 4 blocks in
raster order, block ``k`` carrying bit ``k mod 64``; a block's bit is whether its largest
singular value lies in the upper half of a step of 42. (The method takes the singular value
of the block's DCT, but an orthonormal DCT leaves singular values as they are, so the block's
own serve.) The bits are then decoded softly like the current mark's, against the old
whitening word.
"""

from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

PAYLOAD_BITS = 64
STEP = 42.0
BLOCK = 4
# a huge image is read in a band of whole block rows from the top: the bits keep their places
MAX_READ_PIXELS = 1 << 19
WHITENING = int.from_bytes(hashlib.sha256(b"facestudio watermark v1").digest()[:8], "big")


def soft_scores(image: Image.Image) -> np.ndarray:
    """Each payload bit's share of 1-votes minus one half (sign: the bit), from ``image``."""
    w, h = image.size
    if w * h > MAX_READ_PIXELS:
        image = image.crop((0, 0, w, min(h, max(256 * 256 // w + 8, MAX_READ_PIXELS // w) // 8 * 8)))
        h = image.height
    rgb = np.asarray(image.convert("RGB"), np.float32)[:h // 8 * 8, :w // 8 * 8]
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    u = 0.492 * (rgb[..., 2] - luma) + 0.5
    low = (u[0::2, 0::2] + u[0::2, 1::2] + u[1::2, 0::2] + u[1::2, 1::2]) / 2  # the Haar low band
    bh, bw = low.shape[0] // BLOCK, low.shape[1] // BLOCK
    blocks = low.reshape(bh, BLOCK, bw, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)
    largest = np.linalg.svd(blocks.astype(np.float64), compute_uv=False)[:, 0]
    votes = (np.mod(largest, STEP) > STEP / 2).astype(np.float64)
    owner = np.arange(votes.size) % PAYLOAD_BITS
    counts = np.bincount(owner, minlength=PAYLOAD_BITS)
    shares = np.bincount(owner, weights=votes, minlength=PAYLOAD_BITS) / np.maximum(counts, 1)
    return np.where(counts > 0, shares - 0.5, 0.0)
