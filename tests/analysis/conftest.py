"""Fixtures of the analysis tests: a few UTKFace photos copied at test time (never committed)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

UTKFACE_TAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "utkface" / "UTKFace.tar"
if not UTKFACE_TAR.is_file():  # a worktree beside main: the shared data is beside main
    UTKFACE_TAR = Path("/work/shared/data/utkface/UTKFace.tar")


@pytest.fixture
def dlib_ready():
    """Skip when the [lookalike] extra (dlib and its model files) is not installed."""
    pytest.importorskip("dlib", reason="the [lookalike] extra (dlib) is not installed")
    from facestudio.analysis.identity import DlibMissingError, model_files
    try:
        model_files()
    except DlibMissingError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def real_faces(tmp_path) -> list[Path]:
    """Three UTKFace photos copied into ``tmp_path/faces`` (skips when the data is absent)."""
    if not UTKFACE_TAR.is_file():
        pytest.skip(f"UTKFace is not at {UTKFACE_TAR}")
    folder = tmp_path / "faces"
    folder.mkdir()
    out = []
    with tarfile.open(UTKFACE_TAR) as tar:
        for i, m in enumerate(tar):
            if m.isfile() and m.name.endswith(".jpg"):
                data = tar.extractfile(m).read()
                p = folder / Path(m.name).name
                p.write_bytes(data)
                out.append(p)
                if len(out) == 3:
                    break
    return out


@pytest.fixture
def blank_image(tmp_path) -> Path:
    """A flat grey picture: no face in it."""
    p = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 120, 3), 128, np.uint8)).save(p)
    return p
