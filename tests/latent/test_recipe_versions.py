"""A recipe remembers which named sliders it was made with: the Age and Gender of a version-1
recipe are the retired vectors (``age@1``), a version-2 recipe's head nod is ``pitch@2``, so
the face it describes does not change when the model's sliders are refitted."""

from dataclasses import replace

import numpy as np
import pytest

from facestudio.latent.directions import Direction
from facestudio.latent.recipe import RECIPE_VERSION, Recipe, RecipeError, retired_id
from facestudio.render.model_directions import shown, with_retired_aliases


def recipe_dict(version, edits, mix_edits=()):
    d = {"model": {"sha256": "ab" * 32, "name": "m"}, "seed": 3, "psi": 0.7,
         "edits": [{"direction": i, "amount": a, "layers": [0, 12]} for i, a in edits],
         "mix": {"seed": 9, "layers": [0, 4],
                 "edits": [{"direction": i, "amount": a, "layers": [0, 12]} for i, a in mix_edits]}}
    if version is not None:
        d["version"] = version
    return d


def test_a_version_1_recipe_reads_age_and_gender_as_the_retired_vectors():
    for version in (None, 1):  # no version = 1
        r = Recipe.from_dict(recipe_dict(version, [("age", 1.5), ("pca3", -1.0), ("gender", 2.0)], [("age", 1.0)]))
        assert [e.direction_id for e in r.edits] == ["age@1", "pca3", "gender@1"]
        assert [e.direction_id for e in r.mix.edits] == ["age@1"]


def test_a_current_recipe_keeps_its_ids_and_round_trips():
    r = Recipe.from_dict(recipe_dict(RECIPE_VERSION, [("age", 1.5), ("smile", 1.0), ("age@1", 0.5)]))
    assert [e.direction_id for e in r.edits] == ["age", "smile", "age@1"]
    again = Recipe.from_dict(r.to_dict())
    assert again == r and r.to_dict()["version"] == RECIPE_VERSION == 6


def test_a_version_2_recipe_reads_head_nod_as_its_retired_vector_and_keeps_the_rest():
    r = Recipe.from_dict(recipe_dict(2, [("pitch", 1.0), ("smile", -1.0), ("pca3", 0.5), ("age@1", 1.0)],
                                     [("pitch", 1.0), ("age", 1.0)]))
    assert [e.direction_id for e in r.edits] == ["pitch@2", "smile@5", "pca3", "age@1"]
    assert [e.direction_id for e in r.mix.edits] == ["pitch@2", "age"]
    assert retired_id("age", 1) == "age@1"  # a version-1 recipe's Age is the oldest vector
    assert retired_id("pitch", 1) == "pitch"  # version 1 had no named head nod: its 'pitch' came from elsewhere


@pytest.mark.parametrize("version", [3, 4])
def test_a_later_recipe_reads_head_nod_as_its_own_retired_vector(version):
    r = Recipe.from_dict(recipe_dict(version, [("pitch", 1.0), ("smile", -1.0), ("pitch@2", 0.5)], [("pitch", 1.0)]))
    assert [e.direction_id for e in r.edits] == [f"pitch@{version}", "smile@5", "pitch@2"]
    assert [e.direction_id for e in r.mix.edits] == [f"pitch@{version}"]
    assert retired_id("pitch", 2) == "pitch@2" and retired_id("age", version) == "age"


def test_a_version_5_recipe_reads_smile_mouth_hair_and_gender_as_their_retired_vectors():
    r = Recipe.from_dict(recipe_dict(5, [("smile", 1.0), ("mouth_open", 0.5), ("hair", -1.0), ("gender", 1.0), ("pitch", 1.0),
                                         ("yaw", 1.0)]))
    assert [e.direction_id for e in r.edits] == ["smile@5", "mouth_open@5", "hair@5", "gender@5", "pitch", "yaw"]
    assert retired_id("smile", 2) == "smile@5" and retired_id("smile", 1) == "smile"  # version 1 had no named Smile


def test_versions_out_of_range_are_one_sentence():
    for bad in (0, -10**18, RECIPE_VERSION + 1):
        with pytest.raises(RecipeError):
            Recipe.from_dict(recipe_dict(bad, [("age", 1.0)]))
    assert retired_id("smile", 1) == "smile" and retired_id("age", RECIPE_VERSION) == "age"


def direction(id, version=None, **meta):
    if version is not None:
        meta["bundle_version"] = version
    return Direction(id=id, name=id.title(), vector=np.ones(4, np.float32), layers=(0, 12),
                     source="attribute", meta=meta)


def test_a_version_1_bundle_answers_to_the_retired_ids_too():
    found = with_retired_aliases([direction("age"), direction("gender"), direction("pca0")])
    ids = [d.id for d in found]
    assert ids == ["age", "gender", "pca0", "age@1", "gender@1"]
    assert [d.id for d in shown(found)] == ["age", "gender", "pca0"]
    assert np.array_equal(found[3].vector, found[0].vector)


def test_a_version_2_bundle_answers_to_its_retired_ids_too():
    bundle = [direction("age", 2), direction("pitch", 2), direction("age@1", 1, retired=True)]
    found = with_retired_aliases(bundle)
    assert [d.id for d in found] == ["age", "pitch", "age@1", "pitch@2"]
    assert [d.id for d in shown(found)] == ["age", "pitch"]


def test_a_version_4_bundle_answers_to_its_retired_head_nods_too():
    bundle = [direction("age", 2), direction("pitch", 4), direction("pitch@2", 2, retired=True),
              direction("pitch@3", 3, retired=True)]
    found = with_retired_aliases(bundle)
    assert [d.id for d in found] == ["age", "pitch", "pitch@2", "pitch@3", "pitch@4"]
    assert [d.id for d in shown(found)] == ["age", "pitch"]


def test_a_current_bundle_ships_its_own_retired_vectors_and_hides_them():
    bundle = [direction("age", 2), direction("pitch", RECIPE_VERSION),
              direction("age@1", 1, retired=True), direction("pitch@2", 2, retired=True),
              direction("pitch@3", 3, retired=True), direction("pitch@4", 4, retired=True)]
    found = with_retired_aliases(bundle)
    assert [d.id for d in found] == ["age", "pitch", "age@1", "pitch@2", "pitch@3", "pitch@4"]
    assert [d.id for d in shown(found)] == ["age", "pitch"]


def test_a_slider_s_name_means_today_s_vector_not_its_retired_versions():
    from facestudio.latent.directions import DirectionError, find_direction
    nod = [replace(direction("pitch", 3), name="Head nod"), replace(direction("pitch@2", 2, retired=True), name="Head nod")]
    found = with_retired_aliases(nod)
    assert [d.id for d in found if d.name == "Head nod"] == ["pitch", "pitch@2", "pitch@3"]
    assert find_direction("Head nod", found).id == "pitch" and find_direction(" head NOD ", found).id == "pitch"
    assert find_direction("pitch@2", found).id == "pitch@2"  # an id still finds a retired one
    with pytest.raises(DirectionError, match="ambiguous"):  # two current ones of one name stay ambiguous
        find_direction("Head nod", found + [replace(direction("nod2", 3), name="Head nod")])
