"""Bounds on the zip archives facestudio reads (sessions, ``.npz`` direction bundles, caches).

Such a file may have been crafted: a 1 MB member can inflate to gigabytes, a small archive
can hold hundreds of thousands of members, and an ``.npy`` header can declare a shape whose
array numpy allocates before reading a byte of it. So, before anything is unpacked:

* :class:`ArchiveBudget` bounds every member's declared size and the total of all members
  read (a member read twice counts twice);
* :func:`read_member` reads at most the declared size in bounded steps (``ZipFile.read``
  would inflate one compressed block whole, however far past its declared size it goes);
  a member that inflates past its declared size then fails its CRC check;
* :func:`check_members` bounds the member count and refuses a name used twice;
* :func:`check_npz` bounds an ``.npz``'s member count, each member's declared size and the
  array size its ``.npy`` header declares, and refuses members that are not ``.npy`` arrays
  (numpy would read those whole, without bounds).

Every refusal is an :class:`ArchiveLimitError` whose message is one sentence; callers turn
it into their own error class.
"""

from __future__ import annotations

import math
import zipfile
from typing import IO

import numpy as np

from facestudio.errors import FacestudioError

NPY_HEADER_SLACK = 64 << 10  # an .npy member is its array plus a header of at most 64 KiB


class ArchiveLimitError(FacestudioError, ValueError):
    """An archive larger or more numerous than facestudio accepts; one sentence."""


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


class ArchiveBudget:
    """What may still be unpacked from one archive: ``max_total`` bytes in all."""

    def __init__(self, what: str, max_total: int):
        self.what, self.max_total, self.used = what, max_total, 0

    def take(self, info: zipfile.ZipInfo, limit: int) -> None:
        """Count ``info``'s declared size, refusing it past ``limit`` or past the total."""
        if info.file_size > limit:
            raise ArchiveLimitError(f"{info.filename} in {self.what} would unpack to "
                                    f"{_mib(info.file_size)}, more than the {_mib(limit)} allowed")
        self.used += info.file_size
        if self.used > self.max_total:
            raise ArchiveLimitError(f"{self.what} would unpack to more than {_mib(self.max_total)} "
                                    f"in all, more than any real one")


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: ArchiveBudget, limit: int) -> bytes:
    """The bytes of ``info``, at most its declared size, counted against ``budget``."""
    budget.take(info, limit)
    with zf.open(info) as f:
        return f.read(info.file_size)


def check_members(zf: zipfile.ZipFile, what: str, max_members: int) -> list[zipfile.ZipInfo]:
    """``zf``'s members, refusing more than ``max_members`` of them, and two of one name (a
    reader would see only the last, which a crafted file can hide behind the first)."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise ArchiveLimitError(f"{what} holds {len(infos):,} entries, more than the "
                                f"{max_members:,} facestudio reads")
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise ArchiveLimitError(f"{what} holds two entries named {info.filename}, which no "
                                    f"facestudio file does")
        seen.add(info.filename)
    return infos


def check_npz(source: str | IO[bytes], what: str, max_members: int, max_member_bytes: int,
              max_total_bytes: int) -> None:
    """Refuse an ``.npz`` (a path or a binary file) whose members are too many or would unpack
    to too much, judged from the zip directory and the ``.npy`` headers alone; a file that is
    not a readable zip archive raises ``zipfile.BadZipFile`` as ``np.load`` would fail."""
    with zipfile.ZipFile(source) as zf:
        budget = ArchiveBudget(what, max_total_bytes)
        for info in check_members(zf, what, max_members):
            budget.take(info, max_member_bytes + NPY_HEADER_SLACK)
            with zf.open(info) as f:
                nbytes = npy_nbytes(*npy_header(f, f"{info.filename} in {what}"))
            if nbytes > max_member_bytes:
                raise ArchiveLimitError(f"the array {info.filename} in {what} declares "
                                        f"{_mib(nbytes)}, more than the {_mib(max_member_bytes)} allowed")


def npy_header(f: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an ``.npy`` stream's header declares (only the header is read);
    ``where`` names the stream in the message."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise ArchiveLimitError(f"{where} is not a plain .npy array ({_one_line(exc)})") from None
    return shape, dtype


def npy_nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def _one_line(message: object) -> str:
    return " ".join(str(message).split())
