"""Issue 33: hostile lookalike inputs. Names from an index or a folder are shown escaped (5);
a long thin image is refused before decoding and no enlargement before detection makes more
than a megapixel (7); a pipe or a device among the photos, or given as the photo, is refused
at once (8); an empty index, an index of 2-D names and a recipe whose model is a list are one
sentence (12); an unusable data folder only loses the cache (13). The heavy cases run in a
memory-capped child (:mod:`tests.memory_limit`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facestudio.analysis.identity import MAX_DETECT_PIXELS, IdentityEmbedder, _detection_scale
from facestudio.analysis.lookalike import INDEX_FORMAT, LookalikeIndex, LookalikeIndexError
from facestudio.commands.main import main
from facestudio.latent.recipe import Recipe, RecipeError
from tests.helpers import assert_one_sentence
from tests.memory_limit import assert_within_limit, cli

HOSTILE_NAMES = ["\x1b[2J\x1b[Hcleared.jpg", "\x1b]0;pwned\x07title.jpg",
                 "x.jpg: does not resemble a training photo\nforged.jpg", "\u202egpj.exe", "csi\x9b31m.jpg"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def no_raw_controls(text: str) -> None:
    for ch in "\x1b\x07\x9b\u202e":
        assert ch not in text, repr(text)


@pytest.fixture
def embedder(dlib_ready) -> IdentityEmbedder:
    return IdentityEmbedder()


@pytest.fixture
def index_of(tmp_path, embedder):
    """An index of ``photos`` under ``names`` (default: their file names), saved; its path."""
    def make(photos: list[Path], names: list[str] | None = None, path: Path | None = None) -> Path:
        embeddings = np.stack([embedder.measure_file(p).embedding for p in photos]).astype(np.float16)
        path = path or tmp_path / "index.npz"
        LookalikeIndex(embeddings, names or [p.name for p in photos], embedder.sha256, "test").save(path, True)
        return path
    return make


# --- 5: names from files are shown escaped ------------------------------------------------

@pytest.mark.slow
def test_5_names_from_an_index_are_shown_escaped(capsys, real_faces, index_of):
    index = index_of(real_faces, HOSTILE_NAMES[:3])
    code, out, err = run(capsys, "lookalike", real_faces[0], "--index", index)
    assert code == 0, err
    no_raw_controls(out)
    assert out.count("\n") == 1 and "RESEMBLES a training photo (nearest \\x1b[2J\\x1b[Hcleared.jpg" in out
    code, out, err = run(capsys, "lookalike", real_faces[2], "--index", index, "--json")
    no_raw_controls(out)
    assert json.loads(out)["nearest"] == HOSTILE_NAMES[2]  # the JSON holds the name itself, escaped


@pytest.mark.slow
def test_5_names_in_an_against_folder_are_shown_escaped(capsys, tmp_path, monkeypatch, real_faces, index_of):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    index = index_of(real_faces[:1])
    folder = tmp_path / "against"
    folder.mkdir()
    for name, photo in zip(HOSTILE_NAMES[1:], real_faces + real_faces):
        shutil.copy(photo, folder / name)
    code, out, err = run(capsys, "lookalike", real_faces[1], real_faces[2], "--index", index, "--against", folder)
    assert code == 0, err
    no_raw_controls(out + err)
    assert out.count("\n") == 2 and "forged.jpg\n" not in out
    assert "RESEMBLES a photo of --against (nearest x.jpg: does not resemble a training photo\\nforged.jpg" in out


# --- 7: long thin images ------------------------------------------------------------------

@pytest.mark.parametrize("size", [(1, 12000), (3, 100000)])
def test_7_a_long_thin_image_is_refused_before_it_is_decoded(tmp_path, monkeypatch, dlib_ready, real_faces, index_of,
                                                             size):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the child's cache: never the user's
    long = tmp_path / "long.png"
    Image.new("RGB", size, (128, 128, 128)).save(long, optimize=True)
    assert long.stat().st_size < 4096
    index = index_of(real_faces[:1])
    result = cli("lookalike", long, "--index", index, timeout=120)
    assert_within_limit(result)
    assert result.returncode == 1
    assert f"is {size[0]} x {size[1]} pixels, more than 8 times longer than it is wide" in result.stdout
    folder = tmp_path / "against"
    folder.mkdir()
    shutil.copy(long, folder / "long.png")
    shutil.copy(real_faces[1], folder / "face.jpg")
    result = cli("lookalike", real_faces[1], "--index", index, "--against", folder, timeout=180,
                 cwd=tmp_path)
    assert_within_limit(result)
    assert result.returncode == 0 and "1 faces indexed; skipped 0 without a face, 1 unreadable" in result.stderr


@pytest.mark.parametrize("shape", [(1, 12000), (3, 100000), (2, 400), (8, 8), (1024, 1024), (5000, 200)])
def test_7_no_enlargement_before_detection_passes_a_megapixel(shape):
    h, w = shape
    scale = _detection_scale(h, w)
    assert h * scale * w * scale <= MAX_DETECT_PIXELS * (1 + 1e-9)
    assert round(h * scale) * round(w * scale) <= MAX_DETECT_PIXELS * 1.25  # rounding adds a row or a column


def test_7_measuring_long_thin_pixels_stays_small(embedder):
    m = embedder.measure(np.full((2, 400), 128, np.uint8)[..., None].repeat(3, axis=2))
    assert not m.found


# --- 8: pipes and devices ------------------------------------------------------------------

def test_8_pipes_and_devices_among_the_photos_or_as_the_photo_are_refused_at_once(tmp_path, monkeypatch, dlib_ready,
                                                                                 real_faces, index_of):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the child's cache: never the user's
    index = index_of(real_faces[:1])
    folder = tmp_path / "against"
    folder.mkdir()
    os.mkfifo(folder / "a.jpg")
    (folder / "z.jpg").symlink_to("/dev/zero")
    (folder / "u.jpg").symlink_to("/dev/urandom")
    shutil.copy(real_faces[1], folder / "face.jpg")
    result = cli("lookalike", real_faces[1], "--index", index, "--against", folder, timeout=180, cwd=tmp_path)
    assert_within_limit(result)
    assert result.returncode == 0, result.stderr
    assert "1 faces indexed" in result.stderr and "3 not images" in result.stderr
    result = cli("lookalike", folder / "a.jpg", "--index", index, timeout=120)
    assert_within_limit(result)
    assert result.returncode == 1 and "a.jpg is not a regular file but a pipe, so it is not read." in result.stdout


def test_8_9_an_audited_folder_skips_a_pipe_and_a_huge_tiff_within_the_memory_limit(tmp_path):
    from tests.library.hostile_catalogs import cmyk_tiff
    folder = tmp_path / "faces"
    folder.mkdir()
    os.mkfifo(folder / "a.png")
    (folder / "z.png").symlink_to("/dev/zero")
    (folder / "huge.tif").write_bytes(cmyk_tiff(13000))
    Image.new("RGB", (64, 64), (180, 140, 120)).save(folder / "face.png")
    result = cli("audit", "--folder", folder, "--json", timeout=180)
    assert_within_limit(result)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)
    assert "skipped 1 file in" in result.stderr  # the TIFF; the pipe and the link are not files


# --- 12: empty and malformed indexes; a recipe whose model is a list -----------------------

@pytest.mark.slow
def test_12_an_empty_index_is_one_sentence(capsys, tmp_path, dlib_ready, real_faces, embedder):
    empty = tmp_path / "empty.npz"
    LookalikeIndex(np.zeros((0, 128), np.float16), [], embedder.sha256, "nothing").save(empty)
    code, out, err = run(capsys, "lookalike", real_faces[0], "--index", empty)
    assert code == 1 and not out
    assert_one_sentence(err, "holds no faces, so nothing can be compared with it")


def test_12_an_index_of_2d_names_is_refused(tmp_path):
    path = tmp_path / "flat.npz"
    np.savez(path, format=np.array(INDEX_FORMAT), embeddings=np.zeros((1, 128), np.float16),
             names=np.array([[b"a", b"b"]]), embedder_sha256=np.array("x"), dataset=np.array("d"))
    with pytest.raises(LookalikeIndexError) as caught:
        LookalikeIndex.load(path)
    assert_one_sentence(caught.value, "a list of names")


def test_12_indexing_a_folder_without_faces_writes_no_index(capsys, tmp_path, dlib_ready, blank_image):
    code, _, err = run(capsys, "lookalike-index", "--data", blank_image.parent, "--out", tmp_path / "i.npz")
    assert code == 1 and not (tmp_path / "i.npz").exists()
    assert_one_sentence(err.splitlines()[-1], "no face was found in", "so no index was written")  # after the progress


def test_12_a_recipe_whose_model_is_a_list_is_one_sentence():
    for model in ([1, 2], None, {"sha256": 7}):
        with pytest.raises(RecipeError) as caught:
            Recipe.from_dict({"model": model, "seed": 1})
        assert_one_sentence(caught.value, "its model must be an object", full_stop=False)
        assert "indices" not in str(caught.value)


# --- 13: an unusable data folder ------------------------------------------------------------

@pytest.mark.parametrize("where", ["data home is a file", "home is /proc"])
@pytest.mark.slow
def test_13_an_unusable_data_folder_loses_only_the_cache(capsys, tmp_path, monkeypatch, real_faces, index_of,
                                                          where):
    index = index_of(real_faces[:1])
    if where == "data home is a file":
        (tmp_path / "file").write_text("not a folder")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "file"))
    else:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        monkeypatch.setenv("HOME", "/proc")
    folder = real_faces[0].parent
    code, out, err = run(capsys, "lookalike", real_faces[2], "--index", index, "--against", folder, "--json")
    assert code == 0, err
    assert json.loads(out)["against"]["resembles"] is True
    assert "the index is not kept for next time" in err
