"""facestudio's public Python API: load a model, design a face, render it, export it.

    import facestudio
    model = facestudio.load_model()            # the bundled model, or load_model(path)
    recipe = model.recipe(seed=42, psi=0.7).edit("age", 1.5)
    pixels = model.render(recipe)              # uint8 [H, W, 3]
    model.export(recipe, "face.png", artist="Ann")

:meth:`Model.export` writes through the one checked export path of the command line, the
studio and the library (:func:`facestudio.provenance.guarded.export_face`): the face is
compared with real photos first and refused (:class:`~facestudio.provenance.guarded.LookalikeRefused`)
when it resembles one, unless ``allow_lookalike=True``; the file carries the provenance
stamp, the invisible watermark and the lookalike verdict, as ``facestudio inspect`` shows.
Every error is a :class:`~facestudio.errors.FacestudioError` with one sentence. Recipes are
the same JSON the studio and the CLI write (:meth:`FaceRecipe.to_dict`), so a face designed
here opens in the studio and the other way round (:meth:`Model.recipe_from`).

The API runs networks on the calling thread; one :class:`Model` is not meant to be shared
between threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facestudio.generator.model import Generator, load_generator
from facestudio.latent.directions import Direction, DirectionError, find_direction
from facestudio.latent.recipe import Recipe
from facestudio.provenance.export import ExportOptions
from facestudio.render.discovery import discover
from facestudio.render.model_directions import model_directions, shown
from facestudio.render.renderer import Renderer

__all__ = ["FaceRecipe", "Model", "load_model"]

DIRECTIONS_HINT = "model.direction_names() lists this model's directions"


def load_model(path: str | Path | None = None) -> "Model":
    """The bundled model (``path`` None), or the model file or folder at ``path`` (any format
    facestudio reads). Raises :class:`~facestudio.generator.errors.ModelLoadError`."""
    return Model(load_generator(path))


class Model:
    """A loaded face model: its recipes, renders and checked exports."""

    def __init__(self, generator: Generator):
        self.generator = generator
        self._named = model_directions(generator)  # shipped beside the weights, retired aliases too
        self._discovered: list[Direction] | None = None  # PCA / SeFa, found on first use (cached per model)
        self._renderer = Renderer(generator, {d.id: d for d in self._named})

    name = property(lambda self: self.generator.name, doc="The model's name (its card's, or its file's).")
    sha256 = property(lambda self: self.generator.sha256, doc="The sha256 that names the model's weights.")
    resolution = property(lambda self: self.generator.resolution, doc="Faces are resolution x resolution.")

    def __repr__(self) -> str:
        return f"<facestudio.Model {self.name} {self.resolution}px sha256 {self.sha256[:12]}>"

    # ---------------------------------------------------------------- directions
    def directions(self, discovered: bool = True) -> list[Direction]:
        """The named directions shipped with the model (age, gender, smile ... where it has
        them), then, with ``discovered``, its PCA and SeFa directions (found on first use)."""
        out = shown(self._named)
        if discovered:
            out += self._discovered_directions()
        return out

    def direction_names(self) -> list[str]:
        """The ids :meth:`FaceRecipe.edit` accepts (names work too)."""
        return [d.id for d in self.directions()]

    def direction(self, name: str) -> Direction:
        """The direction with this id or name; DirectionError (one sentence) when none."""
        for known in (lambda: shown(self._named), lambda: self._named,  # retired ids serve old recipes
                      lambda: self._named + self._discovered_directions()):
            try:
                return find_direction(name, known(), DIRECTIONS_HINT)
            except DirectionError as exc:
                error = exc
        raise error

    def _discovered_directions(self) -> list[Direction]:
        if self._discovered is None:
            self._discovered = discover(self.generator).all_directions()
            self._renderer.set_directions({d.id: d for d in self._named + self._discovered})
        return list(self._discovered)

    # ---------------------------------------------------------------- recipes
    def recipe(self, seed: int, psi: float = 0.7, *, cutoff: int | None = None, noise: str = "const",
               class_idx: int | None = None, transform: tuple[float, float, float] | None = None) -> "FaceRecipe":
        """The face of ``seed`` at truncation ``psi`` (as the studio's and the CLI's recipes).
        RecipeError (one sentence) for a value out of range."""
        return FaceRecipe(self, Recipe(self.sha256, seed, psi=psi, cutoff=cutoff, noise=noise, class_idx=class_idx,
                                       model_name=self.name, transform=transform))

    def recipe_from(self, data: dict[str, Any] | Recipe) -> "FaceRecipe":
        """A recipe as the studio, the CLI or :meth:`FaceRecipe.to_dict` wrote it, for this model."""
        recipe = data if isinstance(data, Recipe) else Recipe.from_dict(data)
        for edit in recipe.edits:
            self.direction(edit.direction_id)  # an unknown direction is refused here, not at render
        self._renderer.check_recipe(recipe)
        return FaceRecipe(self, recipe)

    # ---------------------------------------------------------------- pixels and files
    def render(self, recipe: "FaceRecipe | Recipe") -> np.ndarray:
        """The face as uint8 ``[H, W, 3]`` (RGB), the same pixels the studio shows."""
        return self._renderer.render(_plain(recipe))

    def export(self, recipe: "FaceRecipe | Recipe", path: str | Path, *, artist: str = "",
               attribution: str | None = None, overwrite: bool = False, quality: int = 95,
               scale: int | None = None, sidecar: bool = False, allow_lookalike: bool = False,
               options: ExportOptions | None = None) -> list[Path]:
        """Write the face to ``path`` (PNG, JPEG or WebP by its extension) as ``facestudio
        render`` does: the provenance stamp (the model card's terms, ``artist``,
        ``attribution``), the invisible watermark (``scale`` None: upscaled until it fits)
        and the lookalike check. Returns the paths written (the image, and its sidecar with
        ``sidecar``). Raises LookalikeRefused when the face resembles a real photo and
        ``allow_lookalike`` is False, and ExportError / OutputPathError (one sentence) when
        the file cannot be written; nothing is written then."""
        from facestudio.provenance.guarded import export_face
        from facestudio.provenance.terms import make_stamp
        plain = _plain(recipe)
        card = self.generator.card.meta if self.generator.card else {}
        stamp = make_stamp(card, self.name, self.sha256, artist=artist, attribution=attribution)
        options = options or ExportOptions(quality=quality, scale=scale, sidecar=sidecar)
        done = export_face(self.render(plain), Path(path), stamp, plain, options, overwrite,
                           allowed=allow_lookalike, override="pass allow_lookalike=True to write it anyway")
        return done.paths


@dataclass(frozen=True)
class FaceRecipe:
    """A face of one :class:`Model`: a :class:`~facestudio.latent.recipe.Recipe` (``recipe``)
    that knows its model's directions. Immutable: every change returns a new one."""

    model: Model
    recipe: Recipe

    seed = property(lambda self: self.recipe.seed)
    psi = property(lambda self: self.recipe.psi)

    def edit(self, direction: str, amount: float, layers: tuple[int, int] | None = None) -> "FaceRecipe":
        """The face moved ``amount`` units along ``direction`` (an id such as ``"age"`` or
        ``"pca0"``, or a name such as ``"Age"``), on ``layers`` (half-open ws rows; default
        the direction's own). A second edit of the same direction replaces the first;
        amount 0 removes it."""
        d = self.model.direction(direction)
        return FaceRecipe(self.model, self.recipe.with_edit(d.id, amount, tuple(layers) if layers else d.layers))

    def replace(self, **changes: Any) -> "FaceRecipe":
        """A copy with recipe fields changed (``seed``, ``psi``, ``noise`` ...)."""
        return FaceRecipe(self.model, self.recipe.replace(**changes))

    def to_dict(self) -> dict[str, Any]:
        """The recipe as JSON-ready data, the form the studio and the CLI read."""
        return self.recipe.to_dict()


def _plain(recipe: FaceRecipe | Recipe) -> Recipe:
    if isinstance(recipe, FaceRecipe):
        return recipe.recipe
    if isinstance(recipe, Recipe):
        return recipe
    raise TypeError(f"a recipe is a FaceRecipe from model.recipe(), not {type(recipe).__name__}")
