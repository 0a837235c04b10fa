"""The face measures in a library: stored per face, filtered by, and a catalogue made before
they were stored still read (its rows have none) and finished."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from facestudio.analysis.face_measures import MEASURES
from facestudio.analysis.filters import MeasureBound
from facestudio.library.catalog import MEASURE_COLUMNS, Catalog, FaceFilter, FaceRow
from facestudio.library.spec import LibrarySpec
from tests.library.conftest import build_inline, spec_for

FIRST_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE faces (
    position INTEGER PRIMARY KEY, seed INTEGER NOT NULL UNIQUE, file TEXT NOT NULL UNIQUE,
    recipe TEXT NOT NULL, model_sha256 TEXT NOT NULL, pixel_sha256 TEXT NOT NULL,
    age REAL NOT NULL, p_female REAL NOT NULL, ita REAL NOT NULL, tone TEXT NOT NULL,
    lookalike_distance REAL, lookalike_nearest TEXT, embedding BLOB, created REAL NOT NULL);
CREATE TABLE skipped (position INTEGER PRIMARY KEY, seed INTEGER NOT NULL, reason TEXT NOT NULL,
    detail TEXT NOT NULL);
INSERT INTO faces VALUES (0, 7, 'faces/007/seed-0000000007.png', '{}', 'm', 'p', 30, 0.95, 10, 'light',
                          NULL, NULL, NULL, 0);
"""


def test_a_catalogue_made_before_the_measures_is_read_and_gets_them(tmp_path):
    db = sqlite3.connect(tmp_path / "catalog.sqlite")
    db.executescript(FIRST_SCHEMA)
    db.close()
    smiling = MeasureBound("smile", "yes", "smile", 0.45, None)
    with Catalog(tmp_path, readonly=True) as c:  # a reader changes nothing
        (row,) = c.faces()
        assert row.seed == 7 and row.smile is None and row.hair is None
        assert c.count(FaceFilter(bounds=(smiling,))) == 0 and c.count(FaceFilter(gender="female")) == 1
    with Catalog(tmp_path, create=True) as c:  # a build opens it: the columns are added, empty
        assert set(MEASURE_COLUMNS) <= c.present and c.faces()[0].smile is None
        c.add_batch([FaceRow(1, 8, "faces/008/seed-0000000008.png", "{}", "m", "p", 30, 0.95, 10, "light",
                             None, None, None, 0.0, smile=0.5, yaw=0.01)], [])
        assert [r[1] for r in c.page(FaceFilter(bounds=(smiling,)), 0, 10)] == [8]


def test_specs_without_the_new_filters_keep_their_text():
    base = dict(count=3, model_sha256="a" * 64, max_tries=100)
    old = LibrarySpec(**base).canonical_json()
    assert "confidence" not in old and "bounds" not in old  # a library begun before resumes
    bound = MeasureBound("hair", "light", "hair", 64.8, None)
    new = json.loads(LibrarySpec(**base, gender="female", confidence=0.9, bounds=(bound,)).canonical_json())
    assert new["confidence"] == 0.9 and new["bounds"] == [["hair", "light", "hair", 64.8, None]]


class BrightnessMeasurer:
    """Stands in for dlib's measures (the test model draws noise, in which dlib finds no face):
    every measure of a face is its mean pixel value over 255, known from its file."""

    def __init__(self):
        self.faces = 0

    def measure(self, images, boxes=False, classified=True):
        images = np.asarray(images)
        self.faces += len(images)
        value = images.reshape(len(images), -1).mean(axis=1) / 255.0
        found = {k: value.copy() for k in MEASURES}  # every measure dlib gives, the catalogue keeps some
        if boxes:  # no box: the identity check searches as it would without the measures
            found["box"] = np.full((len(images), 4), np.nan)
        return found


@pytest.fixture
def planted_measurer(monkeypatch):
    measurer = BrightnessMeasurer()
    monkeypatch.setattr("facestudio.library.worker._measurer", lambda net, required: measurer)
    return measurer


@pytest.mark.slow
def test_a_build_stores_the_measures_and_filters_by_them(tmp_path, model, planted_measurer):
    from PIL import Image
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 4))
    with Catalog(lib, readonly=True) as c:
        faces = c.faces()
    for f in faces:
        with Image.open(lib / f.file) as im:  # the stored value is the measure of the face written
            brightness = np.asarray(im.convert("RGB")).mean() / 255.0
        assert f.smile == pytest.approx(brightness, abs=0.02) and f.hair == f.smile
    cut = sorted(f.smile for f in faces)[2]
    lib2 = tmp_path / "lib2"
    spec = spec_for(model, 2, bounds=(MeasureBound("smile", "yes", "smile", cut, None),))
    build_inline(lib2, model, spec)
    with Catalog(lib2, readonly=True) as c:
        kept = c.faces()
        reasons = {r[0] for r in c._query("SELECT reason FROM skipped")}
    assert len(kept) == 2 and all(f.smile >= cut for f in kept) and reasons <= {"filter"}
    assert json.loads(c_spec(lib2))["bounds"] == [["smile", "yes", "smile", cut, None]]


def c_spec(lib) -> str:
    with Catalog(lib, readonly=True) as c:
        return c.meta("spec")



@pytest.mark.slow
def test_audit_reports_a_librarys_measures_beside_the_real_photos(tmp_path, model, planted_measurer,
                                                                  measures_reference, capsys):
    from facestudio.commands.main import main
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 3))
    with Catalog(lib, readonly=True) as c:
        smiles = sorted(f.smile for f in c.faces())
    assert main(["audit", "--library", str(lib), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    smile = doc["measures"]["smile"]
    assert smile["measured"] == 3 and smile["p50"] == pytest.approx(smiles[1], abs=1e-4)
    real = measures_reference["smile"]
    assert smile["training"]["p50"] == pytest.approx(real["p50"], abs=1e-4)
    assert smile["median_shift_spreads"] == pytest.approx((smile["p50"] - real["p50"]) / real["spread"], abs=1e-3)
    assert main(["audit", "--library", str(lib)]) == 0
    assert "training (UTKFace)" in capsys.readouterr().out


def test_library_info_lists_the_measures(tmp_path, model, planted_measurer, capsys):
    from facestudio.commands.main import main
    lib = tmp_path / "lib"
    build_inline(lib, model, spec_for(model, 2))
    assert main(["library", "info", str(lib), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["measures"]["yaw"]["measured"] == 2 and info["measures"]["yaw"]["not_found"] == 0
