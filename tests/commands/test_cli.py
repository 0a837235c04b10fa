"""The command line: render, mix, info, convert, and one clear sentence for bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.latent.seeds import z_from_seed, z_from_seeds
from tests.helpers import as_exported, assert_one_sentence
from tests.helpers import run


@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
def test_render_writes_the_face_of_the_api(capsys, tmp_path, native_model, ext):
    out = tmp_path / f"face.{ext}"
    code, _, err = run(capsys, "render", "--model", str(native_model), "--seed", "7", "--psi", "0.7",
                       "--out", str(out))
    assert code == 0, err
    g = load_generator(native_model)
    want = as_exported(g.synthesize(g.map(z_from_seed(7, g.z_dim), psi=0.7))[0], g.sha256)
    got = np.asarray(Image.open(out).convert("RGB"))
    if ext == "png":
        assert np.array_equal(got, want)
    else:  # lossy: the same picture, not the same bytes (random-weight images are noisy)
        assert got.shape == want.shape
        assert np.corrcoef(got.ravel().astype(float), want.ravel().astype(float))[0, 1] > 0.8


@pytest.mark.slow
def test_render_conditional_class(capsys, tmp_path, conditional_model):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert run(capsys, "render", "--model", str(conditional_model), "--seed", "1", "--class", "0", "--out", str(a))[0] == 0
    assert run(capsys, "render", "--model", str(conditional_model), "--seed", "1", "--class", "3", "--out", str(b))[0] == 0
    assert not np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    code, _, err = run(capsys, "render", "--model", str(conditional_model), "--seed", "1", "--class", "4",
                       "--out", str(tmp_path / "c.png"))
    assert code == 1
    assert_one_sentence(err)
    assert "class index 4 is out of range" in err
    assert not (tmp_path / "c.png").exists()


@pytest.mark.slow
def test_mix_grid_layout_matches_the_reference(capsys, tmp_path, native_model, without_watermark):
    out = tmp_path / "mix.png"
    code, _, err = run(capsys, "mix", "--model", str(native_model), "--rows", "1,2", "--cols", "3,4,5",
                       "--layers", "0-3", "--out", str(out))
    assert code == 0, err
    sheet = np.asarray(Image.open(out))
    g = load_generator(native_model)
    r = g.resolution
    assert sheet.shape == (3 * r, 4 * r, 3)
    assert not sheet[:r, :r].any()  # top-left empty
    ws = g.map(z_from_seeds([1, 2, 3, 4, 5], g.z_dim), psi=0.7)  # the default psi, as the studio's
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
    (["mix", "--rows", "1", "--cols", "2", "--layers", "5-2"], "layers '5-2' are reversed"),
    (["mix", "--rows", "1", "--cols", "2", "--layers", "0,6-3"], "layers '6-3' are reversed"),
    (["mix", "--rows", "a,b", "--cols", "2"], "cannot read row seeds"),
])
def test_bad_input_is_one_sentence_and_leaves_no_file(capsys, tmp_path, native_model, argv, message):
    out = tmp_path / "x.png"
    if "--model" not in argv:
        argv = argv + ["--model", str(native_model)]
    code, _, err = run(capsys, *argv, "--out", str(out))
    assert code == 1
    assert_one_sentence(err)
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


@pytest.mark.slow
def test_grid_is_a_contact_sheet_of_the_seeds_in_order(capsys, tmp_path, native_model, without_watermark):
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
    (["render", "--seed", "1", "--psi", "1e30"], "truncation psi 1e+30 is out of range"),
    (["render", "--seed", "1", "--psi=-1e30"], "truncation psi -1e+30 is out of range"),
    (["render", "--seed", "1", "--psi", "3e38"], "truncation psi 3e+38 is out of range"),
    (["sheet", "--seeds", "1", "--direction", "pca0", "--amounts=1e38"],
     "the amount in --amounts 1e+38 is out of range"),
    (["sheet", "--seeds", "1", "--direction", "pca0", "--amounts=0,-101"],
     "the amount in --amounts -101 is out of range"),
    (["sheet", "--seeds", "1", "--direction", "pca0", "--amounts=" + ",".join(["1"] * 5000)],
     "more than the 4096 faces"),
    (["grid", "--seeds", "1", "--psi=-1e30"], "truncation psi -1e+30 is out of range"),
    (["mix", "--rows", "1", "--cols", "2", "--psi", "nan"], "truncation psi nan is out of range"),
])
def test_absurd_sizes_and_numbers_are_refused_before_any_work(capsys, tmp_path, argv, message):
    out = tmp_path / "x.png"
    code, _, err = run(capsys, *argv, "--model", str(tmp_path / "not-even-loaded"), "--out", str(out))
    assert code == 1
    assert_one_sentence(err)
    assert message in err
    assert not out.exists()


def test_a_sheet_past_the_pixel_limit_is_refused_once_the_resolution_is_known(capsys, tmp_path, native_model,
                                                                               monkeypatch):
    import facestudio.commands.output
    g = load_generator(native_model)
    monkeypatch.setattr(facestudio.commands.output, "MAX_SHEET_PIXELS", 5 * g.resolution ** 2)
    out = tmp_path / "x.png"
    code, _, err = run(capsys, "grid", "--model", str(native_model), "--seeds", "0-6", "--cols", "7",
                       "--out", str(out))
    assert code == 1 and "a sheet of 1 x 7 faces" in err
    code, _, err = run(capsys, "mix", "--model", str(native_model), "--rows", "1", "--cols", "2,3",
                       "--out", str(out))
    assert code == 1 and "a sheet of 2 x 3 faces" in err
    assert_one_sentence(err)
    assert not out.exists()


@pytest.mark.parametrize("argv, ext, message", [
    (["grid", "--seeds", "0-511", "--cols", "512"], "webp", "past the 16383 pixels per side a WEBP file holds"),
    (["grid", "--seeds", "0-127", "--cols", "128", "--scale", "5"], "webp", "(upscaled 5 times)"),
    (["grid", "--seeds", "0-2047", "--cols", "2048"], "jpg", "past the 65500 pixels per side a JPEG file holds"),
    (["mix", "--rows", "1", "--cols", "0-511"], "webp", "a WEBP file holds"),
    (["sheet", "--seeds", "1", "--direction", "pca0", "--amounts=" + ",".join(["1"] * 510)], "webp",
     "a WEBP file holds"),
])
def test_a_sheet_its_format_cannot_hold_is_refused_before_rendering(capsys, tmp_path, native_model, monkeypatch,
                                                                    argv, ext, message):
    from facestudio.generator.model import Generator

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered a sheet that cannot be written")

    monkeypatch.setattr(Generator, "synthesize", no_rendering)
    out = tmp_path / f"sheet.{ext}"
    code, _, err = run(capsys, *argv, "--model", str(native_model), "--out", str(out))
    assert code == 1
    assert_one_sentence(err)
    assert message in err
    assert not out.exists()


def test_a_huge_layer_range_is_refused_before_it_is_built():
    """Run under a 1 GiB address-space limit, so that a regression fails instead of swapping."""
    import resource
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    code = ("from facestudio.commands.arguments import UserError, parse_layer_list\n"
            "try:\n    parse_layer_list('0-99999999999999', 8)\nexcept UserError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert "layers '0-99999999999999' are outside this model's 0-7" in done.stdout


@pytest.mark.parametrize("change, message", [
    ({"resample_filter": [1.0, float("nan"), 3.0, 1.0]}, "resample_filter must hold finite numbers"),
    ({"conv_clamp": -5}, "conv_clamp must be a finite number above 0, got -5"),
])
def test_a_model_config_that_would_render_one_colour_is_refused(capsys, tmp_path, native_model, change, message):
    doc = json.loads((native_model / "config.json").read_text())
    doc["generator"].update(change)
    (native_model / "config.json").write_text(json.dumps(doc))  # NaN as JSON's NaN literal
    out = tmp_path / "face.png"
    code, _, err = run(capsys, "render", "--model", str(native_model), "--seed", "1", "--out", str(out))
    assert code == 1
    assert_one_sentence(err)
    assert message in err
    assert not out.exists()


@pytest.mark.parametrize("overwrite", [False, True])
def test_convert_onto_a_full_disk_is_one_sentence_and_leaves_nothing(capsys, tmp_path, native_model, monkeypatch,
                                                                     overwrite):
    from safetensors import SafetensorError

    import facestudio.generator.formats.native as native

    def full_disk(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"half a model")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(native, "save_file", full_disk)
    out = tmp_path / "out"
    if overwrite:
        out.mkdir()
        (out / "config.json").write_text("the model that was there")
    code, _, err = run(capsys, "convert", str(native_model), str(out), *(["--overwrite"] if overwrite else []))
    assert code == 1
    assert_one_sentence(err)
    assert f"cannot write {out}: the disk is full" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model"] + (["out"] if overwrite else []))
    if overwrite:
        assert [p.name for p in out.iterdir()] == ["config.json"]
        assert (out / "config.json").read_text() == "the model that was there"


def test_a_model_card_larger_than_any_real_one_is_one_sentence(capsys, tmp_path, native_model):
    from facestudio.generator.formats.model_card import MAX_CARD_BYTES
    card = native_model / "MODEL_CARD.md"
    card.write_text(card.read_text() + "x" * MAX_CARD_BYTES)
    code, _, err = run(capsys, "info", str(native_model))
    assert code == 1
    assert_one_sentence(err)
    assert "is larger than the 1,048,576 bytes such a file can hold" in err
    card.write_bytes(b"\xff\xfe not text")
    code, _, err = run(capsys, "info", str(native_model))
    assert code == 1 and "is not UTF-8 text" in err
    assert_one_sentence(err)


def _refuse_constant(name: str):
    raise AssertionError(f"{name} is not JSON")


@pytest.mark.parametrize("command", ["info", "bench", "doctor"])
def test_every_json_output_is_strict_json(capsys, monkeypatch, native_model, command):
    """A non-finite number (a timing, a model fact) is printed as null, never as Infinity or NaN."""
    import facestudio.commands.doctor as doctor
    import facestudio.bench.measure as bench
    from facestudio.generator.model import Generator
    odd = {"inf": float("inf"), "nan": float("nan"), "nested": [float("-inf"), np.float32("nan"), 1.5]}
    real_describe = Generator.describe
    monkeypatch.setattr(Generator, "describe", lambda self: {**real_describe(self), **odd})
    monkeypatch.setattr(bench, "run_bench", lambda model, **options: dict(odd))
    monkeypatch.setattr(doctor, "run_checks", lambda: [doctor.Check("timing", doctor.OK, float("inf"))])
    argv = {"info": ["info", str(native_model)], "bench": ["bench", "--model", str(native_model)],
            "doctor": ["doctor"]}[command]
    _, out, err = run(capsys, *argv, "--json")
    assert "Traceback" not in err
    doc = json.loads(out, parse_constant=_refuse_constant)
    if command == "doctor":
        assert doc == [{"name": "timing", "status": doctor.OK, "detail": None}]
    else:
        assert (doc["inf"], doc["nan"], doc["nested"]) == (None, None, [None, None, 1.5])


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
    from facestudio.commands.main import _with_gui_for_a_bare_path, build_parser
    assert _with_gui_for_a_bare_path(list(argv), build_parser()) == expected
    if "gui" in expected:
        args = build_parser().parse_args(expected)
        assert args.file == expected[expected.index("gui") + 1]


@pytest.mark.parametrize("argv", [["no-such-session.fsession"], ["gui", "--screenshot", "s.png", "missing.png"]])
def test_a_path_that_does_not_exist_is_one_sentence_and_exit_2(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert_one_sentence(err)
    assert "neither a file nor a facestudio command" in err
    assert not (tmp_path / "s.png").exists()
