"""The export dock driven offscreen: export the face, the gallery, and reopen by dropping."""

import json
import os

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.provenance import AI_DISCLOSURE, read_provenance
from tests.helpers import as_exported
from tests.provenance.helpers import AI_TYPE, exiftool
from tests.ui.window_helpers import export_and_wait

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 20_000


@pytest.fixture
def window(window):
    window.default_answer = False  # an unexpected question is refused
    return window


def test_the_panel_shows_the_card_terms_and_the_fixed_disclosure(window):
    panel = window.export_panel
    assert AI_DISCLOSURE in panel.findChild(QtWidgets.QLabel, "disclosure_label").text()
    assert "CC-BY-NC-4.0" in panel.licence_label.text()
    assert panel.attribution_edit.placeholderText() == "facestudio test suite"
    assert "facestudio test suite" in panel.terms_preview.text()
    assert panel.terms_combo.currentData() == "non-commercial"
    panel.set_model({"license": "UTKFace terms: non-commercial research use only"}, "m", "ab", 64)
    assert panel.terms_combo.currentData() == "non-commercial-research"
    assert "research use only" in panel.terms_preview.text()
    panel.additional_edit.setPlainText("No posters.")
    assert panel.terms_preview.text().endswith("No posters.")
    assert panel.stamp().description.startswith(AI_DISCLOSURE)


def test_export_button_writes_a_stamped_jpeg(qtbot, window, tmp_path, monkeypatch):
    panel = window.export_panel
    panel.format_combo.setCurrentIndex(panel.format_combo.findData("jpeg"))
    panel.artist_edit.setText("Ann Example")
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("2"))
    panel.sidecar_check.setChecked(True)
    target = tmp_path / "out" / "face.jpg"
    target.parent.mkdir()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    click = lambda: qtbot.mouseClick(panel.export_button, QtCore.Qt.LeftButton) or True  # noqa: E731
    written = export_and_wait(qtbot, window, click)
    assert written == [target, target.with_name("face.jpg.json")]
    meta = exiftool(target)
    assert meta["XMP-iptcExt:DigitalSourceType"] == AI_TYPE
    assert meta["XMP-dc:Creator"] == meta["IFD0:Artist"] == "Ann Example"
    assert meta["XMP-cc:AttributionName"] == "facestudio test suite"
    assert json.loads(meta["XMP-facestudio:Recipe"]) == window.state.recipe.to_dict()
    assert Image.open(target).size == (64, 64)  # 32 px x 2, as chosen: too small for the watermark
    assert "too small" in meta["XMP-facestudio:Watermark"]
    assert window.settings.value("export/artist_edit") == "Ann Example"
    assert window.settings.value("export/size_combo") == "2"


def test_exported_png_has_the_exact_render_and_reopens_by_drop(qtbot, window, tmp_path):
    path = tmp_path / "face.png"
    export_and_wait(qtbot, window, lambda: window.exporter.export_face(path))
    recipe = window.state.recipe
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")),
                          as_exported(window.state.model.renderer.render(recipe), window.state.model.sha256))
    window.controls.seed_spin.setValue(recipe.seed + 3)
    assert window.state.recipe.seed == recipe.seed + 3
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    drop = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.CopyAction, mime, QtCore.Qt.LeftButton,
                            QtCore.Qt.NoModifier)
    window.dropEvent(drop)
    assert window.state.recipe == recipe
    assert window.reports == []


def test_an_export_edited_along_a_direction_of_your_own_reopens_by_drop(qtbot, window, tmp_path):
    """Issue 31: undo accepted a recipe that uses one of the user's own directions, but
    dropping its export was refused (reopening asked only the discovered directions)."""
    np.save(tmp_path / "mine.npy", np.random.RandomState(0).randn(window.state.model.w_dim))
    (mine,) = window.directions_controller.import_file(tmp_path / "mine.npy")
    window.directions_panel.rows[mine.id].slider.setValue(150)
    recipe = window.state.recipe
    assert recipe.amount_of(mine.id) == 1.5
    path = tmp_path / "mine.png"
    export_and_wait(qtbot, window, lambda: window.exporter.export_face(path))
    window.controls.seed_spin.setValue(recipe.seed + 3)
    assert window.open_path(path)
    assert window.state.recipe == recipe and window.reports == []


def test_an_image_from_another_model_says_which_model_it_needs(window, tmp_path):
    from tests.provenance.helpers import sample_recipe, sample_stamp
    from facestudio.provenance import export_image
    path = tmp_path / "other.webp"
    export_image(np.zeros((8, 8, 3), np.uint8), path, sample_stamp(), sample_recipe())
    before = window.state.recipe
    assert not window.exporter.reopen(path)
    assert window.state.recipe == before
    assert "Test faces" in window.reports[-1] and sample_recipe().model_sha256 in window.reports[-1]
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    assert not window.exporter.reopen(tmp_path / "plain.png")
    assert "carries no facestudio recipe" in window.reports[-1]
    assert "no facestudio watermark either" in window.reports[-1]


