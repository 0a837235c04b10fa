"""Partial re-render: reuse the activations of the synthesis blocks an edit did not touch.

Block ``b`` of the synthesis network reads ws rows ``[start_b, start_b + num_conv + num_torgb)``.
Its features ``x`` depend on rows ``[0, start_b + num_conv)`` only and its running image on
rows ``[0, start_b + num_conv + num_torgb)`` (for skip, the ToRGB row is the next block's
first row). The cache keeps each block's features and image under a digest of the rows they
depend on, and a render resumes from the deepest block whose outputs are cached; when only a
block's image is missing (an edit that starts at its ToRGB row) just its ToRGB runs again.
The reused tensors are the very ones computed before, so the result is bit-identical to a
full render. The last block also keeps the output of its first (upsampling) convolution, under
the rows that convolution reads: a drag of the last block's second convolution or ToRGB (the
finest layers of a 1024 px model, whose preview cannot stop early) then runs one convolution at
full size instead of two (a bf16 drag on an FFHQ-size network: 97 ms per preview instead of
222, measured). A preview does not keep the last block's features: every frame of such a drag
made a new 64 MB entry that pushed the useful ones out. ``noise="random"`` is never cached
(each render draws new noise).

Precision: every entry is tagged with the :class:`~facestudio.render.precision.Precision`
that computed it. A render looks up its own tag only, except that a bf16 render may also
start from exact float32 activations (cast down); bf16 activations are never served to an
exact render.

Memory is bounded (least recently used entries go first); the last block's image is not
kept, since it is the output itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import torch

from facestudio.render.precision import FP32, FP32_NHWC, Precision

DEFAULT_MAX_BYTES = 192 << 20
SETS_KEPT = 1.6  # one exact (float32) set of every block's outputs and most of a bf16 set


def cache_bytes_for(synthesis) -> int:
    """The cache size for a synthesis network: :data:`DEFAULT_MAX_BYTES`, or more where one
    face's float32 block outputs (features and running image) take more than that, as in a
    1024 px network (250 MB). A smaller cache there evicted the early blocks to make room for
    the last ones, so a fine-layer edit re-rendered from the first block (1.15 s instead of
    about 0.75 s of a 1.08 s full render, measured)."""
    config = synthesis.config
    one_face = sum(4 * res * res * (config.channels[res] + config.img_channels) for res in config.block_resolutions)
    one_face += 4 * config.resolution ** 2 * config.channels[config.resolution]  # the last block's first conv
    return max(DEFAULT_MAX_BYTES, int(SETS_KEPT * one_face))


class PrefixCache:
    """LRU of ``key -> tensor`` block outputs, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def tags(self) -> set[str]:
        """The precision tags of the cached entries (for tests and diagnostics)."""
        with self._lock:
            return {key[1] for key in self._entries}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(self, key: tuple) -> torch.Tensor | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, tensor: torch.Tensor) -> None:
        size = tensor.numel() * tensor.element_size()
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return
            self._entries[key] = tensor
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._bytes -= old.numel() * old.element_size()


def block_row_ends(synthesis) -> list[int]:
    """For each block, the end (exclusive) of the ws rows its output (features and image) depends on."""
    ends, start = [], 0
    for block in synthesis.blocks():
        ends.append(start + block.num_conv + block.num_torgb)
        start += block.num_conv
    return ends


def first_changed_block(synthesis, first_changed_row: int) -> int:
    """Index of the first block whose output depends on ws row ``first_changed_row``."""
    ends = block_row_ends(synthesis)
    for i, end in enumerate(ends):
        if first_changed_row < end:
            return i
    return len(ends)


def exact_precision(synthesis, device: torch.device) -> Precision:
    """Float32 in the feature layout the synthesis network itself uses on ``device`` (its
    ``features_channels_last``), so that block-by-block runs equal a whole-network call."""
    layout = getattr(synthesis, "features_channels_last", None)
    if layout is None:
        return FP32
    with torch.inference_mode():
        return FP32_NHWC if layout(device) else FP32


class _Keys:
    """Cache keys of one render: a digest of each ws row prefix, tagged by kind and precision."""

    def __init__(self, ws: torch.Tensor, noise: str):
        digest = hashlib.blake2b(digest_size=20)
        digest.update(noise.encode() + str(tuple(ws.shape)).encode())
        flat = ws.detach().cpu().contiguous().numpy()
        self.prefix = [digest.digest()]  # prefix[r]: rows [0, r)
        for r in range(flat.shape[1]):
            digest.update(flat[:, r].tobytes())
            self.prefix.append(digest.digest())

    def __call__(self, kind: str, tag: str, rows: int) -> tuple:
        return kind, tag, self.prefix[rows]


