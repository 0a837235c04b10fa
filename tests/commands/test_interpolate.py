"""``facestudio interpolate``: the frames A to B, the three kinds of output, and bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.latent.recipe import Recipe
from facestudio.provenance import read_provenance
from facestudio.render.renderer import Renderer
from tests.helpers import assert_one_sentence


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def frames_of(path):
    with Image.open(path) as im:
        out = []
        for k in range(getattr(im, "n_frames", 1)):
            im.seek(k)
            out.append(np.asarray(im.convert("RGB")))
    return out


@pytest.mark.usefixtures("without_watermark")  # compares frames with the API's pixels
@pytest.mark.slow
def test_the_sheet_starts_at_a_and_ends_at_b(capsys, tmp_path, native_model):
    out = tmp_path / "s.png"
    code, stdout, err = run(capsys, "interpolate", "--model", native_model, "--from", 4, "--to", 9, "--frames", 5,
                            "--psi", 0.7, "--out", out)
    assert code == 0, err
    assert "wrote" in stdout
    g = load_generator(native_model)
    renderer = Renderer(g)
    [sheet] = frames_of(out)
    assert sheet.shape == (32, 5 * 32, 3)
    for seed, tile in ((4, sheet[:, :32]), (9, sheet[:, -32:])):
        alone = renderer.render(Recipe(g.sha256, seed, psi=0.7))
        assert np.abs(tile.astype(int) - alone).max() <= 1
    prov = read_provenance(out)
    assert "from seed 4 to seed 9" in prov.xmp["facestudio:Interpolation"]
    assert Recipe.from_dict(json.loads(prov.xmp["facestudio:InterpolationTo"])).seed == 9


@pytest.mark.usefixtures("without_watermark")  # compares frames with the API's pixels
@pytest.mark.slow
def test_animations_forth_and_back_or_one_way_and_frame_folders(capsys, tmp_path, native_model):
    base = ["interpolate", "--model", native_model, "--from", 1, "--to", 2, "--frames", 4]
    assert run(capsys, *base, "--out", tmp_path / "a.webp")[0] == 0
    webp = frames_of(tmp_path / "a.webp")
    assert len(webp) == 6 and np.array_equal(webp[1], webp[5])  # lossless, forth and back
    assert run(capsys, *base, "--one-way", "--frame-ms", 50, "--out", tmp_path / "a.gif")[0] == 0
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 4 and im.info["duration"] == 50
    code, stdout, _ = run(capsys, *base, "--out", str(tmp_path / "f") + "/")
    assert code == 0 and "4 frames" in stdout
    frames = sorted((tmp_path / "f").iterdir())
    assert [p.name for p in frames] == [f"frame_{i:04d}.png" for i in range(4)]
    assert np.array_equal(frames_of(frames[0])[0], webp[0])
    (tmp_path / "g").mkdir()  # an existing folder takes the frames too
    assert run(capsys, *base, "--out", tmp_path / "g")[0] == 0 and len(list((tmp_path / "g").iterdir())) == 4


@pytest.mark.parametrize("args, words", [
    (["--frames", 1], "--frames must be from 2 to 240"),
    (["--frames", 241], "--frames must be from 2 to 240"),
    (["--frame-ms", 0], "--frame-ms"),
    (["--out", "x.tiff"], "end it in .png"),
    (["--out", "frames"], "/ for a folder"),
    (["--layers", "0,3"], "not one range"),
    (["--layers", "5-2"], "reversed"),
    (["--layers", "0-99"], "outside this model"),
    (["--from", -1], "seed"),
    (["--out", "missing/x.gif"], "does not exist"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(capsys, tmp_path, native_model, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    argv = ["interpolate", "--model", native_model, "--from", 1, "--to", 2, "--frames", 3, "--out", "x.gif"]
    for flag, value in zip(args[::2], args[1::2]):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert_one_sentence(err, words, full_stop=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_nothing_is_replaced_without_overwrite(capsys, tmp_path, native_model):
    base = ["interpolate", "--model", native_model, "--from", 1, "--to", 2, "--frames", 3]
    target = tmp_path / "a.gif"
    target.write_bytes(b"keep me")
    code, _, err = run(capsys, *base, "--out", target)
    assert code == 1 and "already exists" in err and target.read_bytes() == b"keep me"
    assert run(capsys, *base, "--overwrite", "--out", target)[0] == 0
    assert read_provenance(target).is_stamped
    assert run(capsys, *base, "--out", str(tmp_path / "f") + "/")[0] == 0
    code, _, err = run(capsys, *base, "--out", tmp_path / "f")
    assert code == 1 and "already holds numbered frames" in err


def test_too_many_pixels_are_refused_once_the_size_is_known_before_rendering(capsys, tmp_path, native_model,
                                                                            monkeypatch):
    import facestudio.provenance.sequence as sequence
    import facestudio.render.interpolate as interpolate
    monkeypatch.setattr(sequence, "MAX_SEQUENCE_PIXELS", 4 * 32 * 32)
    monkeypatch.setattr(interpolate, "render_strip", lambda *a, **k: pytest.fail("rendered before the check"))
    code, _, err = run(capsys, "interpolate", "--model", native_model, "--from", 1, "--to", 2, "--frames", 5,
                       "--out", tmp_path / "x.webp")
    assert code == 1
    # the frames' size is what the files would hold: upscaled for the watermark when small
    assert_one_sentence(err, "5 frames of 512 x 512 pixels", "fewer frames", full_stop=False)
    assert not (tmp_path / "x.webp").exists()
