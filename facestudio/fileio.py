"""Atomic file writes shared by every package: a file either appears whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from facestudio.errors import FacestudioError

# the temporary names atomic_write / atomic_folder (and the caches' own writers) use:
# ".<target name>.<mkstemp's random letters>.part"
PART_NAME_RE = re.compile(r"\..+\.[A-Za-z0-9_]{6,}\.part")
STALE_PART_AGE_S = 3600.0  # a writer still busy after an hour is not one of ours

def _default_mode(is_dir: bool) -> int:
    """What open()/mkdir() would give under the current umask (temp files get 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if is_dir else 0o666) & ~umask


class OutputPathError(FacestudioError):
    """The output path cannot be written (missing folder, read-only, exists)."""


class InputFileError(FacestudioError, ValueError):
    """A small file facestudio reads (a sidecar, a model card) that is not a regular file or
    is larger than such a file can be; one sentence."""


def open_regular(path: Path, what: str) -> BinaryIO:
    """``path`` opened for reading when it is a regular file (a link to one is followed), else
    :class:`InputFileError` at once: a pipe, a device or a socket would block or never end
    the read, so it is refused before a byte is read. Opened without waiting (a FIFO with no
    writer does not block the open) and judged on the open file, so nothing can be swapped in
    between. OSError when it cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise InputFileError(f"{what} {path} is not a regular file but {_kind(mode)}, so it is not read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    """What a file of ``mode`` is, in a few words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a pipe"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a link")):
        if test(mode):
            return name
    return "not a plain file"


