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


def test_a_second_running_studio_gets_its_own_slot_and_a_crashed_slot_is_reused(tmp_path):
    from facestudio.session.autosave import claim_folder
    assert claim_folder(tmp_path) == tmp_path  # nobody there: the folder itself
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / MARKER_NAME).write_text(f"{other.pid}\n")  # a studio that is still running
        first_autosave = Autosaver(tmp_path)
        first_autosave.autosave_path.write_text("the other studio's work")
        second = claim_folder(tmp_path)
        assert second == tmp_path / "studio-2"
        saver = Autosaver(second)
        saver.save(make_document())
        assert first_autosave.autosave_path.read_text() == "the other studio's work"  # untouched
        # the second studio crashes: the next start takes its slot back and finds its work
        (second / MARKER_NAME).write_text(f"{dead_pid()}\n")
        assert claim_folder(tmp_path) == second
        assert recoverable(second) == second / AUTOSAVE_NAME
    finally:
        other.kill()
        other.wait()
    assert claim_folder(tmp_path) == tmp_path  # the first studio has gone too


def test_a_marker_that_is_a_folder_is_skipped_not_claimed(tmp_path):
    from facestudio.session.autosave import claim_folder
    (tmp_path / MARKER_NAME).mkdir()
    slot = claim_folder(tmp_path)
    assert slot == tmp_path / "studio-2"
    Autosaver(slot).start()  # the slot it gave can be used
    assert (slot / MARKER_NAME).read_text().strip() == str(os.getpid())
