"""The optional StyleGAN3 input transform of a recipe, and its JSON form."""

import pytest

from facestudio.latent.recipe import Recipe


def test_transform_round_trips_and_is_absent_when_unset():
    plain = Recipe("ab" * 32, seed=3)
    assert plain.transform is None and "transform" not in plain.to_dict()
    assert Recipe.from_dict(plain.to_dict()) == plain
    moved = plain.replace(transform=(0.1, -0.2, 30))
    assert moved.transform == (0.1, -0.2, 30.0)
    assert moved.to_dict()["transform"] == [0.1, -0.2, 30.0]
    assert Recipe.from_dict(moved.to_dict()) == moved


def test_older_recipes_without_transform_still_load():
    d = {"version": 1, "model": {"sha256": "cd" * 32}, "seed": 5, "psi": 0.5}
    assert Recipe.from_dict(d).transform is None


@pytest.mark.parametrize("bad", [(1, 2), (0, 0, float("nan")), "abc", (0, 0, None)])
def test_bad_transforms_are_refused(bad):
    with pytest.raises(ValueError, match="transform"):
        Recipe("ab" * 32, seed=1, transform=bad)
