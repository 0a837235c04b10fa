"""The direction commands: directions, edit, sheet; and one clear sentence for bad input."""

import numpy as np
import pytest
from PIL import Image

from facestudio.generator import load_generator
from facestudio.latent.direction_files import read_directions, write_bundle
from facestudio.latent.directions import apply_edits
from facestudio.latent.seeds import z_from_seed
from facestudio.render.discovery import discover
from tests.helpers import run
from tests.helpers import as_exported, assert_one_sentence, change_bundle_manifest


@pytest.fixture
def model(native_model):
    return str(native_model)


def expected(g, seed, edits, dirs, psi=0.7):  # the commands' default psi
    ws = g.map(z_from_seed(seed, g.z_dim), psi=psi)[0]
    return g.synthesize(apply_edits(ws, edits, dirs)[None])[0]


@pytest.mark.parametrize("method", ["pca", "sefa", "sefa-fine"])
def test_directions_writes_a_bundle_of_the_discovered_directions(capsys, tmp_path, model, method):
    out = tmp_path / "d.npz"
    code, text, err = run(capsys, "directions", "--model", model, "--method", method, "--count", "4", "--out", str(out))
    assert code == 0, err
    g = load_generator(model)
    res = read_directions(out, g.w_dim, g.num_ws, model_sha256=g.sha256)
    want = discover(g).directions(method, 4)
    assert [d.id for d in res.directions] == [d.id for d in want]
    for a, b in zip(res.directions, want):
        np.testing.assert_array_equal(a.vector, b.vector)
        assert a.scale == pytest.approx(b.scale) and a.layers == b.layers
    assert f"wrote {out}" in text


def test_directions_as_npy_basis(capsys, tmp_path, model):
    out = tmp_path / "basis.npy"
    assert run(capsys, "directions", "--model", model, "--count", "5", "--out", str(out))[0] == 0
    basis = np.load(out)
    assert basis.shape == (5, 32)
    np.testing.assert_allclose(basis @ basis.T, np.eye(5), atol=1e-5)


@pytest.mark.slow
def test_edit_matches_the_api_with_names_ids_and_layers(capsys, tmp_path, model):
    out = tmp_path / "e.png"
    code, _, err = run(capsys, "edit", "--model", model, "--seed", "3", "--psi", "0.8",
                       "--direction", "pca0=1.5", "--direction", "SeFa 2=-1@2-4", "--out", str(out))
    assert code == 0, err
    g = load_generator(model)
    found = discover(g)
    dirs = {d.id: d for d in found.all_directions(4)}
    want = expected(g, 3, [("pca0", 1.5, (0, g.num_ws)), ("sefa1", -1.0, (2, 5))], dirs, psi=0.8)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), as_exported(want, g.sha256))


@pytest.mark.slow
def test_edit_with_a_bundle_and_a_bundle_from_another_model(capsys, tmp_path, model):
    g = load_generator(model)
    mine = discover(g).directions("pca", 2)
    bundle = write_bundle(mine, tmp_path / "mine.npz")
    out = tmp_path / "a.png"
    assert run(capsys, "edit", "--model", model, "--seed", "1", "--directions", str(bundle),
               "--direction", "PC 2=2", "--out", str(out))[0] == 0
    from facestudio.latent.direction_files import adopt
    foreign = write_bundle(adopt(mine, "f" * 64), tmp_path / "theirs.npz")
    code, _, err = run(capsys, "edit", "--model", model, "--seed", "1", "--directions", str(foreign),
                       "--direction", "pca1=2", "--out", str(tmp_path / "b.png"))
    assert code == 1 and "made for another model" in err and "--allow-other-model" in err
    assert_one_sentence(err)
    assert not (tmp_path / "b.png").exists()
    code, _, err = run(capsys, "edit", "--model", model, "--seed", "1", "--directions", str(foreign),
                       "--allow-other-model", "--direction", "pca1=2", "--out", str(tmp_path / "b.png"))
    assert code == 0 and "warning" in err
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "b.png")))


def test_edit_with_an_npy_vector_uses_the_w_standard_deviation(capsys, tmp_path, model):
    g = load_generator(model)
    v = np.random.RandomState(0).randn(1, g.w_dim)
    np.save(tmp_path / "smile.npy", v)
    out = tmp_path / "s.png"
    assert run(capsys, "edit", "--model", model, "--seed", "2", "--directions", str(tmp_path / "smile.npy"),
               "--direction", "smile=1", "--out", str(out))[0] == 0
    found = discover(g)
    unit = v[0] / np.linalg.norm(v)
    ws = g.map(z_from_seed(2, g.z_dim), psi=0.7)[0] + found.stats.std_along(unit) * unit
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")),
                          as_exported(g.synthesize(ws[None].astype(np.float32))[0], g.sha256))


