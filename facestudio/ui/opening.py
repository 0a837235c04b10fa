"""What the studio checks before a session or a recipe from a file changes the window.

Opening is all-or-nothing: everything a session holds is checked against the model it will
be shown with (the open one, or the one it names, loaded but not yet shown) before any
window state changes. A problem is one sentence (:class:`RecipeError`'s or
:class:`DirectionError`'s message); the window then keeps its state.
"""

from __future__ import annotations

from pathlib import Path

from facestudio.latent.recipe import Recipe, RecipeError, check_fits, check_layer_range
from facestudio.session.direction_catalogue import catalogue_for
from facestudio.session.document import SessionDocument

SESSION_SUFFIX = ".fsession"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def kind_of(path: str | Path) -> str:
    """``"session"``, ``"image"`` or ``"model"``: how the studio opens ``path``."""
    name = str(path).lower()
    if name.endswith(SESSION_SUFFIX):
        return "session"
    if name.endswith(IMAGE_SUFFIXES):
        return "image"
    return "model"


def recipe_problem(recipe: Recipe, model, direction_ids) -> str | None:
    """Why ``model`` (a StudioModel) cannot show ``recipe`` with ``direction_ids``, or None."""
    if recipe.model_sha256 != model.sha256:
        return (f"the face was made with the model {recipe.model_name or recipe.model_sha256[:12]}, "
                f"not with {model.name}")
    try:
        check_fits(recipe, model.num_ws, model.c_dim, set(direction_ids), model.supports_transform)
    except RecipeError as exc:
        return str(exc)
    return None


def session_problem(doc: SessionDocument, model) -> str | None:
    """Why ``doc`` cannot be opened with ``model``, or None: its user directions must fit the
    model, its recipe and the gallery faces made with this model must fit it and use only
    directions it has, and the stored layer ranges must lie within its layers."""
    catalogue, left_out = catalogue_for(model.directions, doc.directions)  # as it will be once opened
    if left_out:
        return left_out[0]
    ids = catalogue.known_ids()
    if doc.recipe is not None:
        problem = recipe_problem(doc.recipe, model, ids)
        if problem:
            return problem
    for n, face in enumerate(doc.gallery, start=1):
        if face.recipe.model_sha256 == model.sha256:  # faces of other models are refused on restore
            problem = recipe_problem(face.recipe, model, ids)
            if problem:
                return f"gallery face {n} ({face.name}): {problem}"
    layers = doc.ui_state.get("direction_layers", {})
    if not isinstance(layers, dict):
        return "its stored layer ranges are malformed"
    try:
        for key, value in layers.items():
            check_layer_range(value, model.num_ws, f"the layer range stored for {key!r}")
    except RecipeError as exc:
        return str(exc)
    return None


def stored_layers(doc: SessionDocument, num_ws: int) -> dict[str, tuple[int, int]]:
    """The session's per-direction layer ranges (checked by :func:`session_problem`)."""
    return {k: check_layer_range(v, num_ws, k) for k, v in doc.ui_state.get("direction_layers", {}).items()}
