"""Shared training fixtures."""

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def tiny_images(tmp_path):
    """24 small face-like pictures: a skin-coloured ellipse on a varied background."""
    folder = tmp_path / "faces"
    folder.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    for i in range(24):
        bg = rng.integers(0, 255, 3)
        img = np.broadcast_to(bg, (40, 48, 3)).astype(np.uint8).copy()
        mask = ((yy - 20) / 15) ** 2 + ((xx - 24) / 11) ** 2 < 1
        img[mask] = (200 + rng.integers(-30, 30), 160, 130)
        Image.fromarray(img).save(folder / f"{i}_0_0_x.jpg.chip.jpg")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder
