"""The direction catalogue without Qt: what is shown per method, which ids a recipe may
use, the user's own directions and the events that announce each change."""


import numpy as np
import pytest

from facestudio.latent.directions import Direction
from facestudio.latent.model_direction_set import ModelDirections
from facestudio.session.direction_catalogue import DirectionCatalogue, catalogue_for
from facestudio.session.studio_state import StudioState
from tests.helpers import heavy_imports_of

SHA, NUM_WS, W_DIM = "ab" * 32, 8, 4


def direction(id, source="user", sha=SHA, vector=None, **meta):
    vector = np.eye(W_DIM)[len(id) % W_DIM] if vector is None else vector
    return Direction(id=id, name=id.title(), vector=vector, layers=(0, NUM_WS), scale=1.0, source=source,
                     model_sha256=sha, meta=meta)


def model_directions():
    named = (direction("age", "attribute"), direction("age@1", "attribute", retired=True))
    found = {"pca": (direction("pca0", "pca"), direction("pca1", "pca")),
             "sefa": (direction("sefa0", "sefa"),)}
    return ModelDirections(SHA, NUM_WS, W_DIM, named, found, {"pca": "PCA", "sefa": "SeFa"})


@pytest.fixture
def catalogue():
    c = DirectionCatalogue()
    c.seen = []
    c.events.connect(lambda kind, payload: c.seen.append(kind))
    c.open_model(model_directions())
    return c


def test_the_catalogue_needs_no_qt():
    assert heavy_imports_of("facestudio.session.direction_catalogue") == []


def test_shown_follows_the_method_and_known_ids_cover_every_method(catalogue):
    assert [d.id for d in catalogue.shown()] == ["age", "pca0", "pca1"]  # the retired age@1 is not shown
    assert [d.id for d in catalogue.shown("sefa")] == ["age", "sefa0"]
    assert catalogue.set_method("sefa") and not catalogue.set_method("nope")
    assert [d.id for d in catalogue.shown()] == ["age", "sefa0"]
    assert catalogue.known_ids() == {"age", "age@1", "pca0", "pca1", "sefa0"}
    assert catalogue.seen == ["model", "method"]


def test_the_snapshot_is_immutable_and_replaced_after_a_change(catalogue):
    before = catalogue.known()
    with pytest.raises(TypeError):
        before["x"] = direction("x")
    catalogue.add_user([direction("mine")])
    assert "mine" not in before and "mine" in catalogue.known()


def test_the_users_own_take_fresh_ids_stay_known_when_deleted_and_mark_the_state_dirty():
    state = StudioState()
    state.set_model(type("M", (), {"sha256": SHA, "name": "m", "directions": model_directions()})())
    cat = state.directions
    (clash,) = cat.add_user([direction("pca0")])  # the id of a discovered slider: renamed, not clobbered
    assert clash.id != "pca0" and state.dirty
    assert [d.id for d in cat.shown()][-1] == clash.id
    assert cat.rename_user(clash.id, "  Brighter ") and cat.user[0].name == "Brighter"
    assert cat.delete_user(clash.id) is not None and cat.user == ()
    assert clash.id in cat.known_ids()  # undo may still bring back a face that used it
    assert cat.delete_user(clash.id) is None


def test_another_model_keeps_only_the_users_directions_made_for_it(catalogue):
    catalogue.add_user([direction("mine"), direction("theirs", sha=None)])
    catalogue.set_method("sefa")
    other = ModelDirections("cd" * 32, NUM_WS, W_DIM)
    catalogue.open_model(other)
    assert catalogue.user == () and catalogue.method == "pca" and catalogue.known_ids() == set()


def test_a_sessions_directions_that_do_not_fit_are_left_out_with_a_reason():
    wrong_shape = direction("wide", vector=np.ones(W_DIM + 1))
    other_model = direction("other", sha="ef" * 32)
    cat, problems = catalogue_for(model_directions(), [direction("mine"), wrong_shape, other_model])
    assert [d.id for d in cat.user] == ["mine"] and len(problems) == 2
    assert "made for another model" in problems[1]
