"""A local engine's workers end with their build, even when the build is killed with SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from facestudio.library.build import INCOMING, fresh_incoming

PARENT = """
import multiprocessing, os, signal, sys, time
from facestudio.library.engines import _exit_with_parent

def orphan():
    import threading
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    time.sleep(60)  # a long task, still running when the build dies

if __name__ == "__main__":
    child = multiprocessing.get_context("spawn").Process(target=orphan)
    child.start()
    time.sleep(1.5)  # the child is up and watching
    print(child.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the build is killed: no cleanup runs
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_a_worker_exits_soon_after_its_build_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid), "the worker outlived its killed build"


def test_fresh_incoming_waits_for_a_late_writer(tmp_path, monkeypatch):
    (tmp_path / INCOMING).mkdir()
    calls = {"n": 0}
    real_mkdir = type(tmp_path).mkdir

    def racing_mkdir(self, *a, **k):  # a killed build's worker drops a file in first, twice
        calls["n"] += 1
        if self.name == INCOMING and calls["n"] <= 2:
            real_mkdir(self, exist_ok=True)
            (self / "late.png").write_bytes(b"x")
            raise FileExistsError(str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(type(tmp_path), "mkdir", racing_mkdir)
    fresh_incoming(tmp_path, settle_s=5)
    assert (tmp_path / INCOMING).is_dir() and not list((tmp_path / INCOMING).iterdir())
    assert calls["n"] == 3
