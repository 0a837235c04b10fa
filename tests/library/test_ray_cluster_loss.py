"""A Ray cluster that goes away in the middle of a library build: the build stops with one
sentence and keeps the library, and the same command with the local engine finishes it with
the faces an uninterrupted build keeps. (Tried once by hand before; now a test.)"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import assert_one_sentence
from tests.library.conftest import build_inline, cli, cli_command, rows, spec_for

pytest.importorskip("ray", reason="Ray is not installed (make setup installs facestudio[cluster])")
pytestmark = pytest.mark.slow

COUNT = 192  # faces: 24 blocks of 8, so the cluster is lost with most of them still to make (with 48 a
# loaded machine sometimes saw the build finish before the lost cluster was noticed)
START_S = 120  # how long a cluster and its first committed block may take on a busy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def committed_faces(lib: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{lib / 'catalog.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:  # not made yet, or locked for a moment
        return 0


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        time.sleep(0.2)


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_losing_the_ray_cluster_mid_build_keeps_the_library_and_a_local_run_finishes_it(tmp_path, model):
    port = free_port()
    ray_tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths have a length limit
    ray_cli = Path(sys.executable).with_name("ray")
    # Ray 2.59 and later authenticate clients of a cluster by a token: the cluster and the build share one
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    # the cluster in its own session, so that this test can end exactly the processes it started
    cluster = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--port", str(port), "--num-cpus", "2",
                                "--include-dashboard=false", "--temp-dir", ray_tmp, "--disable-usage-stats"],
                               env={**os.environ, **auth}, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    lib = tmp_path / "lib"
    build = None
    try:
        wait_for(lambda: reachable(port), START_S, "the Ray cluster's start")
        command, env = cli_command("library", "build", "--model", str(model), "--count", str(COUNT),
                                   "--engine", "ray", "--workers", "2", "--ray-address", f"127.0.0.1:{port}",
                                   "--out", str(lib))
        build = subprocess.Popen(command, env={**env, **auth}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: committed_faces(lib) > 0 or build.poll() is not None, START_S, "the first committed block")
        if build.poll() is not None:
            raise AssertionError(f"the build ended before the cluster was lost: {build.communicate()[1]}")
        os.killpg(cluster.pid, signal.SIGKILL)  # the whole cluster goes away at once
        cluster.wait(timeout=30)
        _, err = build.communicate(timeout=180)  # it notices within LIVENESS_CHECK_S
    finally:
        if build is not None and build.poll() is None:
            build.kill()
            build.wait()
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert build.returncode == 1
    said = [line for line in err.splitlines() if line.strip() and not line.startswith("decided ")]  # not progress
    assert_one_sentence("\n".join(said), "the Ray cluster", "the library is kept", "--engine local")
    kept_before = committed_faces(lib)
    assert 0 < kept_before < COUNT
    finished = cli("library", "build", "--model", str(model), "--count", str(COUNT), "--workers", "2",
                   "--out", str(lib))
    assert finished.returncode == 0, finished.stderr
    checked = cli("library", "verify", str(lib))
    assert checked.returncode == 0, checked.stderr
    uninterrupted = tmp_path / "uninterrupted"
    build_inline(uninterrupted, model, spec_for(model, COUNT))
    assert len(rows(lib)) == COUNT and rows(lib) == rows(uninterrupted)
