"""File > Get models…: the catalog table, a background download with progress, cancel and
resume, a refused checksum, and opening the downloaded model with its licence in the terms."""

from dataclasses import replace

import pytest

from facestudio.models.catalog import CATALOG
from facestudio.models.download import part_path
from facestudio.models.store import ModelStore
from facestudio.ui.model_library import COLUMNS, ModelLibraryDialog, format_size
from tests.models.local_server import serving
from tests.models.served_models import LICENSE, serve_test_net

pytestmark = pytest.mark.usefixtures("qapp")
DOWNLOAD_TIMEOUT_MS = 20_000


@pytest.fixture
def server():
    with serving() as srv:
        yield srv


@pytest.fixture
def library(qtbot, server, tmp_path):
    """A dialog over a store in tmp_path whose catalog is one locally served network."""
    entry, _ = serve_test_net(server, tmp_path)
    answers, reports = [], []
    dialog = ModelLibraryDialog(store=ModelStore(tmp_path / "store"), catalog=[entry],
                                confirm=lambda *_: answers.pop(0) if answers else True,
                                report=lambda title, text: reports.append(text))
    dialog.answers, dialog.reports, dialog.entry = answers, reports, entry
    qtbot.addWidget(dialog)
    yield dialog
    dialog.shutdown()


def cell(dialog, row, column):
    return dialog.table.item(row, COLUMNS.index(column)).text()


def test_format_size():
    assert format_size(None) == "unknown" and format_size(237_040_112) == "226.1 MiB"
    assert format_size(2048) == "2 KiB" and format_size(12) == "12 bytes"


def test_download_in_the_background_then_offer_to_open(qtbot, library):
    opened, progress = [], []
    library.openRequested.connect(opened.append)
    library._progress.connect(lambda *args: progress.append(args[1:]))
    assert cell(library, 0, "Status") == "not installed"
    assert cell(library, 0, "Licence") == LICENSE and cell(library, 0, "Checksum") == f"sha256 {library.entry.sha256[:12]}…"
    library.answers[:] = [True, True]  # download it; then open it
    with qtbot.waitSignal(library.downloadFinished, timeout=DOWNLOAD_TIMEOUT_MS) as done:
        assert library.start_download()
        assert library.is_downloading() and not library.download_button.isEnabled()
    assert done.args == ["test-net", True]
    model = library.store.installed("test-net")
    assert model is not None and model.verified
    assert opened == [str(model.path)]
    assert progress and progress[-1][0] == progress[-1][1] == library.entry.size
    assert cell(library, 0, "Status") == "installed (verified)"
    assert library.open_button.isEnabled() and not library.download_button.isEnabled()
    assert not library.is_downloading() and library.reports == []


def test_declining_the_licence_downloads_nothing(library, server):
    library.answers[:] = [False]
    assert not library.start_download()
    assert not library.is_downloading() and server.requests == []
    assert library.store.installed("test-net") is None


def test_cancel_keeps_the_partial_file_and_resume_finishes(qtbot, library, server):
    server.throttle = 0.05  # about 1.3 MiB/s: slow enough to cancel midway
    weights = library.store.weights_path(library.entry)
    library.answers[:] = [True]
    assert library.start_download()
    qtbot.waitUntil(lambda: part_path(weights).exists() and part_path(weights).stat().st_size > 0,
                    timeout=DOWNLOAD_TIMEOUT_MS)
    with qtbot.waitSignal(library.downloadFinished, timeout=DOWNLOAD_TIMEOUT_MS) as done:
        library.cancel_download()
    assert done.args == ["test-net", False] and library.reports == []
    kept = part_path(weights).stat().st_size
    assert 0 < kept < library.entry.size and not weights.exists()
    assert cell(library, 0, "Status").startswith("partial:")
    assert library.download_button.text() == "Resume download"
    server.throttle = 0.0
    library.answers[:] = [True, False]  # resume; do not open
    with qtbot.waitSignal(library.downloadFinished, timeout=DOWNLOAD_TIMEOUT_MS) as done:
        assert library.start_download()
    assert done.args == ["test-net", True]
    assert server.requests[-1] == ("/net.pkl", f"bytes={kept}-")
    assert library.store.installed("test-net").verified


def test_a_wrong_checksum_is_reported_and_nothing_is_kept(qtbot, library):
    library.catalog = [replace(library.entry, sha256="0" * 64)]
    library.refresh()
    with qtbot.waitSignal(library.downloadFinished, timeout=DOWNLOAD_TIMEOUT_MS) as done:
        assert library.start_download()
    assert done.args == ["test-net", False]
    assert len(library.reports) == 1 and "does not match its published sha256" in library.reports[0]
    assert library.store.installed("test-net") is None
    assert not part_path(library.store.weights_path(library.entry)).exists()
    assert cell(library, 0, "Status") == "not installed"


def test_file_menu_opens_the_library_and_a_download_opens_with_its_licence(qtbot, window, monkeypatch,
                                                                          tmp_path, server):
    monkeypatch.setenv("FACESTUDIO_DATA", str(tmp_path / "data"))
    assert window.get_models_action.text() == "Get models…"
    assert window.get_models_action in window.menuBar().actions()[0].menu().actions()
    window.get_models_action.trigger()
    library = window.model_library
    assert library.isVisible() and library.table.rowCount() == len(CATALOG)
    assert library.store.root == tmp_path / "data" / "models"
    assert all("non-commercial" in cell(library, r, "Licence") for r in range(len(CATALOG)))
    assert all(cell(library, r, "Status") == "not installed" for r in range(len(CATALOG)))
    assert cell(library, 0, "Checksum") == "sha256 ffe2233fa0d0…" and cell(library, 1, "Checksum") == "none published"
    assert cell(library, 0, "Size") == "226.1 MiB" and cell(library, 1, "Size") == "unknown"
    assert cell(library, 0, "Source").startswith("https://api.ngc.nvidia.com/")
    entry, _ = serve_test_net(server, tmp_path)
    library.catalog = [entry]
    library.refresh()
    window.answers[:] = [True, True]  # download; open
    with qtbot.waitSignal(library.downloadFinished, timeout=DOWNLOAD_TIMEOUT_MS):
        assert library.start_download()
    assert window.state.model.name == "Test net 32"
    assert window.state.model.card_meta["license"] == LICENSE
    assert LICENSE in window.export_panel.stamp().terms
    library.close()
