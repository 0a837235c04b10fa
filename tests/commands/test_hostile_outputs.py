"""Issue 33: ``--overwrite`` replaces only regular files, and folders only when facestudio
wrote them (2); ``--threads`` is bounded where it is read (10; the bench's budget, repetitions
and drag steps are in tests/render/test_bench.py)."""

from __future__ import annotations

import os
import stat

import pytest

from facestudio.commands.main import main
from facestudio.fileio import OutputPathError, atomic_write, check_folder_target
from tests.helpers import assert_one_sentence


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["pipe", "link", "device"])
def not_a_file(request, tmp_path):
    """A pipe, a link to a file, or (as root, as CI runs) a character device like /dev/null."""
    path = tmp_path / request.param
    if request.param == "pipe":
        os.mkfifo(path)
    elif request.param == "link":
        (tmp_path / "target.png").write_bytes(b"somebody's file")
        path.symlink_to(tmp_path / "target.png")
    else:
        if os.geteuid() != 0:
            pytest.skip("only root makes device nodes")
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


def kind(path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


def test_2_overwrite_never_replaces_what_is_not_a_regular_file(tmp_path, not_a_file):
    before = kind(not_a_file)
    with pytest.raises(OutputPathError) as caught:
        with atomic_write(not_a_file, overwrite=True) as tmp:
            tmp.write_bytes(b"x")
    assert_one_sentence(caught.value, "will not replace", full_stop=False)
    with pytest.raises(OutputPathError):
        check_folder_target(not_a_file, overwrite=True)
    assert kind(not_a_file) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


def test_2_find_and_convert_with_overwrite_leave_a_device_or_pipe_as_it_is(capsys, native_model, not_a_file):
    before = kind(not_a_file)
    code, _, err = run(capsys, "find", "--model", native_model, "--count", "1", "--overwrite", "--out", not_a_file)
    assert code == 1
    assert_one_sentence(err, "will not replace")
    code, _, err = run(capsys, "convert", native_model, not_a_file, "--overwrite")
    assert code == 1
    assert_one_sentence(err, "will not replace")
    assert kind(not_a_file) == before


def test_2_find_overwrite_replaces_only_a_folder_find_wrote(capsys, tmp_path, native_model):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"a holiday photo")
    code, _, err = run(capsys, "find", "--model", native_model, "--count", "1", "--overwrite", "--out", folder)
    assert code == 1
    assert_one_sentence(err, "holds no find.json, so facestudio did not write it")
    assert (folder / "holiday.jpg").read_bytes() == b"a holiday photo"


@pytest.mark.parametrize("threads", ["100000", "0", "-3"])
def test_10_threads_outside_the_machines_range_are_one_sentence(capsys, native_model, threads):
    code, _, err = run(capsys, "--threads", threads, "info", native_model)
    assert code == 1
    assert_one_sentence(err, f"--threads {threads} is outside 1 to {(os.cpu_count() or 1) * 4}")
