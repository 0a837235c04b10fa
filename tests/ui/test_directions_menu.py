"""The Directions menu: method picker, A-to-B and marked-face directions, import / export, sessions."""

import numpy as np
import pytest

from facestudio.latent.direction_files import adopt, read_directions, write_bundle
from facestudio.ui.gallery_dock import ID_ROLE
from tests.ui.window_helpers import wait_for_full_frame_of

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def window(window):
    window.directions_controller.ask_text = lambda title, label, default: default
    return window


def keep_seeds(qtbot, win, seeds):
    for s in seeds:
        win.controls.seed_spin.setValue(s)
        wait_for_full_frame_of(qtbot, win, win.state.recipe)
        win.gallery_controller.keep_current()
    return list(win.state.gallery)


def select(win, faces):
    ids = {f.id for f in faces}
    lst = win.gallery_dock.list
    for i in range(lst.count()):
        lst.item(i).setSelected(lst.item(i).data(ID_ROLE) in ids)


def made(qtbot, win, count=1):
    """The user's directions once the worker has sent the ws of the faces they are made of
    (making one finishes when the ws arrive on the GUI thread)."""
    qtbot.waitUntil(lambda: len(win.state.directions.user) >= count, timeout=10_000)
    return win.state.directions.user[count - 1]


def test_method_picker_switches_between_pca_and_sefa(window):
    panel, ctl = window.directions_panel, window.directions_controller
    assert panel.method_combo.count() == 5 and not panel.method_combo.isHidden()
    panel.rows["pca0"].slider.setValue(100)
    panel.method_combo.setCurrentIndex(1)  # SeFa, all layers
    assert ctl.method == "sefa"
    assert list(panel.rows) == [f"sefa{i}" for i in range(12)]
    assert window.state.recipe.amount_of("pca0") == 1.0  # hidden, still applied and still rendered
    panel.rows["sefa0"].slider.setValue(-50)
    panel.method_combo.setCurrentIndex(4)  # SeFa, fine layers
    assert panel.rows["sefa-fine0"].layers == window.state.model.layer_groups()["fine"]
    window.state.model.renderer.ws_for(window.state.recipe)  # every edit still resolves


def test_randomise_edits_moves_the_sliders_shown(window):
    """Issue 31: with the SeFa sliders shown, "Randomise edits" moved PCA directions (the
    model's own list), which the dock did not show."""
    window.directions_panel.method_combo.setCurrentIndex(1)  # SeFa, all layers
    window.editor.randomise_edits()
    moved = {e.direction_id for e in window.state.recipe.edits}
    assert moved and moved <= set(window.directions_panel.rows)
    assert all(i.startswith("sefa") for i in moved)


def test_a_to_b_direction_from_two_gallery_faces(qtbot, window):
    a, b = keep_seeds(qtbot, window, [3, 8])
    window.directions_controller.ask_text = lambda *_: "Three to eight"
    select(window, [b, a])
    assert window.directions_controller.new_from_selected_pair()
    d = made(qtbot, window)
    assert d.name == "Three to eight" and d.id in window.directions_panel.rows
    window.gallery_controller.restore_face(a.id)
    window.directions_panel.rows[d.id].slider.setValue(100)
    ws = window.state.model.renderer.ws_for(window.state.recipe)
    np.testing.assert_allclose(ws, window.state.model.renderer.ws_for(b.recipe), atol=1e-4)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)


def test_a_to_b_needs_two_selected_faces(qtbot, window):
    keep_seeds(qtbot, window, [1])
    select(window, list(window.state.gallery))
    assert not window.directions_controller.new_from_selected_pair()
    assert "exactly two faces" in window.reports[-1]


def test_direction_from_marked_faces_rename_delete_and_session(qtbot, window, tmp_path):
    faces = keep_seeds(qtbot, window, [1, 2, 3, 4])
    ctl = window.directions_controller
    select(window, faces)
    ctl.ask_marks = lambda fs: ([fs[0].id, fs[1].id], [fs[2].id, fs[3].id], "Mine", "mean")
    assert ctl.new_from_marked_dialog()
    d = made(qtbot, window)
    assert d.scale > 0 and d.name == "Mine"
    ctl.rename(d.id, "Brighter")
    assert window.directions_panel.rows[d.id].name_label.text() == "Brighter"
    window.directions_panel.rows[d.id].slider.setValue(150)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    path = tmp_path / "s.fsession"
    assert window.sessions.save_to(path)
    ctl.delete(d.id)
    assert d.id not in window.directions_panel.rows and window.state.recipe.amount_of(d.id) == 0
    window.history.stack.undo()  # the edit comes back and still renders
    assert window.state.recipe.amount_of(d.id) == 1.5
    wait_for_full_frame_of(qtbot, window, window.state.recipe)
    assert window.sessions.open(path)
    assert [u.name for u in ctl.user_directions] == ["Brighter"]
    assert d.id in window.directions_panel.rows
    assert window.directions_panel.rows[d.id].slider.value() == 150


def test_import_and_export_round_trip(qtbot, window, tmp_path):
    ctl, model = window.directions_controller, window.state.model
    out = tmp_path / "shown.npz"
    assert ctl.export_to(out)
    back = read_directions(out, model.w_dim, model.num_ws, model_sha256=model.sha256).directions
    assert [d.id for d in back] == [f"pca{i}" for i in range(12)]
    v = np.random.RandomState(0).randn(model.w_dim)
    np.save(tmp_path / "smile.npy", v)
    (imported,) = ctl.import_file(tmp_path / "smile.npy")
    assert imported.name == "smile" and imported.id in window.directions_panel.rows
    assert imported.scale == pytest.approx(model.discovery.stats.std_along(v))
    again = ctl.import_file(out)  # same ids as the PCA sliders: renamed, not clobbered
    assert len(again) == 12 and not {d.id for d in again} & {f"pca{i}" for i in range(12)}
    window.directions_panel.rows[again[0].id].slider.setValue(100)
    wait_for_full_frame_of(qtbot, window, window.state.recipe)


