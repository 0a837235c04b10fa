"""Controllers are built on a bare :class:`StudioContext` — a state, a history, the bridges
and ways to ask and tell, no window — and follow the state's events: a model opened, a
recipe made current, the dirty flag."""

from types import SimpleNamespace

import pytest
from PySide6 import QtCore

from facestudio.latent.recipe import Recipe
from facestudio.session.studio_state import StudioState
from facestudio.ui.analysis_bridge import AnalysisBridge
from facestudio.ui.context import StudioContext
from facestudio.ui.controls import LatentControls
from facestudio.ui.editing import EditController
from facestudio.ui.export_dock import ExportController
from facestudio.ui.export_panel import ExportPanel
from facestudio.ui.render_bridge import RenderBridge
from facestudio.ui.sessions import SessionController
from facestudio.ui.sliders import DirectionsPanel
from facestudio.ui.undo import RecipeHistory

SHA = "ab" * 32


class RecordingBridge(RenderBridge):
    """A render bridge without a worker that keeps what it was asked to render."""

    def __init__(self):
        super().__init__()
        self.submitted = []

    def submit(self, recipe, interactive: bool = False) -> int:
        self.submitted.append((recipe, interactive))
        return len(self.submitted)


def tiny_model(c_dim=3):
    return SimpleNamespace(sha256=SHA, name="tiny", num_ws=8, c_dim=c_dim, supports_transform=True,
                           resolution=64, card_meta={"license": "CC BY 4.0", "attribution": "Tiny Lab"}, path="")


@pytest.fixture
def studio(qapp, tmp_path, no_thread_outlives_close):
    state = StudioState()
    reports = []
    report = lambda title, text: reports.append(text)  # noqa: E731
    analysis = AnalysisBridge()
    try:
        ctx = StudioContext(state, RecipeHistory(state, report), RecordingBridge(), analysis, report,
                            confirm=lambda *_: True,
                            settings=QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.IniFormat))
        yield SimpleNamespace(context=ctx, reports=reports)
    finally:
        analysis.shutdown()


def test_the_edit_controller_fits_the_controls_to_a_model_event_before_showing_its_first_face(studio):
    context = studio.context
    controls = LatentControls()
    EditController(context, DirectionsPanel(), controls)
    assert controls.class_combo.count() == 0 and controls.cutoff_spin.maximum() == 18  # no model yet
    first = Recipe(SHA, 5, psi=0.5, class_idx=2, model_name="tiny")
    context.history.start_model(tiny_model(), first)
    assert controls.class_combo.count() == 3 and controls.cutoff_spin.maximum() == 8
    assert not controls.transform_box.isHidden()
    # the recipe came after the model: its class (which needs the model's classes) is shown
    assert controls.class_combo.currentIndex() == 2 and controls.seed_spin.value() == 5
    assert context.bridge.submitted == [(first, False)]
    assert context.state.model.name == "tiny" and context.state.recipe == first


def test_the_export_controller_takes_the_opened_models_card(studio, tmp_path):
    context = studio.context
    panel = ExportPanel(context.settings)
    exporter = ExportController(context, panel)
    assert not exporter.export_face(tmp_path / "face.png")  # nothing open: told, nothing written
    assert studio.reports == ["Open a model first."]
    context.state.set_model(tiny_model(c_dim=0), Recipe(SHA, 1, model_name="tiny"))
    assert panel.model_sha256 == SHA and panel.model_name == "tiny" and panel.resolution == 64
    assert "CC BY 4.0" in panel.licence_label.text()
    assert not list(tmp_path.glob("*.png"))


def test_autosave_waits_for_the_dirty_event_instead_of_polling(studio, tmp_path):
    context = studio.context
    sessions = SessionController(context, tmp_path / "data", models=None)
    try:
        assert sessions.storage_problem is None and not sessions.timer.isActive()
        context.history.start_model(tiny_model(c_dim=0), Recipe(SHA, 3, model_name="tiny"))  # a change: dirty
        assert context.state.dirty and sessions.timer.isActive()
        sessions.timer.stop()
        sessions.autosave()  # what the timer does when it runs out
        assert not context.state.dirty and not sessions.timer.isActive()
        assert sessions.autosaver.autosave_path.is_file()
        assert context.history.change(context.state.recipe.replace(seed=4), "Change seed")
        assert sessions.timer.isActive()  # the next change starts it again
    finally:
        sessions.close()
