"""export_image: pixels (crop, Lanczos upscale, caption), sidecar, atomic writes, clear errors."""

import errno
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facestudio.fileio import OutputPathError
from facestudio.provenance import Caption, ExportError, ExportOptions, export_image, read_provenance, sidecar_path
from facestudio.provenance.caption import CORNERS, draw_caption
from facestudio.provenance.export import prepare
from facestudio.provenance.terms import DEFAULT_TEMPLATE, RESEARCH_TEMPLATE, load_templates, make_stamp

from tests.helpers import as_exported

from .helpers import CARD_META, SHA, noise_image, sample_recipe, sample_stamp


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_native_png_keeps_the_pixels_exactly(tmp_path):
    img = noise_image()
    export_image(img, tmp_path / "f.png", sample_stamp(), sample_recipe())
    assert np.array_equal(pixels(tmp_path / "f.png"), as_exported(img, SHA))  # the marked pixels, exactly


def test_lossless_webp_keeps_the_pixels_and_jpeg_quality_changes_the_size(tmp_path):
    img = noise_image(64)
    export_image(img, tmp_path / "f.webp", sample_stamp(), None, ExportOptions(lossless=True))
    assert np.array_equal(pixels(tmp_path / "f.webp"), as_exported(img, SHA))
    export_image(img, tmp_path / "lo.jpg", sample_stamp(), None, ExportOptions(quality=20))
    export_image(img, tmp_path / "hi.jpg", sample_stamp(), None, ExportOptions(quality=98))
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size


def test_scale_and_crop():
    img = noise_image(32)
    up = prepare(img, ExportOptions(scale=3))
    assert up.size == (96, 96)
    assert np.array_equal(np.asarray(up), np.asarray(Image.fromarray(img).resize((96, 96), Image.Resampling.LANCZOS)))
    wide = np.zeros((20, 30, 3), np.uint8)
    wide[:, 5:25] = 200
    square = np.asarray(prepare(wide, ExportOptions(crop="square", scale=1)))
    assert square.shape == (20, 20, 3) and (square == 200).all()
    assert prepare(img, ExportOptions(crop="tight", scale=2)).size == (52, 52)
    assert prepare(img, ExportOptions(crop="tight")).size == (520, 520)  # 26 px x 20: the mark's 512 px
    for bad in (dict(scale=0), dict(scale=9), dict(scale=1.5), dict(quality=0), dict(crop="round")):
        with pytest.raises(ValueError):
            ExportOptions(**bad)


@pytest.mark.parametrize("corner", CORNERS)
def test_caption_is_drawn_in_its_corner_only(corner):
    img = Image.fromarray(np.full((128, 128, 3), 128, np.uint8))
    out = np.asarray(draw_caption(img, Caption("AI-generated", corner, 1.0))).astype(int)
    changed = np.argwhere(np.abs(out - 128).sum(axis=2) > 0)
    assert len(changed)
    ys, xs = changed[:, 0], changed[:, 1]
    assert (ys >= 64).all() if corner.startswith("bottom") else (ys < 64).all()
    assert (xs >= 10).all() if corner.endswith("right") else (xs < 118).all()
    faint = np.asarray(draw_caption(img, Caption("AI-generated", corner, 0.2))).astype(int)
    assert np.abs(faint - 128).max() < np.abs(out - 128).max()
    assert draw_caption(img, None) is img
    with pytest.raises(ValueError):
        Caption("x", "middle")


def test_sidecar_holds_stamp_and_recipe_and_is_used_when_the_xmp_is_gone(tmp_path):
    recipe = sample_recipe()
    path = tmp_path / "f.jpg"
    written = export_image(noise_image(), path, sample_stamp(), recipe, ExportOptions(sidecar=True))
    assert written == [path, tmp_path / "f.jpg.json"] == [path, sidecar_path(path)]
    doc = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    assert doc["recipe"] == recipe.to_dict()
    assert doc["provenance"]["license_url"] == CARD_META["license_url"]
    Image.open(path).save(path)  # a tool that drops all metadata
    prov = read_provenance(path)
    assert prov.recipe_source == "sidecar" and prov.to_recipe() == recipe
    assert prov.terms == doc["provenance"]["terms"]


def test_never_overwrites_without_being_asked(tmp_path):
    path = tmp_path / "f.png"
    path.write_bytes(b"keep me")
    with pytest.raises(OutputPathError, match="already exists"):
        export_image(noise_image(), path, sample_stamp())
    assert path.read_bytes() == b"keep me"
    side = tmp_path / "g.png.json"
    side.write_text("keep")
    with pytest.raises(OutputPathError, match="already exists"):
        export_image(noise_image(), tmp_path / "g.png", sample_stamp(), options=ExportOptions(sidecar=True))
    assert not (tmp_path / "g.png").exists() and side.read_text() == "keep"
    export_image(noise_image(), path, sample_stamp(), overwrite=True)
    assert read_provenance(path).source_type


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EACCES, "is not writable"),
                                         (errno.EIO, "Input/output error")])
def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, code, words):
    real_write = Path.write_bytes

    def half_then_fail(self, data):
        real_write(self, data[: len(data) // 2])
        raise OSError(code, __import__("os").strerror(code))

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(ExportError) as info:
        export_image(noise_image(), tmp_path / "f.png", sample_stamp(), sample_recipe(),
                     ExportOptions(sidecar=True))
    message = str(info.value)
    assert words in message and "\n" not in message and str(tmp_path / "f.png") in message
    assert list(tmp_path.iterdir()) == []


def test_a_failed_sidecar_write_leaves_neither_file(tmp_path, monkeypatch):
    def fail(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", fail)
    with pytest.raises(ExportError, match="disk is full"):
        export_image(noise_image(), tmp_path / "f.webp", sample_stamp(), sample_recipe(), ExportOptions(sidecar=True))
    assert list(tmp_path.iterdir()) == []


def test_bad_targets_are_one_sentence(tmp_path):
    for path, words in ((tmp_path / "missing" / "f.png", "does not exist"), (tmp_path / "f.tiff", "extension"),
                        (tmp_path / "f.png", "does not match")):
        options = ExportOptions(format="jpeg") if path.suffix == ".png" else ExportOptions()
        with pytest.raises(OutputPathError, match=words):
            export_image(noise_image(), path, sample_stamp(), options=options)
    assert list(tmp_path.iterdir()) == []


def test_terms_come_from_the_model_card():
    templates = load_templates()
    assert {DEFAULT_TEMPLATE, RESEARCH_TEMPLATE} <= set(templates)
    research = make_stamp({"license": "UTKFace terms: non-commercial research use only",
                           "license_url": "https://susanqq.github.io/UTKFace/", "attribution": "UTK"}, "m", "ab")
    assert "research use only" in research.terms and "https://susanqq.github.io/UTKFace/" in research.terms
    plain = make_stamp(CARD_META, "m", "ab", attribution="  ")
    assert plain.attribution == CARD_META["attribution"] and "non-commercial use only" in plain.terms
    for text in (research.terms, plain.terms):
        assert "impersonate" in text and "identity documents" in text and "{" not in text
