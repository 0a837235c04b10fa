"""Mixing grids as recipes, seed lists, and the donor's edits in a recipe's mix."""

import pytest

from facestudio.latent.mixing import MixGrid, mixed, parse_seeds
from facestudio.latent.recipe import Edit, Mix, Recipe

SHA = "ab" * 32


def test_parse_seeds_lists_and_ranges():
    assert parse_seeds("1, 2, 5-7") == [1, 2, 5, 6, 7]
    assert parse_seeds(" ") == []
    for bad in ("x", "7-5", "-3", str(2 ** 32)):
        with pytest.raises(ValueError):
            parse_seeds(bad)
    with pytest.raises(ValueError, match="at most"):
        parse_seeds("0-100")


def test_a_cell_is_the_row_with_the_donors_seed_and_edits():
    row = Recipe(SHA, 1, psi=0.5, edits=(Edit("a", 1.0, (0, 4)),), mix=Mix(3, (0, 1)))
    donor = Recipe(SHA, 2, edits=(Edit("b", -1.0, (2, 6)),))
    cell = mixed(row, donor, (4, 8))
    assert cell == row.replace(mix=Mix(2, (4, 8), donor.edits))
    grid = MixGrid((row,), (donor, row), (4, 8))
    assert grid.shape == (1, 2) and grid.cells() == [cell, mixed(row, row, (4, 8))]


def test_mix_edits_round_trip_and_plain_mixes_keep_their_old_form():
    with_edits = Recipe(SHA, 1, mix=Mix(2, (0, 4), (Edit("b", -1.5, (2, 6)),)))
    d = with_edits.to_dict()
    assert d["mix"]["edits"] == [{"direction": "b", "amount": -1.5, "layers": [2, 6]}]
    assert Recipe.from_dict(d) == with_edits
    plain = Recipe(SHA, 1, mix=Mix(2, (0, 4)))
    assert plain.to_dict()["mix"] == {"seed": 2, "layers": [0, 4]}
    assert Recipe.from_dict(plain.to_dict()) == plain


def test_grid_sheet_layout_and_labels():
    import numpy as np

    from facestudio.latent.mixing import grid_labels, grid_sheet
    rows = (Recipe(SHA, 1), Recipe(SHA, 2, edits=(Edit("a", 1.0, (0, 2)),)))
    cols = (Recipe(SHA, 3),)
    grid = MixGrid(rows, cols, (0, 2))
    images = {r: np.full((2, 2, 3), i + 1, np.uint8) for i, r in enumerate(grid.all_recipes())}
    sheet = grid_sheet(grid, images)
    assert sheet.shape == (6, 4, 3)
    assert not sheet[:2, :2].any()
    assert (sheet[:2, 2:] == images[cols[0]]).all() and (sheet[4:, 2:] == images[grid.cell(1, 0)]).all()
    assert grid_labels(grid) == ["", "donor seed 3", "seed 1", "1 × 3", "seed 2*", "2 × 3"]
