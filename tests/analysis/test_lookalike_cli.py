"""``facestudio lookalike`` and ``lookalike-index``: the --json shape, per-file answers, a folder
with non-images counted, dlib missing in one sentence."""

from __future__ import annotations

import json
import sys

import pytest

from facestudio.commands.main import main
from tests.helpers import assert_one_sentence


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def photo_folder(real_faces, tmp_path):
    """The real photos plus a text file and a broken .jpg: two files that are skipped."""
    folder = real_faces[0].parent
    (folder / "notes.txt").write_text("not a photo")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


@pytest.mark.slow
def test_index_then_lookalike_json_shape(capsys, tmp_path, dlib_ready, photo_folder, real_faces, blank_image):
    index = tmp_path / "index.npz"
    code, out, err = run(capsys, "lookalike-index", "--data", photo_folder, "--out", index)
    assert code == 0, err
    assert "3 faces indexed" in out and "1 unreadable" in out and "1 not images" in out
    code, out, err = run(capsys, "lookalike", real_faces[1], blank_image, "--json", "--index", index)
    assert code == 0, err
    found, blank = json.loads(out)
    for answer in (found, blank):
        assert {"file", "resembles_training_photo", "distance", "threshold", "nearest"} <= answer.keys()
    assert found["resembles_training_photo"] is True and found["nearest"] == real_faces[1].name
    assert found["distance"] < found["threshold"] and found["file"] == str(real_faces[1])
    assert blank["face_found"] is False and blank["resembles_training_photo"] is None


@pytest.mark.slow
def test_two_processes_build_the_same_index_as_one(capsys, tmp_path, dlib_ready, photo_folder):
    import numpy as np
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    assert run(capsys, "lookalike-index", "--data", photo_folder, "--out", one)[0] == 0
    code, out, err = run(capsys, "lookalike-index", "--data", photo_folder, "--out", two, "--jobs", "2")
    assert code == 0, err
    assert "3 faces indexed" in out and "1 unreadable" in out and "1 not images" in out
    a, b = np.load(one), np.load(two)
    assert a.files == b.files
    for key in a.files:
        assert np.array_equal(a[key], b[key]), key


def test_a_job_count_out_of_range_is_one_sentence(capsys, tmp_path, dlib_ready, photo_folder):
    code, _, err = run(capsys, "lookalike-index", "--data", photo_folder, "--out", tmp_path / "i.npz",
                       "--jobs", "0")
    assert code != 0 and "--jobs 0 must be between 1 and 64" in err
    assert_one_sentence(err)
    assert not (tmp_path / "i.npz").exists()


@pytest.mark.slow
def test_against_a_folder_counts_what_it_skips_and_caches(capsys, tmp_path, monkeypatch, dlib_ready,
                                                        photo_folder, real_faces):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    index = tmp_path / "index.npz"
    assert run(capsys, "lookalike-index", "--data", photo_folder, "--out", index, "--limit", "1")[0] == 0
    code, out, err = run(capsys, "lookalike", real_faces[2], "--json", "--index", index, "--against", photo_folder)
    assert code == 0, err
    assert "1 unreadable, 1 not images" in err
    answer = json.loads(out)
    assert answer["against"]["resembles"] is True and answer["against"]["nearest"] == real_faces[2].name
    assert list((tmp_path / "data").rglob("*.npz"))  # cached by content
    code, _, err = run(capsys, "lookalike", real_faces[2], "--index", index, "--against", photo_folder)
    assert code == 0 and "indexing" not in err  # the second run reads the cache


@pytest.mark.slow
def test_an_unreadable_image_is_its_own_answer_and_exit_1(capsys, tmp_path, dlib_ready, real_faces):
    index = tmp_path / "index.npz"
    assert run(capsys, "lookalike-index", "--data", real_faces[0].parent, "--out", index)[0] == 0
    bad = tmp_path / "bad.png"
    bad.write_text("no")
    code, out, err = run(capsys, "lookalike", bad, real_faces[0], "--json", "--index", index)
    assert code == 1
    bad_answer, good = json.loads(out)
    assert "not an image" in bad_answer["error"] and good["resembles_training_photo"] is True


def test_a_missing_index_is_one_sentence(capsys, tmp_path, dlib_ready, blank_image):
    code, _, err = run(capsys, "lookalike", blank_image, "--index", tmp_path / "none.npz")
    assert code == 1
    assert_one_sentence(err, "lookalike-index")


def test_dlib_missing_is_one_sentence_and_the_rest_works(capsys, monkeypatch, tmp_path, blank_image, native_model):
    monkeypatch.setitem(sys.modules, "dlib", None)
    code, _, err = run(capsys, "lookalike", blank_image)
    assert code == 1
    assert_one_sentence(err, "pip install", "the rest of facestudio works")
    code, _, err = run(capsys, "render", "--model", native_model, "--seed", "1", "--out", tmp_path / "f.png")
    assert code == 0, err
