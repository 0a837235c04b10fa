"""The studio starts whatever state its folders and settings are in: a data folder that is a
file, a crash marker that is a folder, hand-edited settings, stale part files, a full disk
under ``--screenshot``."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore

from facestudio.fileio import STALE_PART_AGE_S
from facestudio.session.autosave import MARKER_NAME
from facestudio.ui.app import tidy_up
from facestudio.ui.main_window import StudioWindow

FIRST_FRAME_TIMEOUT_MS = 30_000


def studio_env(tmp_path, **extra) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.update(extra)
    return env


def screenshot(env, model, out, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facestudio", "--threads", "1", "gui", "--model", str(model),
                           "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=120, **kw)


def open_window(qtbot, settings, data, model) -> StudioWindow:
    reports = []
    win = StudioWindow(settings, data, confirm=lambda *_: False, report=lambda title, text: reports.append(text))
    win.reports = reports
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=FIRST_FRAME_TIMEOUT_MS):
        assert win.open_model(str(model))
    return win


def test_the_studio_starts_when_the_data_home_is_a_file(tmp_path, native_model):
    (tmp_path / "not-a-folder").write_text("x")
    out = tmp_path / "shot.png"
    proc = screenshot(studio_env(tmp_path, XDG_DATA_HOME=str(tmp_path / "not-a-folder")), native_model, out)
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("facestudio:")]
    assert len(lines) == 1 and "Autosave" in lines[0], proc.stderr


@pytest.mark.usefixtures("qapp", "no_thread_outlives_close")
@pytest.mark.parametrize("spoil", ["entry is a file", "parent is a file", "read-only"])
def test_the_window_runs_without_autosave_when_its_folder_cannot_be_used(qtbot, tmp_path, native_model, spoil,
                                                                        monkeypatch):
    home = tmp_path / "share"
    data = home / "facestudio" / "facestudio"
    if spoil == "entry is a file":
        data.parent.mkdir(parents=True)
        data.write_text("x")
    elif spoil == "parent is a file":
        home.mkdir()
        (home / "facestudio").write_text("x")
    else:
        home.mkdir()
        home.chmod(0o555)
        if os.geteuid() == 0:  # root writes into read-only folders: refuse as the kernel would
            def refuse(*_, **__):
                raise PermissionError(13, "Permission denied", str(data))
            monkeypatch.setattr(Path, "mkdir", refuse)
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    win = open_window(qtbot, settings, data, native_model)
    assert win.sessions.storage_problem and win.sessions.storage_problem.startswith("Autosave and crash recovery are off")
    assert str(data) in win.sessions.storage_problem and "\n" not in win.sessions.storage_problem
    win.state.mark_dirty()
    win.sessions.autosave()  # does nothing, raises nothing
    win.close()


@pytest.mark.usefixtures("qapp", "no_thread_outlives_close")
def test_a_crash_marker_that_is_a_folder_moves_the_studio_to_another_slot(qtbot, tmp_path, native_model):
    data = tmp_path / "data"
    (data / MARKER_NAME).mkdir(parents=True)
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    win = open_window(qtbot, settings, data, native_model)
    assert win.sessions.storage_problem is None
    assert win.sessions.autosaver.folder == data / "studio-2" and (data / "studio-2" / MARKER_NAME).is_file()
    win.close()


@pytest.mark.usefixtures("qapp", "no_thread_outlives_close")
@pytest.mark.parametrize("key, value", [
    ("recipe/seed", "-5"), ("recipe/seed", "abc"), ("recipe/seed", "1e400"), ("recipe/seed", "99999999999999"),
    ("models/recent", "[1, {}]"), ("models/recent", "5"), ("window/geometry", "garbage"),
    ("sessions/recent", "[1, {}]"), ("window/state", "garbage"),
    ("export/size_combo", "99999999999999999999999"), ("export/quality_spin", "1e400"),
])
@pytest.mark.slow
def test_hand_edited_settings_fall_back_to_the_defaults(qtbot, tmp_path, native_model, key, value):
    ini = tmp_path / "s.ini"
    group, name = key.split("/")
    ini.write_text(f'[{group}]\n{name}="{value}"\n')  # quoted: one string, as a hand edit could leave it
    settings = QtCore.QSettings(str(ini), QtCore.QSettings.IniFormat)
    assert settings.value(key) == value
    win = open_window(qtbot, settings, tmp_path / "data", native_model)
    assert win.state.recipe.seed == 0
    assert all(isinstance(p, str) for p in win.recent_models.paths() + win.recent_sessions.paths())
    win.close()


def test_start_removes_the_part_files_killed_writers_left(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FACESTUDIO_CACHE", str(cache))
    data = tmp_path / "data"
    (cache / "directions").mkdir(parents=True)
    (data / "studio-2").mkdir(parents=True)
    left = [data / ".autosave.fsession.a1b2c3d4.part", data / "studio-2" / ".running.lock.q_w2e3r4.part",
            cache / "directions" / f".{'a' * 64}.npz.x9y8z7w6.part"]
    kept = [data / "autosave.fsession", cache / "directions" / f"{'a' * 64}.npz"]
    long_ago = os.stat(tmp_path).st_mtime - STALE_PART_AGE_S - 60
    for path in left + kept:
        path.write_bytes(b"x")
        os.utime(path, (long_ago, long_ago))
    assert sorted(tidy_up(data)) == sorted(left)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in left)


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="needs a file size limit")
def test_a_screenshot_onto_a_full_disk_keeps_the_previous_file(tmp_path, native_model):
    out = tmp_path / "shot.png"
    out.write_bytes(b"the previous screenshot")

    def nearly_full_disk() -> None:  # in the child: a write past 4 KiB fails (EFBIG) as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    proc = screenshot(studio_env(tmp_path), native_model, out, preexec_fn=nearly_full_disk)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "could not write the screenshot" in proc.stderr
    assert out.read_bytes() == b"the previous screenshot"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    # and with room on the disk, the same command replaces it
    assert screenshot(studio_env(tmp_path), native_model, out).returncode == 0
    with Image.open(out) as im:
        assert len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 50
