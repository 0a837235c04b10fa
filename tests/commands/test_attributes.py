"""Named Age / Gender directions: fitting from labelled W, shipping beside a model, the command."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from facestudio.commands import attributes as attributes_cli
from facestudio.commands.attributes import Labelled, calibrate, fit_directions
from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.latent.direction_files import write_directions
from facestudio.latent.directions import Direction
from facestudio.render.model_directions import bundle_path_for, model_directions
from facestudio.render.studio_model import open_studio_model


def _labelled(seed: int = 0, n: int = 3000, w_dim: int = 16) -> tuple[Labelled, np.ndarray, np.ndarray]:
    """W samples whose gender follows one hidden direction and whose age another, correlated
    with it (as age and gender are in face data), plus label noise."""
    rng = np.random.default_rng(seed)
    ws = rng.normal(size=(n, w_dim)) * rng.uniform(0.5, 2.0, w_dim)
    g_true = np.eye(w_dim)[0]
    a_true = (0.6 * np.eye(w_dim)[0] + 0.8 * np.eye(w_dim)[1])
    p = 1 / (1 + np.exp(-3 * (ws @ g_true) - rng.normal(scale=0.3, size=n)))
    ages = 35 + 8 * (ws @ a_true) + rng.normal(scale=2, size=n)
    tone = 120 + 10 * ws[:, 2] + 5 * ws[:, 1] + rng.normal(scale=2, size=n)
    return Labelled(ws.astype(np.float32), ages, p, tone), g_true, a_true


def test_fitted_directions_point_along_the_hidden_attributes_and_hold_the_other_fixed():
    lab, g_true, a_true = _labelled()
    dirs, facts = fit_directions(SimpleNamespace(num_ws=6, sha256="ab" * 32), lab)
    by_id = {d.id: d for d in dirs}
    assert list(by_id) == ["age-raw", "gender-raw", "tone", "age-projected", "gender-projected"]
    raw_age, raw_gender = by_id["age-raw"].vector, by_id["gender-raw"].vector
    assert raw_gender @ g_true > 0.98  # found the hidden gender direction
    assert raw_age @ a_true / np.linalg.norm(a_true) > 0.9
    # conditional: Age moves no gender score, Gender moves no age trend, neither the tone
    tone_dir = np.linalg.lstsq(lab.ws - lab.ws.mean(0), lab.tone - lab.tone.mean(), rcond=None)[0]
    tone_dir /= np.linalg.norm(tone_dir)
    age, gender = by_id["age-projected"].vector, by_id["gender-projected"].vector
    assert abs(age @ raw_gender) < 1e-5 and abs(gender @ raw_age) < 1e-5
    assert abs(age @ tone_dir) < 0.01 and abs(gender @ tone_dir) < 0.01
    assert age @ raw_age > 0.5 and gender @ raw_gender > 0.5
    # one unit = one standard deviation of the samples along the direction
    for d in dirs:
        assert d.scale == pytest.approx(float(np.std(lab.ws.astype(np.float64) @ d.vector)), rel=1e-4)
        assert d.layers == (0, 6) and d.source == "attribute" and d.model_sha256 == "ab" * 32
    assert facts["cosine_age_gender"] == pytest.approx(abs(raw_age @ raw_gender))
    assert 0.3 < facts["female_share"] < 0.7


def test_face_tone_is_the_centre_luma():
    from facestudio.commands.attributes import face_tone
    faces = np.zeros((2, 8, 8, 3), np.uint8)
    faces[0] = 255  # white everywhere
    faces[1, 2:6, 2:6] = (100, 100, 100)  # grey centre on a black frame: the frame is ignored
    np.testing.assert_allclose(face_tone(faces), [255.0, 100.0])


def test_decorrelation_solves_the_measured_responses_for_zero_side_effects():
    from facestudio.commands.attributes import RESPONSES, SHIPPED, decorrelate
    g = SimpleNamespace(num_ws=4, sha256="cd" * 32)
    bases = [Direction(id=i, name=i, vector=np.eye(5)[k], layers=(0, 4), scale=s, source="attribute")
             for k, (i, s) in enumerate([("age-raw", 2.0), ("gender-raw", 0.5), ("tone", 1.0)])]
    r = np.array([[5.0, 1.0, 2.0],   # age years per unit of each base
                  [-0.6, 1.0, 0.1],  # gender log-odds
                  [-4.0, 6.0, 10.0]])  # tone levels
    responses = [dict(zip(RESPONSES, r[:, j])) for j in range(3)]
    named = decorrelate(g, bases, responses, SHIPPED)
    for id, want in (("age", [5, 0, 0]), ("gender", [0, 1, 0])):
        d = named[id]
        units = d.scale * d.vector[:3] / np.array([2.0, 0.5, 1.0])  # the step in base units
        np.testing.assert_allclose(r @ units, want, atol=1e-5)
        assert d.meta["conditioned_on"] and d.layers == (0, 4) and d.model_sha256 == "cd" * 32
    assert named["age"].name == "Age" and named["gender"].name == "Gender"
    r[:, 2] = r[:, 0] * 1.0001  # tone's response copies age's: nothing can be solved
    assert decorrelate(g, bases, [dict(zip(RESPONSES, r[:, j])) for j in range(3)], SHIPPED) is None


def test_calibration_makes_one_unit_move_the_attribute_by_its_target(monkeypatch):
    """A linear world: the age grows 0.8 years and the log-odds 0.25 per W distance 0.1."""
    def fake_measure(g, net, d, count=64):
        return {"age_years_per_unit": 8.0 * d.scale if d.id.startswith("age") else 0.0,
                "gender_logit_per_unit": 2.5 * d.scale if d.id.startswith("gender") else 0.0,
                "p_female_per_unit": 0.0}
    monkeypatch.setattr(attributes_cli, "measure", fake_measure)
    vec = np.eye(4)[0]
    age = Direction(id="age", name="Age", vector=vec, layers=(0, 2), scale=0.1, source="attribute")
    cal, m = calibrate(None, None, age)
    assert cal.scale == pytest.approx(5.0 / 8.0) and m["age_years_per_unit"] == pytest.approx(5.0)
    assert "5 years" in cal.meta["unit"]
    gender = Direction(id="gender-raw", name="G", vector=vec, layers=(0, 2), scale=0.1, source="attribute")
    cal, m = calibrate(None, None, gender)
    assert cal.scale == pytest.approx(1.0 / 2.5) and m["gender_logit_per_unit"] == pytest.approx(1.0)
    # an attribute that does not respond keeps one standard deviation as its unit
    still = Direction(id="gender", name="G", vector=vec, layers=(0, 2), scale=0.3, source="attribute")
    monkeypatch.setattr(attributes_cli, "measure", lambda *a, **k: {"gender_logit_per_unit": -0.2})
    cal, m = calibrate(None, None, still)
    assert cal is still and "did not respond" in m["unit"]


def test_a_bundle_beside_a_native_model_is_loaded_with_it(native_model):
    g = load_generator(native_model)
    age = Direction(id="age", name="Age", vector=np.eye(g.w_dim)[3], layers=(0, g.num_ws), scale=2.0,
                    source="attribute", model_sha256=g.sha256)
    write_directions([age], bundle_path_for(native_model))
    assert [d.id for d in model_directions(g)] == ["age"]
    studio = open_studio_model(native_model)
    assert studio.directions[0].name == "Age"
    assert studio.directions_for("sefa")[0].name == "Age"  # named sliders stay whatever the method
    assert "age" in {d.id for d in studio.discovered_directions()}
    assert np.abs(studio.renderer.render(_recipe_with_age(studio)) -
                  studio.renderer.render(_recipe_with_age(studio, 0.0))).max() > 0


def _recipe_with_age(studio, amount: float = 2.0):
    from facestudio.session.recipe import Recipe
    return Recipe(model_sha256=studio.sha256, seed=3).with_edit("age", amount, (0, studio.num_ws))


def test_a_bundle_fitted_for_other_weights_is_not_loaded(native_model):
    g = load_generator(native_model)
    stale = Direction(id="age", name="Age", vector=np.eye(g.w_dim)[0], layers=(0, g.num_ws),
                      source="attribute", model_sha256="0" * 64)
    write_directions([stale], bundle_path_for(native_model))
    notes = []
    assert model_directions(g, notes) == []
    assert "fitted for other weights" in notes[0]
    assert open_studio_model(native_model).named == []


def _labelled_faces(folder, n=48):
    """Tiny UTKFace-named pictures: bright = 'female', greener = 'older'."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        gender, age = i % 2, int(rng.integers(5, 80))
        img = rng.integers(0, 40, (24, 24, 3)).astype(np.uint8)
        img[..., 0] += 180 if gender else 40
        img[..., 1] += int(age * 2.5)
        Image.fromarray(img).save(folder / f"{age}_{gender}_0_2017{i:04d}.jpg.chip.jpg")
    return folder


