"""Style-mixing grids as recipes: rows of source faces, columns of style donors.

A cell of a :class:`MixGrid` is the row face (its seed, psi, cutoff, class and edits) with
the ws rows ``layers = [start, stop)`` taken from the column face: the donor's seed, mapped
with the row's psi / cutoff / class, plus the donor's own edits (``Mix.edits``). Every cell
is an ordinary :class:`Recipe`, so it renders alone exactly as it renders in the grid, and
it can be made the current face, edited further and exported. No Qt here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from facestudio.latent.recipe import Mix, Recipe
from facestudio.latent.seeds import MAX_SEED
from facestudio.sheets import tile


def mixed(row: Recipe, donor: Recipe, layers: tuple[int, int]) -> Recipe:
    """``row`` with ws rows ``[start, stop)`` from ``donor`` (its seed and its edits).

    A mix the row already had is replaced; the donor's own mix is not carried over.
    """
    start, stop = (int(i) for i in layers)
    return row.replace(mix=Mix(donor.seed, (start, stop), tuple(donor.edits)))


def parse_seeds(text: str, limit: int = 64) -> list[int]:
    """``"1, 2, 5-7"`` -> ``[1, 2, 5, 6, 7]``. Raises ValueError with one sentence."""
    seeds: list[int] = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a seed or a seed range like 5-7") from None
        if len(seeds) > limit:
            raise ValueError(f"at most {limit} faces per side of a mixing grid")
    bad = next((s for s in seeds if not 0 <= s <= MAX_SEED), None)
    if bad is not None:
        raise ValueError(f"seed {bad} is out of range (0 to {MAX_SEED})")
    return seeds


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


def grid_sheet(grid: MixGrid, images: Mapping[Recipe, np.ndarray]) -> np.ndarray:
    """The grid as one uint8 image ``[(rows + 1) * R, (cols + 1) * R, 3]``, laid out like the
    reference ``style_mixing.py``: top-left empty (black), first row the donors, first column
    the sources. ``images`` maps every recipe of :meth:`MixGrid.all_recipes` to ``[R, R, 3]``;
    KeyError names a missing one."""
    cells = [None] + [images[c] for c in grid.cols]
    for r, row in enumerate(grid.rows):
        cells += [images[row]] + [images[grid.cell(r, c)] for c in range(len(grid.cols))]
    return tile(cells, len(grid.cols) + 1)


def grid_labels(grid: MixGrid) -> list[str]:
    """Row-major labels for a labelled sheet of ``(rows + 1) x (cols + 1)`` images."""
    def name(recipe: Recipe) -> str:
        return f"seed {recipe.seed}" + ("*" if recipe.edits else "")

    labels = [""] + [f"donor {name(c)}" for c in grid.cols]
    for row in grid.rows:
        labels += [name(row)] + [f"{row.seed} × {col.seed}" for col in grid.cols]
    return labels
