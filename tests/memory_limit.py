"""Run a facestudio command in a child process whose memory is capped, so that a regression
in a bomb test fails instead of swapping the machine.

Two bounds, both measured on the child alone:

* its address space is capped with ``RLIMIT_AS`` at :data:`ADDRESS_CAP`: what importing
  torch and the CLI reserves (:data:`IMPORT_ADDRESS`, measured: ``import torch,
  facestudio.commands.main`` succeeds from 640 MiB of address space, VmPeak 624 MiB, VmHWM 236 MiB)
  plus :data:`RSS_LIMIT`. An allocation past it fails in the child (MemoryError), so the
  machine never swaps;
* its peak resident memory, which ``os.wait4`` reports, must stay under :data:`RSS_LIMIT`
  (the issue's 1.5 GB).

Because a capped allocation may itself be caught and reported as a sentence, the tests also
match the sentence they expect: a regression shows up as the wrong sentence, a MemoryError
traceback, a kill, or a peak past the limit.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
IMPORT_ADDRESS = 640 * MIB
RSS_LIMIT = 1536 * MIB
ADDRESS_CAP = IMPORT_ADDRESS + RSS_LIMIT
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Capped:
    """What the capped child did: exit status (negative: killed by that signal), its output
    and its peak resident memory in bytes."""

    returncode: int
    stdout: str
    stderr: str
    peak_rss: int
    timed_out: bool


# The capped child is started by a small launcher, not forked from the test process: Linux counts
# a forked (or vforked) child's peak resident memory from its parent's at the fork, and the
# pytest process grows to gigabytes over the suite (models, dlib's landmark model, Qt). The
# launcher is a fresh interpreter of a few MB; it caps the address space, forks and execs the
# command, waits for it with wait4 (the command's own peak) and writes exit status and peak to
# the file it is given.
LAUNCHER = """
import os, resource, sys
report, cap, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
os.setsid()
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    os.execv(sys.executable, [sys.executable, *argv])
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def run_capped(args: list[str], timeout: float = 120, cap: int = ADDRESS_CAP,
               cwd: Path | None = None) -> Capped:
    """``python ARGS`` with the address space capped at ``cap`` bytes and a wall-clock
    ``timeout`` (then killed), importing facestudio from this checkout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
               QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report"
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(report), str(cap), *args],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd, env=env)
        killed = threading.Event()

        def kill():
            killed.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the launcher leads the group: it and the command
            except ProcessLookupError:  # not yet its own group
                proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        code, peak = (int(v) for v in report.read_text().split()) if report.is_file() else (-signal.SIGKILL, 0)
        out.seek(0)
        err.seek(0)
        return Capped(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                      peak, killed.is_set())


def cli(*argv, **kw) -> Capped:
    """``facestudio ARGV`` under the cap."""
    return run_capped(["-m", "facestudio", *map(str, argv)], **kw)


def python(code: str, *args, **kw) -> Capped:
    """``python -c CODE ARGS`` under the cap."""
    return run_capped(["-c", code, *map(str, args)], **kw)


def assert_within_limit(result: Capped) -> None:
    assert not result.timed_out, "the command ran past its time limit"
    assert result.returncode >= 0, f"the command was killed by signal {-result.returncode}"
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr, result.stderr[-2000:]
    assert result.peak_rss < RSS_LIMIT, f"peak resident memory {result.peak_rss / MIB:,.0f} MiB"


def assert_refused(result: Capped, match: str) -> str:
    """A refusal within the memory limit: non-zero exit, one line on stderr matching ``match``
    (a regex), no traceback. Returns that line."""
    assert_within_limit(result)
    assert result.returncode != 0, f"exit 0; stdout: {result.stdout[-500:]}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert re.search(match, lines[0]), lines[0]
    return lines[0]
