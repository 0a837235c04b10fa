"""What reaches the top of the command line: bad input (a FacestudioError, an OSError) as one
sentence and exit 1, a bug as one line naming the internal-error log that holds its traceback."""

from __future__ import annotations

import errno
import sys
import tempfile

import pytest

from facestudio.commands.main import EXIT_INTERNAL
from facestudio.errors import INTERNAL_ERROR_LOG, record_internal_error
from facestudio.render.renderer import Renderer
from facestudio.session.document import SessionError
from tests.helpers import run
from tests.helpers import assert_one_sentence

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the data folder follows XDG here")


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A private data folder (XDG_DATA_HOME) and temporary folder; returns the data home."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path / "data"


def _render(capsys, native_model, tmp_path):
    return run(capsys, "render", "--model", str(native_model), "--seed", "1", "--out", str(tmp_path / "face.png"))


def _fail_render_with(monkeypatch, exc):
    def render(self, recipe, *a, **k):
        raise exc
    monkeypatch.setattr(Renderer, "render", render)


def test_a_project_error_from_deep_inside_is_one_sentence(capsys, monkeypatch, tmp_path, native_model, data_home):
    _fail_render_with(monkeypatch, SessionError("the session file is damaged"))
    code, _, err = _render(capsys, native_model, tmp_path)
    assert code == 1
    assert_one_sentence(err)
    assert err.strip() == "facestudio: the session file is damaged"
    assert not data_home.exists()  # bad input is no bug: nothing logged


def test_an_os_error_is_one_sentence_naming_the_file(capsys, monkeypatch, tmp_path, native_model, data_home):
    from facestudio.provenance import export
    out = tmp_path / "face.png"

    def export_image(image, path, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(export, "export_image", export_image)  # what the one checked export path writes with
    code, _, err = _render(capsys, native_model, tmp_path)
    assert code == 1
    assert_one_sentence(err)
    assert err.strip() == f"facestudio: cannot use {out}: Permission denied"


@linux_only
@pytest.mark.parametrize("bug", [KeyError("boom"), ValueError("a bug, not bad input")])
def test_a_bug_names_the_log_that_holds_its_traceback(capsys, monkeypatch, tmp_path, native_model, data_home, bug):
    _fail_render_with(monkeypatch, bug)
    code, _, err = _render(capsys, native_model, tmp_path)
    log = data_home / "facestudio" / INTERNAL_ERROR_LOG
    assert code == EXIT_INTERNAL
    assert_one_sentence(err)
    assert err.strip() == f"facestudio: internal error: please report it; the details are in {log}"
    text = log.read_text(encoding="utf-8")
    assert "internal error in facestudio render" in text and "Traceback (most recent call last)" in text
    assert f"{type(bug).__name__}: {bug}" in text and "in render" in text


@linux_only
def test_the_log_falls_back_to_the_temporary_folder(capsys, monkeypatch, tmp_path, native_model, data_home):
    data_home.write_text("a file where the data folder would go")
    _fail_render_with(monkeypatch, KeyError("boom"))
    code, _, err = _render(capsys, native_model, tmp_path)
    log = tmp_path / "tmp" / INTERNAL_ERROR_LOG
    assert code == EXIT_INTERNAL
    assert err.strip().endswith(f"the details are in {log}")
    assert "KeyError: 'boom'" in log.read_text(encoding="utf-8")


def test_entries_are_appended(tmp_path):
    for n in range(2):
        try:
            raise KeyError(n)
        except KeyError as exc:
            path = record_internal_error(exc, "a test", tmp_path)
    text = path.read_text(encoding="utf-8")
    assert path == tmp_path / INTERNAL_ERROR_LOG and "KeyError: 0" in text and "KeyError: 1" in text
