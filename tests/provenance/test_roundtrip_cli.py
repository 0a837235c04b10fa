"""File -> inspect -> recipe -> render gives the same pixels; the CLI stamps and inspects."""

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.latent.directions import Direction
from facestudio.latent.recipe import Edit, Mix, Recipe
from facestudio.provenance import AI_DISCLOSURE, export_image, make_stamp, read_provenance
from facestudio.render.renderer import Renderer
from tests.helpers import as_exported, assert_one_sentence

from .helpers import AI_TYPE, exiftool


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_file_to_recipe_to_render_gives_identical_pixels(tmp_path, native_model):
    g = load_generator(native_model)
    direction = Direction("d0", "test", np.random.RandomState(1).randn(g.w_dim).astype(np.float32), (0, g.num_ws))
    renderer = Renderer(g, {"d0": direction})
    recipe = Recipe(g.sha256, 1234, psi=0.6, cutoff=5, edits=(Edit("d0", 1.25, (2, 6)),),
                    mix=Mix(99, (6, 8)), model_name=g.name)
    image = renderer.render(recipe)
    path = tmp_path / "face.png"
    export_image(image, path, make_stamp(g.card.meta, g.name, g.sha256, artist="Ann"), recipe)
    reopened = read_provenance(path).to_recipe()
    assert reopened == recipe
    again = renderer.render(reopened)
    assert np.array_equal(again, image)
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), as_exported(again, g.sha256))


def test_cli_render_stamps_and_inspect_reports(capsys, tmp_path, native_model):
    out = tmp_path / "face.jpg"
    code, stdout, err = run(capsys, "render", "--model", native_model, "--seed", 5, "--psi", 0.5,
                            "--artist", "Ann Example", "--sidecar", "--out", out)
    assert code == 0, err
    assert (tmp_path / "face.jpg.json").is_file() and "face.jpg.json" in stdout
    meta = exiftool(out)
    g = load_generator(native_model)
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert meta["XMP-dc:Creator"] == "Ann Example" and meta["IFD0:Artist"] == "Ann Example"
    assert meta["XMP-cc:License"] == g.card.license_url
    assert meta["XMP-cc:AttributionName"] == g.card.attribution
    assert meta["XMP-facestudio:ModelSHA256"] == g.sha256
    assert json.loads(meta["XMP-facestudio:Recipe"])["seed"] == 5
    code, stdout, _ = run(capsys, "inspect", out)
    assert code == 0
    for words in ("trainedAlgorithmicMedia (AI-generated)", "Ann Example", "non-commercial", g.card.license_url,
                  g.card.attribution, g.sha256, '"seed": 5', AI_DISCLOSURE):
        assert words in stdout
    code, stdout, _ = run(capsys, "inspect", out, "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["recipe"]["psi"] == 0.5 and doc["creator"] == "Ann Example"


@pytest.mark.slow
def test_cli_render_inspect_render_round_trip(capsys, tmp_path, native_model):
    first = tmp_path / "a.png"
    assert run(capsys, "render", "--model", native_model, "--seed", 77, "--psi", 0.8, "--cutoff", 3,
               "--out", first)[0] == 0
    _, stdout, _ = run(capsys, "inspect", first, "--json")
    recipe = Recipe.from_dict(json.loads(stdout)["recipe"])
    second = tmp_path / "b.png"
    assert run(capsys, "render", "--model", native_model, "--seed", recipe.seed, "--psi", recipe.psi,
               "--cutoff", recipe.cutoff, "--noise", recipe.noise, "--out", second)[0] == 0
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(second)))


def test_cli_mix_is_stamped_too(capsys, tmp_path, native_model):
    out = tmp_path / "mix.webp"
    assert run(capsys, "mix", "--model", native_model, "--rows", "1", "--cols", "2,3", "--out", out)[0] == 0
    meta = exiftool(out)
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert "columns 2,3" in meta["XMP-facestudio:MixGrid"]


@pytest.mark.parametrize("argv, words", [
    (["inspect", "{tmp}/nope.png"], "there is no such file"),
    (["inspect", "{tmp}/text.png"], "not an image"),
    (["inspect", "{tmp}/plain.png"], "carries no provenance stamp"),
    (["render", "--seed", "1", "--out", "{tmp}/f.gif"], "extension"),
    (["render", "--seed", "1", "--scale", "0", "--out", "{tmp}/f.png"], "scale"),
    (["render", "--seed", "1", "--quality", "101", "--out", "{tmp}/f.jpg"], "quality"),
    (["render", "--seed", "1", "--sidecar", "--out", "{tmp}/taken.png"], "already exists"),
])
def test_cli_bad_inputs_are_one_sentence_and_exit_1(capsys, tmp_path, native_model, argv, words):
    (tmp_path / "text.png").write_text("not an image")
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    (tmp_path / "taken.png.json").write_text("keep")
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "render":
        argv += ["--model", str(native_model)]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert_one_sentence(err, words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
