"""The anonymizer's skin-tone direction, fitted on a stand-in world where the answer is known:
it moves ITA, holds what it must (the hair's colour here), acts only in the colour layers, and
the stand-ins' slider rounds read its effect from its own record."""

from __future__ import annotations

import numpy as np
import pytest

from facestudio.analysis.face_measures import MEASURES
from facestudio.analysis.stand_ins import slider_effects
from facestudio.anonymizer import internal_references
from facestudio.commands.skin_tone_fitting import COLOURS, ITA, colour_measures, fit_step
from facestudio.latent.directions import Direction
from facestudio.render.model_directions import shown

W_DIM = 12


def _world(n: int = 600, seed: int = 0):
    """Group W ``[n, 3, W_DIM]``: ITA follows the fine group's first two coordinates and the
    coarse group's first; the hair's b* follows the fine group's second; every other measure
    follows a coordinate of its own elsewhere (the middle group's, or the coarse group's past the first)."""
    rng = np.random.default_rng(seed)
    group_ws = rng.normal(size=(n, 3, W_DIM))
    coarse, middle, fine = group_ws[:, 0], group_ws[:, 1], group_ws[:, 2]
    others = [middle[:, i] for i in range(W_DIM)] + [coarse[:, i] for i in range(1, W_DIM)]
    measures = {k: others[i] + 0.05 * rng.normal(size=n) for i, k in enumerate(MEASURES)}
    measures["p_female"] = 1.0 / (1.0 + np.exp(-measures["p_female"]))
    colours = {ITA: 3.0 * fine[:, 0] + 2.0 * fine[:, 1] + 1.5 * coarse[:, 0],
               "background_b": others[len(MEASURES)], "hair_b": fine[:, 1].copy()}
    reference = {k: {"p50": 0.0, "spread": 1.0} for k in MEASURES}
    colour_reference = {k: {"p50": 0.0, "spread": 1.0} for k in (ITA, *COLOURS)}
    return group_ws, measures, colours, reference, colour_reference


def test_the_step_moves_ita_holds_the_hair_and_stays_in_the_colour_layers():
    group_ws, measures, colours, reference, colour_reference = _world()
    step, facts = fit_step(group_ws, measures, colours, reference, colour_reference)
    parts = step.reshape(3, W_DIM)
    assert np.allclose(parts[0], 0.0)  # not the coarse layers, though ITA follows one of them there
    assert "coarse" not in facts["groups"] and "fine" in facts["groups"]
    fine = parts[2]
    assert abs((3.0 * fine[0] + 2.0 * fine[1]) - 1.0) < 0.05  # one spread of ITA per unit
    assert abs(fine[1]) < 0.03 and fine[0] > 0.3  # the hair's b* (fine[1]) held still
    assert "hair_b" in facts["held"] and "skin" not in facts["held"]


def test_colour_measures_read_a_face_of_known_colour():
    from facestudio.analysis.skin_tone import lab_to_srgb
    face = np.empty((1, 64, 64, 3), np.uint8)
    face[:] = lab_to_srgb(np.array([60.0, 10.0, 20.0]))
    face[0, :8] = lab_to_srgb(np.array([50.0, 0.0, -10.0]))  # the top band: background and hair
    measured = colour_measures(face)
    assert abs(measured[ITA][0] - np.degrees(np.arctan2(10.0, 20.0))) < 1.0
    assert abs(measured["background_b"][0] + 10.0) < 1.0 and abs(measured["hair_b"][0] + 10.0) < 1.0


def test_the_direction_is_hidden_from_the_dock_and_its_effect_read_from_its_record():
    meta = {"measure": "skin_tone", "internal": True, "real_spread": 30.0,
            "evidence": {"own_spreads": 1.6, "leakage": {"age": 0.2, "smile": 0.0}}}
    skin = Direction(id="skin_tone", name="Skin tone", vector=np.ones((2, W_DIM)), layers=(0, 2), meta=meta)
    age = Direction(id="age", name="Age", vector=np.ones((2, W_DIM)), layers=(0, 2))
    assert shown([skin, age]) == [age]
    reference = {"age": {"spread": 10.0}, **internal_references({"skin_tone": skin, "age": age})}
    assert reference["skin_tone"] == {"spread": 30.0}
    effects, sliders = slider_effects({"skin_tone": skin}, reference, ("age", "skin_tone", "lighting"))
    assert sliders == ["skin_tone"]
    assert np.allclose(effects[:, 0], [0.2 / 4 * 10.0, 1.6 / 4 * 30.0, 0.0])


def test_a_bundle_without_the_direction_still_serves_skin_tone_by_choice():
    from facestudio.analysis.stand_ins import OPTIONAL_SLIDERS, SLIDER_OF
    assert SLIDER_OF["skin_tone"] in OPTIONAL_SLIDERS
    effects, sliders = slider_effects({}, {"skin_tone": {"spread": 30.0}}, ("skin_tone",))
    assert sliders == [] and effects.shape == (1, 0)


def test_the_fitting_tool_refuses_to_replace_a_bundle_without_overwrite(tmp_path, capsys):
    from facestudio.commands.skin_tone_fitting import main
    bundle = tmp_path / "directions.npz"
    bundle.write_bytes(b"the user's bundle")
    with pytest.raises(SystemExit) as stop:
        main(["--work", str(tmp_path), "--out", str(bundle)])
    assert stop.value.code == 2 and "add --overwrite" in capsys.readouterr().err
    assert bundle.read_bytes() == b"the user's bundle"


def test_the_fitting_tool_refuses_an_output_folder_that_does_not_exist(tmp_path, capsys):
    from facestudio.commands.skin_tone_fitting import main
    with pytest.raises(SystemExit) as stop:
        main(["--work", str(tmp_path), "--out", str(tmp_path / "missing" / "directions.npz")])
    assert stop.value.code == 2 and "does not exist" in capsys.readouterr().err
