"""``facestudio anonymize`` end to end with the bundled model: stand-ins written, stamped and
watermarked, each another person; the photo leaves no file behind; refusals in one sentence.

Needs dlib and its model files, the bundled model with its named sliders, and UTKFace (the
photos are made from its chips at test time, never committed); skips otherwise."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from tests.analysis.conftest import UTKFACE_TAR
from tests.helpers import assert_one_sentence
from tests.provenance.test_every_writer_stamped import ARTIST, assert_stamped

ADULT_CHIPS = ("30_1_0_", "45_0_0_")  # the first chip of each prefix: a woman of 30, a man of 45


def _chips() -> list[np.ndarray]:
    if not UTKFACE_TAR.is_file():
        pytest.skip(f"UTKFace is not at {UTKFACE_TAR}")
    pytest.importorskip("dlib", reason="the [lookalike] extra (dlib) is not installed")
    found = {}
    with tarfile.open(UTKFACE_TAR) as tar:
        for m in tar:
            name = Path(m.name).name
            for prefix in ADULT_CHIPS:
                if name.startswith(prefix) and prefix not in found and m.isfile():
                    found[prefix] = np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))
            if len(found) == len(ADULT_CHIPS):
                break
    return [found[p] for p in ADULT_CHIPS]


def _photo(chips, path: Path, face_side: int = 170, canvas=(360, 300)) -> Path:
    """A 'photo': the chips at ``face_side`` pixels, side by side on a grey wall, as a JPEG."""
    wall = Image.new("RGB", (canvas[0] * len(chips), canvas[1]), (120, 128, 118))
    for i, chip in enumerate(chips):
        wall.paste(Image.fromarray(chip).resize((face_side, face_side), Image.LANCZOS),
                   (i * canvas[0] + (canvas[0] - face_side) // 2, (canvas[1] - face_side) // 2))
    wall.save(path, quality=92)
    return path


@pytest.fixture(scope="module")
def anonymized(tmp_path_factory):
    """One run with everything a file could hide in pointed at empty folders: the temporary
    folder, the data folder (autosave, sessions, logs), the cache and HOME."""
    import tempfile
    root = tmp_path_factory.mktemp("anonymize")
    photo = _photo(_chips()[:1], root / "source-photo-xyz.jpg")
    places = {name: root / name for name in ("tmp", "data", "cache", "home", "out")}
    for name in ("tmp", "data", "cache", "home"):
        places[name].mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(places["tmp"]))
        mp.setattr(tempfile, "tempdir", str(places["tmp"]))
        mp.setenv("FACESTUDIO_DATA", str(places["data"]))
        mp.setenv("FACESTUDIO_CACHE", str(places["cache"]))
        mp.setenv("HOME", str(places["home"]))
        mp.setenv("XDG_CACHE_HOME", str(places["home"] / ".cache"))
        mp.setenv("XDG_DATA_HOME", str(places["home"] / ".local" / "share"))
        out = io.StringIO()
        mp.setattr("sys.stdout", out)
        code = main(["anonymize", str(photo), "--count", "2", "--out", str(places["out"]), "--seed", "40000000",
                     "--artist", ARTIST, "--json"])
    return code, json.loads(out.getvalue() or "{}"), photo, places


@pytest.mark.slow  # dlib, the bundled model and a whole run: seconds to a minute
def test_stand_ins_are_written_stamped_and_another_person(anonymized):
    from facestudio.provenance import read_provenance
    code, facts, _, places = anonymized
    assert code == 0
    assert len(facts["stand_ins"]) == 2 and facts["photo_kept"] is False
    for entry in facts["stand_ins"]:
        assert entry["distance"] >= 0.6
        path = Path(entry["written"][0])
        prov = read_provenance(path)
        assert prov.is_stamped and prov.watermark.found
        assert_stamped(path, prov.model_sha256, card_terms="UTKFace",  # as every writer's files, read by exiftool
                       licence_url="https://susanqq.github.io/UTKFace/")
        assert prov.xmp["facestudio:StandIn"] == "a stand-in made from a photo; the photo is not kept"
        assert float(prov.xmp["facestudio:StandInDistance"].split()[0]) == pytest.approx(entry["distance"], abs=1e-3)
        assert prov.recipe["seed"] >= 40_000_000 and set(prov.recipe) <= {
            "version", "model", "seed", "psi", "cutoff", "noise", "class", "edits", "mix", "transform"}
        assert prov.lookalike.get("Verdict") != "resembles a real photo"
    assert sorted(p.name for p in places["out"].iterdir()) == ["stand-in-1.png", "stand-in-2.png"]


@pytest.mark.slow  # dlib, the bundled model and a whole run: seconds to a minute
def test_the_photo_leaves_no_file_behind(anonymized):
    """Nothing in the temporary folder, the data folder (autosave, sessions), the cache, HOME
    or the output folder holds the photo's bytes, its name or its pixels."""
    _, facts, photo, places = anonymized
    data = photo.read_bytes()
    pieces = [data[i:i + 256] for i in range(len(data) // 4, len(data), len(data) // 4)][:3]
    crop = np.asarray(Image.open(photo).convert("RGB").crop((95, 65, 265, 235)).resize((128, 128))).astype(float)
    files = [p for name in ("tmp", "data", "cache", "home", "out") for p in places[name].rglob("*") if p.is_file()]
    assert {p.parent for p in files} <= {places["out"]}  # the other places stay empty
    for path in files:
        content = path.read_bytes()
        assert not any(piece in content for piece in pieces), path
        assert photo.name.encode() not in content and photo.stem.encode() not in content, path
        pixels = np.asarray(Image.open(path).convert("RGB").resize((128, 128))).astype(float)
        assert np.corrcoef(pixels.ravel(), crop.ravel())[0, 1] < 0.9, path  # a stand-in, not the photo


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow  # dlib, the bundled model and a whole run: seconds to a minute
def test_refusals_in_one_sentence(capsys, tmp_path):
    chips = _chips()
    cases = {
        "blank.png": ("no face was found",),
        "two.jpg": ("holds 2 faces", "--face K"),
        "small.jpg": ("pixels wide", "64 pixels"),
    }
    Image.fromarray(np.full((240, 240, 3), 128, np.uint8)).save(tmp_path / "blank.png")
    _photo(chips, tmp_path / "two.jpg")
    _photo(chips[:1], tmp_path / "small.jpg", face_side=60, canvas=(420, 420))  # dlib box 52 px
    for name, expected in cases.items():
        code, _, err = _run(capsys, "anonymize", str(tmp_path / name), "--count", "1", "--out", str(tmp_path / "o"))
        assert code == 1
        assert_one_sentence(err, *expected)
    assert not (tmp_path / "o").exists()
    code, _, err = _run(capsys, "anonymize", str(tmp_path / "two.jpg"), "--face", "3", "--count", "1",
                        "--out", str(tmp_path / "o"))
    assert code == 1 and "no face 3" in assert_one_sentence(err)


@pytest.mark.slow  # dlib, the bundled model and a whole run: seconds to a minute
def test_a_facestudio_export_is_refused(capsys, tmp_path):
    pytest.importorskip("dlib", reason="the [lookalike] extra (dlib) is not installed")
    face = tmp_path / "face.png"
    assert _run(capsys, "render", "--seed", "3", "--out", str(face))[0] == 0
    code, _, err = _run(capsys, "anonymize", str(face), "--count", "1", "--out", str(tmp_path / "o"))
    assert code == 1
    assert_one_sentence(err, "is a facestudio export", "not a photo of a real person")


def test_bad_arguments_are_refused_before_any_work(capsys, tmp_path):
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(photo)
    for argv, expected in ((["--count", "0"], "--count 0"), (["--keep", "age,nose"], "nose"),
                           (["--face", "0"], "--face 0")):
        code, _, err = _run(capsys, "anonymize", str(photo), "--out", str(tmp_path / "o"), *argv)
        assert code == 1
        assert_one_sentence(err, expected)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "stand-in-1.png").write_bytes(b"mine")
    code, _, err = _run(capsys, "anonymize", str(photo), "--out", str(tmp_path / "o"), "--count", "1")
    assert code == 1 and (tmp_path / "o" / "stand-in-1.png").read_bytes() == b"mine"
    assert_one_sentence(err, "stand-in-1.png")


@pytest.mark.slow  # dlib, the bundled model and a whole run: seconds to a minute
def test_a_model_that_cannot_serve_is_refused(capsys, tmp_path, native_model):
    pytest.importorskip("dlib", reason="the [lookalike] extra (dlib) is not installed")
    photo = _photo(_chips()[:1], tmp_path / "p.jpg")
    code, _, err = _run(capsys, "anonymize", str(photo), "--model", str(native_model), "--count", "1",
                        "--out", str(tmp_path / "o"))
    assert code == 1
    assert_one_sentence(err, "px faces, too small", "64 px or more")  # the test model makes 32 px faces
