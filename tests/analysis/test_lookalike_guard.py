"""The export guard: a face that resembles an indexed photo is refused unless allowed, and every
written file records the check in its XMP (read back by ``inspect`` and by exiftool)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from tests.helpers import assert_one_sentence

PLANTED_SEED, OTHER_SEED = 7, 8  # two of the bundled model's faces, 0.83 apart for dlib


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def bundled_face():
    from facestudio.generator import load_generator
    from facestudio.latent.recipe import Recipe
    from facestudio.render.renderer import Renderer
    g = load_generator(None)
    return g, Renderer(g).render(Recipe(g.sha256, PLANTED_SEED))


def _planted_index(path, embedder, face, model_sha256):
    from facestudio.analysis.lookalike import LookalikeIndex
    m = embedder.measure(face)
    assert m.found
    LookalikeIndex(m.embedding[None].astype(np.float16), ["planted_person.jpg"], embedder.sha256,
                   "planted", model_sha256).save(path)
    return path


@pytest.fixture
def planted_index(monkeypatch, tmp_path, dlib_ready, bundled_face):
    """The training-set index holds one photo: the bundled model's face of PLANTED_SEED."""
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.analysis import lookalike_guard
    g, face = bundled_face
    path = _planted_index(tmp_path / "index.npz", IdentityEmbedder(), face, g.sha256)
    monkeypatch.setattr(lookalike_guard, "default_index_path", lambda: path)
    return path


def _lookalike_fields(path):
    from facestudio.provenance import read_provenance
    return read_provenance(path).lookalike


@pytest.mark.slow
def test_a_face_that_resembles_a_training_photo_is_refused(capsys, tmp_path, planted_index):
    out = tmp_path / "face.png"
    code, _, err = run(capsys, "render", "--seed", PLANTED_SEED, "--out", out)
    assert code != 0 and not out.exists()
    assert_one_sentence(err, "planted_person.jpg", "--allow-lookalike")
    assert list(tmp_path.iterdir()) == [planted_index]  # nothing half-written either


@pytest.mark.slow
def test_allow_lookalike_writes_it_and_records_the_verdict(capsys, tmp_path, planted_index):
    out = tmp_path / "face.png"
    code, _, err = run(capsys, "render", "--seed", PLANTED_SEED, "--out", out, "--allow-lookalike")
    assert code == 0, err
    fields = _lookalike_fields(out)
    assert fields["Verdict"] == "resembles a real photo" and fields["Nearest"] == "planted_person.jpg"
    assert float(fields["Distance"]) < float(fields["Threshold"]) == 0.4
    assert "--allow-lookalike" in fields["Override"] and "allow-lookalike" in err


def test_another_face_is_written_with_its_distance(capsys, tmp_path, planted_index):
    out = tmp_path / "face.jpg"
    code, _, err = run(capsys, "render", "--seed", OTHER_SEED, "--out", out)
    assert code == 0, err
    fields = _lookalike_fields(out)
    assert fields["Verdict"] == "no resemblance" and "Override" not in fields
    assert float(fields["Distance"]) > 0.6
    if shutil.which("exiftool"):  # what another tool reads from the file
        tags = json.loads(subprocess.run(["exiftool", "-j", "-XMP-facestudio:all", str(out)],
                                         capture_output=True, text=True, check=True).stdout)[0]
        assert tags["LookalikeVerdict"] == "no resemblance"
        assert abs(float(tags["LookalikeDistance"]) - float(fields["Distance"])) < 1e-9


@pytest.mark.slow
def test_every_face_of_a_sheet_is_checked(capsys, tmp_path, planted_index):
    grid, strip = tmp_path / "grid.png", tmp_path / "strip.webp"
    code, _, err = run(capsys, "grid", "--seeds", f"{OTHER_SEED},9,{PLANTED_SEED}", "--out", grid)
    assert code != 0 and not grid.exists()
    assert_one_sentence(err, "planted_person.jpg")
    code, _, err = run(capsys, "interpolate", "--from", OTHER_SEED, "--to", PLANTED_SEED, "--frames", 3,
                       "--out", strip)
    assert code != 0 and not strip.exists()
    code, _, err = run(capsys, "grid", "--seeds", f"{OTHER_SEED},9", "--out", grid)
    assert code == 0, err
    assert _lookalike_fields(grid)["Faces"] == "2 of 2 faces found and checked"


@pytest.mark.slow
def test_against_folder_refuses_a_person_who_must_not_appear(capsys, monkeypatch, tmp_path, dlib_ready,
                                                             bundled_face):
    from facestudio.analysis import lookalike_guard
    monkeypatch.setattr(lookalike_guard, "default_index_path", lambda: tmp_path / "absent.npz")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    g, face = bundled_face
    people = tmp_path / "people"
    people.mkdir()
    Image.fromarray(face).resize((256, 256), Image.LANCZOS).save(people / "our_model.jpg", quality=90)
    (people / "notes.txt").write_text("not a photo")
    out = tmp_path / "face.png"
    code, _, err = run(capsys, "render", "--seed", PLANTED_SEED, "--out", out, "--against", people)
    assert code != 0 and not out.exists()
    assert "our_model.jpg" in err and "--against" in err
    code, _, err = run(capsys, "render", "--seed", OTHER_SEED, "--out", out, "--against", people)
    assert code == 0, err
    fields = _lookalike_fields(out)
    assert fields["Verdict"] == "no resemblance" and "AgainstDistance" in fields
    assert "no index of this model's training photos" in fields["Notes"]


