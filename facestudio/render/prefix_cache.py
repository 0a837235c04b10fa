"""Partial re-render: reuse the activations of the synthesis blocks an edit did not touch.

Block ``b`` of the synthesis network reads ws rows ``[start_b, end_b)``, and its output
(features ``x`` and, for skip, the running image) depends on rows ``[0, end_b)`` only. An edit
of the fine layers leaves the first rows unchanged, so the blocks that read only those rows
give the same output as last time: the cache keeps each block's output under a digest of
the rows it depends on, and a render starts from the deepest block whose digest is cached.
The reused tensors are the very ones computed before, so the result is bit-identical to a
full render. ``noise="random"`` is never cached (each render draws new noise).

Memory is bounded (least recently used entries go first); the last block's output is not
kept, since only the blocks before it are ever reused.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import torch

DEFAULT_MAX_BYTES = 192 << 20


def _nbytes(entry: tuple[torch.Tensor, torch.Tensor | None]) -> int:
    return sum(t.numel() * t.element_size() for t in entry if t is not None)


class PrefixCache:
    """LRU of ``digest -> (x, img)`` block outputs, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, tuple[torch.Tensor, torch.Tensor | None]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def get(self, key: bytes):
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: bytes, entry: tuple[torch.Tensor, torch.Tensor | None]) -> None:
        size = _nbytes(entry)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._bytes -= _nbytes(old)


def block_row_ends(synthesis) -> list[int]:
    """For each block, the end (exclusive) of the ws rows its output depends on."""
    ends, start = [], 0
    for block in synthesis.blocks():
        ends.append(start + block.num_conv + block.num_torgb)
        start += block.num_conv
    return ends


def first_changed_block(synthesis, first_changed_row: int) -> int:
    """Index of the first block whose output depends on ws row ``first_changed_row``."""
    for i, end in enumerate(block_row_ends(synthesis)):
        if first_changed_row < end:
            return i
    return len(block_row_ends(synthesis))


def run_blocks(synthesis, ws: torch.Tensor, noise: str, cache: PrefixCache | None,
               stop_block: int | None = None) -> tuple[torch.Tensor | None, torch.Tensor | None, int]:
    """Run the synthesis blocks ``0 .. stop_block`` (all when None) on ``ws`` ``[N, num_ws, w_dim]``,
    resuming from cached outputs where the ws prefix matches. Returns ``(x, img, blocks_reused)``.

    Call under ``torch.inference_mode``. ``img`` is the running skip image (the output image
    once the last block has run); for resnet/orig it is None until the last block.
    """
    blocks = synthesis.blocks()
    last = len(blocks) - 1 if stop_block is None else stop_block
    block_ws = synthesis.block_ws(ws)
    use_cache = cache is not None and noise != "random"
    keys: list[bytes] = []
    if use_cache:
        digest = hashlib.blake2b(digest_size=20)
        digest.update(noise.encode() + str(tuple(ws.shape)).encode())
        flat = ws.detach().cpu().contiguous().numpy()
        start = 0
        for end in block_row_ends(synthesis)[: last + 1]:
            digest.update(flat[:, start:end].tobytes())
            keys.append(digest.copy().digest())
            start = end
    x = img = None
    first = 0
    if use_cache:
        for b in range(last, -1, -1):
            hit = cache.get(keys[b])
            if hit is not None:
                x, img = hit
                first = b + 1
                cache.hits += 1
                break
        else:
            cache.misses += 1
    for b in range(first, last + 1):
        x, img = blocks[b](x, img, block_ws[b], noise)
        if use_cache and b < len(blocks) - 1:
            cache.put(keys[b], (x, img))
    return x, img, first