def read_limited(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, refused with :class:`InputFileError` when it is
    not one (:func:`open_regular`) or holds more than ``limit`` bytes, judged before
    reading and while reading (at most ``limit + 1`` bytes are read); ``what`` names it.
    OSError when it cannot be read."""
    path = Path(path)
    too_large = InputFileError(f"{what} {path} is larger than the {limit:,} bytes such a file can hold")
    with open_regular(path, what) as f:
        if os.fstat(f.fileno()).st_size > limit:
            raise too_large
        data = f.read(limit + 1)
    if len(data) > limit:
        raise too_large
    return data


def file_sha256(path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """The sha256 of the file ``path`` in lower-case hex (:func:`hashlib.file_digest`), the
    one file digest of facestudio, reporting ``(bytes done, total)`` to ``progress`` when
    given. OSError when it cannot be read."""
    with open(path, "rb") as f:
        if progress is None:
            return hashlib.file_digest(f, "sha256").hexdigest()
        return hashlib.file_digest(_CountingReader(f, os.fstat(f.fileno()).st_size, progress), "sha256").hexdigest()


class _CountingReader:
    """A binary file that tells ``progress`` how far :func:`hashlib.file_digest` has read it."""

    def __init__(self, f: BinaryIO, total: int, progress: Callable[[int, int], None]) -> None:
        self.f, self.total, self.progress, self.done = f, total, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.f.readinto(buffer)
        if n:
            self.done += n
            self.progress(self.done, self.total)
        return n


def existing_mode(path: Path) -> int | None:
    """The ``st_mode`` of what is at ``path`` itself (a link is not followed), None when there is
    nothing; other OSErrors are the caller's to word."""
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return None


def check_replaceable(path: Path) -> None:
    """Refuse (:class:`OutputPathError`) to replace what is at ``path`` unless it is a regular
    file: a device, a pipe, a socket or a link is never replaced, whatever ``--overwrite`` says."""
    try:
        mode = existing_mode(path)
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputPathError(f"will not replace {path}: it is {_kind(mode)}, not a file facestudio wrote; "
                              "choose another name")


def check_writable_target(path: Path, overwrite: bool = False) -> Path:
    """Raise OutputPathError with one sentence if ``path`` cannot be created."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the folder {folder} is not writable")
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder")
    if os.path.lexists(path) and not overwrite:
        raise OutputPathError(f"{path} already exists; choose another name or allow overwriting")
    check_replaceable(path)
    return path


@contextlib.contextmanager
def atomic_write(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target folder; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = check_writable_target(Path(path), overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _default_mode(is_dir=False))
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def check_folder_target(path: Path, overwrite: bool = False, marker: str | None = None) -> Path:
    """Raise OutputPathError with one sentence if :func:`atomic_folder` could not make ``path``
    (for checking before any work). An existing folder is replaced only with ``overwrite``
    and, when ``marker`` is given, only when it holds that file (the folder is one facestudio
    wrote, such as a ``find`` folder with its ``find.json``) or nothing; anything else at ``path`` (a
    file, a device, a link) is never replaced by a folder."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        _check_existing_folder(path, overwrite)
        if marker is not None and not (path / marker).is_file() and not _is_empty(path):
            raise OutputPathError(f"will not replace the folder {path}: it holds no {marker}, so facestudio did "
                                  "not write it; choose another name")
    elif os.path.lexists(path):
        check_replaceable(path)  # a device, a pipe or a link is never replaced
        if not overwrite:
            raise OutputPathError(f"{path} already exists; choose another name or allow overwriting")
        raise OutputPathError(f"will not replace the file {path} with a folder; choose another name")
    else:
        check_writable_target(path, overwrite)
    return path


def _is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


@contextlib.contextmanager
def atomic_folder(path: Path, overwrite: bool = False, marker: str | None = None) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success it replaces ``path`` (an
    existing folder only as :func:`check_folder_target` allows).

    On any exception the staging folder is removed and ``path`` is left untouched.
    """
    path = check_folder_target(path, overwrite, marker)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield staging
        os.chmod(staging, _default_mode(is_dir=True))
        for child in staging.rglob("*"):
            os.chmod(child, _default_mode(is_dir=child.is_dir()))
        if path.exists():
            _swap_folder(staging, path)
        else:
            staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_folder(staging: Path, path: Path) -> None:
    """Put ``staging`` where the folder ``path`` is. The old folder steps aside under a
    temporary name of :data:`PART_NAME_RE`'s pattern and comes back when the new one cannot
    take its place; either way nothing but ``path`` remains."""
    old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    os.rmdir(old)  # only the unique name was wanted
    path.rename(old)
    try:
        staging.rename(path)
    except BaseException:
        old.rename(path)
        raise
    shutil.rmtree(old, ignore_errors=True)


def describe_os_error(path: Path, exc: OSError) -> str:
    """One sentence for a failed write to ``path``."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {path}: the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write {path}: the folder {Path(path).parent} is not writable"
    if exc.errno == errno.EROFS:
        return f"cannot write {path}: the disk is read-only"
    return f"cannot write {path}: {exc.strerror or exc}"


def _check_existing_folder(path: Path, overwrite: bool) -> None:
    if not overwrite:
        raise OutputPathError(f"{path} already exists; choose another name or allow overwriting")
    if not os.access(path.parent, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the folder {path.parent} is not writable")


def remove_stale_parts(folder: Path, max_age_s: float = STALE_PART_AGE_S, depth: int = 1,
                       now: float | None = None) -> list[Path]:
    """Remove the temporary files (and staging folders) a killed writer left in ``folder``.

    Only names of our own pattern (:data:`PART_NAME_RE`, hidden, ending in ``.part``) last
    modified more than ``max_age_s`` seconds before ``now`` go; a resumable download
    (``NAME.part``, not hidden) is never one of them. Looks ``depth`` folder levels down,
    never follows links and never fails: what cannot be read or removed is left. Returns
    what was removed.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            if PART_NAME_RE.fullmatch(entry.name):
                if now - entry.stat(follow_symlinks=False).st_mtime > max_age_s:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed.append(Path(entry.path))
            elif depth > 0 and entry.is_dir(follow_symlinks=False):
                removed += remove_stale_parts(Path(entry.path), max_age_s, depth - 1, now)
        except OSError:
            continue
    return removed