def test_attributes_command_writes_a_bundle_and_a_report(capsys, tmp_path, native_model):
    data = _labelled_faces(tmp_path / "faces")
    out = tmp_path / "named.npz"
    args = ["attributes", "--model", str(native_model), "--data", str(data), "--cache", str(tmp_path / "c"),
            "--work", str(tmp_path / "work"), "--samples", "100", "--epochs", "1", "--measure-seeds", "4", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Age" in printed and "years, p(female)" in printed and "wrote" in printed
    report = json.loads((tmp_path / "work" / "report.json").read_text())
    assert set(report["directions"]) == {"age", "gender", "age-raw", "gender-raw", "tone",
                                         "age-projected", "gender-projected"}
    for entry in report["directions"].values():
        assert len(entry["mean_age"]) == 5 and np.isfinite(entry["age_years_per_unit"])
    from facestudio.latent.direction_files import read_directions
    g = load_generator(native_model)
    shipped = read_directions(out, g.w_dim, g.num_ws, model_sha256=g.sha256).directions
    assert [d.name for d in shipped] == ["Age", "Gender"]
    assert "p_female_per_unit" in shipped[0].meta
    # a second run reuses the classifier and refuses to overwrite without the flag
    assert main(args) == 1
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert "using the classifier" in capsys.readouterr().out
