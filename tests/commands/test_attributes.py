"""Named sliders: shipping beside a model, and ``facestudio attributes`` end to end in a stand-in world
(a small random model whose faces are 'measured' by fixed pixel statistics, so the fit has an answer)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.latent.direction_files import write_directions
from facestudio.latent.directions import Direction
from facestudio.render.model_directions import bundle_path_for, model_directions
from facestudio.render.studio_model import open_studio_model


def test_a_bundle_beside_a_native_model_is_loaded_with_it(native_model):
    g = load_generator(native_model)
    age = Direction(id="age", name="Age", vector=np.eye(g.w_dim)[3], layers=(0, g.num_ws), scale=2.0,
                    source="attribute", model_sha256=g.sha256)
    write_directions([age], bundle_path_for(native_model))
    assert [d.id for d in model_directions(g)] == ["age", "age@1"]  # a version-1 bundle answers old recipes too
    studio = open_studio_model(native_model)
    assert studio.directions.shown()[0].name == "Age"
    assert studio.directions.shown("sefa")[0].name == "Age"  # named sliders stay whatever the method
    assert "age" in {d.id for d in studio.directions.every()}
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
    assert open_studio_model(native_model).directions.named == ()


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


class StandInMeasurer:
    """Every measure a fixed smooth statistic of the pixels (an 8 x 8 grey thumbnail against a
    pattern of its own), so each moves linearly enough in W to be fitted; counts its faces."""

    faces = 0

    def __init__(self, classifier=None, identity=False):
        from facestudio.analysis.face_measures import MEASURES
        rng = np.random.default_rng(7)
        self.patterns = {k: rng.normal(size=64) for k in MEASURES}
        self.identity = rng.normal(size=(64, 128)) if identity else None

    def measure(self, images):
        images = np.asarray(images)
        StandInMeasurer.faces += len(images)
        small = np.stack([np.asarray(Image.fromarray(i).convert("L").resize((8, 8), Image.BILINEAR), np.float64)
                          .ravel() / 255 for i in images]) if len(images) else np.zeros((0, 64))
        out = {k: small @ p / 8 for k, p in self.patterns.items()}
        out["age"] = 30 + 20 * out["age"]
        out["p_female"] = 1 / (1 + np.exp(-3 * out["p_female"]))
        if self.identity is not None:
            out["identity"] = small @ self.identity / 8
        return out


class StandInIdentity:
    def measure(self, pixels):
        from facestudio.analysis.identity import FaceMeasurement
        return FaceMeasurement(np.asarray(pixels, np.float32).mean(axis=(0, 1)) / 255, "whole image")


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr("facestudio.analysis.face_measures.FaceMeasurer", StandInMeasurer)
    monkeypatch.setattr("facestudio.analysis.identity.IdentityEmbedder", StandInIdentity)


@pytest.mark.slow
def test_attributes_command_fits_every_named_slider_and_resumes(capsys, tmp_path, native_model, stand_in):
    from facestudio.commands.slider_fitting import BUNDLE_VERSION, SLIDERS
    from facestudio.latent.direction_files import read_directions
    data = _labelled_faces(tmp_path / "faces")
    g = load_generator(native_model)
    old_age = Direction(id="age", name="Age", vector=np.eye(g.w_dim)[3], layers=(0, g.num_ws), scale=2.0,
                        source="attribute", model_sha256=g.sha256)
    write_directions([old_age], bundle_path_for(native_model))  # a version-1 bundle, as shipped before
    out = tmp_path / "named.npz"
    args = ["attributes", "--model", str(native_model), "--data", str(data), "--work", str(tmp_path / "work"),
            "--samples", "250", "--real", "20", "--check-seeds", "4", "--calibrate-seeds", "4", "--refine-seeds", "40", "--out", str(out)]
    StandInMeasurer.faces = 0
    assert main(args) == 0
    first_run = StandInMeasurer.faces
    printed = capsys.readouterr().out
    assert "wrote" in printed and "the 1 it replaces kept, retired" in printed
    shipped = {d.id: d for d in read_directions(out, g.w_dim, g.num_ws, model_sha256=g.sha256).directions}
    assert set(shipped) == {s.id for s in SLIDERS} | {"age@1"}
    assert shipped["age@1"].meta["retired"] and np.array_equal(shipped["age@1"].vector, old_age.vector)
    for spec in SLIDERS:
        d = shipped[spec.id]
        assert d.vector.shape == (g.num_ws, g.w_dim) and d.meta["group"] == spec.group
        assert d.meta["bundle_version"] == BUNDLE_VERSION and spec.name in d.meta["tooltip"]
        assert set(d.meta["evidence"]["leakage"]) == set(StandInMeasurer().patterns) - {spec.own}
    # the stand-in's measures are linear enough that most sliders move their own measure their way
    moved = [shipped[s.id].meta["evidence"]["own_share"] for s in SLIDERS]
    assert np.mean(moved) > 0.6
    measures = json.loads((tmp_path / "measures.json").read_text())
    assert measures["format"] == "facestudio-measures" and measures["real_photos"]["smile"]["photos"] == 20
    report = json.loads((tmp_path / "work" / "report.json").read_text())
    assert set(report["evidence"]) == {s.id for s in SLIDERS}
    # smile, the head nod and gender had their second pass, cancelling the shares of the leaks they name
    refined = [s for s in SLIDERS if s.cancel]
    assert [s.id for s in refined] == ["smile", "pitch", "gender"]
    for spec in refined:
        assert report["fit"][spec.id]["refined"]["cancelled"] == dict(spec.cancel)
    assert "refined" not in report["fit"]["hair"]
    assert {"side_light", "glasses"} <= set(report["fit"]["hair"]["held"])
    assert "first_pass" not in report["fit"]["smile"]  # the model had no Smile: a first pass was fitted
    # a second run refuses to overwrite, and with the flag reuses the measured faces
    assert main(args) == 1
    assert "exists" in capsys.readouterr().err
    StandInMeasurer.faces = 0
    assert main(args + ["--overwrite"]) == 0
    assert StandInMeasurer.faces == first_run - 250 - 20  # the fit faces and real photos came from the work folder
    # --only fits the named sliders and keeps the model's current others as they are
    only = tmp_path / "only.npz"
    assert main(args[:-2] + ["--out", str(only), "--measures-out", str(tmp_path / "m2.json"), "--only", "smile"]) == 0
    assert "1 named sliders fitted, 1 kept" in capsys.readouterr().out
    refit = {d.id: d for d in read_directions(only, g.w_dim, g.num_ws, model_sha256=g.sha256).directions}
    assert set(refit) == {"smile", "age", "age@1"} and refit["smile"].meta["bundle_version"] == BUNDLE_VERSION
    assert np.array_equal(refit["age"].vector, old_age.vector) and "bundle_version" not in refit["age"].meta
    # a model that has a Smile gets only the second pass on it
    write_directions([old_age, shipped["smile"]], bundle_path_for(native_model), overwrite=True)
    again = tmp_path / "again.npz"
    assert main(args[:-2] + ["--out", str(again), "--measures-out", str(tmp_path / "m3.json"), "--only", "smile"]) == 0
    report = json.loads((tmp_path / "work" / "report.json").read_text())
    assert report["fit"]["smile"]["first_pass"] == "kept: the second pass starts from smile"
    assert report["fit"]["smile"]["refined"]["cancelled"] == {"side_light": 0.8}
    second = {d.id: d for d in read_directions(again, g.w_dim, g.num_ws, model_sha256=g.sha256).directions}
    assert not np.allclose(second["smile"].vector * second["smile"].scale, shipped["smile"].vector * shipped["smile"].scale)


def test_attributes_command_refuses_what_it_cannot_fit(capsys, tmp_path, native_model, stand_in):
    base = ["attributes", "--model", str(native_model), "--work", str(tmp_path / "w"), "--out", str(tmp_path / "o.npz")]
    assert main(base + ["--samples", "100", "--data", str(tmp_path)]) == 1
    assert "at least 192" in capsys.readouterr().err  # 2 faces per feature, 3 groups x w_dim 32
    assert main(base + ["--data", str(tmp_path / "missing")]) == 1
    assert "do not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(base + ["--only", "smile,grin"])
    assert stop.value.code == 2 and "'grin' is not a named slider; choose from smile" in capsys.readouterr().err
    assert main(base + ["--data", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert "do not exist" in err and "Traceback" not in err


def test_a_second_pass_from_the_model_s_own_slider_starts_where_the_last_run_started():
    from dataclasses import replace
    from facestudio.commands.slider_fitting import SLIDERS, second_pass_start
    from facestudio.render.model_directions import with_retired_aliases
    smile_spec = next(s for s in SLIDERS if s.id == "smile")
    old = Direction(id="smile", name="Smile", vector=np.ones(4, np.float32), layers=(0, 12), source="attribute",
                    meta={"bundle_version": 2})
    found = with_retired_aliases([old])
    d, origin = second_pass_start(smile_spec, found)
    assert d.id == "smile" and origin == "smile@5"  # the vector the new bundle keeps it under
    refined = replace(old, vector=np.full(4, 2.0, np.float32), meta={"bundle_version": 6, "refined_from": "smile@5"})
    again = second_pass_start(smile_spec, [refined, replace(old, id="smile@5", meta={"retired": True})])
    assert again[1] == "smile@5" and np.array_equal(again[0].vector, old.vector)  # not the refined one
    assert second_pass_start(smile_spec, []) is None  # no Smile yet: a first pass
    assert second_pass_start(next(s for s in SLIDERS if s.id == "hair"), found) is None  # no second pass