def run_blocks(synthesis, ws: torch.Tensor, noise: str, cache: PrefixCache | None,
               stop_block: int | None = None, precision: Precision | None = None,
               exact: Precision | None = None) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """Run the synthesis blocks ``0 .. stop_block`` (all when None) on ws ``[N, num_ws, w_dim]``
    in ``precision`` (None: the exact one, :func:`exact_precision`), resuming from cached
    outputs where the ws prefix matches; a bf16 render may also resume from the activations
    of the ``exact`` precision (None: :func:`exact_precision`). Returns
    ``(x, img, blocks_reused)``: the features of the last block run (in ``precision``), the
    running image (float32; for resnet / orig None until the last block) and how many
    blocks' features came from the cache. Call under ``torch.inference_mode``.
    """
    blocks = synthesis.blocks()
    last = len(blocks) - 1 if stop_block is None else stop_block
    block_ws = synthesis.block_ws(ws)
    x_rows, img_rows, has_img, start = [], [], [], 0
    for block in blocks:
        x_rows.append(start + block.num_conv)
        img_rows.append(start + block.num_conv + block.num_torgb)
        has_img.append(block.num_torgb > 0 or bool(has_img and has_img[-1]))
        start += block.num_conv
    use_cache = cache is not None and noise != "random"
    keys = _Keys(ws, noise) if use_cache else None
    exact = exact or exact_precision(synthesis, ws.device)
    precision = precision or exact
    tags = [precision.tag]
    if exact.exact and not precision.exact:
        tags.insert(0, exact.tag)  # the more precise entries first

    def lookup(kind: str, rows: int) -> torch.Tensor | None:
        for tag in tags:
            hit = cache.get(keys(kind, tag, rows))
            if hit is not None:
                return hit
        return None

    x = img = None
    first = 0
    if use_cache:
        for b in range(last, -1, -1):
            cached_x = lookup("x", x_rows[b])
            if cached_x is None:
                continue
            if not has_img[b]:
                x, first = cached_x, b + 1
                break
            cached_img = lookup("img", img_rows[b]) if b < len(blocks) - 1 else None
            if cached_img is not None:
                x, img, first = cached_x, cached_img, b + 1
                break
            before = lookup("img", img_rows[b - 1]) if b > 0 and has_img[b - 1] else None
            if b > 0 and has_img[b - 1] and before is None:
                continue
            # Only this block's ToRGB row changed: its features stay, its image is redone.
            x = cached_x.to(dtype=precision.dtype)  # keeps the layout the block made
            img, first = blocks[b].image(x, before, block_ws[b]), b + 1
            if b < len(blocks) - 1:
                cache.put(keys("img", precision.tag, img_rows[b]), img)
            break
        cache.hits += first > 0
        cache.misses += first == 0
    if x is not None:
        x = x.to(dtype=precision.dtype)  # the layout stays as the block made it
    final = len(blocks) - 1
    split = use_cache and last == final and blocks[final].splits_features
    x0_key_rows = x_rows[final] - blocks[final].num_conv + 1  # the rows the last block's first conv reads
    for b in range(first, last + 1):
        if split and b == final:  # keep the first convolution's output (see the module doc)
            x0 = cache.get(keys("x0", precision.tag, x0_key_rows))
            if x0 is None:
                exact_x0 = cache.get(keys("x0", exact.tag, x0_key_rows)) if exact.exact and not precision.exact else None
                x0 = exact_x0.to(dtype=precision.dtype) if exact_x0 is not None else blocks[b].first_conv(
                    x, block_ws[b], noise)
                cache.put(keys("x0", precision.tag, x0_key_rows), x0)  # a drag casts the exact one once
            x = blocks[b].second_conv(x0, block_ws[b], noise)
            img = blocks[b].image(x, img, block_ws[b])
        else:
            x, img = blocks[b](x, img, block_ws[b], noise, dtype=precision.dtype,
                               channels_last=precision.channels_last)
        if use_cache:
            if not (split and b == final and not precision.exact):
                cache.put(keys("x", precision.tag, x_rows[b]), x)
            if img is not None and b < len(blocks) - 1:
                cache.put(keys("img", precision.tag, img_rows[b]), img)
    return x, img, first
