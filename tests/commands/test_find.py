"""``facestudio find`` on planted data: the measurement is replaced by known attributes per
seed, so which seeds match, the quotas and the give-up are known in advance."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.analysis.audit import Measurements
from facestudio.analysis.selection import Criteria, bin_names, quotas, search
from facestudio.commands.main import main
from tests.helpers import assert_one_sentence


def planted(seeds) -> Measurements:
    """Seed s: age 10 * (s % 9) + 5 years, female when s is even, ITA 60 (very light) when
    s % 3 == 0, else 0 (brown); no seed is of intermediate tone."""
    s = np.asarray(seeds)
    return Measurements((10 * (s % 9) + 5).astype(float), np.where(s % 2 == 0, 0.9, 0.1),
                        np.where(s % 3 == 0, 60.0, 0.0))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def planted_find(monkeypatch):
    monkeypatch.setattr("facestudio.commands.find.measure_seed_batch", lambda g, net, seeds, psi, *_: planted(seeds))


def test_search_keeps_the_matching_seeds_in_order():
    r = search(planted, Criteria(age=(20, 30), gender="female"), count=3, max_tries=1000, batch=7)
    # age 25 needs s % 9 == 2; female needs s even: 2, 20, 38
    assert [s for s, _ in r.kept] == [2, 20, 38] and r.complete and r.tries == 39
    assert all(f["age_bin"] == "20-29" and f["gender"] == "female" for _, f in r.kept)


def test_balanced_quotas_fill_each_bin_equally():
    r = search(planted, Criteria(gender="female"), count=7, max_tries=1000, dims=("age",))
    # female seeds are even; one per age bin, in seed order; 14 (age 55) finds 40-59 already full
    assert [s for s, _ in r.kept] == [0, 2, 4, 6, 8, 10, 12] and r.complete and r.tries == 13
    assert sorted(f["age_bin"] for _, f in r.kept) == sorted(["0-9", "10-19", "20-29", "30-39", "40-59", "60-79", "80+"])
    r = search(planted, Criteria(age=(20, 30)), count=3, max_tries=1000, dims=("gender",))
    assert [s for s, _ in r.kept] == [2, 11, 20]  # quotas: female 2, male 1
    assert r.bins[("female",)].filled_after == 21 and r.bins[("male",)].filled_after == 12


def test_a_vetoed_match_is_left_out_and_the_next_one_kept():
    vetoed = {20}  # as if the face of seed 20 resembled a training photo
    r = search(planted, Criteria(age=(20, 30), gender="female"), count=3, max_tries=1000, batch=7,
               veto=lambda seed: "resembles someone.jpg" if seed in vetoed else None)
    assert [s for s, _ in r.kept] == [2, 38, 56] and r.left_out == [(20, "resembles someone.jpg")]


def test_find_leaves_out_lookalikes(capsys, monkeypatch, tmp_path, native_model, planted_find):
    from facestudio.analysis.lookalike_guard import LookalikeVerdict
    from facestudio.commands import find

    class Guard:  # what the written faces are checked with: none resembles a photo
        embedder = None

        def check(self, faces):
            return LookalikeVerdict(True, 0.4, len(faces), len(faces), 0.8, "someone.jpg")

    monkeypatch.setattr(find, "_lookalike_veto", lambda _g, r, m, psi, seed: "resembles" if seed == 2 else None)
    monkeypatch.setattr("facestudio.commands.output.export_guard", lambda g, args: Guard())
    out = tmp_path / "found"
    code, _, err = run(capsys, "find", "--model", str(native_model), "--age", "20-29", "--gender", "female",
                       "--count", "2", "--out", str(out))
    assert code == 0, err
    manifest = json.loads((out / "find.json").read_text())
    assert [f["seed"] for f in manifest["faces"]] == [20, 38]
    assert manifest["left_out_as_lookalikes"] == [{"seed": 2, "why": "resembles"}]
    assert "left out 1 matching faces that resemble a training photo" in err


def test_quota_and_bin_arithmetic():
    assert quotas([("a",), ("b",), ("c",)], 7) == {("a",): 3, ("b",): 2, ("c",): 2}
    assert bin_names(("age",), Criteria(age=(25, 45))) == [("20-29",), ("30-39",), ("40-59",)]
    assert bin_names(("gender", "tone"), Criteria(gender="male")) == [("male", t) for t in
                                                                      ("very light", "light", "intermediate", "tan",
                                                                       "brown", "dark")]


def test_search_stops_at_max_tries_for_a_bin_that_never_comes():
    r = search(planted, Criteria(tone=2), count=2, max_tries=150, batch=64)  # no seed is intermediate
    assert not r.complete and r.tries == 150 and r.kept == []


@pytest.mark.slow
def test_find_writes_stamped_faces_and_a_manifest(capsys, tmp_path, native_model, planted_find):
    out = tmp_path / "found"
    code, text, err = run(capsys, "find", "--model", str(native_model), "--age", "40-49", "--tone", "brown",
                          "--count", "2", "--out", str(out), "--psi", "0.7")
    assert code == 0, err
    # age 45 is s % 9 == 4, and those seeds are all brown (s % 3 == 1): seeds 4 and 13
    manifest = json.loads((out / "find.json").read_text())
    seeds = [f["seed"] for f in manifest["faces"]]
    assert seeds == [4, 13] and manifest["tries"] == 14
    assert all(f["tone"] == "brown" and f["age_bin"] == "40-59" for f in manifest["faces"])
    assert sorted(p.name for p in out.iterdir()) == ["find.json"] + [f"seed-{s:07d}.png" for s in seeds]
    for s in seeds:
        assert f"seed {s}:" in text
        code, info, _ = run(capsys, "inspect", str(out / f"seed-{s:07d}.png"), "--json")
        assert code == 0 and json.loads(info)["recipe"]["seed"] == s
    assert "\r" not in err and "found 2 faces" in err  # no progress bar when stderr is not a terminal


def test_a_bin_the_model_never_makes_gives_up_with_nothing_written(capsys, tmp_path, native_model, planted_find):
    out = tmp_path / "found"
    code, _, err = run(capsys, "find", "--model", str(native_model), "--tone", "intermediate", "--count", "3",
                       "--max-tries", "200", "--out", str(out))
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert "after 200 tries (--max-tries) only 0 of the 3" in assert_one_sentence(last, full_stop=False)
    assert "nothing was written" in last
    assert list(tmp_path.iterdir()) == [tmp_path / "model"]  # no folder, no staging left


@pytest.mark.parametrize("argv, fragment", [
    (["--count", "0"], "--count 0 is outside 1 to 10,000"),
    (["--count", "1000000"], "--count 1000000 is outside 1 to 10,000"),
    (["--count", "2", "--age", "80-20"], "reversed: write the younger age first, as in 20-80"),
    (["--count", "2", "--age", "20-300"], "is outside the ages"),
    (["--count", "2", "--tone", "olive"], "not a skin tone category"),
    (["--count", "2", "--balanced", "age,height"], "cannot balance over"),
    (["--count", "3", "--balanced", "gender,tone"], "makes 12 bins"),
    (["--count", "5", "--max-tries", "4"], "must be at least --count"),
    (["--count", "5", "--max-tries", "5000000"], "at most 1,000,000"),
])
def test_bad_requests_are_one_sentence_before_any_work(capsys, tmp_path, planted_find, argv, fragment):
    code, _, err = run(capsys, "find", *argv, "--out", str(tmp_path / "o"))
    assert code == 1
    assert fragment in assert_one_sentence(err, full_stop=False)
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_an_existing_folder_is_not_replaced_without_overwrite(capsys, tmp_path, native_model, planted_find):
    (tmp_path / "o").mkdir()
    code, _, err = run(capsys, "find", "--model", str(native_model), "--count", "1", "--out", str(tmp_path / "o"))
    assert code == 1 and "already exists" in err
    code, _, err = run(capsys, "find", "--model", str(native_model), "--count", "1", "--out", str(tmp_path / "o"),
                       "--overwrite")
    assert code == 0, err
    with Image.open(tmp_path / "o" / "seed-0000000.png") as im:
        assert im.width >= 32


def measured(seeds) -> Measurements:
    """Seed s: P(female) 0.62 when s % 4 == 0 (a face the old 0.5 rule called female), 0.95
    when s % 4 == 2, 0.1 when odd; smile 0.6 (a broad smile) when s % 3 == 0, else 0.3; yaw 0
    (facing the camera) except 0.5 (turned right) when s % 5 == 0; dlib found no face in seed 6."""
    s = np.asarray(seeds)
    p = np.where(s % 2 == 1, 0.1, np.where(s % 4 == 0, 0.62, 0.95))
    smile, yaw = np.where(s % 3 == 0, 0.6, 0.3), np.where(s % 5 == 0, 0.5, 0.0)
    smile[s == 6] = yaw[s == 6] = np.nan
    return Measurements(np.full(len(s), 30.0), p, np.zeros(len(s)), measures={"smile": smile, "yaw": yaw})


@pytest.fixture
def measured_find(monkeypatch):
    monkeypatch.setattr("facestudio.commands.find.measure_seed_batch",
                        lambda g, net, seeds, psi, criteria=None, measurer=None: measured(seeds))
    monkeypatch.setattr("facestudio.commands.find.face_measurer", lambda net: object())


@pytest.mark.slow
def test_find_gender_keeps_only_clearly_female_faces(capsys, tmp_path, native_model, measured_find,
                                                     measures_reference):
    out = tmp_path / "women"
    code, _, err = run(capsys, "find", "--model", str(native_model), "--gender", "female", "--count", "3",
                       "--out", str(out))
    assert code == 0, err
    faces = json.loads((out / "find.json").read_text())["faces"]
    assert [f["seed"] for f in faces] == [2, 6, 10] and all(f["p_female"] >= 0.9 for f in faces)
    out = tmp_path / "old-rule"
    code, _, err = run(capsys, "find", "--model", str(native_model), "--gender", "female", "--confidence", "0.5",
                       "--count", "3", "--out", str(out))
    assert [f["seed"] for f in json.loads((out / "find.json").read_text())["faces"]] == [0, 2, 4]
    code, _, err = run(capsys, "find", "--model", str(native_model), "--gender", "male", "--confidence", "1.5",
                       "--count", "3", "--out", str(tmp_path / "x"))
    assert code == 1 and "--confidence 1.5" in assert_one_sentence(err, full_stop=False)


def test_find_by_expression_and_pose_returns_what_it_asks_for(capsys, tmp_path, native_model, measured_find,
                                                              measures_reference):
    out = tmp_path / "smiling"
    code, text, err = run(capsys, "find", "--model", str(native_model), "--smile", "yes", "--yaw", "front",
                          "--gender", "female", "--count", "2", "--out", str(out))
    assert code == 0, err
    manifest = json.loads((out / "find.json").read_text())
    # smiling (s % 3 == 0), facing the camera (s % 5 != 0), clearly female (s % 4 == 2); seed 6 unmeasured
    assert [f["seed"] for f in manifest["faces"]] == [18, 42]
    smile = manifest["request"]["attributes"]["smile"]
    assert smile["side"] == "yes" and all(f["smile"] >= smile["at_least"] for f in manifest["faces"])
    yaw = manifest["request"]["attributes"]["yaw"]
    assert all(yaw["at_least"] <= f["yaw"] <= yaw["at_most"] for f in manifest["faces"])
    assert "smiling, facing the camera, female" in err
    code, _, err = run(capsys, "find", "--model", str(native_model), "--yaw", "front", "--margin", "0.9",
                       "--count", "2", "--out", str(tmp_path / "none"))
    assert code == 1 and "leaves nothing of 'front'" in assert_one_sentence(err, full_stop=False)
