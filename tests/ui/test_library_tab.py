"""The Library tab: 10,000 faces open, filter and scroll with pages and thumbnails loaded lazily;
a face opens as the current recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from facestudio.ui.library_tab import PAGE, PAGES_KEPT, LibraryTab
from tests.ui.library_helpers import colour_images, synthetic_library

COUNT = 10_000


@pytest.fixture
def tab(qtbot, tmp_path):
    lib = tmp_path / "lib"
    synthetic_library(lib, COUNT, colour_images(tmp_path / "sources"))
    widget = LibraryTab()
    widget.resize(900, 600)
    qtbot.addWidget(widget)
    widget.show()
    assert widget.open_library(lib)
    yield widget
    widget.close_library()


def test_ten_thousand_faces_open_with_one_page_read(tab, qtbot):
    model = tab.model
    assert model.rowCount() == COUNT and tab.count_label.text() == "10,000 faces"
    qtbot.waitUntil(lambda: len(model._thumbs) > 0, timeout=10_000)
    assert len(model._pages) <= 2  # only what the first screen shows was read
    assert len(model._thumbs) < 200


def test_scrolling_to_the_end_loads_only_what_is_shown(tab, qtbot):
    model = tab.model
    tab.view.scrollToBottom()
    last = model.index(COUNT - 1)
    tab.view.scrollTo(last)
    qtbot.waitUntil(lambda: COUNT - 1 in model._thumbs, timeout=10_000)
    assert (COUNT - 1) // PAGE in model._pages and len(model._pages) <= PAGES_KEPT
    assert len(model._thumbs) < 400  # the first and the last screens, not the 10,000
    assert model.data(last).startswith(f"{COUNT - 1} ·")


def test_filters_by_age_gender_tone_and_lookalike(tab):
    tab.age_min.setValue(20)
    tab.age_max.setValue(29)
    assert tab.model.rowCount() == COUNT // 10  # ages run 0-99 by seed
    tab.gender.setCurrentIndex(1)  # female: odd seeds
    assert tab.model.rowCount() == COUNT // 20
    assert all(tab.model.row(i)[1] % 2 == 1 and 20 <= tab.model.row(i)[3] < 30 for i in range(tab.model.rowCount()))
    tab.tone.setCurrentIndex(2)  # the second category: seeds 1, 7, 13 ... (6 categories)
    assert all(tab.model.row(i)[5] == tab.tone.currentText() for i in range(tab.model.rowCount()))
    tab.age_min.setValue(0)
    tab.age_max.setValue(120)
    tab.gender.setCurrentIndex(0)
    tab.tone.setCurrentIndex(0)
    tab.min_lookalike.setValue(0.55)  # distances 0.40-0.59 by seed: 5 of every 20
    assert tab.model.rowCount() == COUNT // 4


def test_a_double_clicked_face_is_offered_as_its_recipe(tab, qtbot):
    with qtbot.waitSignal(tab.recipeOpened) as blocker:
        tab.view.doubleClicked.emit(tab.model.index(1234))
    assert blocker.args[0].seed == 1234


def test_a_folder_that_is_no_library_is_one_sentence(qtbot, tmp_path):
    widget = LibraryTab()
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.problem) as blocker:
        assert not widget.open_library(Path(tmp_path))
    assert "is not a facestudio library" in blocker.args[0]


def test_the_window_opens_a_library_face_as_its_current_face(window, qtbot, tmp_path):
    from facestudio.latent.recipe import Recipe
    sha = window.state.model.sha256 if hasattr(window.state.model, "sha256") else window.state.recipe.model_sha256
    window.library_tab.recipeOpened.emit(Recipe(sha, 77, psi=0.7))
    assert window.state.recipe.seed == 77
    window.library_tab.recipeOpened.emit(Recipe("f" * 64, 78, psi=0.7))
    assert window.state.recipe.seed == 77 and "open that model first" in window.reports[-1]


def test_the_selected_faces_are_exported_as_built_and_never_over_a_file(tab, qtbot, tmp_path):
    from PySide6 import QtCore
    selection = tab.view.selectionModel()
    for row in (3, 10):
        selection.select(tab.model.index(row), QtCore.QItemSelectionModel.Select)
    out = tmp_path / "out"
    out.mkdir()
    written = tab.export_selected(out)
    assert [p.name for p in written] == ["seed-0000000003.png", "seed-0000000010.png"]
    assert written[0].read_bytes() == (tab.model.folder / tab.model.row(3)[2]).read_bytes()
    with qtbot.waitSignal(tab.problem) as blocker:
        assert tab.export_selected(out) == []
    assert "already exists" in blocker.args[0]


def test_filters_by_the_stored_measures(tab, measures_reference):
    import sqlite3
    db = sqlite3.connect(tab.model.folder / "catalog.sqlite")
    with db:  # a broad smile on every third face, a flat one on the rest; no face found in seed 3
        db.execute("UPDATE faces SET smile = CASE WHEN seed = 3 THEN NULL WHEN seed % 3 = 0 THEN 0.6 ELSE 0.3 END")
    db.close()
    tab.attributes.reference = measures_reference
    tab.attributes.combos["smile"].setEnabled(True)
    tab.attributes.combos["smile"].setCurrentText("yes")
    assert tab.model.rowCount() == len([s for s in range(COUNT) if s % 3 == 0 and s != 3])
    tab.gender.setCurrentIndex(1)  # and female: odd seeds, P(female) 0.9
    assert all(tab.model.row(i)[1] % 6 == 3 and tab.model.row(i)[1] != 3 for i in range(tab.model.rowCount()))
    tab.attributes.combos["smile"].setCurrentText("no")
    assert tab.model.rowCount() == len([s for s in range(COUNT) if s % 3 and s % 2])
    assert tab.count_label.text().endswith("faces")


def test_hostile_rows_show_escaped_names_open_no_file_outside_and_refuse_a_list_model(qtbot, tmp_path):
    """Issue 33 (4, 5, 12) in the window: a row naming a pipe outside the library gets no
    thumbnail job (opening it would hold a thread for ever), its name shows escaped, and a
    recipe whose model is a list is one sentence."""
    import os

    from PySide6 import QtCore

    from tests.library.hostile_catalogs import alter
    lib = tmp_path / "lib"
    synthetic_library(lib, 3, colour_images(tmp_path / "sources", 1))
    os.mkfifo(tmp_path / "pipe")
    alter(lib, "UPDATE faces SET file = ? WHERE position = 0", args=("../pipe\x1b[2J",))
    alter(lib, """UPDATE faces SET recipe = '{"model": [1, 2], "seed": 1}' WHERE position = 1""")
    widget = LibraryTab()
    qtbot.addWidget(widget)
    problems = []
    widget.problem.connect(problems.append)
    assert widget.open_library(lib)
    model = widget.model
    tip = model.data(model.index(0), QtCore.Qt.ToolTipRole)
    assert "\x1b" not in tip and "../pipe\\x1b[2J" in tip
    model.data(model.index(0), QtCore.Qt.DecorationRole)
    assert model._pending == set() and model.face_path("../pipe") is None
    widget._open_face(model.index(1))
    assert len(problems) == 1 and "its model must be an object" in problems[0], problems
    widget.close_library()
