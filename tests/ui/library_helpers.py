"""A large stock library without rendering it: catalogue rows whose files are hard links to a few
real images, for the Library tab's tests and its screenshot."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from facestudio.analysis.skin_tone import TONE_CATEGORIES
from facestudio.latent.recipe import Recipe
from facestudio.library.catalog import Catalog, FaceRow


def colour_images(folder: Path, count: int = 8) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"source-{i}.png"
        Image.new("RGB", (128, 128), (30 * i % 256, 80, 255 - 30 * i % 256)).save(path)
        paths.append(path)
    return paths


def synthetic_library(lib: Path, count: int, sources: list[Path], model_sha256: str = "0" * 64,
                      measured: list[tuple] | None = None) -> None:
    """``count`` faces: seed = position, ages 0-99 by seed, P(female) alternating, tones in turn,
    lookalike distance 0.40-0.59 by seed; every file a hard link to one of ``sources`` (a library
    follows no symbolic link). With
    ``measured`` (``(age, p_female, tone, distance)`` per source), each row takes its source's."""
    lib.mkdir(parents=True, exist_ok=True)
    rows = []
    for p in range(count):
        file = f"faces/{p % 1000:03d}/seed-{p:010d}{sources[p % len(sources)].suffix}"
        (lib / file).parent.mkdir(parents=True, exist_ok=True)
        os.link(Path(sources[p % len(sources)]).resolve(), lib / file)
        recipe = json.dumps(Recipe(model_sha256, p, psi=0.7).to_dict(), sort_keys=True)
        age, p_female, tone, distance = (measured[p % len(sources)] if measured else
                                         (float(p % 100), 0.9 if p % 2 else 0.1,
                                          TONE_CATEGORIES[p % len(TONE_CATEGORIES)], 0.4 + (p % 20) / 100))
        rows.append(FaceRow(p, p, file, recipe, model_sha256, "0" * 64, age, p_female, 0.0, tone, distance, "x.jpg",
                            np.zeros(128, np.float32).tobytes(), 0.0))
    with Catalog(lib, create=True) as catalog:
        catalog.set_spec(json.dumps({"count": count}), "0" * 64, None)
        for start in range(0, count, 1000):
            catalog.add_batch(rows[start:start + 1000], [])