def test_a_dropped_image_stripped_of_its_metadata_reports_its_watermark(window, tmp_path):
    from tests.provenance.helpers import SHA, sample_recipe, sample_stamp
    from facestudio.provenance import export_image
    path = tmp_path / "face.png"
    export_image(np.full((64, 64, 3), 120, np.uint8) + np.arange(64, dtype=np.uint8)[:, None, None],
                 path, sample_stamp(), sample_recipe())
    with Image.open(path) as im:  # what an upload pipeline leaves: the pixels only
        Image.fromarray(np.asarray(im.convert("RGB"))).save(tmp_path / "stripped.png")
    assert not window.exporter.reopen(tmp_path / "stripped.png")
    assert "carries no facestudio recipe" in window.reports[-1]
    assert f"watermark says facestudio made it, with a model whose sha256 starts {SHA[:8]}" in window.reports[-1]


def test_gallery_batch_with_pattern_progress_and_contact_sheet(qtbot, window, tmp_path):
    for seed in (11, 12, 13):
        window.controls.seed_spin.setValue(seed)
        qtbot.waitUntil(lambda: window.canvas.image is not None, timeout=TIMEOUT)
        window.gallery_controller.keep_current()
    panel = window.export_panel
    panel.sheet_check.setChecked(True)
    panel.pattern_edit.setText("{seed}_{psi}_{n}")
    folder = tmp_path / "batch"
    folder.mkdir()
    written = export_and_wait(qtbot, window, lambda: window.exporter.export_gallery(folder))
    names = sorted(p.name for p in written)
    assert names == ["11_0.7_1.png", "12_0.7_2.png", "13_0.7_3.png", "contact_sheet.png"]
    for face, name in zip(window.state.gallery, names):
        assert read_provenance(folder / name).to_recipe() == face.recipe
    assert "Exported" in panel.status.text()
    # a second run asks before replacing; "no" leaves everything as it was
    stamp_before = (folder / "11_0.7_1.png").stat().st_mtime_ns
    window.answers.append(False)
    assert not window.exporter.export_gallery(folder)
    assert (folder / "11_0.7_1.png").stat().st_mtime_ns == stamp_before


def test_an_unwritable_folder_is_one_sentence(window, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(folder) else real_access(p, mode))
    assert not window.exporter.export_face(folder / "f.png")
    assert window.reports[-1] == f"Cannot write {folder / 'f.png'}: the folder {folder} is not writable."
    assert list(folder.iterdir()) == []


def test_a_failed_write_is_reported_and_leaves_nothing(qtbot, window, tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with qtbot.waitSignal(window.exporter.failed, timeout=TIMEOUT):
        assert window.exporter.export_face(tmp_path / "f.png")
    assert "the disk is full" in window.reports[-1]
    assert not list(tmp_path.glob("*f.png*"))


@pytest.mark.parametrize("field, value", [("psi", 1e30), ("psi", 1e308), ("seed", float("inf")),
                                          ("amount", float("nan"))])
def test_an_image_with_an_absurd_recipe_is_refused_with_a_message(window, tmp_path, field, value):
    from facestudio.provenance import export_image
    from tests.provenance.helpers import sample_stamp
    d = window.state.recipe.with_edit("pca0", 1.0, (0, 2)).to_dict()
    if field == "amount":
        d["edits"][0]["amount"] = value
    else:
        d[field] = value
    path = tmp_path / "absurd.png"
    export_image(np.zeros((8, 8, 3), np.uint8), path, sample_stamp(model_sha256=window.state.model.sha256), d)
    before = window.state.recipe
    assert not window.exporter.reopen(path)
    assert window.state.recipe == before
    assert "out of range" in window.reports[-1] or "whole number" in window.reports[-1]


def test_the_export_dock_offers_native_and_says_what_each_size_does(window):
    panel = window.export_panel  # the 32 px test model
    assert panel.size_combo.currentData() == "mark"  # the default: large enough for the mark
    assert panel.size_label.text().startswith("512 × 512 px") and "watermark" in panel.size_label.text()
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("1"))
    assert panel.options().scale == 1
    assert panel.size_label.text().startswith("32 × 32 px") and "too small" in panel.size_label.text()
    panel.size_combo.setCurrentIndex(panel.size_combo.findData("4"))
    assert panel.size_label.text().startswith("128 × 128 px")
    assert "invisible watermark" in panel.size_label.toolTip() and "Native" in panel.size_combo.toolTip()
