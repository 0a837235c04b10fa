"""Atomic writes leave nothing behind: the part files a killed writer left are swept at start."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from facestudio.fileio import STALE_PART_AGE_S, atomic_folder, atomic_write, remove_stale_parts

NOW = 1_800_000_000.0  # a fixed clock: ages are set with os.utime, never waited for


def aged(path, age_s: float):
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def test_stale_part_files_of_our_pattern_are_removed_and_nothing_else(tmp_path):
    slot = tmp_path / "studio-2"
    slot.mkdir()
    old = STALE_PART_AGE_S + 60
    _, name = tempfile.mkstemp(prefix=".autosave.fsession.", suffix=".part", dir=tmp_path)  # a killed atomic_write
    killed = aged(name, old)
    staging = tmp_path / ".model.ab12cd34.part"  # an atomic_folder staging folder
    staging.mkdir()
    (staging / "model.safetensors").write_bytes(b"half")
    aged(staging, old)
    files = {"in_slot": slot / ".running.lock.k3j_x9q2.part",
             "writing_now": tmp_path / ".autosave.fsession.zz99zz99.part",  # a live writer's
             "download": tmp_path / "model.pkl.part",  # a resumable download, not ours to remove
             "autosave": tmp_path / "autosave.fsession"}
    for key, path in files.items():
        path.write_bytes(b"x")
        aged(path, 10 if key == "writing_now" else old)
    removed = remove_stale_parts(tmp_path, now=NOW)
    assert sorted(removed) == sorted([tmp_path / os.path.basename(killed), files["in_slot"], staging])
    assert not os.path.exists(killed) and not files["in_slot"].exists() and not staging.exists()
    assert all(files[key].exists() for key in ("writing_now", "download", "autosave"))


def test_a_folder_that_is_missing_or_a_file_is_left_alone(tmp_path):
    (tmp_path / "file").write_text("x")
    assert remove_stale_parts(tmp_path / "missing", now=NOW) == []
    assert remove_stale_parts(tmp_path / "file", now=NOW) == []


def test_atomic_write_names_match_the_sweep(tmp_path):
    target = tmp_path / "out.png"
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"x")
        aged(tmp, STALE_PART_AGE_S + 1)
        assert remove_stale_parts(tmp_path, now=NOW) == [tmp]
        tmp.write_bytes(b"x")  # (re-created so that the rename still succeeds)
    assert target.read_bytes() == b"x"


def test_a_folder_that_cannot_take_the_old_ones_place_puts_the_old_one_back(tmp_path, monkeypatch):
    target = tmp_path / "model"
    target.mkdir()
    (target / "weights").write_text("the original")
    real_rename = Path.rename

    def rename(self, dest):
        if self.name.endswith(".part") and Path(dest) == target and (self / "weights").read_text() == "new":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_rename(self, dest)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError):
        with atomic_folder(target, overwrite=True) as staging:
            (staging / "weights").write_text("new")
    assert (target / "weights").read_text() == "the original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging, no old copy
    monkeypatch.setattr(Path, "rename", real_rename)
    with atomic_folder(target, overwrite=True) as staging:
        (staging / "weights").write_text("replaced")
    assert (target / "weights").read_text() == "replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
