"""Atomic file writes shared by every package: a file either appears whole or not at all."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _default_mode(is_dir: bool) -> int:
    """What open()/mkdir() would give under the current umask (temp files get 0600/0700)."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if is_dir else 0o666) & ~umask


class OutputPathError(Exception):
    """The output path cannot be written (missing folder, read-only, exists)."""


def check_writable_target(path: Path, overwrite: bool = False) -> Path:
    """Raise OutputPathError with one sentence if ``path`` cannot be created."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputPathError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the folder {folder} is not writable")
    if path.exists() and not overwrite:
        raise OutputPathError(f"{path} already exists; choose another name or allow overwriting")
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: it is a folder")
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


@contextlib.contextmanager
def atomic_folder(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success it replaces ``path``.

    On any exception the staging folder is removed and ``path`` is left untouched.
    """
    path = Path(path)
    if path.is_dir():
        _check_existing_folder(path, overwrite)
    else:
        check_writable_target(path, overwrite)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield staging
        os.chmod(staging, _default_mode(is_dir=True))
        for child in staging.rglob("*"):
            os.chmod(child, _default_mode(is_dir=child.is_dir()))
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            staging.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _check_existing_folder(path: Path, overwrite: bool) -> None:
    if not overwrite:
        raise OutputPathError(f"{path} already exists; choose another name or allow overwriting")
    if not os.access(path.parent, os.W_OK):
        raise OutputPathError(f"cannot write {path}: the folder {path.parent} is not writable")