@pytest.mark.parametrize("args, message", [
    (["--direction", "nosuch=1"], "unknown direction 'nosuch'"),
    (["--direction", "pca0"], "use NAME=AMOUNT"),
    (["--direction", "pca0=big"], "must be a number"),
    (["--direction", "pca0=nan"], "finite"),
    (["--direction", "pca0=1e38"], "the amount of the edit 'pca0' 1e+38 is out of range"),
    (["--direction", "pca0=1@5-2"], "reversed"),
    (["--direction", "pca0=1@2,5"], "one contiguous range"),
    (["--direction", "pca0=1@3-40"], "outside this model"),
    ([], "at least one --direction"),
])
def test_edit_bad_input_is_one_sentence(capsys, tmp_path, model, args, message):
    code, _, err = run(capsys, "edit", "--model", model, "--seed", "1", *args, "--out", str(tmp_path / "x.png"))
    assert code == 1
    assert_one_sentence(err)
    assert message in err
    assert not (tmp_path / "x.png").exists()


def test_edit_with_a_direction_file_of_the_wrong_w_dim(capsys, tmp_path, model):
    np.save(tmp_path / "ffhq_w_boundary.npy", np.ones((1, 512)))
    np.save(tmp_path / "age_boundary.npy", np.ones((1, 32)))
    for name, message in (("ffhq_w_boundary.npy", "length 512, but this model's W has 32"),
                          ("age_boundary.npy", "Z-space boundary")):
        code, _, err = run(capsys, "edit", "--model", model, "--seed", "1", "--directions", str(tmp_path / name),
                           "--direction", "pca0=1", "--out", str(tmp_path / "x.png"))
        assert code == 1 and message in err
        assert_one_sentence(err)


def test_sheet_lays_out_directions_seeds_and_amounts(capsys, tmp_path, model, without_watermark):
    out = tmp_path / "sheet.png"
    code, _, err = run(capsys, "sheet", "--model", model, "--seeds", "1,2", "--direction", "pca0",
                       "--direction", "sefa-coarse0", "--amounts=-2,0,2", "--out", str(out))
    assert code == 0, err
    img = np.asarray(Image.open(out).convert("RGB"))
    from facestudio.commands.directions import SHEET_HEADER, SHEET_LABEL_WIDTH
    assert img.shape == (SHEET_HEADER + 4 * 32, SHEET_LABEL_WIDTH + 3 * 32, 3)
    g = load_generator(model)
    dirs = {d.id: d for d in discover(g).all_directions(2)}
    cell = img[SHEET_HEADER + 32:SHEET_HEADER + 64, SHEET_LABEL_WIDTH + 64:SHEET_LABEL_WIDTH + 96]  # pca0, seed 2, +2
    assert np.array_equal(cell, expected(g, 2, [("pca0", 2.0, (0, g.num_ws))], dirs))
    cell = img[SHEET_HEADER + 96:, SHEET_LABEL_WIDTH + 32:SHEET_LABEL_WIDTH + 64]  # sefa-coarse0, seed 2, 0
    assert np.array_equal(cell, expected(g, 2, [], dirs))


def test_directions_bad_input(capsys, tmp_path, model):
    code, _, err = run(capsys, "directions", "--model", model, "--out", str(tmp_path / "d.txt"))
    assert code == 1 and "must be .npz" in err
    code, _, err = run(capsys, "directions", "--model", model, "--count", "0", "--out", str(tmp_path / "d.npz"))
    assert code == 1 and "at least 1" in err
    code, _, err = run(capsys, "directions", "--model", model, "--out", str(tmp_path / "no" / "d.npz"))
    assert code == 1 and "does not exist" in err
    assert_one_sentence(err)


@pytest.mark.parametrize("entry, message", [
    ({"model_sha256": 5}, "the model of direction 1 in odd.npz must be named by its sha256 as text"),
    ({"scale": 1e308}, "the scale of direction 1 in odd.npz is 1e+308"),
])
def test_edit_with_a_bundle_of_absurd_values_is_one_sentence(capsys, tmp_path, model, entry, message):
    g = load_generator(model)
    d = discover(g).directions("pca", 1)[0]
    path = change_bundle_manifest(write_bundle([d], tmp_path / "odd.npz"), entry)
    code, _, err = run(capsys, "edit", "--model", model, "--seed", "1", "--directions", str(path),
                       "--direction", f"{d.id}=1", "--out", str(tmp_path / "x.png"))
    assert code == 1
    assert_one_sentence(err)
    assert message in err
    assert not (tmp_path / "x.png").exists()
