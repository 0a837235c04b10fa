"""Hostile archives for the limit tests, small on disk: zip members of zeros that inflate far
past their size, members whose declared size lies, and .npy headers declaring huge shapes."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class _RepeatingDeflate:
    """A raw deflate compressor that ends every write with a full flush: the stream then
    restarts from an empty window, so equal chunks compress to equal bytes, and each distinct
    chunk is compressed once. A 2.5 GiB member of zeros is written in about a second instead
    of ten, and is still a valid deflate stream of exactly these bytes (CRC included)."""

    def __init__(self):
        self._z = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._done: dict[bytes, bytes] = {}

    def compress(self, data: bytes) -> bytes:
        if data not in self._done:
            self._done[data] = self._z.compress(data) + self._z.flush(zlib.Z_FULL_FLUSH)
        return self._done[data]

    def flush(self) -> bytes:
        return self._z.flush()


def zeros_member(zf: zipfile.ZipFile, name: str, size: int, prefix: bytes = b"") -> None:
    """Add ``name``: ``prefix`` then zero bytes, ``size`` in all, deflated (about 1 KB on disk
    per MB), streamed."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=size > 1 << 31) as f:
        f._compressor = _RepeatingDeflate()  # the writer counts size and CRC; only the deflating differs
        f.write(prefix)
        size -= len(prefix)
        chunk = bytes(1 << 20)
        for start in range(0, size, len(chunk)):
            f.write(chunk[:size - start])


def lie_about_size(path: Path, name: str, declared: int) -> None:
    """Rewrite the uncompressed size ``name`` declares in its local and central headers."""
    data = bytearray(path.read_bytes())
    raw = name.encode()
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        pos = data.find(sig)
        while pos >= 0:
            (n,) = struct.unpack_from("<H", data, pos + name_len_at)
            if data[pos + name_at:pos + name_at + n] == raw:
                struct.pack_into("<I", data, pos + size_at, declared)
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """The .npy header (format 1.0) of an array of ``shape``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def npy_claiming(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """An .npy whose header declares ``shape`` but which holds 16 bytes of data."""
    return npy_header(shape, dtype) + bytes(16)


def npz_bytes(members: dict[str, bytes]) -> bytes:
    """An .npz (a zip of .npy members) holding exactly these member bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def plain_npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@contextmanager
def peak_memory(limit_mb: float):
    """Fail when Python and numpy allocations peak above ``limit_mb`` inside the block (a
    refusal must come before the unpacking, so a regression fails rather than swaps)."""
    tracemalloc.start()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < limit_mb * (1 << 20), f"peak {peak / (1 << 20):.0f} MiB"


