"""Named Age / Gender directions: fitting from labelled W, shipping beside a model, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.commands import attributes as attributes_cli
from facestudio.commands.attributes import calibrate
from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.latent.direction_files import write_directions
from facestudio.latent.directions import Direction
from facestudio.render.model_directions import bundle_path_for, model_directions
from facestudio.render.studio_model import open_studio_model


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
    from facestudio.latent.recipe import Recipe
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
            "--work", str(tmp_path / "work"), "--samples", "100", "--epochs", "1", "--measure-seeds", "4", "--span-steps", "2", "--out", str(out)]
    assert main(args) == 0
    out_text, err_text = capsys.readouterr()
    assert "Age" in err_text and "years, p(female)" in err_text and "wrote" in out_text  # the account, the result
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
    # the end stops were optimised: one offset per layer, the largest row a unit vector
    for d in shipped:
        assert d.vector.shape == (g.num_ws, g.w_dim) and "per W+ layer" in d.meta["method"]
        assert np.linalg.norm(d.vector, axis=1).max() == pytest.approx(1.0, abs=1e-5)
    assert set(report["span_optimisation"]) == {"age", "gender"}
    assert report["span_optimisation"]["age"]["unit"]["factor"] in attributes_cli.UNIT_FACTORS
    # a second run reuses the classifier and refuses to overwrite without the flag
    assert main(args) == 1
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    assert "using the classifier" in capsys.readouterr().out  # said by the training code
    # --keep-units ships the calibrated units and still measures the end stops on held-out faces
    assert main(args + ["--overwrite", "--keep-units"]) == 0
    assert "at -3 / +3 units on held-out faces" in capsys.readouterr().err
    report = json.loads((tmp_path / "work" / "report.json").read_text())
    kept = {d.id: d for d in read_directions(out, g.w_dim, g.num_ws, model_sha256=g.sha256).directions}
    for id in ("age", "gender"):
        assert kept[id].scale == pytest.approx(report["directions"][id]["scale"])
        assert "span_share" in kept[id].meta and "span_age_years" in kept[id].meta
        assert kept[id].vector.shape == (g.w_dim,)  # the straight line, as fitted
    # a discriminator that is not a training checkpoint ends in one sentence
    assert main(args + ["--overwrite", "--discriminator", str(out)]) == 1
    err = capsys.readouterr().err
    assert "cannot use" in err and "discriminator" in err and "Traceback" not in err


def test_the_optimised_unit_is_the_smallest_whose_end_stops_span_with_room(monkeypatch):
    """A world where Age gains 50 years between the end stops per unit of scale and Gender's
    share of faces carried across 0.2/0.8 grows with the unit."""
    def fake_span(g, net, d, count=64, first_seed=0):
        return {"age_at": [0.0, 0.0, 50.0 * d.scale], "p_female_at": [0.5, 0.5, 0.5], "tone_at": [0, 0, 0],
                "age_span_years": 50.0 * d.scale, "spanned_share": min(1.0, 0.8 * d.scale)}
    monkeypatch.setattr(attributes_cli, "span", fake_span)
    vec = np.ones((2, 4)) / 2
    age = Direction(id="age", name="Age", vector=vec, layers=(0, 2), scale=1.0, source="attribute")
    fitted, m = attributes_cli.fit_unit_to_span(None, None, age)
    assert m["spans"] and m["factor"] == 0.7 and fitted.scale == pytest.approx(0.7)  # 35 years: 33 and more
    gender = Direction(id="gender", name="Gender", vector=vec, layers=(0, 2), scale=1.0, source="attribute")
    fitted, m = attributes_cli.fit_unit_to_span(None, None, gender)
    assert m["spans"] and m["factor"] == 1.2 and m["spanned_share"] >= attributes_cli.SPAN_SHARE + 0.1
    weak = Direction(id="gender", name="Gender", vector=vec, layers=(0, 2), scale=0.5, source="attribute")  # 60 % at most
    fitted, m = attributes_cli.fit_unit_to_span(None, None, weak)
    assert not m["spans"] and m["factor"] == attributes_cli.UNIT_FACTORS[-1]
    assert fitted.scale == pytest.approx(0.5 * attributes_cli.UNIT_FACTORS[-1])


def test_span_counts_faces_carried_across_both_gender_thresholds(native_model):
    """On a real (tiny, untrained) model with a stand-in classifier whose P(female) follows
    the face's darkness: each face is measured at the end stops, not only the means."""
    from facestudio.analysis import attributes as analysis_attributes
    g = load_generator(native_model)

    def dark_is_female(net, images):
        luma = images.reshape(len(images), -1).mean(axis=1) / 255.0
        return np.full(len(images), 30.0), np.clip((0.7 - luma) * 10.0, 0.0, 1.0)

    original = analysis_attributes.predict
    analysis_attributes.predict = dark_is_female
    try:
        d = Direction(id="gender", name="Gender", vector=np.ones(g.w_dim) / np.sqrt(g.w_dim),
                      layers=(0, g.num_ws), scale=1.0, source="attribute")
        m = attributes_cli.span(g, None, d, count=8)
    finally:
        analysis_attributes.predict = original
    from facestudio.latent.seeds import z_from_seeds
    base = g.map(z_from_seeds(range(attributes_cli.MEASURE_SEED, attributes_cli.MEASURE_SEED + 8), g.z_dim),
                 psi=attributes_cli.MEASURE_PSI)
    ends = [dark_is_female(None, g.synthesize(base + amount * d.vector))[1] for amount in (-3.0, 3.0)]
    carried = (ends[0] < 0.2) & (ends[1] > 0.8)
    assert 0 < carried.mean() < 1  # some faces cross both thresholds and some do not
    assert m["spanned_share"] == pytest.approx(carried.mean())  # face by face, not from the means
    assert m["p_female_at"][0] == pytest.approx(ends[0].mean()) and m["p_female_at"][2] == pytest.approx(ends[1].mean())
    assert m["age_span_years"] == pytest.approx(0.0)
    assert m["tone_at"][0] != m["tone_at"][2]  # the edit moved the faces
