"""The command line: render, mix, info, convert, and one clear sentence for bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.cli import main
from facestudio.generator import load_generator
from facestudio.latent.seeds import z_from_seed, z_from_seeds


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_sentence(err: str):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("facestudio: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
def test_render_writes_the_face_of_the_api(capsys, tmp_path, native_model, ext):
    out = tmp_path / f"face.{ext}"
    code, _, err = run(capsys, "render", "--model", str(native_model), "--seed", "7", "--psi", "0.7",
                       "--out", str(out))
    assert code == 0, err
    g = load_generator(native_model)
    want = g.synthesize(g.map(z_from_seed(7, g.z_dim), psi=0.7))[0]
    got = np.asarray(Image.open(out).convert("RGB"))
    if ext == "png":
        assert np.array_equal(got, want)
    else:  # lossy: the same picture, not the same bytes (random-weight images are noisy)
        assert got.shape == want.shape
        assert np.corrcoef(got.ravel().astype(float), want.ravel().astype(float))[0, 1] > 0.8


def test_render_conditional_class(capsys, tmp_path, conditional_model):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run(capsys, "render", "--model", str(conditional_model), "--seed", "1", "--class", "0", "--out", str(a))[0] == 0
    assert run(capsys, "render", "--model", str(conditional_model), "--seed", "1", "--class", "3", "--out", str(b))[0] == 0
    assert not np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    code, _, err = run(capsys, "render", "--model", str(conditional_model), "--seed", "1", "--class", "4",
                       "--out", str(tmp_path / "c.png"))
    assert code == 1
    assert_one_clear_sentence(err)
    assert "class index 4 is out of range" in err
    assert not (tmp_path / "c.png").exists()


def test_mix_grid_layout_matches_the_reference(capsys, tmp_path, native_model):
    out = tmp_path / "mix.png"
    code, _, err = run(capsys, "mix", "--model", str(native_model), "--rows", "1,2", "--cols", "3,4,5",
                       "--layers", "0-3", "--out", str(out))
    assert code == 0, err
    sheet = np.asarray(Image.open(out))
    g = load_generator(native_model)
    r = g.resolution
    assert sheet.shape == (3 * r, 4 * r, 3)
    assert not sheet[:r, :r].any()  # top-left empty
    ws = g.map(z_from_seeds([1, 2, 3, 4, 5], g.z_dim))
    singles = g.synthesize(ws)
    assert np.array_equal(sheet[:r, r:2 * r], singles[2])      # first row: column seeds
    assert np.array_equal(sheet[2 * r:3 * r, :r], singles[1])  # first column: row seeds
    mixed = ws[1].copy()
    mixed[0:4] = ws[4][0:4]                                    # row seed 2, layers 0-3 from seed 5
    assert np.array_equal(sheet[2 * r:3 * r, 3 * r:4 * r], g.synthesize(mixed[None])[0])


def test_info_prints_the_facts(capsys, native_model):
    code, out, _ = run(capsys, "info", str(native_model), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["resolution"] == 32 and info["num_ws"] == 8 and info["w_dim"] == 32
    assert info["conditional"] is False and len(info["sha256"]) == 64
    assert info["license"] == "CC-BY-NC-4.0"
    code, out, _ = run(capsys, "info", str(native_model))
    assert "architecture" in out and "skip" in out


def test_convert_native_to_native_keeps_pixels(capsys, tmp_path, native_model):
    out = tmp_path / "copy"
    code, _, err = run(capsys, "convert", str(native_model), str(out))
    assert code == 0, err
    a, b = load_generator(native_model), load_generator(out)
    ws = a.map(z_from_seed(0, a.z_dim))
    assert np.array_equal(a.synthesize(ws), b.synthesize(ws))
    assert json.loads((out / "config.json").read_text())["source"]["sha256"] == a.sha256
    code, _, err = run(capsys, "convert", str(native_model), str(out))
    assert code == 1 and "already exists" in err


@pytest.mark.parametrize("argv, message", [
    (["render", "--model", "/nope/model.pkl", "--seed", "1"], "does not exist"),
    (["render", "--seed", "4294967296"], "out of range"),
    (["render", "--seed", "1", "--psi", "0.5", "--cutoff", "99"], "cutoff"),
    (["mix", "--rows", "1", "--cols", "2", "--layers", "0-99"], "outside this model"),
    (["mix", "--rows", "a,b", "--cols", "2"], "cannot read row seeds"),
])
def test_bad_input_is_one_sentence_and_leaves_no_file(capsys, tmp_path, native_model, argv, message):
    out = tmp_path / "x.png"
    if "--model" not in argv:
        argv = argv + ["--model", str(native_model)]
    code, _, err = run(capsys, *argv, "--out", str(out))
    assert code == 1
    assert_one_clear_sentence(err)
    assert message in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [native_model]


def test_output_path_problems(capsys, tmp_path, native_model):
    code, _, err = run(capsys, "render", "--model", str(native_model), "--seed", "1",
                       "--out", str(tmp_path / "missing" / "f.png"))
    assert code == 1 and "does not exist" in err
    existing = tmp_path / "f.png"
    existing.write_bytes(b"keep me")
    code, _, err = run(capsys, "render", "--model", str(native_model), "--seed", "1", "--out", str(existing))
    assert code == 1 and "already exists" in err
    assert existing.read_bytes() == b"keep me"
    code, _, err = run(capsys, "render", "--model", str(native_model), "--seed", "1",
                       "--out", str(tmp_path / "f.tiff"))
    assert code == 1 and ".png, .jpg or .webp" in err


def test_grid_is_a_contact_sheet_of_the_seeds_in_order(capsys, tmp_path, native_model):
    out = tmp_path / "sheet.png"
    code, _, err = run(capsys, "grid", "--model", str(native_model), "--seeds", "0-4", "--cols", "3",
                       "--psi", "0.7", "--out", str(out))
    assert code == 0, err
    sheet = np.asarray(Image.open(out).convert("RGB"))
    g = load_generator(native_model)
    r = g.resolution
    assert sheet.shape == (2 * r, 3 * r, 3)
    faces = g.synthesize(g.map(z_from_seeds(list(range(5)), g.z_dim), psi=0.7))
    assert np.array_equal(sheet[r:2 * r, 0:r], faces[3])  # seed 3: second row, first column
    assert not sheet[r:2 * r, 2 * r:].any()               # the unused sixth cell stays empty
    code, _, err = run(capsys, "grid", "--model", str(native_model), "--seeds", "x", "--out", str(tmp_path / "b.png"))
    assert code == 1 and "cannot read seeds" in err


@pytest.mark.parametrize("argv, message", [
    (["grid", "--seeds", "0-4294967295"], "more than 4096 faces"),
    (["grid", "--seeds", "0-199999"], "more than 4096 faces"),
    (["grid", "--seeds", "0-3000,5000-7000"], "more than 4096 faces"),
    (["mix", "--rows", "0-9999", "--cols", "3"], "more than 4096 faces"),
    (["mix", "--rows", "0-999", "--cols", "1-5"], "is 5000 faces; one sheet holds at most 4096"),
    (["render", "--seed", "1", "--psi", "1e308"], "truncation psi 1e+308 is out of range"),
    (["grid", "--seeds", "1", "--psi=-1e30"], "truncation psi -1e+30 is out of range"),
    (["mix", "--rows", "1", "--cols", "2", "--psi", "nan"], "truncation psi nan is out of range"),
])
def test_absurd_sizes_and_numbers_are_refused_before_any_work(capsys, tmp_path, argv, message):
    out = tmp_path / "x.png"
    code, _, err = run(capsys, *argv, "--model", str(tmp_path / "not-even-loaded"), "--out", str(out))
    assert code == 1
    assert_one_clear_sentence(err)
    assert message in err
    assert not out.exists()


def test_a_sheet_past_the_pixel_limit_is_refused_once_the_resolution_is_known(capsys, tmp_path, native_model,
                                                                               monkeypatch):
    import facestudio.cli
    g = load_generator(native_model)
    monkeypatch.setattr(facestudio.cli, "MAX_SHEET_PIXELS", 5 * g.resolution ** 2)
    out = tmp_path / "x.png"
    code, _, err = run(capsys, "grid", "--model", str(native_model), "--seeds", "0-6", "--cols", "7",
                       "--out", str(out))
    assert code == 1 and "a sheet of 1 x 7 faces" in err
    code, _, err = run(capsys, "mix", "--model", str(native_model), "--rows", "1", "--cols", "2,3",
                       "--out", str(out))
    assert code == 1 and "a sheet of 2 x 3 faces" in err
    assert_one_clear_sentence(err)
    assert not out.exists()


@pytest.mark.parametrize("argv, expected", [
    (["face.fsession"], ["gui", "face.fsession"]),
    (["--threads", "2", "face.png"], ["--threads", "2", "gui", "face.png"]),
    (["--device", "cpu", "weights.pkl", "--screenshot", "s.png"],
     ["--device", "cpu", "gui", "weights.pkl", "--screenshot", "s.png"]),
    (["render", "--seed", "1"], ["render", "--seed", "1"]),  # command names win
    (["gui", "render"], ["gui", "render"]),  # ... and gui FILE reaches a file named like one
    (["--threads", "2"], ["--threads", "2"]),
    ([], []),
])
def test_a_bare_path_opens_the_studio_and_command_names_win(argv, expected):
    from facestudio.cli import _with_gui_for_a_bare_path, build_parser
    assert _with_gui_for_a_bare_path(list(argv), build_parser()) == expected
    if "gui" in expected:
        args = build_parser().parse_args(expected)
        assert args.file == expected[expected.index("gui") + 1]


@pytest.mark.parametrize("argv", [["no-such-session.fsession"], ["gui", "--screenshot", "s.png", "missing.png"]])
def test_a_path_that_does_not_exist_is_one_sentence_and_exit_2(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert_one_clear_sentence(err)
    assert "neither a file nor a facestudio command" in err
    assert not (tmp_path / "s.png").exists()
