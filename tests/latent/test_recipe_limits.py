"""Recipes with absurd numbers or shapes are refused with one sentence where they are read
(a session file holding one: tests/session/test_session_limits.py)."""

import json

import pytest

from facestudio.bounded_json import JsonError, loads_bounded
from facestudio.latent.recipe import MAX_AMOUNT, MAX_PSI, Edit, Mix, Recipe, RecipeError

SHA = "ab" * 32


def good() -> dict:
    return Recipe(SHA, 42, psi=0.7, cutoff=4, edits=(Edit("pca0", 1.5, (0, 4)),),
                  mix=Mix(7, (4, 8), (Edit("pca1", -2.0, (0, 8)),))).to_dict()


def changed(**fields) -> dict:
    d = good()
    for key, value in fields.items():
        if key == "amount":
            d["edits"][0]["amount"] = value
        elif key == "mix_seed":
            d["mix"]["seed"] = value
        elif key == "mix_amount":
            d["mix"]["edits"][0]["amount"] = value
        else:
            d[key] = value
    return d


def test_a_sane_recipe_and_the_limits_themselves_round_trip():
    assert Recipe.from_dict(good()).to_dict() == good()
    edge = changed(psi=-MAX_PSI, amount=MAX_AMOUNT, seed=4294967295.0)
    recipe = Recipe.from_dict(edge)
    assert (recipe.psi, recipe.edits[0].amount, recipe.seed) == (-MAX_PSI, MAX_AMOUNT, 4294967295)
    assert isinstance(recipe.seed, int)
    assert Recipe.from_dict(changed(transform=[-100, 100, 3600])).transform == (-100.0, 100.0, 3600.0)


@pytest.mark.parametrize("d, words", [
    (changed(psi=1e308), "truncation psi"),
    (changed(psi=1e30), "truncation psi"),
    (changed(psi=-1e30), "truncation psi"),
    (changed(psi=float("nan")), "truncation psi"),
    (changed(psi="0.7"), "truncation psi"),
    (changed(amount=float("nan")), "amount"),
    (changed(amount=float("inf")), "amount"),
    (changed(amount=1e38), "amount"),
    (changed(mix_amount=float("nan")), "amount"),
    (changed(seed=float("inf")), "seed"),   # JSON 1e999
    (changed(seed=42.9), "seed"),
    (changed(seed=-5), "seed"),
    (changed(seed=2**32), "seed"),
    (changed(seed=True), "seed"),
    (changed(mix_seed=float("inf")), "mix seed"),
    (changed(cutoff=float("inf")), "cutoff"),
    (changed(version="2"), "version"),
    (changed(edits="pca0"), "edits"),
    (changed(transform=[1e308, 0, 0]), "the transform's x shift 1e\\+308 is out of range"),
    (changed(transform=[0, -1e30, 0]), "the transform's y shift -1e\\+30 is out of range"),
    (changed(transform=[0, 0, 1e39]), "the transform's rotation 1e\\+39 is out of range"),
    (changed(transform=[0, 0, "10"]), "transform"),
    ([1, 2, 3], "JSON object"),
    ("recipe", "JSON object"),
    (5, "JSON object"),
    (None, "JSON object"),
])
def test_absurd_recipes_are_refused_with_one_sentence(d, words):
    with pytest.raises(RecipeError, match=words) as info:
        Recipe.from_dict(d)
    assert "\n" not in str(info.value)


def test_recipes_made_in_code_are_checked_as_well():
    with pytest.raises(RecipeError, match="truncation psi"):
        Recipe(SHA, 1, psi=1e30)
    with pytest.raises(RecipeError, match="amount"):
        Recipe(SHA, 1).with_edit("pca0", float("nan"), (0, 4))
    with pytest.raises(RecipeError, match="truncation psi"):
        Recipe(SHA, 1).replace(psi=float("inf"))


def test_json_nested_too_deeply_is_refused_at_parsing():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(JsonError, match="nested more than"):
        loads_bounded(deep, "the recipe")
    with pytest.raises(JsonError, match="nested more than"):
        loads_bounded('{"a":' * 40 + "1" + "}" * 40, "the recipe")  # parses, but deeper than any file
    with pytest.raises(JsonError, match="not valid JSON"):
        loads_bounded(b"\xff{", "the recipe")
    assert loads_bounded(json.dumps(good()).encode(), "the recipe") == good()
