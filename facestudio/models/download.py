"""Download one file safely: resumable, cancellable, verified before it is used.

:func:`download` writes into ``<dest>.part``; when a ``.part`` is already there it asks the
server for the rest with an HTTP ``Range`` request (and starts over when the server ignores
it and sends the whole file). Progress goes to ``progress(done, total)`` in bytes (``total``
0 when unknown); ``cancel`` (a :class:`threading.Event`) stops it between chunks and keeps
the ``.part`` for a later resume. A dropped connection is resumed ``retries`` times before it
gives up. Only when the whole file is there is its sha256 computed: a file that does not
match the expected hash is deleted, never renamed into place; one that does (or one with no
expected hash, reported as unverified) is renamed atomically onto ``dest``.

Blocking and thread-agnostic: call it on a worker thread. Standard library only.
"""

from __future__ import annotations

import http.client
import os
import re
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from facestudio import __version__
from facestudio.errors import FacestudioError
from facestudio.fileio import file_sha256

Progress = Callable[[int, int], None]
CHUNK = 256 << 10
USER_AGENT = f"facestudio/{__version__} (model library)"
CONTENT_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(FacestudioError):
    """A download that did not produce a usable file; the message is one sentence."""


class DownloadCancelled(DownloadError):
    """The user cancelled; the ``.part`` file is kept so that the download can resume."""


class ChecksumError(DownloadError):
    """The downloaded file is not the published one; it has been deleted."""


class _Interrupted(Exception):
    """The connection failed midway: worth resuming."""


@dataclass(frozen=True)
class Downloaded:
    """A finished download: ``path`` (the final file), its ``sha256`` and ``size`` in bytes;
    ``verified`` is True only when ``sha256`` matched an expected value."""

    path: Path
    sha256: str
    size: int
    verified: bool


def part_path(dest: Path) -> Path:
    """Where the unfinished download of ``dest`` is kept."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def download(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,
             progress: Progress | None = None, cancel: threading.Event | None = None,
             timeout: float = 30.0, retries: int = 3) -> Downloaded:
    """Fetch ``url`` into ``dest`` (see the module doc).

    sha256: expected lower-case hex digest, or None (the result is then unverified);
    size: expected size in bytes, or None; timeout: seconds a read may stall;
    retries: how many times a dropped connection is resumed before giving up.
    Raises :class:`DownloadError` (or its subclasses) with one sentence.
    """
    if not url.lower().startswith(("https://", "http://")):
        raise DownloadError(f"refusing to download {url!r}: only http and https addresses are allowed")
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the folder {dest.parent}: {exc.strerror or exc}") from None
    part = part_path(dest)
    report = progress or (lambda done, total: None)
    failures = 0
    while True:
        try:
            _fetch_into(url, part, size, report, cancel, timeout)
            break
        except _Interrupted as exc:
            failures += 1
            kept = part.stat().st_size if part.exists() else 0
            if failures > retries:
                raise DownloadError(f"the download of {dest.name} was interrupted ({exc}); {kept:,} bytes "
                                    "are kept, so starting it again resumes where it stopped") from None
            if cancel is not None and cancel.wait(min(0.5 * failures, 3.0)):
                raise DownloadCancelled(f"the download of {dest.name} was cancelled; {kept:,} bytes are "
                                        "kept, so starting it again resumes where it stopped") from None
        except OSError as exc:  # the .part itself cannot be written
            raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    return _finish(part, dest, sha256, size)


def _fetch_into(url: str, part: Path, size: int | None, report: Progress,
                cancel: threading.Event | None, timeout: float) -> None:
    """One request: append the rest of the file to ``part`` (or write it whole)."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:  # not a prefix of the expected file
        part.unlink()
        offset = 0
    if size is not None and offset == size:
        return  # complete already: only the checksum is left
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and offset:  # nothing after offset: whole already, or a stale .part
            if size is None:
                return  # let the checksum decide
            part.unlink()
            raise _Interrupted("the server could not resume the partial file") from None
        raise DownloadError(f"the server answered {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        raise _Interrupted(f"cannot reach the server: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Interrupted(str(exc) or type(exc).__name__) from None
    with response:
        mode = "wb"
        if offset and response.status == 206:
            match = CONTENT_RANGE_RE.fullmatch(response.headers.get("Content-Range", "").strip())
            if not match or int(match.group(1)) != offset:
                part.unlink()
                raise _Interrupted("the server resumed at the wrong place")
            mode = "ab"
        else:
            offset = 0  # a 200 carries the whole file: the server ignored the Range request
        length = _content_length(response)
        total = offset + length if length is not None else (size or 0)
        if size is not None and length is not None and total != size:
            part.unlink(missing_ok=True)
            raise DownloadError(f"the server offers {total:,} bytes for {url}, but the catalog expects "
                                f"{size:,}: the file has changed, so it was not downloaded")
        _copy(response, part, mode, offset, total, size, report, cancel)
        done = part.stat().st_size
        if length is not None and done < offset + length:
            raise _Interrupted(f"the connection closed after {done:,} of {offset + length:,} bytes")


def _content_length(response) -> int | None:
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _copy(response, part: Path, mode: str, offset: int, total: int, size: int | None,
          report: Progress, cancel: threading.Event | None) -> None:
    done = offset
    report(done, total)
    with part.open(mode) as f:
        while True:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"the download of {part.name[:-len('.part')]} was cancelled; "
                                        f"{done:,} bytes are kept, so starting it again resumes where it "
                                        "stopped")
            try:
                chunk = response.read1(CHUNK)  # what has arrived, so that cancel stays prompt
            except (OSError, http.client.HTTPException) as exc:
                raise _Interrupted(str(exc) or type(exc).__name__) from None
            if not chunk:
                return
            f.write(chunk)
            done += len(chunk)
            if size is not None and done > size:
                f.close()
                part.unlink()
                raise DownloadError(f"the server sent more than the expected {size:,} bytes; "
                                    "the file was deleted")
            report(done, total)


def _finish(part: Path, dest: Path, sha256: str | None, size: int | None) -> Downloaded:
    """Check the whole file; rename it onto ``dest`` or delete it."""
    if not part.exists():
        raise DownloadError(f"the download of {dest.name} produced no file")
    actual = part.stat().st_size
    if size is not None and actual != size:
        part.unlink()
        raise DownloadError(f"{dest.name} has {actual:,} bytes instead of {size:,}; the file was deleted")
    digest = file_sha256(part)
    if sha256 is not None and digest != sha256.lower():
        part.unlink()
        raise ChecksumError(f"{dest.name} does not match its published sha256 (expected {sha256[:16]}…, "
                            f"got {digest[:16]}…), so it was deleted and will not be used")
    os.replace(part, dest)
    return Downloaded(dest, digest, actual, verified=sha256 is not None)
