"""The stock library's PNG writer: any reader gets exactly the pixels and the stamp's chunks."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from facestudio.provenance import png_writer


@pytest.mark.parametrize("shape", [(1, 1), (3, 517), (512, 512), (37, 5)])
def test_pixels_come_back_exactly(shape):
    rng = np.random.default_rng(sum(shape))
    pixels = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    data = png_writer.encode_rgb_png(pixels)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.mode == "RGB" and img.size == (shape[1], shape[0])
        assert np.array_equal(np.asarray(img), pixels)


def test_the_stamps_chunks_are_read_back_and_the_pixels_are_split_into_idat_chunks(monkeypatch):
    monkeypatch.setattr(png_writer, "IDAT_BYTES", 4096)  # many IDAT chunks, as in a huge face
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>é</x:xmpmeta>", lang="", tkey="", zip=False)
    info.add_text("Author", "Zoë")
    info.add_text("Description", "生成された顔")
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = png_writer.encode_rgb_png(pixels, [(kind, body) for kind, body, *_ in info.chunks])
    assert data.count(b"IDAT") > 2
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.text["Author"] == "Zoë" and img.text["Description"] == "生成された顔"
        assert img.text["XML:com.adobe.xmp"] == "<x:xmpmeta>é</x:xmpmeta>"
        assert np.array_equal(np.asarray(img), pixels)


def test_the_standard_librarys_zlib_stands_in_for_isal(monkeypatch):
    monkeypatch.setattr(png_writer, "_deflater", zlib)
    pixels = np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    with Image.open(io.BytesIO(png_writer.encode_rgb_png(pixels))) as img:
        assert np.array_equal(np.asarray(img), pixels)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)])
def test_anything_but_rgb_bytes_is_refused(bad):
    with pytest.raises(ValueError, match="expected uint8"):
        png_writer.encode_rgb_png(bad)
