"""Stock library throughput: faces/s of whole builds, per-face cost of each stage, memory per
worker, the catalogue's cost per face, and the speed of ``library verify``.

* Builds of ``--count`` faces (default 100) of the bundled model with the engines of
  ``--builds`` (default ``local:1,local:2,ray:2``: the local engine with 1 and 2 workers, the
  Ray engine with 2 actors on a local 2-CPU cluster), wall time from the command's start
  (engine start included) and the steady rate after the first block; then ``library verify``
  of each library, timed, and the kept and skipped seeds' digest (equal digests: the same
  decisions, whatever the speed).
* Stages, one face at a time in this process on one thread, for the bundled model and, when
  ``--model128`` is given (a native model folder or a training state), for that one: render
  (in blocks of 8), attribute measurement, dlib's face measures (which find each face's box),
  lookalike check with the identity embedding (from those boxes), stamped and watermarked
  export, pixel hash; CPU time (``time.process_time``, which the machine's load inflates far
  less than wall time) and wall time. The table is printed in Markdown; ``--json`` keeps everything.
* Catalogue: ``--catalog-rows`` rows (default 20,000) committed in blocks of 8.

Run: ``nice .venv/bin/python tests/benchmarks/library_throughput.py [--count 400] [--builds local:2]``;
the figures before issue 35 come from the same script run on the commit before it (see
docs/benchmarks.md). Not part of the test suite: timings depend on the machine and its load,
so the load average is printed with them.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from facestudio.library.build import build_library
from facestudio.library.catalog import Catalog, FaceRow, file_pixel_sha256, pixel_sha256
from facestudio.library.engines import RayEngine, make_engine
from facestudio.library.spec import LibrarySpec
from facestudio.library.worker import FaceWorker, WorkerConfig
from facestudio.render.renderer import open_renderer


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def spec_of(model: str | None, count: int) -> tuple[LibrarySpec, WorkerConfig]:
    g = open_renderer(model).generator
    spec = LibrarySpec(count=count, model_sha256=g.sha256, model_name=g.name, max_tries=max(2000, 20 * count))
    return spec, g


def decisions_digest(lib: Path) -> str:
    """sha256 of the kept seeds and the skipped seeds with their reasons, in position order."""
    import hashlib
    import sqlite3
    con = sqlite3.connect(f"file:{lib / 'catalog.sqlite'}?mode=ro", uri=True)
    try:
        kept = con.execute("SELECT position, seed FROM faces ORDER BY position").fetchall()
        skipped = con.execute("SELECT position, seed, reason FROM skipped ORDER BY position").fetchall()
    finally:
        con.close()
    return hashlib.sha256(repr((kept, skipped)).encode()).hexdigest()[:16]


def cpu_seconds() -> float:
    """CPU seconds of this process and its ended children (the workers, once shut down)."""
    import resource
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed_verify(lib: Path) -> dict:
    from facestudio.commands.library import verify_library
    began, cpu, load = time.perf_counter(), cpu_seconds(), os.getloadavg()[0]
    count, problems = verify_library(lib)
    seconds = time.perf_counter() - began
    return {"verify_s": round(seconds, 1), "verify_faces_per_s": round(count / max(seconds, 1e-9), 1),
            "verify_cpu_s": round(cpu_seconds() - cpu, 1), "verify_load": load, "verify_problems": len(problems)}


def timed_build(engine: str, workers: int, count: int, model: str | None, folder: Path) -> dict:
    lib = folder / f"{engine}-{workers}"
    spec, _ = spec_of(model, count)
    config = WorkerConfig(str(lib), model, spec.canonical_json(), spec.sha256)
    engines, marks = [], []

    def start():
        e = make_engine(engine, config, workers)
        engines.append(e)
        return e

    def progress(report):
        marks.append((time.perf_counter(), report.added))
        if len(marks) == 2 * workers + 1:  # once every worker is busy: note their memory
            memory.extend(worker_memory(engines[0]))

    memory: list[int] = []
    began, cpu, load = time.perf_counter(), cpu_seconds(), os.getloadavg()[0]
    report = build_library(lib, spec, config, start, progress)
    wall = time.perf_counter() - began
    cpu = cpu_seconds() - cpu
    first_t, first_n = marks[0]
    steady = (report.added - first_n) / max(1e-9, marks[-1][0] - first_t)
    files = [p for p in (lib / "faces").rglob("*") if p.is_file()]
    return {"engine": engine, "workers": workers, "faces": report.added, "seeds_decided": report.decided,
            "wall_s": round(wall, 1), "faces_per_s": round(report.added / wall, 3),
            "steady_faces_per_s": round(steady, 3), "worker_rss_mb": [round(m / 2**20) for m in memory],
            "mean_file_kb": round(sum(p.stat().st_size for p in files) / max(1, len(files)) / 1024),
            "decisions": decisions_digest(lib), "cpu_s": round(cpu, 1), "load": f"{load:.1f}-{os.getloadavg()[0]:.1f}",
            **timed_verify(lib)}


def worker_memory(engine) -> list[int]:
    if isinstance(engine, RayEngine):
        return engine.ray.get([a.memory_bytes.remote() for a in engine._actors])
    return [rss_bytes(pid) for pid in engine._pool._processes]


STAGES = ("render", "measure", "face_measures", "lookalike_and_embedding", "export", "pixel_hash")


class StageClock:
    """Wall and CPU seconds (this process, one thread) per stage."""

    def __init__(self):
        self.wall = dict.fromkeys(STAGES, 0.0)
        self.cpu = dict.fromkeys(STAGES, 0.0)

    def __call__(self, stage: str, work):
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        self.wall[stage] += time.perf_counter() - wall
        self.cpu[stage] += time.process_time() - cpu
        return out


def stage_costs(model: str | None, faces: int, folder: Path) -> dict:
    """Each stage of a worker's block, timed as the worker runs it (see FaceWorker.work)."""
    torch.set_num_threads(1)
    spec, g = spec_of(model, 8)
    lib = folder / f"stages-{g.resolution}"
    (lib / ".incoming").mkdir(parents=True)
    worker = FaceWorker(WorkerConfig(str(lib), model, spec.canonical_json(), spec.sha256))
    from facestudio.analysis import audit
    from facestudio.latent.recipe import Recipe
    from facestudio.provenance.export import export_image
    clock, done = StageClock(), 0
    for block in range(0, faces, 8):
        seeds = list(range(block, block + 8))
        recipes = [Recipe(g.sha256, s, psi=0.7, model_name=g.name) for s in seeds]
        images = clock("render", lambda: worker.renderer.render_batch(recipes, max_batch=8))
        m = clock("measure", lambda: audit.measure_faces(images, worker.net))
        boxes = None
        if getattr(worker, "measurer", None) is not None:  # the dlib measures, which give the boxes (issue 35)
            if hasattr(audit, "face_measures_and_boxes"):
                m, boxes = clock("face_measures", lambda: audit.face_measures_and_boxes(m, images, worker.measurer))
            else:
                m = clock("face_measures", lambda: audit.with_face_measures(m, images, worker.measurer))
        if boxes is not None:  # the block's faces checked in one batch from their boxes, as a worker does
            checked = clock("lookalike_and_embedding", lambda: worker.guard.check_each(images, boxes))
        elif hasattr(worker.guard, "check_each"):
            checked = clock("lookalike_and_embedding", lambda: worker.guard.check_each(images))
        else:  # before issue 35: one face at a time
            checked = clock("lookalike_and_embedding",
                            lambda: [worker.guard.check_with_embeddings([image]) for image in images])
        for image, recipe, (verdict, _) in zip(images, recipes, checked):
            path = lib / ".incoming" / f"seed-{recipe.seed}.png"
            written: list = []
            extra = {"on_pixels": written.append} if "on_pixels" in inspect.signature(export_image).parameters else {}
            clock("export", lambda: export_image(image, path, worker.stamp, recipe, worker.options, overwrite=True,
                                                 xmp_extra=verdict.xmp_fields(), **extra))
            # as a worker does: a PNG's pixels in memory (before issue 35: read back)
            clock("pixel_hash", lambda: pixel_sha256(np.asarray(written[0])) if written else file_pixel_sha256(path))
        done += len(seeds)
    per_face = {k: round(1000 * v / done, 1) for k, v in clock.cpu.items()}
    per_face["total"] = round(sum(per_face.values()), 1)
    wall = {k: round(1000 * v / done, 1) for k, v in clock.wall.items()}
    wall["total"] = round(sum(wall.values()), 1)
    return {"resolution": g.resolution, "faces": done, "cpu_ms_per_face": per_face, "wall_ms_per_face": wall,
            "index_compared": worker.guard.can_check, "file_kb": round(path.stat().st_size / 1024),
            "load": os.getloadavg()[0]}


