"""``facestudio audit``: seeds, sessions and folders of faces, the report, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.analysis.skin_tone import lab_to_srgb
from facestudio.commands.main import main
from tests.helpers import assert_one_sentence


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_seed_range_audit_has_the_promised_json(capsys, native_model):
    code, out, err = run(capsys, "audit", "--model", str(native_model), "--seeds", "0-11", "--psi", "0.7",
                         "--psi-sweep", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["count"] == 12 and sum(doc["age"]["counts"].values()) == 12
    assert set(doc["age"]) >= {"mean", "bins"} and set(doc["skin_tone"]) >= {"ita_mean", "bins"}
    assert 0 <= doc["female_share"] <= 1
    assert doc["training"]["count"] > 20000 and set(doc["training"]) >= {"age", "female_share", "skin_tone"}
    assert set(doc["difference"]) >= {"age_bins", "skin_tone_bins", "female_share", "diversity"}
    assert "80+" in doc["classifier_error"]["age_mae_by_bin"]
    assert [s["psi"] for s in doc["psi_sweep"]] == [0.5, 0.7, 1.0]
    assert doc["psi_sweep"][1]["age"] == doc["age"]  # the asked psi is measured once
    assert 0 <= doc["diversity"]["normalised_joint_entropy"] <= 1


@pytest.mark.slow
def test_the_report_is_written_as_png_and_html(capsys, tmp_path, native_model):
    png, page = tmp_path / "r.png", tmp_path / "r.html"
    for out in (png, page):
        code, text, err = run(capsys, "audit", "--model", str(native_model), "--seeds", "3-6", "--out", str(out))
        assert code == 0, err
        assert "audit of" in text and "diversity" in text
    with Image.open(png) as im:
        assert im.width > 1000 and im.height > 700
    html = page.read_text()
    assert "<img" in html and "data:image/png;base64," in html and "Skin tone" in html
    code, _, err = run(capsys, "audit", "--model", str(native_model), "--seeds", "3-6", "--out", str(png))
    assert code == 1 and "already exists" in err


def _planted_folder(folder, labs):
    folder.mkdir()
    for i, lab in enumerate(labs):
        Image.fromarray(np.broadcast_to(lab_to_srgb(np.array(lab, float)), (80, 100, 3)).copy()).save(folder / f"{i}.png")


def test_a_folder_counts_the_planted_tones_and_skips_what_is_not_an_image(capsys, tmp_path):
    folder = tmp_path / "faces"
    _planted_folder(folder, [(80, 8, 12), (80, 8, 12), (56, 14, 20), (28, 10, 16)])  # very light x2, tan, dark
    (folder / "notes.txt").write_text("not a face")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    code, out, err = run(capsys, "audit", "--folder", str(folder), "--json")
    assert code == 0
    assert "skipped 2 files" in err
    doc = json.loads(out)
    assert doc["count"] == 4 and doc["skipped_files"] == 2
    assert doc["skin_tone"]["counts"] == {"very light": 2, "light": 0, "intermediate": 0, "tan": 1, "brown": 0,
                                          "dark": 1}


def test_a_session_gallery_is_audited(capsys, tmp_path, native_model):
    from facestudio.generator import load_generator
    from facestudio.latent.recipe import Recipe
    from facestudio.session.document import ModelIdentity, SessionDocument, save_session
    g = load_generator(native_model)
    doc = SessionDocument(model=ModelIdentity(g.sha256, g.name, str(native_model)))
    for seed in (1, 2, 3):
        doc.gallery.add(Recipe(g.sha256, seed, psi=0.7))
    path = save_session(doc, tmp_path / "s.fsession")
    code, out, err = run(capsys, "audit", "--session", str(path), "--model", str(native_model), "--json")
    assert code == 0, err
    assert json.loads(out)["count"] == 3
    empty = save_session(SessionDocument(), tmp_path / "empty.fsession")
    code, _, err = run(capsys, "audit", "--session", str(empty), "--model", str(native_model))
    assert code == 1 and "no faces in its gallery" in assert_one_sentence(err, full_stop=False)


@pytest.mark.parametrize("argv, fragment", [
    (["--seeds", "80-20"], "reversed: write the lower seed first, as in 20-80"),
    (["--seeds", "0-999999999"], "more than 100000 faces"),
    (["--seeds", "ten"], "cannot read seeds 'ten'"),
    (["--seeds", "0-5", "--out", "x.gif"], "must be a .png or an .html"),
    (["--folder", ".", "--psi", "0.5"], "--psi applies to --seeds"),
    (["--folder", ".", "--psi-sweep"], "--psi-sweep needs --seeds"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "audit", *argv)
    assert code == 1
    assert fragment in assert_one_sentence(err, full_stop=False)
    assert list(tmp_path.iterdir()) == []


def test_an_empty_folder_or_one_of_no_images_is_one_sentence(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "audit", "--folder", str(tmp_path / "empty"))
    assert code == 1 and "holds no images" in assert_one_sentence(err, full_stop=False)
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    code, _, err = run(capsys, "audit", "--folder", str(tmp_path / "texts"))
    assert code == 1 and "1 other file skipped" in assert_one_sentence(err, full_stop=False)


def test_measures_are_reported_beside_the_real_photos(capsys, monkeypatch, native_model, measures_reference):
    class Brightness:  # stands in for dlib (the test model draws noise): each measure = mean pixel / 255
        def measure(self, images):
            v = np.asarray(images).reshape(len(images), -1).mean(axis=1) / 255.0
            from facestudio.analysis.face_measures import DETAILS, GEOMETRY, REGIONS
            return {k: v.copy() for k in GEOMETRY + REGIONS + DETAILS}

    monkeypatch.setattr("facestudio.commands.find.face_measurer", lambda net: Brightness())
    code, out, err = run(capsys, "audit", "--model", str(native_model), "--seeds", "0-5", "--measures", "--json")
    assert code == 0, err
    doc = json.loads(out)
    hair = doc["measures"]["hair"]
    assert hair["measured"] == 6 and hair["training"]["p50"] == pytest.approx(measures_reference["hair"]["p50"], abs=1e-3)
    assert hair["p10"] <= hair["p50"] <= hair["p90"]
    code, _, err = run(capsys, "audit", "--library", "x", "--measures")
    assert code == 1 and "leave out --measures" in assert_one_sentence(err, full_stop=False)
