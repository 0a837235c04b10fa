"""Identity embeddings: images are bounded before decoding, no face is an answer, dlib is optional."""

from __future__ import annotations

import struct
import sys
import zlib

import numpy as np
import pytest

from facestudio.analysis import identity
from facestudio.analysis.identity import DlibMissingError, IdentityEmbedder, IdentityError, read_face_image
from tests.helpers import assert_one_sentence


def png_header_only(path, width: int, height: int) -> None:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds none (no IDAT):
    decoding it would fail, so refusing it by its declared size is done before decoding."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + iend)


def test_an_image_past_the_pixel_bound_is_refused_before_decoding(tmp_path):
    p = tmp_path / "huge.png"
    png_header_only(p, 8000, 6000)  # 48 MP: under Pillow's own bomb limit, over facestudio's
    with pytest.raises(IdentityError) as e:
        read_face_image(p)
    assert_one_sentence(e.value, "8000 x 6000", "not decoded")


def test_a_decompression_bomb_is_refused_in_one_sentence(tmp_path):
    p = tmp_path / "bomb.png"
    png_header_only(p, 100_000, 100_000)
    with pytest.raises(IdentityError) as e:
        read_face_image(p)
    assert_one_sentence(e.value, "not decoded")


def test_a_file_that_is_not_an_image_is_one_sentence(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("not a picture")
    with pytest.raises(IdentityError) as e:
        read_face_image(p)
    assert_one_sentence(e.value, "not an image")


def test_dlib_missing_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib now raises ImportError
    with pytest.raises(DlibMissingError) as e:
        IdentityEmbedder()
    assert_one_sentence(e.value, identity.INSTALL_HINT, "the rest of facestudio works")


def test_no_face_is_a_result_not_an_exception(dlib_ready, blank_image):
    m = IdentityEmbedder().measure_file(blank_image)
    assert not m.found and m.embedding is None and m.face_box is None


@pytest.mark.slow
def test_a_real_photo_gives_a_128_d_embedding_near_itself_mirrored(dlib_ready, real_faces):
    from PIL import Image, ImageOps
    e = IdentityEmbedder()
    a = e.measure_file(real_faces[0])
    mirrored = np.asarray(ImageOps.mirror(Image.open(real_faces[0]).convert("RGB")))
    b = e.measure(mirrored)
    assert a.found and b.found and a.embedding.shape == (128,)
    assert a.face_box in ("detector", "whole image")
    assert np.linalg.norm(a.embedding - b.embedding) < identity.SAME_PERSON
