"""Autosave: the marker tells a crash (dead PID) from a running studio (live PID)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from facestudio.session.autosave import AUTOSAVE_NAME, MARKER_NAME, Autosaver, pid_alive, recoverable
from facestudio.session.document import SessionDocument, SessionError, load_session
from tests.session.builders import assert_same_document, make_document


def dead_pid() -> int:
    """The PID of a process this test started and waited for, so it is surely gone."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_running_studio_is_not_offered_for_recovery(tmp_path):
    folder = tmp_path / "autosave"
    saver = Autosaver(folder)
    saver.start()
    assert (folder / MARKER_NAME).read_text().strip() == str(os.getpid())
    saver.save(make_document())
    assert (folder / AUTOSAVE_NAME).is_file()
    assert recoverable(folder) is None  # the marker names this live process


def test_crash_is_offered_for_recovery(tmp_path):
    doc = make_document()
    saver = Autosaver(tmp_path)
    saver.save(doc)  # starts the marker itself
    (tmp_path / MARKER_NAME).write_text(f"{dead_pid()}\n")  # as if that process had crashed
    found = recoverable(tmp_path)
    assert found == tmp_path / AUTOSAVE_NAME
    assert_same_document(doc, load_session(found))


def test_clean_stop_removes_marker_and_autosave(tmp_path):
    saver = Autosaver(tmp_path)
    saver.start()
    saver.save(make_document())
    saver.stop(clean=True)
    assert list(tmp_path.iterdir()) == []
    assert recoverable(tmp_path) is None
    saver.stop()  # stopping twice is harmless


def test_stop_keeping_the_autosave_offers_it_next_time(tmp_path):
    saver = Autosaver(tmp_path)
    saver.save(make_document())
    saver.stop(clean=False)
    assert not (tmp_path / MARKER_NAME).exists()
    assert recoverable(tmp_path) == tmp_path / AUTOSAVE_NAME


def test_nothing_to_recover_without_an_autosave(tmp_path):
    (tmp_path / MARKER_NAME).write_text(f"{dead_pid()}\n")
    assert recoverable(tmp_path) is None
    assert recoverable(tmp_path / "never-created") is None


def test_unreadable_marker_counts_as_crash(tmp_path):
    Autosaver(tmp_path).save(SessionDocument())
    (tmp_path / MARKER_NAME).write_text("not a pid")
    assert recoverable(tmp_path) == tmp_path / AUTOSAVE_NAME


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process start times come from /proc")
def test_reused_pid_counts_as_crash(tmp_path):
    Autosaver(tmp_path).save(SessionDocument())
    marker = tmp_path / MARKER_NAME
    marker.write_text(f"{os.getpid()}\n")
    os.utime(marker, (1_000_000_000, 1_000_000_000))  # written in 2001, long before this process began
    assert pid_alive(os.getpid()) and recoverable(tmp_path) == tmp_path / AUTOSAVE_NAME


def test_failed_autosave_keeps_the_previous_one(tmp_path):
    saver, doc = Autosaver(tmp_path), make_document()
    saver.save(doc)
    doc.ui_state["widget"] = object()
    with pytest.raises(SessionError):
        saver.save(doc)
    assert sorted(p.name for p in tmp_path.iterdir()) == [AUTOSAVE_NAME, MARKER_NAME]
    del doc.ui_state["widget"]
    assert_same_document(doc, load_session(tmp_path / AUTOSAVE_NAME))
