"""The command line: local and Ray engines give the same faces; info, verify, export; bad input."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tests.helpers import assert_one_sentence
from tests.library.conftest import REPO, build_inline, cli, cli_command, rows, spec_for

HAS_RAY = importlib.util.find_spec("ray") is not None


@pytest.mark.skipif(not HAS_RAY, reason="Ray is not installed (make setup installs facestudio[cluster])")
def test_ray_and_local_engines_make_the_same_library(tmp_path, model):
    local, ray_lib = tmp_path / "local", tmp_path / "ray"
    args = ["--model", str(model), "--count", "10"]
    made = cli("library", "build", *args, "--out", str(local), "--workers", "2")
    assert made.returncode == 0, made.stderr
    made = cli("library", "build", *args, "--out", str(ray_lib), "--engine", "ray", "--workers", "2")
    assert made.returncode == 0, made.stderr
    assert len(rows(local)) == 10 and rows(ray_lib) == rows(local)
    inline = tmp_path / "inline"
    build_inline(inline, model, spec_for(model, 10))
    assert rows(inline) == rows(local)  # and one worker in this process agrees with both


def test_verify_passes_a_real_library_and_catches_a_tampered_or_missing_file(tmp_path):
    lib = tmp_path / "lib"  # the bundled model: real faces, checked by the lookalike guard
    made = cli("library", "build", "--count", "3", "--out", str(lib))
    assert made.returncode == 0, made.stderr
    ok = cli("library", "verify", str(lib))
    assert ok.returncode == 0 and "all 3 faces" in ok.stdout, ok.stderr
    first, second = (lib / r[2] for r in rows(lib)[:2])
    with Image.open(first) as img:
        pixels = img.convert("RGB")
    pixels.putpixel((10, 10), (0, 0, 0) if pixels.getpixel((10, 10)) != (0, 0, 0) else (255, 255, 255))
    pixels.save(first)  # a pixel changed, and the stamp gone with the re-save
    second.unlink()
    bad = cli("library", "verify", str(lib))
    assert bad.returncode == 1
    assert f"{first.relative_to(lib)} (seed 0) does not hold the pixels catalogued" in bad.stderr
    assert f"{second.relative_to(lib)} (seed 1) is missing" in bad.stderr
    assert "2 problems in 3 faces" in bad.stderr and "Traceback" not in bad.stderr


def test_info_reports_counts_and_the_audit(tmp_path, model):
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 4))
    out = cli("library", "info", str(lib), "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["faces"] == 4 and info["complete"] and info["audit"]["count"] == 4
    assert sum(info["audit"]["gender"].values()) == 4
    assert info["near_duplicate"]["threshold"] == 0.25
    text = cli("library", "info", str(lib))
    assert "4 of 4 faces" in text.stdout and "skin tone" in text.stdout
    audit = cli("audit", "--library", str(lib), "--json")  # the catalogue's measurements, not measured again
    assert audit.returncode == 0, audit.stderr
    doc = json.loads(audit.stdout)
    assert doc["count"] == 4 and doc["age"] == {**info["audit"]["age"], **doc["age"]}
    assert doc["female_share"] == info["audit"]["female_share"] and "training" in doc
    empty = cli("audit", "--library", str(tmp_path))
    assert empty.returncode != 0 and "not a facestudio library" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_export_parquet_writes_every_row_and_column_and_reads_back(tmp_path, model):
    parquet = pytest.importorskip("pyarrow.parquet", reason="pyarrow (facestudio[data], installed by make setup)")
    from facestudio.library.catalog import FACE_COLUMNS, Catalog
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 3))
    out = cli("library", "export", str(lib), "--parquet", str(tmp_path / "faces.parquet"))
    assert out.returncode == 0, out.stderr
    table = parquet.read_table(tmp_path / "faces.parquet")
    assert table.column_names == list(FACE_COLUMNS) and table.num_rows == 3
    with Catalog(lib, readonly=True) as catalog:
        catalogued = catalog.faces()
    for column in FACE_COLUMNS:  # every value as the catalogue holds it, embeddings' bytes included
        assert table.column(column).to_pylist() == [getattr(r, column) for r in catalogued], column
    again = cli("library", "export", str(lib), "--parquet", str(tmp_path / "faces.parquet"))
    assert again.returncode == 1 and "already exists" in again.stderr  # no silent overwrite


def test_export_parquet_without_pyarrow_is_one_sentence(tmp_path, model):
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 1))
    hidden = tmp_path / "hide" / "pyarrow"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError('pyarrow hidden by the test')\n")
    command, env = cli_command("library", "export", str(lib), "--parquet", str(tmp_path / "faces.parquet"))
    env["PYTHONPATH"] = f"{hidden.parent}{os.pathsep}{env['PYTHONPATH']}"
    out = subprocess.run(command, env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert_one_sentence(out.stderr, "needs pyarrow")
    assert not (tmp_path / "faces.parquet").exists()


@pytest.mark.parametrize("extra, expected", [
    (["--count", "1000001"], "outside 1 to 1,000,000"),
    (["--count", "2", "--start-seed", "1", "--seeds", "x"], "not both"),
    (["--count", "2", "--workers", "0"], "--workers 0"),
    (["--count", "2", "--ray-address", "auto"], "use it with --engine ray"),
    (["--count", "2", "--scale", "9"], "scale"),
])
def test_bad_requests_are_refused_in_one_sentence_before_any_work(tmp_path, extra, expected):
    out = cli("library", "build", "--out", str(tmp_path / "lib"), *extra)
    assert out.returncode == 1
    assert_one_sentence(out.stderr, expected)
    assert not (tmp_path / "lib").exists()


def test_a_library_of_another_model_or_a_file_in_the_way_is_refused(tmp_path, model):
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 1))
    out = cli("library", "build", "--count", "1", "--out", str(lib))  # the bundled model, not the test model
    assert out.returncode == 1
    assert_one_sentence(out.stderr, "another model")
    (tmp_path / "file").write_text("x")
    out = cli("library", "build", "--count", "1", "--out", str(tmp_path / "file"), "--model", str(model))
    assert_one_sentence(out.stderr, "it is a file")
    out = cli("library", "info", str(tmp_path))
    assert_one_sentence(out.stderr, "is not a facestudio library")


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_library_is_refused_in_one_sentence(tmp_path, model):
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 1))
    lib.chmod(0o555)
    try:
        out = cli("library", "build", "--model", str(model), "--count", "1", "--out", str(lib))
    finally:
        lib.chmod(0o755)
    assert out.returncode == 1
    assert_one_sentence(out.stderr, "read-only")


def test_ray_actors_take_gpus_only_where_the_cluster_has_them():
    from facestudio.library.engines import gpus_per_actor

    class Cluster:
        def __init__(self, gpus):
            self.resources = {"CPU": 16.0, **({"GPU": gpus} if gpus else {})}

        def cluster_resources(self):
            return self.resources

    assert gpus_per_actor(Cluster(0), "auto", 4) == 0
    assert gpus_per_actor(Cluster(8), "auto", 4) == 1.0
    assert gpus_per_actor(Cluster(1), "auto", 4) == 0.25
    assert gpus_per_actor(Cluster(8), "cpu", 4) == 0


def test_a_complete_build_ends_its_workers_without_waiting_for_their_last_blocks(tmp_path, model):
    """close(abandon=True), what a build that has all its faces does: a worker still on a
    block is stopped at once (killed by SIGTERM), and no worker process outlives the engine."""
    import signal

    from facestudio.library.build import blocks
    from facestudio.library.engines import LocalEngine
    from facestudio.library.worker import WorkerConfig
    spec = spec_for(model, 40)
    lib = tmp_path / "lib"
    (lib / ".incoming").mkdir(parents=True)
    engine = LocalEngine(WorkerConfig(str(lib), str(model), spec.canonical_json(), spec.sha256), 2)
    processes = []
    try:
        results = engine.run(blocks(spec, 0))
        assert len(next(results)) == spec.batch  # the first block is done; three more are in flight
        processes = list(engine._pool._processes.values())
    finally:
        engine.close(abandon=True)
    assert processes and all(not p.is_alive() for p in processes)
    assert -signal.SIGTERM in [p.exitcode for p in processes]


def test_verify_does_not_load_torch(tmp_path, model):
    """library verify only reads files: the command leaves torch unloaded (a second of start)."""
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 2))
    code = ("import sys; from facestudio.commands.main import main; rc = main(['library', 'verify', sys.argv[1]]); "
            "print('torch' in sys.modules); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code, str(lib)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
