"""Style-mixing grids as recipes: rows of source faces, columns of style donors.

A cell of a :class:`MixGrid` is the row face (its seed, psi, cutoff, class and edits) with
the ws rows ``layers = [start, stop)`` taken from the column face: the donor's seed, mapped
with the row's psi / cutoff / class, plus the donor's own edits (``Mix.edits``). Every cell
is an ordinary :class:`Recipe`, so it renders alone exactly as it renders in the grid, and
it can be made the current face, edited further and exported. No Qt here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from facestudio.latent.recipe import Mix, Recipe
from facestudio.latent.seeds import seed_grammar
from facestudio.sheets import tile

T = TypeVar("T")


def mixed(row: Recipe, donor: Recipe, layers: tuple[int, int]) -> Recipe:
    """``row`` with ws rows ``[start, stop)`` from ``donor`` (its seed and its edits).

    A mix the row already had is replaced; the donor's own mix is not carried over.
    """
    start, stop = (int(i) for i in layers)
    return row.replace(mix=Mix(donor.seed, (start, stop), tuple(donor.edits)))


def parse_seeds(text: str, limit: int = 64) -> list[int]:
    """The Mix tab's row or column seeds, in the one seeds grammar of the commands
    (:func:`facestudio.latent.seeds.seed_grammar`): ``"1, 2, 5-7"`` -> ``[1, 2, 5, 6, 7]``,
    ``""`` -> ``[]``. Raises :class:`~facestudio.number_lists.NumberListError` (a
    ValueError) with one sentence."""
    return seed_grammar().parse(text, limit, "at most what one side of a mixing grid holds", allow_empty=True)


@dataclass(frozen=True)
class MixGrid:
    """rows: source faces; cols: style donors; layers: half-open ws row range taken from
    the donors."""

    rows: tuple[Recipe, ...]
    cols: tuple[Recipe, ...]
    layers: tuple[int, int]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.cols)

    def cell(self, r: int, c: int) -> Recipe:
        """The recipe of the cell in row ``r``, column ``c`` (0-based, headers excluded)."""
        return mixed(self.rows[r], self.cols[c], self.layers)

    def cells(self) -> list[Recipe]:
        """All cell recipes, row-major (``r * len(cols) + c``)."""
        return [self.cell(r, c) for r in range(len(self.rows)) for c in range(len(self.cols))]

    def all_recipes(self) -> list[Recipe]:
        """The row faces, the column faces and the cells, each once, in that order: what
        one batched render of the whole grid needs."""
        seen: dict[Recipe, None] = {}
        for recipe in (*self.rows, *self.cols, *self.cells()):
            seen.setdefault(recipe, None)
        return list(seen)


def grid_layout(sources: Sequence[T], donors: Sequence[T], cells: Sequence[T]) -> list[T | None]:
    """The one mixing-grid layout, that of the reference ``style_mixing.py``, row-major in
    ``len(donors) + 1`` columns: the top-left cell empty (None), the first row the donors,
    then each source followed by its row of ``cells`` (``len(sources) * len(donors)`` of
    them, row-major). The CLI's ``mix``, the Mix tab's sheet and its labels all use it."""
    n = len(donors)
    out: list[T | None] = [None, *donors]
    for r, source in enumerate(sources):
        out += [source, *cells[r * n:(r + 1) * n]]
    return out


def grid_sheet(grid: MixGrid, images: Mapping[Recipe, np.ndarray]) -> np.ndarray:
    """The grid as one uint8 image ``[(rows + 1) * R, (cols + 1) * R, 3]``, laid out like the
    reference ``style_mixing.py``: top-left empty (black), first row the donors, first column
    the sources. ``images`` maps every recipe of :meth:`MixGrid.all_recipes` to ``[R, R, 3]``;
    KeyError names a missing one."""
    laid = grid_layout(grid.rows, grid.cols, grid.cells())
    return tile([None if r is None else images[r] for r in laid], len(grid.cols) + 1)


def grid_labels(grid: MixGrid) -> list[str]:
    """Row-major labels for a labelled sheet of ``(rows + 1) x (cols + 1)`` images."""
    def name(recipe: Recipe) -> str:
        return f"seed {recipe.seed}" + ("*" if recipe.edits else "")

    cells = [f"{row.seed} × {col.seed}" for row in grid.rows for col in grid.cols]
    laid = grid_layout([name(r) for r in grid.rows], [f"donor {name(c)}" for c in grid.cols], cells)
    return ["" if label is None else label for label in laid]