def test_bad_imports_are_one_sentence_and_change_nothing(window, tmp_path):
    ctl = window.directions_controller
    before = list(window.directions_panel.rows)
    np.save(tmp_path / "big_w_boundary.npy", np.ones((1, 512)))
    np.save(tmp_path / "nan.npy", np.full(32, np.nan))
    np.save(tmp_path / "zero.npy", np.zeros(32))
    np.save(tmp_path / "age_boundary.npy", np.ones(32))
    (tmp_path / "junk.npz").write_bytes(b"junk")
    for name, message in (("big_w_boundary.npy", "length 512"), ("nan.npy", "NaN"), ("zero.npy", "zero vector"),
                          ("age_boundary.npy", "Z-space"), ("junk.npz", "not a readable"),
                          ("missing.npy", "no direction file")):
        assert ctl.import_file(tmp_path / name) == []
        assert message in window.reports[-1] and "\n" not in window.reports[-1]
    assert list(window.directions_panel.rows) == before


def test_a_bundle_from_another_model_asks_first(window, tmp_path):
    ctl, model = window.directions_controller, window.state.model
    theirs = write_bundle(adopt(model.directions.shown("pca")[:2], "e" * 64), tmp_path / "theirs.npz")
    window.default_answer = False
    assert ctl.import_file(theirs) == []
    window.default_answer = True
    got = ctl.import_file(theirs)
    assert len(got) == 2 and all(d.model_sha256 == model.sha256 and d.meta["made_for"] == "e" * 64
                                 for d in ctl.user_directions)


def test_named_directions_shipped_beside_the_model_lead_every_method(qtbot, window, native_model):
    from facestudio.latent.directions import Direction
    from facestudio.render.model_directions import bundle_path_for
    m = window.state.model
    per_layer = np.outer(np.linspace(1.0, 0.2, m.num_ws), np.eye(m.w_dim)[1])  # as attributes ships them
    named = [Direction(id=i, name=n, vector=v, layers=(0, m.num_ws), scale=3.0,
                       source="attribute", model_sha256=m.sha256,
                       meta={"positive": p, "conditioned_on": [other], "age_years_per_unit": 4.2,
                             "p_female_per_unit": 0.01, "span_age_years": 34.2, "span_share": 0.05})
             for i, n, v, p, other in [("age", "Age", per_layer, "older", "gender"),
                                       ("gender", "Gender", np.eye(m.w_dim)[2], "more feminine", "age")]]
    write_bundle(named, bundle_path_for(native_model))
    assert window.open_model(str(native_model))
    panel = window.directions_panel
    assert list(panel.rows)[:3] == ["age", "gender", "pca0"]
    tip = panel.rows["age"].name_label.toolTip()
    assert "+ = older" in tip and "holds gender fixed" in tip and "+4.2 years" in tip
    assert "-3 to +3: age +34 years, 5 %" in tip and "one offset per layer" in tip
    assert "per layer" not in panel.rows["gender"].name_label.toolTip()
    plain = wait_for_full_frame_of(qtbot, window, window.state.recipe)
    panel.rows["age"].slider.setValue(150)
    assert window.state.recipe.edits[0].direction_id == "age"
    aged = wait_for_full_frame_of(qtbot, window, window.state.recipe)  # the canvas shows the edited face
    assert not np.array_equal(aged, plain)
    panel.method_combo.setCurrentIndex(1)  # SeFa: the named sliders stay on top
    assert list(panel.rows)[:3] == ["age", "gender", "sefa0"]


@pytest.mark.parametrize("entry, message", [
    ({"model_sha256": 5}, "must be named by its sha256 as text"),
    ({"scale": 1e308}, "the scale of direction 1 in odd.npz is 1e+308"),
    ({"scale": -5}, "the scale of direction 1 in odd.npz is -5"),
])
def test_importing_a_bundle_of_absurd_values_is_one_sentence(window, tmp_path, entry, message):
    from tests.helpers import change_bundle_manifest
    ctl = window.directions_controller
    before = list(window.directions_panel.rows)
    path = change_bundle_manifest(write_bundle(window.state.model.directions.shown("pca")[:1], tmp_path / "odd.npz"),
                                  entry)
    assert ctl.import_file(path) == []
    assert message in window.reports[-1] and "\n" not in window.reports[-1]
    assert list(window.directions_panel.rows) == before


@pytest.mark.parametrize("rows, cols", [(100_000, 32), (100_000, 256)])
def test_a_huge_basis_is_refused_before_it_is_loaded(window, tmp_path, rows, cols):
    """Issue 17: a 100,000-row basis (100 MB at 256 columns) imported in the studio passed
    3 GB. The .npy is real (every row written) for the model's w_dim, and claims its shape
    with little data for the wider one; either way nothing of it is loaded."""
    from tests.archive_bombs import npy_claiming, peak_memory
    path = tmp_path / "basis.npy"
    if cols == window.state.model.w_dim:
        np.save(path, np.ones((rows, cols), np.float32))
    else:
        path.write_bytes(npy_claiming((rows, cols)))
    before, reports = list(window.directions_panel.rows), len(window.reports)
    with peak_memory(32):
        assert window.directions_controller.import_file(path) == []
    assert len(window.reports) == reports + 1 and "more than the 4096" in window.reports[-1]
    assert "\n" not in window.reports[-1] and list(window.directions_panel.rows) == before