@pytest.mark.slow
def test_an_index_of_another_models_photos_checks_nothing(capsys, monkeypatch, tmp_path, dlib_ready,
                                                          bundled_face):
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.analysis import lookalike_guard
    _, face = bundled_face
    path = _planted_index(tmp_path / "index.npz", IdentityEmbedder(), face, "ab" * 32)
    monkeypatch.setattr(lookalike_guard, "default_index_path", lambda: path)
    out = tmp_path / "face.png"
    code, _, err = run(capsys, "render", "--seed", PLANTED_SEED, "--out", out)
    assert code == 0 and err == ""  # the file says it (a model without an index is the common case)
    assert _lookalike_fields(out)["Check"] == "not checked: there is no index of this model's training photos"


def test_without_dlib_the_export_still_happens_and_says_so(capsys, monkeypatch, tmp_path):
    from facestudio.analysis import identity, lookalike_guard

    def missing():
        raise identity.DlibMissingError("dlib is not installed: pip install 'facestudio[lookalike]'")

    monkeypatch.setattr(lookalike_guard, "IdentityEmbedder", missing)
    out = tmp_path / "face.png"
    code, _, err = run(capsys, "render", "--seed", OTHER_SEED, "--out", out)
    assert code == 0 and out.exists()
    assert "not checked for lookalikes" in err and "pip install" in err and "Traceback" not in err
    assert "dlib is not installed" in _lookalike_fields(out)["Check"]
    code, _, err = run(capsys, "render", "--seed", OTHER_SEED, "--out", tmp_path / "b.png",
                       "--against", tmp_path)
    assert code != 0 and not (tmp_path / "b.png").exists()  # asked for by name: it must not pass silently
    assert_one_sentence(err, "pip install")


@pytest.mark.slow
def test_add_model_lets_a_grown_model_share_the_index(capsys, tmp_path, dlib_ready, bundled_face, native_model):
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.analysis.lookalike import LookalikeIndex
    from facestudio.generator import load_generator
    g, face = bundled_face
    path = _planted_index(tmp_path / "index.npz", IdentityEmbedder(), face, g.sha256)
    other = load_generator(str(native_model)).sha256
    assert not LookalikeIndex.load(path).is_for(other)
    code, out, err = run(capsys, "lookalike-index", "--add-model", native_model, "--out", path)
    assert code == 0, err
    index = LookalikeIndex.load(path)
    assert index.models == (g.sha256, other) and index.is_for(other) and index.is_for(g.sha256)
    assert run(capsys, "lookalike-index", "--add-model", native_model, "--out", path)[0] == 0  # idempotent
    assert LookalikeIndex.load(path).models == (g.sha256, other)
    code, _, err = run(capsys, "lookalike-index", "--add-model", native_model, "--out", tmp_path / "none.npz")
    assert code != 0
    assert_one_sentence(err, "none.npz")
    code, _, err = run(capsys, "lookalike-index", "--out", tmp_path / "x.npz")
    assert code != 0
    assert_one_sentence(err, "--data")


def test_check_each_from_known_boxes_and_near_the_threshold_from_a_search(dlib_ready):
    """The library checks faces from the boxes its face measures found: the embeddings stay
    close to a search's, and a face whose distance lies near the threshold is measured again
    from its own search, so its verdict and embedding are exactly the search's."""
    from facestudio.analysis.audit import face_measures_and_boxes, measure_faces
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.lookalike import LookalikeIndex
    from facestudio.analysis.lookalike_guard import RECHECK_MARGIN, LookalikeGuard
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.generator import load_generator
    from facestudio.latent.recipe import Recipe
    from facestudio.render.renderer import Renderer
    g = load_generator(None)
    faces = Renderer(g).render_batch([Recipe(g.sha256, s) for s in (1, 2, 3)])
    measurer = FaceMeasurer()
    _, boxes = face_measures_and_boxes(measure_faces(faces, measurer._classifier), faces, measurer)
    assert all(b is not None and 0 <= b[0] < b[2] <= 128 and 0 <= b[1] < b[3] <= 128 for b in boxes)
    embedder = IdentityEmbedder()
    searched = [m.embedding for m in embedder.measure_many(list(faces))]
    other = embedder.measure(Renderer(g).render(Recipe(g.sha256, 40))).embedding
    index = LookalikeIndex(other[None].astype(np.float16), ["someone.jpg"], embedder.sha256, "test")
    far = LookalikeGuard(embedder, index, threshold=0.01)  # every distance far from the threshold
    from_boxes = [e for _, e in far.check_each(list(faces), boxes)]
    gaps = [float(np.linalg.norm(a - b)) for a, b in zip(from_boxes, searched)]
    assert all(gap < 0.2 for gap in gaps), gaps  # dlib rounds the landmarks to pixels: often 0
    distance = float(np.linalg.norm(from_boxes[1] - other.astype(np.float16).astype(np.float32)))
    near = LookalikeGuard(embedder, index, threshold=distance + RECHECK_MARGIN / 2)
    checked = near.check_each(list(faces), boxes)
    assert np.array_equal(checked[1][1], embedder.measure(faces[1]).embedding)  # measured again: the search's
    assert checked[1][0] == near.check_each([faces[1]])[0][0]
    assert np.array_equal(checked[0][1], from_boxes[0]) or abs(checked[0][0].distance - near.threshold) < RECHECK_MARGIN
