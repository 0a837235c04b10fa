"""The bundled model's named sliders from the command line, and the Age and Gender of older
recipes, which must still render the faces they described."""

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.slider_fitting import SLIDERS
from facestudio.generator import load_generator
from facestudio.latent.directions import apply_edits
from facestudio.latent.recipe import RECIPE_VERSION, Recipe
from facestudio.latent.seeds import z_from_seed
from facestudio.render.model_directions import model_directions, shown
from tests.helpers import run
from tests.helpers import as_exported

# the vectors shipped before the named sliders were refitted: Age and Gender of bundle version 1
# (optimised through the classifier), bundle version 2's Head nod (read as a 2-D ratio), version
# 3's (it closed open mouths) and version 4's (it darkened the forehead); version 2's Smile, Mouth
# open and Hair (they moved the light across the face) and Gender (it took glasses off)
RETIRED = {"age@1": "28dc81018c9f1130a7d2a493601f20136cdfa6a323385671a4230d460bf0ab39",
           "gender@1": "1bb331bc860ece81010ca04e786116ddcb8436b6c113cc0261fa8763dc3da87d",
           "pitch@2": "786bdd22b51a2e757313afbaf53116e01805f0953c22abb7a00205d16a92bda7",
           "pitch@3": "2133e6502ef425f7716f3b9ba389013b551c44ca1244fddd420030d327d33129",
           "pitch@4": "1bde9dc8a1497c335e748fdd6204cd9bb5007effb7cd06d0cdd0d4708713b533",
           "smile@5": "50bb27b972797c19f01be65d6c95fc1f50438028fa648f7433c33476c2b29f7d",
           "mouth_open@5": "a1052640a78acaeee7c100fadc4854c9390267e8c633d47c2c6ad4e2d0c952a6",
           "hair@5": "992fd8dc5c74f7d5a8bfc431a4e5b71ac0d373792fefcf6d7f98be2cd936e3aa",
           "gender@5": "887b47592322ec4c0d29243acdb60bac2393c9b7ac1d2dac2a74da87f1b63cd2"}
# versions 3-6 refitted only some sliders: the others are version 2's vectors, unchanged
KEPT = {"yaw": "603590d2850f40f9cb4498614f016360768a983fbf72825057aa4ff95bc61e01",
        "age": "2ab546ec1d5b9dc8675432f65c547bbb6c2a7908b4e5e28a6d33ebb4e652b21a"}
FITTED_AT = {"pitch": 5, "smile": 6, "mouth_open": 6, "hair": 6, "side_light": 6, "gender": 6}  # the bundle version each was last fitted at


@pytest.fixture(scope="module")
def bundled():
    g = load_generator(None)
    return g, {d.id: d for d in model_directions(g)}


def test_the_bundled_model_ships_every_named_slider_and_keeps_the_retired_ones(bundled):
    g, dirs = bundled
    assert [d.id for d in shown(list(dirs.values()))] == [s.id for s in SLIDERS]
    for spec in SLIDERS:
        d = dirs[spec.id]
        assert d.meta["bundle_version"] == FITTED_AT.get(spec.id, 2) and d.meta["group"] == spec.group
        assert d.meta["tooltip"].startswith(spec.name) and "real-photo spreads" in d.meta["tooltip"]
    for id, digest in RETIRED.items():
        assert dirs[id].meta["retired"]
        assert hashlib.sha256(np.ascontiguousarray(dirs[id].vector, np.float32).tobytes()).hexdigest() == digest
    for id, digest in KEPT.items():
        assert hashlib.sha256(np.ascontiguousarray(dirs[id].vector, np.float32).tobytes()).hexdigest() == digest


def test_an_older_recipe_renders_with_the_retired_age_and_gender(bundled):
    from facestudio.render.renderer import Renderer
    g, dirs = bundled
    old = {"version": 1, "model": {"sha256": g.sha256, "name": g.name}, "seed": 7, "psi": 0.7,
           "edits": [{"direction": "age", "amount": 1.5, "layers": [0, g.num_ws]},
                     {"direction": "gender", "amount": -1.0, "layers": [0, g.num_ws]}]}
    recipe = Recipe.from_dict(json.loads(json.dumps(old)))
    pixels = Renderer(g, dirs).render(recipe)
    ws = g.map(z_from_seed(7, g.z_dim), psi=0.7)[0]
    want = g.synthesize(apply_edits(ws, [("age@1", 1.5, (0, g.num_ws)), ("gender@1", -1.0, (0, g.num_ws))],
                                    dirs)[None])[0]
    assert np.array_equal(pixels, want)
    today = g.synthesize(apply_edits(ws, [("age", 1.5, (0, g.num_ws)), ("gender", -1.0, (0, g.num_ws))],
                                     dirs)[None])[0]
    assert not np.array_equal(pixels, today)  # the new sliders are other vectors


@pytest.mark.parametrize("slider, version, old_id", [("pitch", 2, "pitch@2"), ("pitch", 3, "pitch@3"),
                                                     ("pitch", 4, "pitch@4"), ("smile", 5, "smile@5"),
                                                     ("smile", 2, "smile@5"), ("mouth_open", 5, "mouth_open@5"),
                                                     ("hair", 4, "hair@5"), ("gender", 5, "gender@5")])
def test_an_older_recipe_renders_with_that_version_s_slider(bundled, slider, version, old_id):
    from facestudio.render.renderer import Renderer
    g, dirs = bundled
    old = {"version": version, "model": {"sha256": g.sha256, "name": g.name}, "seed": 11, "psi": 0.7,
           "edits": [{"direction": slider, "amount": 1.5, "layers": list(dirs[old_id].layers)}]}
    pixels = Renderer(g, dirs).render(Recipe.from_dict(old))
    ws = g.map(z_from_seed(11, g.z_dim), psi=0.7)[0]
    want = g.synthesize(apply_edits(ws, [(old_id, 1.5, dirs[old_id].layers)], dirs)[None])[0]
    assert np.array_equal(pixels, want)
    assert not np.array_equal(want, g.synthesize(apply_edits(ws, [(slider, 1.5, dirs[slider].layers)], dirs)[None])[0])


@pytest.mark.parametrize("slider", ["smile", "yaw", "pitch", "hair"])
@pytest.mark.slow
def test_edit_takes_a_named_slider_by_id_and_by_name(capsys, tmp_path, bundled, slider):
    g, dirs = bundled
    by_id, by_name = tmp_path / "a.png", tmp_path / "b.png"
    assert run(capsys, "edit", "--seed", "5", "--psi", "0.7", "--direction", f"{slider}=1.5", "--out", str(by_id))[0] == 0
    assert run(capsys, "edit", "--seed", "5", "--psi", "0.7", "--direction", f"{dirs[slider].name}=1.5",
               "--out", str(by_name))[0] == 0
    ws = g.map(z_from_seed(5, g.z_dim), psi=0.7)[0]
    want = g.synthesize(apply_edits(ws, [(slider, 1.5, dirs[slider].layers)], dirs)[None])[0]
    for out in (by_id, by_name):
        got = np.asarray(Image.open(out).convert("RGB"))
        assert np.array_equal(got, as_exported(want, g.sha256))


def test_sheet_shows_a_named_slider_from_minus_two_to_plus_two(capsys, tmp_path):
    out = tmp_path / "sheet.png"
    code, text, err = run(capsys, "sheet", "--seeds", "1,2", "--direction", "pitch", "--amounts=-2,0,2",
                          "--out", str(out))
    assert code == 0, err
    assert Image.open(out).size[0] > 3 * 128
