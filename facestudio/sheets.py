"""Tiling images into one sheet: the one helper behind every grid facestudio writes.

The mix grid, the contact sheet, the training samples grid, the interpolation strip, the
direction sheet and the batch contact sheet all place equal-sized uint8 images row by row
on one canvas. :class:`SheetLayout` is that geometry (rows, columns, the gap between cells,
room under each cell for a label, a margin around the whole), :meth:`SheetLayout.paint`
fills a canvas, and :func:`tile` does both for the common case. Labels and lines are the
callers' own (Pillow); they read the cell positions from :meth:`SheetLayout.origin`.

numpy only, at the package top like ``fileio.py``: every package may import it, the
training loop (generator and torch) and ``provenance`` (no torch) included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np

Margin = Union[int, tuple[int, int, int, int]]  # one width, or (top, right, bottom, left)
Colour = Union[int, tuple[int, int, int]]


def square_columns(count: int) -> int:
    """Columns for a roughly square sheet of ``count`` cells (at least one)."""
    return min(count, max(1, round(count ** 0.5 + 0.49)))


@dataclass(frozen=True)
class SheetLayout:
    """Where the cells of a ``rows`` x ``cols`` sheet of ``cell_h`` x ``cell_w`` images go.

    gap: pixels between neighbouring cells (both directions); below: pixels kept free under
    every cell (a label's room, part of the cell's slot); margin: (top, right, bottom, left)
    around the whole sheet.
    """

    rows: int
    cols: int
    cell_h: int
    cell_w: int
    gap: int = 0
    below: int = 0
    margin: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self):
        for name in ("rows", "cols", "cell_h", "cell_w"):
            if getattr(self, name) < 1:
                raise ValueError(f"a sheet's {name} must be at least 1, got {getattr(self, name)}")
        if min(self.gap, self.below, *self.margin) < 0:
            raise ValueError("a sheet's gap, label room and margins cannot be negative")

    @property
    def height(self) -> int:
        top, _, bottom, _ = self.margin
        return top + bottom + self.rows * (self.cell_h + self.below) + (self.rows - 1) * self.gap

    @property
    def width(self) -> int:
        _, right, _, left = self.margin
        return left + right + self.cols * self.cell_w + (self.cols - 1) * self.gap

    def origin(self, index: int) -> tuple[int, int]:
        """``(y, x)`` of the top-left pixel of cell ``index`` (row-major)."""
        if not 0 <= index < self.rows * self.cols:
            raise IndexError(f"cell {index} is outside a {self.rows} x {self.cols} sheet")
        r, c = divmod(index, self.cols)
        return (self.margin[0] + r * (self.cell_h + self.below + self.gap),
                self.margin[3] + c * (self.cell_w + self.gap))

    def paint(self, images: Sequence[np.ndarray | None] | np.ndarray, background: Colour = 0) -> np.ndarray:
        """A new uint8 canvas ``[height, width, 3]`` of ``background`` with ``images[i]`` in
        cell ``i``; a None image (or a cell past the last image) stays empty."""
        if len(images) > self.rows * self.cols:
            raise ValueError(f"{len(images)} images do not fit a {self.rows} x {self.cols} sheet")
        canvas = np.empty((self.height, self.width, 3), np.uint8)
        canvas[...] = np.asarray(background, np.uint8)
        for i, image in enumerate(images):
            if image is None:
                continue
            if np.shape(image) != (self.cell_h, self.cell_w, 3):
                raise ValueError(f"image {i} is {np.shape(image)}, not a {self.cell_h} x {self.cell_w} RGB cell")
            y, x = self.origin(i)
            canvas[y:y + self.cell_h, x:x + self.cell_w] = image
        return canvas


def layout_for(images: Sequence[np.ndarray | None] | np.ndarray, cols: int | None = None, *,
               gap: int = 0, below: int = 0, margin: Margin = 0) -> SheetLayout:
    """The layout of ``images`` (the cell size is the first image's) in ``cols`` columns
    (default: a roughly square sheet) and as many rows as they need."""
    count = len(images)
    first = next((im for im in images if im is not None), None)
    if first is None:
        raise ValueError("a sheet needs at least one image")
    cols = square_columns(count) if cols is None else int(cols)
    if cols < 1:
        raise ValueError(f"a sheet needs at least one column, got {cols}")
    edges = (margin,) * 4 if isinstance(margin, (int, np.integer)) else tuple(margin)
    h, w = np.shape(first)[:2]
    return SheetLayout(-(-count // cols), cols, int(h), int(w), gap, below, tuple(int(e) for e in edges))


def tile(images: Sequence[np.ndarray | None] | np.ndarray, cols: int | None = None, *, gap: int = 0,
         below: int = 0, margin: Margin = 0, background: Colour = 0) -> np.ndarray:
    """uint8 images ``[N, H, W, 3]`` (or a list, None for an empty cell) -> one uint8 sheet,
    row-major in ``cols`` columns (see :func:`layout_for` and :meth:`SheetLayout.paint`)."""
    return layout_for(images, cols, gap=gap, below=below, margin=margin).paint(images, background)
