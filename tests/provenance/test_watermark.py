"""The invisible watermark: it round-trips, outlives the metadata and JPEG 75, is not found in
unmarked images, is reported by ``inspect``, and a tiny image is upscaled to carry it."""

from __future__ import annotations

import io
import json
import sys

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from facestudio.provenance import export_image, read_provenance
from facestudio.provenance.export import ExportError, ExportOptions
from facestudio.provenance.watermark import MIN_PIXELS, WHITENING, detect, embed, payload_word
from tests.helpers import assert_one_sentence
from tests.provenance.helpers import SHA, sample_recipe, sample_stamp


def smooth_face(seed: int = 0, side: int = 64, out: int = 512) -> Image.Image:
    """A stand-in for an upscaled small face: smooth random colour blobs, Lanczos-upscaled."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(70, 190, (16, 16, 3), dtype=np.uint8))
    return small.resize((side, side), Image.Resampling.BICUBIC).resize((out, out), Image.Resampling.LANCZOS)


def strip_and_recompress(path, fmt: str, **save) -> Image.Image:
    """What an upload pipeline does: decode the pixels, re-encode them with no metadata."""
    with Image.open(path) as im:
        pixels = Image.fromarray(np.asarray(im.convert("RGB")))
    buf = io.BytesIO()
    pixels.save(buf, fmt, **save)
    buf.seek(0)
    return Image.open(buf)


def test_round_trip_names_facestudio_and_the_model():
    face = smooth_face(1)
    marked = embed(face, SHA)
    assert marked.size == face.size
    result = detect(marked)
    assert result.found and result.model_sha256_prefix == SHA[:8]
    assert result.payload == f"{payload_word(SHA):016x}"
    diff = np.asarray(marked, float) - np.asarray(face, float)
    assert 10 * np.log10(255 ** 2 / np.mean(diff ** 2)) > 39  # invisible: 39.9 dB here, 40.1-41 on faces


def test_survives_stripped_metadata_and_jpeg_75(tmp_path):
    path = tmp_path / "face.png"
    export_image(np.asarray(smooth_face(2)), path, sample_stamp(), sample_recipe())
    copy = tmp_path / "uploaded.jpg"
    strip_and_recompress(path, "JPEG", quality=75).save(copy, quality=100)
    prov = read_provenance(copy)
    assert prov.source_type is None and prov.recipe is None and not prov.xmp  # the metadata is gone
    assert prov.watermark.found and prov.watermark.model_sha256_prefix == SHA[:8]


@pytest.mark.parametrize("make", [
    lambda: smooth_face(3),                                                         # the same kind, unmarked
    lambda: Image.new("RGB", (300, 300), (128, 128, 128)),                          # flat
    lambda: Image.linear_gradient("L").convert("RGB"),                              # Pillow's gradient
    lambda: Image.effect_noise((320, 256), 64).convert("RGB"),                      # Pillow's noise
    lambda: Image.fromarray(np.random.default_rng(4).integers(0, 256, (256, 256, 3), dtype=np.uint8)),
])
def test_an_unmarked_image_is_not_found(make):
    assert not detect(make()).found


def test_the_whitening_keeps_flat_pixels_off_the_codeword():
    # flat pixels decode to all-equal bits; neither run may be a valid word
    assert payload_word(SHA) ^ WHITENING not in (0, (1 << 64) - 1)


def test_inspect_json_reports_the_mark_after_the_metadata_is_stripped(capsys, tmp_path, native_model):
    face = tmp_path / "face.png"
    assert main(["render", "--model", str(native_model), "--seed", "5", "--out", str(face)]) == 0
    stripped = tmp_path / "stripped.png"
    strip_and_recompress(face, "PNG").save(stripped)
    capsys.readouterr()
    assert main(["inspect", str(stripped), "--json"]) == 0  # no stamp, but the pixels still say it
    doc = json.loads(capsys.readouterr().out)
    assert doc["digital_source_type"] is None
    mark = doc["watermark"]
    assert mark["found"] is True and len(mark["payload"]) == 16
    assert mark["model_sha256_prefix"] == read_provenance(face).model_sha256[:8]
    assert main(["inspect", str(stripped)]) == 0
    assert "watermark" in capsys.readouterr().out


def test_inspect_says_not_found_for_an_unmarked_image(capsys, tmp_path):
    plain = tmp_path / "plain.png"
    smooth_face(5).save(plain)
    assert main(["inspect", str(plain), "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["watermark"] == {"found": False, "payload": None, "model_sha256_prefix": None}


def test_an_image_below_the_minimum_is_upscaled_to_carry_the_mark(tmp_path):
    path = tmp_path / "tiny.png"
    export_image(np.zeros((8, 8, 3), np.uint8) + 90, path, sample_stamp(), sample_recipe())
    with Image.open(path) as im:
        assert im.size == (512, 512)  # 8 px x 64 (Lanczos), the smallest size the mark goes into
    assert read_provenance(path).watermark.found
    wide = embed(Image.new("RGB", (1280, 128), (20, 140, 60)), SHA)  # 163,840 pixels: x2
    assert wide.size == (2560, 256) and wide.width * wide.height >= MIN_PIXELS


def test_a_tiny_image_read_back_says_it_is_too_small(tmp_path):
    result = detect(Image.new("RGB", (64, 64)))
    assert not result.found and "too small" in result.reason


def test_without_the_library_the_export_is_refused_in_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "imwatermark.dwtDctSvd", None)  # import fails
    path = tmp_path / "face.png"
    with pytest.raises(ExportError) as info:
        export_image(np.asarray(smooth_face(6)), path, sample_stamp(), None, ExportOptions())
    assert_one_sentence(info.value, ExportError, full_stop=False)
    assert "invisible-watermark" in str(info.value) and not path.exists()
    assert "invisible-watermark" in detect(smooth_face(6)).reason
