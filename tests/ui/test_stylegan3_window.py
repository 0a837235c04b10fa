"""The studio with a StyleGAN3 model: the shift / rotate sliders drive the recipe transform."""

import numpy as np
import pytest
from PySide6 import QtCore

from facestudio.ui.main_window import StudioWindow
from tests.generator.sg3_fixtures import write_sg3_pickle
from tests.generator.sg3_fixtures import make_sg3

pytestmark = pytest.mark.usefixtures("qapp", "no_thread_outlives_close")
FRAME_TIMEOUT = 20_000


@pytest.fixture
def sg3_window(qtbot, tmp_path):
    path = write_sg3_pickle(make_sg3("T", seed=11), tmp_path / "sg3.pkl")
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, tmp_path / "data", confirm=lambda *_: True,
                       report=lambda title, text: None)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=FRAME_TIMEOUT):
        assert win.open_model(str(path))
    yield win
    win.close()


def test_rotate_and_shift_sliders_move_the_face(qtbot, sg3_window):
    win = sg3_window
    assert not win.controls.transform_box.isHidden()
    win.controls.rotate_slider.setValue(30)
    win.controls.shift_x_slider.setValue(10)
    assert win.state.recipe.transform == (0.1, 0.0, 30.0)
    want = win.state.model.renderer.render(win.state.recipe)
    qtbot.waitUntil(lambda: win.canvas.image is not None and np.array_equal(win.canvas.image, want),
                    timeout=FRAME_TIMEOUT)
    win.history.stack.undo()
    assert win.state.recipe.transform == (0.0, 0.0, 30.0)
    assert win.controls.shift_x_slider.value() == 0 and win.controls.rotate_slider.value() == 30
    win.controls.rotate_slider.setValue(0)
    assert win.state.recipe.transform is None


def test_stylegan2_models_hide_the_transform_sliders(qtbot, tmp_path, native_model):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat)
    win = StudioWindow(settings, tmp_path / "data", confirm=lambda *_: True,
                       report=lambda title, text: None)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.firstFrameShown, timeout=FRAME_TIMEOUT):
        assert win.open_model(str(native_model))
    assert win.controls.transform_box.isHidden()
    win.close()
