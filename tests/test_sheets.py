"""The one sheet-tiling helper: placement, empty cells, gaps, label room, margins, refusals."""

import numpy as np
import pytest

from facestudio.sheets import SheetLayout, layout_for, square_columns, tile


def faces(n, h=4, w=6):
    """n distinct flat-coloured cells."""
    return np.stack([np.full((h, w, 3), 10 + i, np.uint8) for i in range(n)])


def test_cells_go_row_major_and_the_last_row_is_padded_with_background():
    sheet = tile(faces(5), cols=3, background=(1, 2, 3))
    assert sheet.shape == (8, 18, 3) and sheet.dtype == np.uint8
    for i in range(5):
        r, c = divmod(i, 3)
        assert (sheet[r * 4:(r + 1) * 4, c * 6:(c + 1) * 6] == 10 + i).all()
    assert (sheet[4:8, 12:18] == (1, 2, 3)).all()


def test_none_leaves_a_cell_empty_like_the_mix_grid_corner():
    cells = [None, *faces(3)]
    sheet = tile(cells, cols=2)
    assert not sheet[:4, :6].any()
    assert (sheet[:4, 6:] == 10).all() and (sheet[4:, :6] == 11).all() and (sheet[4:, 6:] == 12).all()


def test_gap_below_and_margin_place_cells_and_size_the_canvas():
    layout = layout_for(faces(4), cols=2, gap=2, below=3, margin=(5, 1, 2, 7))
    assert (layout.height, layout.width) == (5 + 2 * (4 + 3) + 2 + 2, 7 + 2 * 6 + 2 + 1)
    assert layout.origin(0) == (5, 7) and layout.origin(3) == (5 + 4 + 3 + 2, 7 + 6 + 2)
    sheet = layout.paint(faces(4), background=200)
    y, x = layout.origin(3)
    assert (sheet[y:y + 4, x:x + 6] == 13).all()
    assert (sheet[y + 4:y + 7, x:x + 6] == 200).all()  # the label room stays background
    assert (sheet[:5] == 200).all() and (sheet[:, :7] == 200).all()


def test_one_row_with_a_gap_is_the_strip():
    sheet = tile(faces(3), cols=3, gap=2)
    assert sheet.shape == (4, 3 * 6 + 2 * 2, 3)
    assert not sheet[:, 6:8].any() and (sheet[:, 8:14] == 11).all()


def test_default_columns_make_a_roughly_square_sheet():
    assert [square_columns(n) for n in (1, 2, 4, 5, 7, 9, 10)] == [1, 2, 2, 3, 3, 3, 4]
    assert layout_for(faces(7)).cols == 3


@pytest.mark.parametrize("images, cols, message", [
    ([], 2, "at least one image"),
    ([None, None], 2, "at least one image"),
    (faces(2), 0, "at least one column"),
    ([faces(1)[0], np.zeros((5, 6, 3), np.uint8)], 2, "image 1 is (5, 6, 3)"),
])
def test_what_cannot_be_tiled_is_refused_in_one_sentence(images, cols, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tile(images, cols)


def test_a_layout_refuses_more_images_than_cells_and_negative_sizes():
    with pytest.raises(ValueError, match="do not fit"):
        SheetLayout(1, 2, 4, 6).paint(faces(3))
    with pytest.raises(ValueError, match="negative"):
        SheetLayout(1, 2, 4, 6, gap=-1)
    with pytest.raises(IndexError):
        SheetLayout(1, 2, 4, 6).origin(2)
