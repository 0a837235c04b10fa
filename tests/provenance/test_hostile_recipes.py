"""Images whose stamp carries an absurd recipe, or that declare absurd sizes: one sentence."""

import json
from xml.sax.saxutils import escape

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from facestudio.commands.main import main
from facestudio.latent.recipe import RecipeError
from facestudio.provenance import ProvenanceReadError, export_image, read_provenance
from facestudio.provenance.embed import PNG_XMP_KEY
from facestudio.provenance.xmp import build_xmp
from tests.provenance.helpers import sample_recipe, sample_stamp
from tests.provenance.helpers import tiny_png_declaring

MARKER = {"marker": 1}


def png_with_recipe_text(path, recipe_text: str):
    """A PNG whose XMP ``facestudio:Recipe`` is ``recipe_text`` exactly (any JSON, or none)."""
    packet = build_xmp(sample_stamp(), MARKER).decode("utf-8")
    assert packet.count('{"marker":1}') == 1
    info = PngInfo()
    info.add_itxt(PNG_XMP_KEY, packet.replace('{"marker":1}', escape(recipe_text)), zip=False)
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("text, problem", [
    ("[1, 2, 3]", "not a JSON object"),
    ('"a recipe"', "not a JSON object"),
    ("5", "not a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "nested more than"),
    ('{"a":' * 50 + "1" + "}" * 50, "nested more than"),
])
def test_a_recipe_that_is_not_an_object_is_a_problem_not_a_crash(capsys, tmp_path, text, problem):
    path = png_with_recipe_text(tmp_path / "face.png", text)
    prov = read_provenance(path)
    assert prov.recipe is None and prov.to_recipe() is None
    assert any(problem in p for p in prov.problems)
    for json_flag in ((), ("--json",)):
        code, out, err = run(capsys, "inspect", path, *json_flag)
        assert code == 0 and "Traceback" not in err and problem in out


@pytest.mark.parametrize("text, words", [
    ('{"model":{"sha256":"ab"},"seed":1e999,"psi":0.7}', "seed"),
    ('{"model":{"sha256":"ab"},"seed":1,"psi":1e308}', "truncation psi"),
    ('{"model":{"sha256":"ab"},"seed":1,"psi":NaN}', "truncation psi"),
    ('{"model":{"sha256":"ab"},"seed":1,"edits":[{"direction":"pca0","amount":NaN,"layers":[0,4]}]}', "amount"),
])
def test_a_recipe_with_absurd_numbers_is_refused_when_reopened(tmp_path, text, words):
    prov = read_provenance(png_with_recipe_text(tmp_path / "face.png", text))
    with pytest.raises(RecipeError, match=words):
        prov.to_recipe()


def test_an_exported_recipe_with_psi_1e30_is_refused(tmp_path):
    d = sample_recipe().to_dict()
    d["psi"] = 1e30
    path = tmp_path / "face.webp"
    export_image(np.zeros((8, 8, 3), np.uint8), path, sample_stamp(), d)
    with pytest.raises(RecipeError, match="truncation psi 1e\\+30 is out of range"):
        read_provenance(path).to_recipe()


def test_inspect_of_a_decompression_bomb_is_one_sentence(capsys, tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(tiny_png_declaring(15000, 15000))
    assert path.stat().st_size < 100
    with pytest.raises(ProvenanceReadError, match="declares more than"):
        read_provenance(path)
    code, out, err = run(capsys, "inspect", path)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("facestudio: cannot read") and "Traceback" not in err


def test_a_sidecar_larger_than_any_real_one_is_a_problem_not_read(tmp_path):
    from facestudio.provenance import sidecar_path
    from facestudio.provenance.reader import MAX_SIDECAR_BYTES
    path = tmp_path / "face.png"
    Image.new("RGB", (4, 4)).save(path)  # no stamp: the recipe would come from the sidecar
    side = sidecar_path(path)
    side.write_text('{"recipe": ' + json.dumps(sample_recipe().to_dict()) + "}" + " " * MAX_SIDECAR_BYTES)
    prov = read_provenance(path)
    assert prov.recipe is None
    assert any(f"the sidecar {side} is larger than the 1,048,576 bytes" in p for p in prov.problems)
    side.write_text('{"recipe": ' + json.dumps(sample_recipe().to_dict()) + "}")
    assert read_provenance(path).recipe_source == "sidecar"  # a real one still counts
