"""What the library tests share: a build in this process, and the rows to compare libraries by."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from facestudio.library.build import build_library
from facestudio.library.catalog import Catalog
from facestudio.library.engines import InlineEngine
from facestudio.library.spec import LibrarySpec
from facestudio.library.worker import WorkerConfig
from facestudio.render.renderer import open_renderer

REPO = Path(__file__).resolve().parents[2]
# every column but the creation time: what two builds of one spec must agree on
COMPARED = ("position", "seed", "file", "recipe", "model_sha256", "pixel_sha256", "age", "p_female", "ita", "tone",
            "lookalike_distance", "lookalike_nearest", "embedding")


def spec_for(model: Path, count: int, **kw) -> LibrarySpec:
    g = open_renderer(model).generator
    kw.setdefault("max_tries", 2000)
    return LibrarySpec(count=count, model_sha256=g.sha256, model_name=g.name, **kw)


def build_inline(lib: Path, model: Path, spec: LibrarySpec, progress=None):
    """Build ``lib`` in this process (one worker, torch on one thread, as every worker runs)."""
    config = WorkerConfig(str(Path(lib).resolve()), str(model), spec.canonical_json(), spec.sha256)
    return build_library(lib, spec, config, lambda: InlineEngine(config), progress)


def rows(lib: Path) -> list[tuple]:
    with Catalog(lib, readonly=True) as catalog:
        return [tuple(getattr(r, c) for c in COMPARED) for r in catalog.faces()]


def skipped(lib: Path) -> list[tuple]:
    with Catalog(lib, readonly=True) as catalog:
        return catalog._query("SELECT position, seed, reason, detail FROM skipped ORDER BY position")


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    """``python -m facestudio --threads 1 ARGS`` from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "facestudio", "--threads", "1", *args], env=env,
                          capture_output=True, text=True, **kw)


def cli_command(*args: str) -> tuple[list[str], dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    return [sys.executable, "-m", "facestudio", "--threads", "1", *args], env


@pytest.fixture
def model(native_model):
    return Path(native_model)
