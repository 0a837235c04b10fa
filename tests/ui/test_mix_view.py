"""The Mix tab: one batch per grid, exact cells, cached re-renders, picking and keeping."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from facestudio.latent.mixing import MixGrid
from facestudio.latent.recipe import Mix
from tests.ui.window_helpers import fill_grid

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 30_000


def mixed_ws(renderer, row, donor, layers):
    """The row face's ws with rows ``[start, stop)`` from the donor, composed by hand."""
    ws = renderer.ws_for(row.replace(edits=()))
    start, stop = layers
    ws[start:stop] = renderer.ws_for(donor.replace(psi=row.psi, cutoff=row.cutoff,
                                                   class_idx=row.class_idx))[start:stop]
    return ws if not row.edits else renderer.mapping._edited(ws, row.edits)


def assert_same_as_alone(cell, alone):
    """A cell equals its recipe rendered alone. On this random 32 px test network, torch's
    CPU convolutions may round differently for a batch of 4 than for a batch of 1, so a
    few pixels may differ by one level (the renderer's own batch test allows the same); on
    the bundled model the benchmark checks bit-exact equality."""
    diff = np.abs(cell.astype(int) - alone.astype(int))
    assert diff.max() <= 1
    assert (diff > 0).mean() < 0.02


def test_presets_show_the_models_layer_indices(window):
    view = window.mix_view
    groups = window.state.model.layer_groups()
    labels = [view.preset.itemText(i) for i in range(view.preset.count())]
    assert labels[-1] == "custom"
    for (name, (a, b)), label in zip(groups.items(), labels):
        assert label == f"{name} ({a}–{b - 1})"
    assert view.layers == groups["coarse"]


def test_each_cell_equals_the_mixed_recipe_rendered_alone(qtbot, window):
    view = fill_grid(qtbot, window)
    grid = view.grid
    assert grid.shape == (2, 3)
    renderer = window.state.model.renderer
    for r in range(2):
        for c in range(3):
            recipe = view.recipe_at(r + 1, c + 1)
            assert recipe == grid.cell(r, c)
            assert recipe.mix == Mix(grid.cols[c].seed, view.layers)
            assert np.array_equal(renderer.ws_for(recipe), mixed_ws(renderer, grid.rows[r], grid.cols[c], view.layers))
            assert_same_as_alone(view.cache[recipe], renderer.render(recipe))
    assert view.recipe_at(0, 0) is None
    assert view.recipe_at(1, 0) == grid.rows[0] and view.recipe_at(0, 2) == grid.cols[1]


def test_the_grid_is_one_batch_not_one_render_per_cell(qtbot, window):
    worker = window.bridge.worker
    before = worker.stats
    view = fill_grid(qtbot, window, rows="1, 2, 3, 4", cols="5, 6, 7, 8")
    after = worker.stats
    faces = 4 + 4 + 16
    assert view.submitted == [view.grid.all_recipes()] and len(view.submitted[0]) == faces
    assert after.batches_requested - before.batches_requested == 1
    assert after.rendered == before.rendered  # no single renders
    assert after.batch_chunks - before.batch_chunks == -(-faces // worker.batch_chunk)


def test_changing_the_layers_renders_only_the_cells(qtbot, window):
    view = fill_grid(qtbot, window)
    heads = set(view.grid.rows + view.grid.cols)
    view.preset.setCurrentIndex(1)  # middle
    view.refresh()
    assert set(view.submitted[-1]) == set(view.grid.cells())
    assert not heads & set(view.submitted[-1])
    qtbot.waitUntil(lambda: all(r in view.cache for r in view.grid.cells()), timeout=TIMEOUT)
    view.preset.setCurrentIndex(0)  # back to coarse: all cached, nothing submitted
    count = len(view.submitted)
    view.refresh()
    assert len(view.submitted) == count


def test_custom_range_and_gallery_faces_with_edits(qtbot, window):
    view = window.mix_view
    edited = window.state.recipe.replace(seed=9).with_edit("pca0", 2.0, (0, window.state.model.num_ws))
    window.state.gallery.add(edited)
    view.cols_gallery.click()
    view.start_spin.setValue(2)
    view.stop_spin.setValue(4)
    if (2, 5) not in window.state.model.layer_groups().values():
        assert view.preset.currentText() == "custom"
    view = fill_grid(qtbot, window, rows="1", cols="3")
    assert view.grid.layers == (2, 5)
    cell = view.grid.cell(0, 1)
    assert cell.mix == Mix(9, (2, 5), edited.edits)
    renderer = window.state.model.renderer
    donor_ws = renderer.ws_for(edited)
    assert np.array_equal(renderer.ws_for(cell)[2:5], donor_ws[2:5])
    assert_same_as_alone(view.cache[cell], renderer.render(cell))


def test_clicking_a_cell_makes_it_the_current_face(qtbot, window):
    view = fill_grid(qtbot, window)
    want = view.grid.cell(1, 2)
    rect = view.table.visualRect(view.table.model().index(2, 3))
    qtbot.mouseClick(view.table.viewport(), QtCore.Qt.LeftButton, pos=rect.center())
    assert window.state.recipe == want
    qtbot.waitUntil(lambda: window.canvas.image is not None
                    and np.array_equal(window.canvas.image, window.state.model.renderer.render(want)),
                    timeout=TIMEOUT)
    window.history.stack.undo()
    assert window.state.recipe != want


def test_keep_selected_adds_several_cells_to_the_gallery(qtbot, window):
    view = fill_grid(qtbot, window)
    view.table.setRangeSelected(QtWidgets.QTableWidgetSelectionRange(1, 1, 2, 2), True)
    view.keep_button.click()
    kept = [f.recipe for f in window.state.gallery]
    assert kept and set(kept) == {view.grid.cell(r, c) for r in range(2) for c in range(2)}
    assert all(f.thumbnail for f in window.state.gallery)


def test_mix_grid_lists_each_face_once():
    from facestudio.latent.recipe import Recipe
    base = Recipe("0" * 64, 1)
    grid = MixGrid((base, base.replace(seed=2)), (base.replace(seed=3), base), (0, 2))
    recipes = grid.all_recipes()
    assert len(recipes) == len(set(recipes)) == 3 + 4


def test_export_grid_writes_a_stamped_sheet_in_the_reference_layout(qtbot, window, tmp_path, without_watermark):
    from PIL import Image

    from facestudio.provenance import DIGITAL_SOURCE_TYPE, read_provenance

    view = fill_grid(qtbot, window)
    [path] = window.mix_controller.export_grid(tmp_path / "grid.png")
    sheet = np.asarray(Image.open(path).convert("RGB"))
    res = 32
    assert sheet.shape == (3 * res, 4 * res, 3)
    assert not sheet[:res, :res].any()
    assert np.array_equal(sheet[:res, res:2 * res], view.cache[view.grid.cols[0]])
    assert np.array_equal(sheet[2 * res:, 3 * res:], view.cache[view.grid.cell(1, 2)])
    prov = read_provenance(path)
    assert prov.source_type.endswith(DIGITAL_SOURCE_TYPE.rsplit("/", 1)[-1])
    assert prov.model_sha256 == window.state.model.sha256
    view.labels_check.setChecked(True)
    [labelled] = window.mix_controller.export_grid(tmp_path / "labelled.png")
    assert Image.open(labelled).size[0] > 4 * res
    with pytest.raises(Exception, match="exists"):
        window.mix_controller.export_grid(tmp_path / "grid.png")
