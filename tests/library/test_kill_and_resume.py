"""A build killed with SIGKILL at random moments, resumed by the same command, gives the
library an uninterrupted build gives, row by row and file by file."""

from __future__ import annotations

import random
import signal
import subprocess
import time

from facestudio.commands.library import verify_library
from facestudio.library.build import library_files
from tests.library.conftest import build_inline, cli, cli_command, rows, skipped, spec_for

COUNT = 20  # three blocks of 8
KILLS = 3


def _catalog_rows(lib) -> int:
    try:
        return len(rows(lib))
    except Exception:  # not made yet
        return 0


def test_killed_builds_resume_to_the_same_library(tmp_path, model):
    reference = tmp_path / "reference"
    build_inline(reference, model, spec_for(model, COUNT))
    lib = tmp_path / "lib"
    command, env = cli_command("library", "build", "--model", str(model), "--count", str(COUNT),
                               "--out", str(lib), "--workers", "1")
    rng = random.Random(20)
    left_unfinished = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not (lib / "catalog.sqlite").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # somewhere in the reconcile, the first blocks or the last: the moment is drawn in faces
        # committed, not seconds, so that a faster build still gets killed mid-way (issue 35)
        target = rng.randrange(0, COUNT - 8)
        while _catalog_rows(lib) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        left_unfinished += _catalog_rows(lib) < COUNT
    assert left_unfinished, "no kill landed before the build finished: the test tested nothing"
    done = cli("library", "build", "--model", str(model), "--count", str(COUNT), "--out", str(lib), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert rows(lib) == rows(reference)
    assert skipped(lib) == skipped(reference)
    assert library_files(lib) == {r[2] for r in rows(lib)}
    assert not list((lib / ".incoming").glob("*"))
    assert not [p for p in lib.rglob("*.part")]
    count, problems = verify_library(lib)
    assert count == COUNT and all("watermark" in p for p in problems), problems  # noise images may refuse the mark
    again = cli("library", "build", "--model", str(model), "--count", str(COUNT), "--out", str(lib))
    assert again.returncode == 0 and "nothing to add" in again.stdout  # the result, on stdout
