"""Strips written through the provenance export: a sheet, an animation, numbered frames."""

import os

import numpy as np
import pytest
from PIL import Image

from facestudio.fileio import OutputPathError
from facestudio.provenance import ExportError, ExportOptions, read_provenance
from facestudio.provenance.gif_xmp import MAGIC_TRAILER, find_xmp, insert_xmp
from facestudio.provenance.sequence import (MAX_SEQUENCE_PIXELS, check_strip, export_animation, export_frames,
                                            export_strip, strip_kind)
from facestudio.provenance.xmp import build_xmp
from tests.helpers import assert_one_sentence

from .helpers import AI_TYPE, exiftool, sample_stamp


def strip_frames(n=4, size=8):
    return np.stack([np.full((size, size, 3), 30 * i, np.uint8) for i in range(n)])


def test_the_path_decides_the_kind(tmp_path):
    assert strip_kind(tmp_path / "s.png") == strip_kind(tmp_path / "s.JPG") == "sheet"
    assert strip_kind(tmp_path / "s.webp") == strip_kind(tmp_path / "s.gif") == "animation"
    assert strip_kind(str(tmp_path / "new") + "/") == strip_kind(tmp_path) == "frames"
    for bad in ("s.tiff", "frames"):
        with pytest.raises(ExportError) as err:
            strip_kind(tmp_path / bad)
        assert_one_sentence(err.value, full_stop=False)


@pytest.mark.usefixtures("without_watermark")  # compares frames with the API's pixels
def test_sheet_animation_and_frames_hold_the_frames_and_the_stamp(tmp_path):
    frames = strip_frames()
    [sheet] = export_strip(frames, tmp_path / "strip.png", sample_stamp())
    assert Image.open(sheet).size == (32, 8)
    for suffix in (".webp", ".gif"):
        [anim] = export_strip(frames, tmp_path / f"strip{suffix}", sample_stamp(), ExportOptions(lossless=True))
        with Image.open(anim) as im:
            assert im.n_frames == 6  # forth and back
            for k, expected in enumerate([0, 1, 2, 3, 2, 1]):
                im.seek(k)
                assert np.array_equal(np.asarray(im.convert("RGB")), frames[expected])
        assert read_provenance(anim).source_type == AI_TYPE
    written = export_strip(frames, str(tmp_path / "frames") + "/", sample_stamp())
    assert [p.name for p in written] == [f"frame_{i:04d}.png" for i in range(4)]
    assert np.array_equal(np.asarray(Image.open(written[2])), frames[2])
    prov = read_provenance(written[2])
    assert prov.source_type == AI_TYPE and prov.xmp["facestudio:Frame"] == "3 of 4"


def test_one_way_animation_and_frame_duration(tmp_path):
    [anim] = export_animation(strip_frames(), tmp_path / "a.gif", sample_stamp(), frame_ms=120, bounce=False)
    with Image.open(anim) as im:
        assert im.n_frames == 4 and im.info["duration"] == 120
    with pytest.raises(ExportError, match="milliseconds"):
        export_animation(strip_frames(), tmp_path / "b.gif", sample_stamp(), frame_ms=0)


@pytest.mark.parametrize("suffix", [".webp", ".gif"])
@pytest.mark.slow
def test_animations_carry_the_xmp_packet_for_exiftool(tmp_path, suffix):
    stamp = sample_stamp()
    [anim] = export_animation(strip_frames(), tmp_path / f"a{suffix}", stamp, xmp_extra={"Interpolation": "A to B"})
    meta = exiftool(anim)
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert meta["XMP-dc:Rights"] == stamp.terms and meta["XMP-xmpRights:UsageTerms"] == stamp.terms
    assert meta["XMP-facestudio:Interpolation"] == "A to B"


def test_the_gif_xmp_block_leaves_the_gif_decodable_and_reads_back(tmp_path):
    src = tmp_path / "plain.gif"
    Image.fromarray(strip_frames(1)[0]).save(src)
    packet = build_xmp(sample_stamp())
    data = insert_xmp(src.read_bytes(), packet)
    assert data.count(b"XMP DataXMP") == 1 and MAGIC_TRAILER + b"\0" in data
    (tmp_path / "x.gif").write_bytes(data)
    with Image.open(tmp_path / "x.gif") as im:
        assert np.array_equal(np.asarray(im.convert("RGB")), strip_frames(1)[0])
    with open(tmp_path / "x.gif", "rb") as f:
        assert find_xmp(f) == packet
    with open(src, "rb") as f:
        assert find_xmp(f) is None


def test_too_many_pixels_are_refused_before_encoding(tmp_path):
    side = int((MAX_SEQUENCE_PIXELS // 240) ** 0.5) + 1
    with pytest.raises(ExportError) as err:
        check_strip(tmp_path / "a.webp", 240, side, side, ExportOptions())
    assert_one_sentence(err.value, full_stop=False)
    with pytest.raises(ExportError, match="16383"):
        check_strip(tmp_path / "a.webp", 2, 4096, 8, ExportOptions(scale=5))


@pytest.mark.slow
def test_nothing_is_replaced_without_overwrite(tmp_path):
    target = tmp_path / "a.gif"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputPathError, match="already exists"):
        export_animation(strip_frames(), target, sample_stamp())
    assert target.read_bytes() == b"keep me"
    folder = tmp_path / "frames"
    export_frames(strip_frames(6), folder, sample_stamp())
    with pytest.raises(ExportError, match="already holds numbered frames"):
        export_frames(strip_frames(3), folder, sample_stamp())
    assert len(os.listdir(folder)) == 6
    export_frames(strip_frames(3), folder, sample_stamp(), overwrite=True)  # the older, longer sequence goes
    assert sorted(os.listdir(folder)) == [f"frame_{i:04d}.png" for i in range(3)]


@pytest.mark.slow
def test_a_failed_frame_write_leaves_no_folder_and_no_part_file(tmp_path, monkeypatch):
    from pathlib import Path
    real = Path.write_bytes
    calls = []

    def failing(self, data):
        calls.append(self)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(ExportError, match="disk is full"):
        export_frames(strip_frames(), tmp_path / "new", sample_stamp())
    assert os.listdir(tmp_path) == []
    (tmp_path / "old").mkdir()
    calls.clear()
    with pytest.raises(ExportError, match="disk is full"):
        export_frames(strip_frames(), tmp_path / "old", sample_stamp())
    assert os.listdir(tmp_path / "old") == []


@pytest.mark.parametrize("suffix", [".webp", ".gif"])
@pytest.mark.slow
def test_every_animation_frame_carries_the_watermark(tmp_path, suffix):
    """On the bundled model's faces (a GIF's 256-colour palette keeps the mark on faces; on
    palette-hostile noise it may not, which is why the frames here are faces)."""
    from facestudio.generator import load_generator
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.provenance.watermark import detect
    from facestudio.render.renderer import Renderer
    g = load_generator(None)
    frames = Renderer(g).render_ws_batch(g.map(z_from_seeds([1, 2, 3], g.z_dim), psi=0.7), "const")
    stamp = sample_stamp()
    [anim] = export_animation(frames, tmp_path / f"a{suffix}", stamp)
    with Image.open(anim) as im:
        assert im.n_frames == 4 and min(im.size) >= 256  # forth and back; upscaled to carry the mark
        for k in range(im.n_frames):
            im.seek(k)
            mark = detect(im.convert("RGB"))
            assert mark.found and mark.model_sha256_prefix == stamp.model_sha256[:8], k
