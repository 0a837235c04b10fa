"""The studio state without Qt: the recipe, the layer ranges, the dirty flag, drag merge
keys, and the events controllers listen to."""

from types import SimpleNamespace

import pytest

from facestudio.session.gallery import Gallery
from facestudio.latent.recipe import Recipe
from facestudio.session.studio_state import StudioState
from tests.helpers import heavy_imports_of

SHA = "ab" * 32


def model(sha=SHA, name="tiny"):
    return SimpleNamespace(sha256=sha, name=name)


@pytest.fixture
def state():
    s = StudioState()
    s.events_seen = []
    s.events.connect(lambda kind, payload: s.events_seen.append((kind, payload)))
    return s


def test_the_studio_state_needs_no_qt():
    assert heavy_imports_of("facestudio.session.studio_state") == []


def test_applying_a_recipe_makes_it_current_marks_it_dirty_and_says_so(state):
    state.set_model(model())
    recipe = Recipe(SHA, 7, model_name="tiny").with_edit("pca0", 1.5, (2, 6))
    state.apply(recipe, interactive=True)
    assert state.recipe == recipe and state.dirty
    assert state.layers_of("pca0") == (2, 6)  # the edit's range becomes the direction's
    assert state.events_seen == [("model", state.model), ("dirty", True), ("recipe", (recipe, True))]


def test_dirty_is_announced_only_when_it_changes(state):
    state.mark_dirty()
    state.mark_dirty()
    state.mark_saved()
    state.mark_saved()
    assert state.events_seen == [("dirty", True), ("dirty", False)] and not state.dirty


def test_a_new_model_forgets_the_layer_ranges(state):
    state.set_model(model())
    state.set_layers("pca1", (0, 4))
    state.default_layers("pca1", (3, 5))   # the user's choice stays
    state.default_layers("pca2", (3, 5))
    assert state.layers == {"pca1": (0, 4), "pca2": (3, 5)}
    state.set_model(model("cd" * 32, "other"))
    assert state.layers == {}
    with pytest.raises(KeyError):
        state.layers_of("pca1")


def test_one_drag_is_one_merge_key_and_the_next_drag_another(state):
    assert state.merge_key("psi", dragging=False) is None  # a click is a step of its own
    first = state.merge_key("psi", dragging=True)
    assert state.merge_key("psi", dragging=True) == first
    assert state.merge_key("pca0", dragging=True) != first
    state.finish_drag()
    assert state.merge_key("psi", dragging=True) != first


def test_the_end_of_a_drag_asks_for_the_full_frame_of_the_current_face(state):
    state.finish_drag()  # nothing shown yet: nothing to render
    assert state.events_seen == []
    recipe = Recipe(SHA, 3)
    state.apply(recipe)
    state.finish_drag()
    assert state.events_seen[-1] == ("drag_finished", recipe)


def test_only_recipes_of_the_open_model_count_as_made_with_it(state):
    assert not state.made_with_open_model(Recipe(SHA, 1))  # no model open
    state.set_model(model())
    assert state.made_with_open_model(Recipe(SHA, 1))
    assert not state.made_with_open_model(Recipe("cd" * 32, 1))


def test_apply_refuses_what_is_not_a_recipe(state):
    with pytest.raises(TypeError, match="Recipe"):
        state.apply({"seed": 1})
    assert state.recipe is None and state.events_seen == []


def test_the_gallery_is_the_one_handed_in():
    gallery = Gallery()
    assert StudioState(gallery).gallery is gallery
    assert len(StudioState().gallery) == 0
