"""Keep freed memory in the process instead of handing it back to the kernel on every render.

A render allocates each block's features afresh: at 1024 px one feature map is 128 MB. glibc
serves allocations that large with ``mmap`` and unmaps them when freed, so every render pays
again for zeroed pages faulted in one at a time. Measured on the 2-core development CPU for an
FFHQ-size 1024 px network (median of 7, render on a worker thread): 1.84-2.01 s per exact
render with glibc's defaults, 1.32-1.36 s once freed blocks stay in the heap for the next
render; bf16 full renders 0.89-0.92 s -> 0.64-0.69 s. The bundled 64 px model is unaffected
(its features are far below the threshold). The price is that the process keeps its peak
memory after a render, which a studio that renders again a moment later reaches anyway.

:func:`keep_freed_memory` is called once at start, before the first render, by the
composition root (the command line, the studio) and by the stock library's worker processes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

# mallopt(3) parameters (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1 << 30  # allocations below this come from the heap and go back to it
MMAP_THRESHOLD_FALLBACK = 32 << 20  # glibc's own ceiling where it refuses a larger one
TRIM_THRESHOLD = 4 << 30  # free memory at the top of the heap kept before trimming
OPT_OUT_ENV = "FACESTUDIO_KEEP_FREED_MEMORY"  # "0": leave glibc's defaults (the test suite does)

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep large freed blocks (and to use one arena for all threads,
    so the render worker's thread reuses them too). Returns whether the settings took; False,
    with nothing changed, where the C library is not glibc (macOS, Windows, musl) or
    ``$FACESTUDIO_KEEP_FREED_MEMORY`` is ``0``. Calling it again does nothing more.

    The test suite opts out: it runs many commands in one process and forks size-capped
    children from it, and Linux reports a forked child's peak memory as at least its parent's
    resident memory at the fork, which a process that keeps its peak never gives back."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux") or os.environ.get(OPT_OUT_ENV, "").strip() == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        gnu_get_libc_version = libc.gnu_get_libc_version  # glibc only
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    gnu_get_libc_version.restype = ctypes.c_char_p
    threshold_ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) or mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_FALLBACK)
    _applied = bool(threshold_ok and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) and mallopt(M_ARENA_MAX, 1))
    log.debug("glibc %s: keep freed memory: %s", gnu_get_libc_version().decode(), _applied)
    return _applied
