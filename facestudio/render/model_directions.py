"""Directions that travel with a model: a bundle beside its weights, loaded at open.

A native model folder may hold ``directions.npz`` (the bundled model ships Age and Gender
there); any other weight file ``NAME.ext`` may have ``NAME.ext.directions.npz`` beside it.
A bundle made for other weights (its sha256 differs: the model was retrained or replaced)
is not loaded, because its directions would not mean what their names say.

Bundles are versioned (each direction's ``meta["bundle_version"]``; none = 1). When a model's
named sliders are refitted, the vectors they replace stay in the bundle under ``ID@VERSION``
with ``meta["retired"]``, so that a recipe made before (which
:func:`facestudio.latent.recipe.retired_id` reads as ``age@1``) renders the same face; the
dock does not show them (:func:`shown`). A version-1 bundle (fitted before versions existed)
answers to those ids itself.
"""

from __future__ import annotations

from pathlib import Path

from facestudio.latent.direction_files import read_directions
from dataclasses import replace

from facestudio.latent.directions import Direction, DirectionError
from facestudio.latent.model_direction_set import shown
from facestudio.latent.recipe import retired_id

__all__ = ["BUNDLE_NAME", "bundle_path_for", "model_directions", "shown", "with_retired_aliases"]

BUNDLE_NAME = "directions.npz"


def bundle_path_for(model_path: Path) -> Path:
    model_path = Path(model_path)
    if model_path.is_dir():
        return model_path / BUNDLE_NAME
    return model_path.with_name(model_path.name + "." + BUNDLE_NAME)


def model_directions(generator, notes: list[str] | None = None) -> list[Direction]:
    """The directions shipped beside ``generator``'s weights (empty when there are none or
    they belong to other weights; the reason goes to ``notes`` when given)."""
    if generator.path is None:
        return []
    path = bundle_path_for(generator.path)
    if not path.is_file():
        return []
    try:
        found = read_directions(path, generator.w_dim, generator.num_ws, model_sha256=generator.sha256)
    except DirectionError as exc:
        if notes is not None:
            notes.append(f"{path.name} was not loaded: {exc}")
        return []
    if found.other_model:
        if notes is not None:
            notes.append(f"{path.name} was fitted for other weights (sha256 {found.other_model[:12]}…), "
                         "so its directions were not loaded")
        return []
    return with_retired_aliases(found.directions)


def with_retired_aliases(directions: list[Direction]) -> list[Direction]:
    """``directions`` plus, for each direction of an older bundle that a later version retires, the
    same vector under its retired id, so that old recipes find it either way."""
    known = {d.id for d in directions}
    aliases = []
    for d in directions:
        alias = retired_id(d.id, int(d.meta.get("bundle_version", 1)))
        if alias != d.id and alias not in known:
            aliases.append(replace(d, id=alias, meta={**d.meta, "retired": True}))
    return directions + aliases