def catalog_cost(rows: int, folder: Path) -> dict:
    (folder / "catalog-bench").mkdir()
    catalog = Catalog(folder / "catalog-bench", create=True)
    embedding = np.zeros(128, np.float32).tobytes()
    t = time.perf_counter()
    for start in range(0, rows, 8):
        catalog.add_batch([FaceRow(p, p, f"faces/{p % 1000:03d}/seed-{p:010d}.png", '{"seed": %d}' % p, "0" * 64,
                                   "0" * 64, 30.0, 0.5, 20.0, "light", 0.5, "x.jpg", embedding, time.time())
                           for p in range(start, min(rows, start + 8))], [])
    seconds = time.perf_counter() - t
    catalog.close()
    size = sum(p.stat().st_size for p in (folder / "catalog-bench").glob("catalog.sqlite*"))
    return {"rows": rows, "us_per_face": round(1e6 * seconds / rows, 1), "bytes_per_face": round(size / rows)}


def model128(path: str | None, folder: Path) -> str | None:
    """A native model folder for ``path``: itself, or the EMA generator of a training state."""
    if path is None or Path(path).is_dir():
        return path
    from facestudio.training.run import CHECKPOINT_NAME, export
    run = folder / "run128"
    run.mkdir()
    os.symlink(Path(path).resolve(), run / CHECKPOINT_NAME)
    card = Path(__file__).resolve().parents[2] / "weights" / "MODEL_CARD.md"
    return str(export(argparse.Namespace(run=run, export=folder / "faces128", card=card, overwrite=True),
                      log=lambda _m: None))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--count", type=int, default=100)
    p.add_argument("--stage-faces", type=int, default=32)
    p.add_argument("--catalog-rows", type=int, default=20_000)
    p.add_argument("--model128", default=None)
    p.add_argument("--skip-builds", action="store_true")
    p.add_argument("--skip-stages", action="store_true")
    p.add_argument("--builds", default="local:1,local:2,ray:2", help="engine:workers, comma-separated")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="library-bench-"))
    out: dict = {"cpus": os.cpu_count()}
    try:
        out["catalog"] = catalog_cost(args.catalog_rows, folder)
        print(json.dumps(out["catalog"]), file=sys.stderr)
        out["stages"] = [] if args.skip_stages else [stage_costs(None, args.stage_faces, folder)]
        if out["stages"]:
            print(json.dumps(out["stages"][-1]), file=sys.stderr)
        m128 = model128(args.model128, folder)
        if m128 and not args.skip_stages:
            out["stages"].append(stage_costs(m128, args.stage_faces, folder))
            print(json.dumps(out["stages"][-1]), file=sys.stderr)
        out["builds"] = []
        if not args.skip_builds:
            for item in args.builds.split(","):
                engine, workers = item.split(":")
                out["builds"].append(timed_build(engine, int(workers), args.count, None, folder))
                print(json.dumps(out["builds"][-1]), file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = json.dumps(out, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print_tables(out)


def print_tables(out: dict) -> None:
    stages = STAGES + ("total",)
    if out["stages"]:
        print("| CPU ms per face, one thread (wall ms) | " + " | ".join(stages) + " | file | load |")
        print("|---" * (len(stages) + 3) + "|")
        for st in out["stages"]:
            cells = " | ".join(f"{st['cpu_ms_per_face'][k]} ({st['wall_ms_per_face'][k]})" for k in stages)
            print(f"| {st['resolution']} px | {cells} | {st['file_kb']} KB | {st['load']:.1f} |")
    if out.get("builds"):
        print("\n| build | faces (seeds decided) | wall s | CPU s | faces/s | steady faces/s | verify s (CPU s) "
              "| verify faces/s | KB/file | decisions | load (build; verify) |")
        print("|---" * 11 + "|")
        for b in out["builds"]:
            print(f"| {b['engine']} x{b['workers']} | {b['faces']} ({b['seeds_decided']}) | {b['wall_s']} | "
                  f"{b['cpu_s']} | {b['faces_per_s']} | {b['steady_faces_per_s']} | {b['verify_s']} "
                  f"({b['verify_cpu_s']}) | {b['verify_faces_per_s']} | {b['mean_file_kb']} | {b['decisions']} | "
                  f"{b['load']}; {b['verify_load']:.1f} |")
    print(f"\ncatalogue: {out['catalog']}; load average now {os.getloadavg()}")


if __name__ == "__main__":
    main()
