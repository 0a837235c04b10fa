"""File ▸ Anonymize a photo…: the stand-ins arrive in the gallery as recipes, the side-by-side
lives only while the dialog is open, and the photo leaves no file behind (the temporary
folder, the autosave and a saved session are searched)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from facestudio.ui.anonymize_dialog import AnonymizeDialog, open_anonymize_dialog
from facestudio.ui.main_window import StudioWindow
from tests.commands.test_anonymize import _chips, _photo
from tests.ui.conftest import FIRST_FRAME_TIMEOUT_MS


def _grey_photo(tmp_path: Path) -> Path:
    from PIL import Image
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((96, 96, 3), 100, np.uint8)).save(photo)
    return photo


def test_the_file_menu_opens_the_dialog_and_a_small_model_is_refused(window, qtbot, tmp_path):
    actions = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Anonymize a photo…" in actions
    window.open_anonymize_dialog()  # what File ▸ Anonymize a photo… does
    dialog = window.anonymize_dialog
    assert isinstance(dialog, AnonymizeDialog)
    with qtbot.waitSignal(dialog.found_faces, timeout=60_000):
        assert dialog.load_photo(_grey_photo(tmp_path))
    assert "too small" in dialog.status.text() and dialog._pixels is None  # the test model makes 32 px faces
    assert dialog._thread is None and dialog.choose_button.isEnabled()
    dialog.close()


def test_the_photo_is_read_and_searched_on_a_worker_and_a_bug_there_becomes_a_sentence(window, qtbot, tmp_path,
                                                                                       monkeypatch):
    import threading
    from facestudio.ui import anonymize_dialog
    threads = []

    def broken_read(path):
        threads.append(threading.current_thread())
        raise RuntimeError("a bug in reading")

    monkeypatch.setattr(anonymize_dialog, "_read_photo", broken_read)
    dialog = open_anonymize_dialog(window.context)
    with qtbot.waitSignal(dialog.found_faces, timeout=60_000):
        assert dialog.load_photo(_grey_photo(tmp_path))
        assert not dialog.choose_button.isEnabled()  # one photo at a time
    assert threads and threads[0] is not threading.main_thread()
    assert "internal error" in dialog.status.text() and "a bug in reading" in dialog.status.text()
    assert dialog._thread is None and dialog._pixels is None and not dialog.make_button.isEnabled()
    dialog.close()


@pytest.fixture
def bundled_window(qapp, qtbot, tmp_path, no_thread_outlives_close):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, tmp_path / "data", confirm=lambda *_: True, report=lambda *_: None)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=FIRST_FRAME_TIMEOUT_MS):
        assert win.open_model(None)
    yield win
    win.close()


def test_stand_ins_arrive_as_recipes_and_the_photo_leaves_no_trace(bundled_window, qtbot, tmp_path, monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    photos = tmp_path / "photos"
    photos.mkdir()
    photo = _photo(_chips(), photos / "two-people-photo.jpg")  # two faces: the user picks one
    win = bundled_window
    dialog = open_anonymize_dialog(win.context)
    with qtbot.waitSignal(dialog.found_faces, timeout=120_000):
        assert dialog.load_photo(photo)
    assert dialog.face_combo.isEnabled() and dialog.face_combo.count() == 2
    dialog.face_combo.setCurrentIndex(1)
    dialog.count_spin.setValue(2)
    dialog.make()
    qtbot.waitUntil(lambda: dialog._thread is None and dialog.stand_ins.count() > 0, timeout=240_000)
    faces = list(win.state.gallery)
    assert len(faces) == 2 and all(f.name.startswith("Stand-in") for f in faces)
    assert all(f.recipe.seed >= 40_000_000 and f.recipe.model_sha256 == win.state.model.sha256 for f in faces)
    assert not dialog.photo_view.pixmap().isNull() and not dialog.stand_in_view.pixmap().isNull()  # side by side
    dialog.close()
    assert dialog._pixels is None and dialog._result is None  # forgotten on close
    # the photo is nowhere on disk: not in the temporary folder, the autosave or a saved session
    autosaved = win.sessions.autosaver.save(win.sessions.document())  # what the minute's autosave writes
    session = tmp_path / "saved.fsession"
    assert win.sessions.save_to(session)
    data = photo.read_bytes()
    pieces = [data[i:i + 256] for i in range(len(data) // 4, len(data), len(data) // 4)][:3]
    searched = [p for p in [*scratch.rglob("*"), *(tmp_path / "data").rglob("*"), session] if p.is_file()]
    assert session in searched and autosaved in searched
    for path in searched:
        content = path.read_bytes()
        assert not any(piece in content for piece in pieces), path
        assert photo.stem.encode() not in content, path
    assert not [p for p in scratch.rglob("*") if p.is_file()]  # (torch makes an empty torchinductor folder)
