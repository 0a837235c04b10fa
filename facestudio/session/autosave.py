"""Autosave and crash recovery.

The folder is chosen by the UI — typically ``QStandardPaths.AppDataLocation`` (or
``AppLocalDataLocation``) plus ``"autosave"`` — and passed in; nothing here imports Qt.
It holds two files:

* ``autosave.fsession`` — the latest autosave, an ordinary session file;
* ``running.lock`` — a marker holding the PID of the studio that owns the folder.

Intended flow in the UI::

    found = recoverable(folder)          # before start(): a crashed run left a session?
    if found and user_accepts():
        doc = load_session(found)
    saver = Autosaver(folder); saver.start()
    ...  saver.save(doc) on a timer / after edits  ...
    saver.stop(clean=True)               # on a normal quit: nothing to recover next time

A crash leaves the marker behind with a PID that is no longer alive, so the next run's
:func:`recoverable` offers the autosave. A marker whose PID is alive belongs to a studio
that is still running, and its autosave is left alone: a second studio opened meanwhile
takes a slot of its own (:func:`claim_folder`), so two windows never write one autosave.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from facestudio.fileio import atomic_write
from facestudio.session.document import SessionDocument, save_session

AUTOSAVE_NAME = "autosave.fsession"
MAX_SLOTS = 16  # studios running at once, each with its own autosave
MARKER_NAME = "running.lock"
CLOCK_SLACK_S = 2.0  # boot-time rounding when comparing a process start with the marker time


class Autosaver:
    """Writes ``<folder>/autosave.fsession`` atomically and owns ``<folder>/running.lock``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.autosave_path = self.folder / AUTOSAVE_NAME
        self.marker_path = self.folder / MARKER_NAME
        self._started = False

    def start(self) -> None:
        """Create the folder if needed and write the marker with this process's PID.

        An autosave left by a crashed run is kept until the first :meth:`save` replaces it,
        so call :func:`recoverable` before this if recovery should be offered.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.marker_path, overwrite=True) as tmp:
            tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
        self._started = True

    def save(self, doc: SessionDocument) -> Path:
        """Autosave ``doc`` (replacing the previous autosave) and return the file's path.

        Starts the marker first if :meth:`start` was not called. Errors are those of
        :func:`save_session`; the previous autosave survives a failed one.
        """
        if not self._started:
            self.start()
        return save_session(doc, self.autosave_path, overwrite=True)

    def stop(self, clean: bool = True) -> None:
        """Give up the folder: remove the marker, and with ``clean`` also the autosave.

        ``clean=False`` keeps the autosave, so the next run offers it for recovery. Files
        are left alone if another running studio has taken the marker over meanwhile.
        """
        owner = _marker_pid(self.marker_path)
        if owner is None or owner == os.getpid():
            if clean:
                self.autosave_path.unlink(missing_ok=True)
            self.marker_path.unlink(missing_ok=True)
        self._started = False


def claim_folder(base: str | Path) -> Path:
    """The autosave folder for a studio starting now: ``base`` itself, or when a running
    studio owns it, the first of ``base/studio-2``, ``base/studio-3``, ... that no running
    studio owns (a slot a crashed studio left keeps its autosave for :func:`recoverable`).
    A slot whose marker is not a regular file is skipped. Past :data:`MAX_SLOTS` running
    studios the last slot is shared."""
    base = Path(base)
    slots = [base] + [base / f"studio-{n}" for n in range(2, MAX_SLOTS + 1)]
    for folder in slots:
        marker = folder / MARKER_NAME
        if marker.exists() and not marker.is_file():
            continue  # a folder (or pipe) in the marker's place: no studio can use this slot
        pid = _marker_pid(marker)
        if pid is None or pid == os.getpid():
            return folder
        try:
            written = marker.stat().st_mtime
        except OSError:
            return folder
        if not pid_alive(pid, since=written):
            return folder
    return slots[-1]


def recoverable(folder: str | Path) -> Path | None:
    """The autosave in ``folder`` if it was left by a studio that is not running, else None.

    That is: the autosave exists, and the marker is missing, unreadable, or names a process
    that has exited (a crash, or a stop that kept the autosave).
    """
    folder = Path(folder)
    autosave = folder / AUTOSAVE_NAME
    if not autosave.is_file():
        return None
    marker = folder / MARKER_NAME
    pid = _marker_pid(marker)
    if pid is None:
        return autosave
    try:
        written = marker.stat().st_mtime
    except OSError:
        return autosave
    return None if pid_alive(pid, since=written) else autosave


def _marker_pid(marker: Path) -> int | None:
    """The PID written in ``marker``, or None if it is missing or does not hold one."""
    try:
        text = marker.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def pid_alive(pid: int, since: float | None = None) -> bool:
    """Whether process ``pid`` is running (and, on Linux, started no later than ``since``).

    ``since`` is a Unix time the owner was certainly running at (the marker's mtime): a
    process with this PID that started later is a different program that reused the PID,
    e.g. after a reboot, and counts as not alive.
    """
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists but belongs to another user
    except OSError:
        return False
    if since is not None:
        started = _linux_start_time(pid)
        if started is not None and started > since + CLOCK_SLACK_S:
            return False
    return True


def _linux_start_time(pid: int) -> float | None:
    """Unix time process ``pid`` started, from /proc; None where that is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, "starttime", in clock ticks
        return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _windows_pid_alive(pid: int) -> bool:
    """OpenProcess + GetExitCodeProcess; ``os.kill(pid, 0)`` would terminate it on Windows."""
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    process_query_limited_information, still_active, error_access_denied = 0x1000, 259, 5
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == error_access_denied
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
