"""Recipes to ws: the mapping half of rendering.

:class:`WsMapping` turns an immutable :class:`~facestudio.latent.recipe.Recipe` into its
W+ latent for one loaded :class:`~facestudio.generator.model.Generator`:
``ws_for(recipe)`` -> ws ``[num_ws, w_dim]`` float32: the seed's z (reference convention,
``RandomState(seed).randn(1, z_dim)``) mapped with the recipe's psi / cutoff / class, the
style-mixing rows taken from the mix seed (mapped the same way, with the donor's own edits
when the mix carries any), then the edits along the directions it was handed.

Mapping runs the mapping network (on a cache miss), so in the studio only the render
worker calls it; the GUI gets ws through a worker job. The directions are an immutable
snapshot (a mapping id -> :class:`Direction` that :meth:`WsMapping.set_directions` swaps
whole); the cache of mapped seeds is guarded by a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from facestudio.errors import FacestudioError
from facestudio.generator.model import Generator
from facestudio.latent.directions import Direction, DirectionError, apply_edits
from facestudio.latent.recipe import Recipe, check_layer_range
from facestudio.latent.seeds import z_from_seed

BASE_WS_CACHE_SIZE = 256


class ModelMismatchError(FacestudioError, ValueError):
    """A recipe made with another model than the one loaded; the message is one sentence."""


class WsMapping:
    """Recipe -> ws for one generator.

    generator: the loaded model (its ``sha256`` must match every recipe's ``model_sha256``);
    directions: direction id -> :class:`Direction`, used by the recipes' edits (replaced
    whole with :meth:`set_directions`); cache_size: how many mapped base ws (per seed, psi,
    cutoff, class) to keep.
    """

    def __init__(self, generator: Generator, directions: Mapping[str, Direction] | None = None,
                 cache_size: int = BASE_WS_CACHE_SIZE):
        self.generator = generator
        self._directions: Mapping[str, Direction] = MappingProxyType({})
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._cache_size = max(1, int(cache_size))
        self._cache_lock = threading.Lock()
        self.set_directions(directions or {})

    @property
    def directions(self) -> Mapping[str, Direction]:
        """The directions recipes may use, by id (an immutable snapshot)."""
        return self._directions

    def check_directions(self, directions: Mapping[str, Direction]) -> None:
        """Raise :class:`DirectionError` with one sentence for a direction of the wrong shape
        or one made for another model (reads only the generator's fixed facts, so any thread
        may call it)."""
        g = self.generator
        for d in directions.values():
            d.check_fits(g.num_ws, g.w_dim)
            if d.model_sha256 is not None and d.model_sha256 != g.sha256:
                raise DirectionError(f"direction {d.name!r} was made for another model "
                                     f"(sha256 {d.model_sha256[:12]}), not {g.name}")

    def set_directions(self, directions: Mapping[str, Direction]) -> None:
        """Replace the directions (all at once) by an immutable copy of ``directions``; refused
        as :meth:`check_directions` says, keeping the ones before."""
        self.check_directions(directions)
        self._directions = directions if isinstance(directions, MappingProxyType) else MappingProxyType(dict(directions))

    def check_recipe(self, recipe: Recipe) -> None:
        """Raise :class:`ModelMismatchError` when ``recipe`` was made with another model."""
        g = self.generator
        if recipe.model_sha256 != g.sha256:
            made_with = recipe.model_name or f"sha256 {recipe.model_sha256[:12]}"
            raise ModelMismatchError(f"this face was made with the model {made_with}, "
                                     f"not with the loaded model {g.name} (sha256 {g.sha256[:12]})")

    def ws_for(self, recipe: Recipe) -> np.ndarray:
        """The recipe's W+ latent, a new float32 array ``[num_ws, w_dim]``.

        Order: map the seed (psi / cutoff / class), replace the mix rows ``[start, stop)``
        with the mix seed's ws mapped the same way, then add the edits in order.
        """
        self.check_recipe(recipe)
        directions = self._directions  # one snapshot for the whole recipe, whatever is swapped in meanwhile
        num_ws = self.generator.num_ws
        ws = np.array(self._base_ws(recipe.seed, recipe), dtype=np.float32, copy=True)
        if recipe.mix is not None:
            start, stop = check_layer_range(recipe.mix.layers, num_ws, "the style mix")
            donor = self._base_ws(recipe.mix.seed, recipe)
            if recipe.mix.edits:
                donor = self._edited(donor, recipe.mix.edits, directions)
            ws[start:stop] = donor[start:stop]
        if recipe.edits:
            ws = self._edited(ws, recipe.edits, directions)
        return ws

    def _edited(self, ws: np.ndarray, edits, directions: Mapping[str, Direction] | None = None) -> np.ndarray:
        """``ws`` ``[num_ws, w_dim]`` with ``edits`` applied in order (validated first)."""
        num_ws = self.generator.num_ws
        for edit in edits:
            check_layer_range(edit.layers, num_ws, f"the edit along {edit.direction_id!r}")
            if not np.isfinite(edit.amount):
                raise ValueError(f"the edit along {edit.direction_id!r} has a non-finite amount")
        return apply_edits(ws, [e.as_tuple() for e in edits], self._directions if directions is None else directions)

    def ws_batch_for(self, recipes: Sequence[Recipe]) -> np.ndarray:
        """``ws_for`` of each recipe stacked into ``[N, num_ws, w_dim]``."""
        g = self.generator
        if not recipes:
            return np.zeros((0, g.num_ws, g.w_dim), np.float32)
        return np.stack([self.ws_for(r) for r in recipes])

    def _base_ws(self, seed: int, recipe: Recipe) -> np.ndarray:
        """Read-only ws ``[num_ws, w_dim]`` of ``seed`` mapped with the recipe's psi, cutoff
        and class; kept in a bounded LRU cache."""
        key = (int(seed), float(recipe.psi), recipe.cutoff, recipe.class_idx)
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        g = self.generator
        ws = g.map(z_from_seed(seed, g.z_dim), c=recipe.class_idx, psi=recipe.psi, cutoff=recipe.cutoff)[0]
        ws = np.ascontiguousarray(ws, dtype=np.float32)
        ws.setflags(write=False)
        with self._cache_lock:
            self._cache[key] = ws
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return ws

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()
