"""The studio as a program: the --screenshot self-check and crash recovery."""

import json
import os
import subprocess
import sys
import zipfile

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


@pytest.mark.usefixtures("qapp", "no_thread_outlives_close")
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
    recipe = first.state.recipe.replace(seed=77).with_edit("pca0", 1.25, (0, 8))
    first.sessions.autosaver.save(SessionDocument(ModelIdentity(first.state.model.sha256, first.state.model.name, str(native_model)),
                                         recipe, first.state.gallery))
    first.bridge.shutdown()
    (data / "running.lock").write_text(str(dead.pid))  # as if the process had died
    asked = []
    second = StudioWindow(settings, data, confirm=lambda title, text: asked.append(text) or True,
                          report=lambda *_: None)
    qtbot.addWidget(second)
    second.sessions.offer_recovery()
    assert asked and "did not close properly" in asked[0]
    assert second.state.recipe == recipe
    second.close()


def studio(tmp_path, *argv):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.run([sys.executable, "-m", "facestudio", "--threads", "1", *argv], env=env,
                          capture_output=True, text=True, timeout=120)


def last_seed(tmp_path) -> int:
    """The seed the studio ended on, as it stored it in its settings when it closed."""
    conf = next((tmp_path / "config").rglob("*.conf"))
    return int(QtCore.QSettings(str(conf), QtCore.QSettings.IniFormat).value("recipe/seed"))


def session_file(path, native_model, seed: int, **recipe_changes):
    from facestudio.render.studio_model import open_studio_model
    from facestudio.session.document import save_session
    from facestudio.latent.recipe import Recipe
    model = open_studio_model(str(native_model))
    recipe = Recipe(model.sha256, seed, psi=0.5, model_name=model.name)
    save_session(SessionDocument(ModelIdentity(model.sha256, model.name, str(native_model)), recipe), path)
    return model


def test_a_session_given_on_the_command_line_opens_with_its_model(tmp_path, native_model):
    session_file(tmp_path / "look.fsession", native_model, 4321)
    out = tmp_path / "shot.png"
    proc = studio(tmp_path, str(tmp_path / "look.fsession"), "--screenshot", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and last_seed(tmp_path) == 4321


def test_an_exported_image_given_on_the_command_line_reopens_its_recipe(tmp_path, native_model):
    from facestudio.provenance import export_image
    from facestudio.latent.recipe import Recipe
    from tests.provenance.helpers import sample_stamp
    model = session_file(tmp_path / "unused.fsession", native_model, 1)
    image = tmp_path / "face.png"
    export_image(np.zeros((8, 8, 3), np.uint8), image, sample_stamp(model_sha256=model.sha256),
                 Recipe(model.sha256, 2468, model_name=model.name))
    proc = studio(tmp_path, "gui", "--model", str(native_model), "--screenshot", str(tmp_path / "s.png"), str(image))
    assert proc.returncode == 0, proc.stderr
    assert last_seed(tmp_path) == 2468


def test_a_file_that_cannot_be_opened_is_one_sentence_and_the_studio_still_starts(tmp_path, native_model):
    bad = tmp_path / "bad.fsession"
    with zipfile.ZipFile(bad, "w") as zf:  # written by hand: a psi no writer would store
        zf.writestr("session.json", json.dumps({"format": "facestudio-session", "version": 1,
                                                "model": {"sha256": "ab" * 32, "name": "x", "path": ""},
                                                "recipe": {"model": {"sha256": "ab" * 32}, "seed": 1, "psi": 1e308}}))
    out = tmp_path / "shot.png"
    proc = studio(tmp_path, "gui", "--model", str(native_model), "--screenshot", str(out), str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("facestudio:")]
    assert len(lines) == 1 and "bad.fsession" in lines[0] and "psi" in lines[0], proc.stderr
    assert out.is_file()  # the window started on --model and was pictured
