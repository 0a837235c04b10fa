"""Opening another model keeps the window's one render bridge: the Mix tab and the Export
dock, connected to it once when the window was built, work on the new model's faces."""

import numpy as np
import pytest
from PIL import Image
from PySide6 import QtCore, QtWidgets

from facestudio.generator.formats.native import write_native
from facestudio.provenance import read_provenance
from tests.conftest import CARD, randomised_network, small_config
from tests.helpers import as_exported
from tests.ui.window_helpers import fill_grid

pytestmark = pytest.mark.usefixtures("qapp")
TIMEOUT = 20_000


@pytest.fixture
def switched(qtbot, window, tmp_path):
    """The window after opening a second model; its first worker is handed in too."""
    cfg = small_config()
    other = write_native(tmp_path / "other", cfg, randomised_network(cfg, seed=9).state_dict(), card_text=CARD)
    bridge, first_worker = window.bridge, window.bridge.worker
    assert window.open_model(str(other)), window.reports
    assert window.bridge is bridge and window.bridge.worker is not first_worker
    recipe = window.state.recipe
    qtbot.waitUntil(lambda: window.canvas.image is not None and np.array_equal(
        window.canvas.image, window.state.model.renderer.render(recipe)), timeout=TIMEOUT)
    return window, first_worker


def test_the_first_models_render_thread_ends_when_another_model_opens(switched):
    _window, first_worker = switched
    assert not first_worker.is_running


def test_mix_then_export_on_the_second_model(qtbot, switched, tmp_path, monkeypatch):
    window, _ = switched
    sha = window.state.model.sha256
    window.central_tabs.setCurrentWidget(window.mix_view)
    view = fill_grid(qtbot, window)
    want = view.grid.cell(0, 1)
    assert want.model_sha256 == sha
    rect = view.table.visualRect(view.table.model().index(1, 2))
    qtbot.mouseClick(view.table.viewport(), QtCore.Qt.LeftButton, pos=rect.center())
    assert window.state.recipe == want

    panel = window.export_panel
    panel.format_combo.setCurrentIndex(panel.format_combo.findData("png"))
    target = tmp_path / "picked.png"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    finished = []
    window.exporter.finished.connect(finished.append)
    with qtbot.waitSignal(window.exporter.finished, timeout=TIMEOUT):
        qtbot.mouseClick(panel.export_button, QtCore.Qt.LeftButton)
    assert finished == [[target]] and window.reports == []
    with Image.open(target) as img:
        assert np.array_equal(np.asarray(img.convert("RGB")), as_exported(window.state.model.renderer.render(want), sha))
    prov = read_provenance(target)
    assert prov.model_sha256 == sha and prov.to_recipe() == want
