"""The studio as a program: the --screenshot self-check and crash recovery."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore

from facestudio.session.document import ModelIdentity, SessionDocument
from facestudio.ui.main_window import StudioWindow


def test_screenshot_self_check_writes_the_window(tmp_path, native_model):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.run([sys.executable, "-m", "facestudio", "--threads", "1", "gui", "--model", str(native_model),
                           "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as im:
        assert im.width >= 800 and im.height >= 500
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 50  # a real window, not a blank one


def test_screenshot_with_a_bad_model_fails_in_one_sentence(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"nothing useful")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.run([sys.executable, "-m", "facestudio", "gui", "--model", str(bad),
                           "--screenshot", str(tmp_path / "s.png")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.startswith("facestudio:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.png").exists()


@pytest.mark.usefixtures("qapp")
def test_recovery_is_offered_after_a_crash(qtbot, tmp_path, native_model):
    data = tmp_path / "data"
    data.mkdir()
    # a previous run that died: an autosave and a marker whose process is gone
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.IniFormat)
    first = StudioWindow(settings, data, confirm=lambda *_: True, report=lambda *_: None)
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.firstFrameShown, timeout=20_000):
        first.open_model(str(native_model))
    recipe = first.recipe.replace(seed=77).with_edit("pca0", 1.25, (0, 8))
    first.autosaver.save(SessionDocument(ModelIdentity(first.model.sha256, first.model.name, str(native_model)),
                                         recipe, first.gallery))
    first.bridge.shutdown()
    (data / "running.lock").write_text(str(dead.pid))  # as if the process had died
    asked = []
    second = StudioWindow(settings, data, confirm=lambda title, text: asked.append(text) or True,
                          report=lambda *_: None)
    qtbot.addWidget(second)
    second.offer_recovery()
    assert asked and "did not close properly" in asked[0]
    assert second.recipe == recipe
    second.close()
