"""Batch export: names from a pattern, plans checked up front, contact sheet, rendering via the renderer."""

import numpy as np
import pytest
from PIL import Image

from facestudio.generator import load_generator
from facestudio.latent.recipe import Recipe
from facestudio.provenance import ExportError, ExportOptions, make_stamp, read_provenance
from facestudio.provenance.batch import BatchExport, check_pattern, expand_pattern, plan_batch
from facestudio.render.renderer import Renderer
from tests.helpers import as_exported

from .helpers import AI_TYPE, exiftool, sample_recipe


def test_pattern_fields_and_safety():
    r = sample_recipe(seed=42, psi=0.7)
    assert expand_pattern("{seed}_{psi}_{n}", 3, r) == "42_0.7_3"
    assert expand_pattern("{n:03d}-{name}", 7, r, "Face 7/x") == "007-Face_7_x"
    assert expand_pattern("../{seed}", 1, r) == "42"  # no path separators, no leading dots
    for bad, words in (("", "empty"), ("{oops}", "{oops}"), ("{seed", "brace"), ("{seed.real}", "plain")):
        with pytest.raises(ValueError, match=words):
            check_pattern(bad)


def test_plan_refuses_name_clashes_and_lists_existing_files(tmp_path):
    faces = [("a", sample_recipe(seed=1)), ("b", sample_recipe(seed=1))]
    with pytest.raises(ExportError, match="add {n}"):
        plan_batch(tmp_path, faces, "{seed}_{psi}")
    (tmp_path / "1_0.7_2.png.json").write_text("old")
    plan = plan_batch(tmp_path, faces, options=ExportOptions(sidecar=True), contact_sheet=True)
    assert [p.name for p in plan.paths] == ["1_0.7_1.png", "1_0.7_2.png"]
    assert plan.sheet_path == tmp_path / "contact_sheet.png"
    assert plan.existing == [tmp_path / "1_0.7_2.png.json"]
    with pytest.raises(ExportError, match="does not exist"):
        plan_batch(tmp_path / "nope", faces)
    with pytest.raises(ExportError, match="no faces"):
        plan_batch(tmp_path, [])


@pytest.mark.slow
def test_batch_renders_through_the_renderer_and_writes_stamped_files(tmp_path, native_model):
    g = load_generator(native_model)
    renderer = Renderer(g)
    recipes = [Recipe(g.sha256, seed, psi=0.7, model_name=g.name) for seed in (3, 1, 2)]
    plan = plan_batch(tmp_path, [(f"Face {i}", r) for i, r in enumerate(recipes)], extension=".webp",
                      options=ExportOptions(lossless=True), contact_sheet=True)
    stamp = make_stamp(g.card.meta, g.name, g.sha256, artist="Ann")
    job = BatchExport(plan, lambda recipe: stamp, ExportOptions(lossless=True))
    images = renderer.render_batch(recipes)
    for i in (2, 0, 1):  # chunks may arrive in any order
        job.write(i, images[i])
    written = job.finish()
    assert sorted(p.name for p in written) == sorted(["3_0.7_1.webp", "1_0.7_2.webp", "2_0.7_3.webp",
                                                      "contact_sheet.webp"])
    for i, path in enumerate(plan.paths):
        assert read_provenance(path).to_recipe() == recipes[i]
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), as_exported(images[i], g.sha256))
    sheet = exiftool(tmp_path / "contact_sheet.webp")
    assert sheet["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert "3_0.7_1.webp" in sheet["XMP-facestudio:ContactSheetOf"]
    assert "contact sheet of 3 faces" in sheet["XMP-dc:Description"]
    assert "XMP-facestudio:Recipe" not in sheet
    assert Image.open(tmp_path / "contact_sheet.webp").width > 3 * 100
