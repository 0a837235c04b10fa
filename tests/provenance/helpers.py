"""Shared helpers for the provenance tests: an independent reader (exiftool) and a stamp."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from facestudio.latent.recipe import Edit, Mix, Recipe
from facestudio.provenance import make_stamp

CARD_META = {"name": "Test faces", "license": "CC-BY-NC-4.0",
             "license_url": "https://creativecommons.org/licenses/by-nc/4.0/",
             "attribution": "facestudio test suite"}
SHA = "0123456789abcdef" * 4
AI_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def exiftool(path: Path) -> dict:
    """``exiftool -j -G1`` of one file, as a dict (skips the test when exiftool is missing)."""
    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed (Debian: libimage-exiftool-perl, see the Makefile)")
    out = subprocess.run(["exiftool", "-j", "-G1", "-n", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def sample_recipe(**changes) -> Recipe:
    recipe = Recipe(SHA, 42, psi=0.7, cutoff=4, edits=(Edit("pca0", 1.5, (0, 4)), Edit("pca3", -0.25, (2, 8))),
                    mix=Mix(7, (4, 8)), model_name="Test faces")
    return recipe.replace(**changes)


def sample_stamp(**kw):
    args = dict(model_name="Test faces", model_sha256=SHA, artist="Zoë <Ångström> & \"Co\"")
    args.update(kw)
    return make_stamp(CARD_META, **args)


def noise_image(size: int = 32, seed: int = 0) -> np.ndarray:
    return (np.random.RandomState(seed).rand(size, size, 3) * 255).astype(np.uint8)


def tiny_png_declaring(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` x ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
