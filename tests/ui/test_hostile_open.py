"""Opening hostile sessions, images and gallery faces in the studio: one message, the window
exactly as it was, and the next open works. The files are written by hand here (session.json
and XMP recipes past the limits the writers enforce), so nothing validates them on the way in.
"""

from __future__ import annotations

import copy
import json
import logging
import zipfile

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from facestudio.generator.formats.native import write_native
from facestudio.latent.recipe import Recipe
from facestudio.ui import guard
from tests.conftest import CARD, randomised_network, small_config

pytestmark = pytest.mark.usefixtures("qapp")
FRAME_TIMEOUT = 20_000


def write_session(path, manifest: dict) -> None:
    """A session archive holding ``manifest`` as session.json, serialised as it is (NaN and
    Infinity included), and an empty directions.npz."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("session.json", json.dumps(manifest))
        zf.writestr("directions.npz", b"")


def recipe_dict(win, seed: int, **changes) -> dict:
    d = Recipe(win.state.model.sha256, seed, psi=0.6, model_name=win.state.model.name).with_edit("pca1", 0.8, (0, 4)).to_dict()
    d.update(changes)
    return d


def session_manifest(win, seed: int, gallery_seed: int | None = None) -> dict:
    gallery = []
    if gallery_seed is not None:
        gallery.append({"id": "a" * 32, "name": "Kept", "created": "", "thumbnail": None,
                        "recipe": recipe_dict(win, gallery_seed)})
    return {"format": "facestudio-session", "version": 1,
            "model": {"sha256": win.state.model.sha256, "name": win.state.model.name, "path": win.state.model.path or ""},
            "recipe": recipe_dict(win, seed), "gallery": gallery, "directions": [],
            "ui_state": {"direction_layers": {"pca1": [0, 4]}}}


def spoil_edit(m, **fields):
    m["recipe"]["edits"][0].update(fields)


HOSTILE_SESSIONS = {
    "psi 1e308": lambda m: m["recipe"].update(psi=1e308),
    "psi 1e30": lambda m: m["recipe"].update(psi=1e30),
    "amount NaN": lambda m: spoil_edit(m, amount=float("nan")),
    "amount inf": lambda m: spoil_edit(m, amount=float("inf")),
    "layers past num_ws": lambda m: spoil_edit(m, layers=[0, 99]),
    "reversed layers": lambda m: spoil_edit(m, layers=[6, 2]),
    "unknown direction": lambda m: spoil_edit(m, direction="no-such-direction"),
    "mix layers past num_ws": lambda m: m["recipe"].update(mix={"seed": 3, "layers": [2, 40]}),
    "cutoff past num_ws": lambda m: m["recipe"].update(cutoff=50),
    "class on an unconditional model": lambda m: m["recipe"].update({"class": 3}),
    "stored layers past num_ws": lambda m: m["ui_state"].update(direction_layers={"pca0": [0, 99]}),
    "stored layers not a range": lambda m: m["ui_state"].update(direction_layers={"pca0": "ab"}),
    "gallery face psi 1e30": lambda m: m["gallery"][0]["recipe"].update(psi=1e30),
    "gallery face layers past num_ws": lambda m: m["gallery"][0]["recipe"]["edits"][0].update(layers=[0, 99]),
}


def window_state(win) -> dict:
    return {
        "model": win.state.model.sha256, "recipe": win.state.recipe, "gallery": list(win.state.gallery.faces),
        "undo": (win.history.stack.count(), win.history.stack.index()), "layers": dict(win.state.layers),
        "sliders": {k: row.slider.value() for k, row in win.directions_panel.rows.items()},
        "seed box": win.controls.seed_spin.value(), "session": win.state.session_path,
    }


@pytest.fixture
def opened(window, tmp_path):
    """The window with a good session open (seed 11, one gallery face, an edit) and a move
    on top of it, so the undo stack is not empty."""
    good = tmp_path / "good.fsession"
    write_session(good, session_manifest(window, 11, gallery_seed=12))
    assert window.sessions.open(good), window.reports
    window.directions_panel.rows["pca2"].slider.setValue(50)
    assert window.history.stack.count() == 1
    return window


@pytest.mark.parametrize("case", list(HOSTILE_SESSIONS))
def test_a_hostile_session_changes_nothing_and_the_next_open_works(opened, tmp_path, case):
    win = opened
    manifest = session_manifest(win, 21, gallery_seed=22)
    HOSTILE_SESSIONS[case](manifest)
    bad = tmp_path / "bad.fsession"
    write_session(bad, manifest)
    before, reports = window_state(win), len(win.reports)
    assert not win.sessions.open(bad)
    assert window_state(win) == before
    assert len(win.reports) == reports + 1 and "\n" not in win.reports[-1]
    assert "bad.fsession" in win.reports[-1]
    again = tmp_path / "again.fsession"
    write_session(again, session_manifest(win, 31))
    assert win.sessions.open(again), win.reports[reports + 1:]
    assert win.state.recipe.seed == 31 and len(win.state.gallery) == 0 and win.history.stack.count() == 0


def test_a_session_naming_another_model_is_checked_before_that_model_is_shown(opened, tmp_path):
    cfg = small_config()
    other = write_native(tmp_path / "other", cfg, randomised_network(cfg, seed=5).state_dict(), card_text=CARD)
    win = opened
    from facestudio.render.studio_model import open_studio_model
    other_sha = open_studio_model(str(other)).sha256
    manifest = session_manifest(win, 41)
    manifest["model"] = {"sha256": other_sha, "name": "Other", "path": str(other)}
    manifest["recipe"]["model"]["sha256"] = other_sha
    manifest["recipe"]["edits"][0]["layers"] = [0, 99]
    bad = tmp_path / "other-bad.fsession"
    write_session(bad, manifest)
    before = window_state(win)
    assert not win.sessions.open(bad)
    assert window_state(win) == before and win.model_label.text() == "Test faces"
    manifest["recipe"]["edits"][0]["layers"] = [0, 4]
    write_session(bad, manifest)
    assert win.sessions.open(bad), win.reports
    assert win.state.model.sha256 == other_sha and win.state.recipe.seed == 41


def test_a_session_whose_model_is_a_named_pipe_is_refused_at_once(opened, tmp_path):
    """Issue 17: format detection blocked forever on a FIFO named as the session's model. No
    writer ever opens this pipe, so a reader that opened it would hang the test."""
    import os
    pipe = tmp_path / "model.pkl"
    os.mkfifo(pipe)
    win = opened
    manifest = session_manifest(win, 51)
    manifest["model"] = {"sha256": "ab" * 32, "name": "Piped", "path": str(pipe)}
    manifest["recipe"]["model"]["sha256"] = "ab" * 32
    bad = tmp_path / "piped.fsession"
    write_session(bad, manifest)
    before, reports = window_state(win), len(win.reports)
    assert not win.sessions.open(bad)
    assert window_state(win) == before
    assert len(win.reports) == reports + 1  # one message, not one for the model and one for the session
    assert "is not a regular file" in win.reports[-1] and "\n" not in win.reports[-1]


def test_a_slider_move_after_a_refused_session_renders(qtbot, opened, tmp_path):
    win = opened
    manifest = session_manifest(win, 21)
    spoil_edit(manifest, amount=float("nan"))
    write_session(tmp_path / "nan.fsession", manifest)
    assert not win.sessions.open(tmp_path / "nan.fsession")
    win.directions_panel.rows["pca1"].slider.setValue(-120)
    assert win.state.recipe.amount_of("pca1") == pytest.approx(-1.2)
    want = win.state.model.renderer.render(win.state.recipe)
    qtbot.waitUntil(lambda: win.canvas.image is not None and np.array_equal(win.canvas.image, want),
                    timeout=FRAME_TIMEOUT)


def drop(win, path) -> None:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(path))])
    event = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.CopyAction, mime,
                             QtCore.Qt.LeftButton, QtCore.Qt.NoModifier)
    win.dropEvent(event)


@pytest.mark.parametrize("spoil", [
    lambda d: d.update(psi=1e308), lambda d: d.update(psi=1e30),
    lambda d: d["edits"][0].update(amount=float("nan")), lambda d: d["edits"][0].update(layers=[0, 99]),
    lambda d: d["edits"][0].update(direction="no-such-direction"),
], ids=["psi 1e308", "psi 1e30", "amount NaN", "layers past num_ws", "unknown direction"])
def test_dropping_an_image_with_a_hostile_recipe_changes_nothing(qtbot, opened, tmp_path, spoil):
    from facestudio.provenance import export_image
    from tests.provenance.helpers import sample_stamp
    win = opened
    d = recipe_dict(win, 51)
    spoil(d)
    path = tmp_path / "hostile.png"
    export_image(np.zeros((8, 8, 3), np.uint8), path, sample_stamp(model_sha256=win.state.model.sha256), d)
    before, reports = window_state(win), len(win.reports)
    drop(win, path)
    assert window_state(win) == before
    assert len(win.reports) == reports + 1 and "\n" not in win.reports[-1]
    good = tmp_path / "good.png"
    export_image(np.zeros((8, 8, 3), np.uint8), good, sample_stamp(model_sha256=win.state.model.sha256),
                 recipe_dict(win, 52))
    drop(win, good)
    assert win.state.recipe.seed == 52


def test_restoring_a_gallery_face_that_does_not_fit_the_model_changes_nothing(opened):
    win = opened
    face = win.state.gallery.add(Recipe(win.state.model.sha256, 61, model_name=win.state.model.name).with_edit("pca0", 1.0, (0, 99)))
    before, reports = window_state(win), len(win.reports)
    win.gallery_controller.restore_face(face.id)
    assert window_state(win) == before
    assert len(win.reports) == reports + 1 and "layers 0 to 7" in win.reports[-1]


def test_an_exception_inside_an_undo_command_is_a_message_not_a_crash(opened, monkeypatch, caplog):
    win = opened

    def broken(recipe, interactive=False):
        raise RuntimeError("simulated bug while applying a recipe")

    monkeypatch.setattr(win.state, "apply", broken)
    count, reports = win.history.stack.count(), len(win.reports)
    with caplog.at_level(logging.ERROR, logger=guard.log.name):
        win.directions_panel.rows["pca3"].slider.setValue(70)
    assert win.history.stack.count() == count  # the step that could not be applied is dropped
    assert len(win.reports) == reports + 1 and "internal error" in win.reports[-1]
    assert "simulated bug" in win.reports[-1] and "\n" not in win.reports[-1]
    assert any(r.exc_info and "simulated bug" in str(r.exc_info[1]) for r in caplog.records)
    monkeypatch.undo()
    win.directions_panel.rows["pca3"].slider.setValue(90)
    assert win.state.recipe.amount_of("pca3") == pytest.approx(0.9)


def test_the_excepthook_turns_an_escaped_exception_into_a_message(opened, monkeypatch):
    import sys
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    guard.install_excepthook()
    reports = len(opened.reports)
    try:
        raise ValueError("escaped from a slot")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert len(opened.reports) == reports + 1 and "escaped from a slot" in opened.reports[-1]


def test_a_good_session_round_trips_through_the_crafted_format(opened):
    """The hand-written format above is the one the studio reads (guards the other tests)."""
    assert opened.state.recipe.seed == 11 and opened.state.recipe.amount_of("pca2") == pytest.approx(0.5)
    assert [f.name for f in opened.state.gallery] == ["Kept"]
    assert copy.deepcopy(opened.state.layers)["pca1"] == (0, 4)
