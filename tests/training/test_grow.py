"""Growing a training state by one block: the grown generator starts as the smaller one
upsampled, trained weights and Adam moments carry over, and training resumes from it."""

import json

import numpy as np
import pytest
import torch

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.generator.networks.ops import make_filter, upsample2d
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.training.checkpoint import load_checkpoint
from facestudio.training.grow import grow_checkpoint
from facestudio.training.loop import TrainSettings, Trainer


@pytest.fixture
def small_run(tmp_path, tiny_images):
    """A tiny 16 px run trained for a few steps (so its weights and moments are not fresh)."""
    run = tmp_path / "run16"
    assert main(["train", "--data", str(tiny_images), "--run", str(run), "--resolution", "16", "--tiny",
                 "--batch", "4", "--cache", str(tmp_path / "cache"), "--kimg", "0.024",
                 "--precision", "fp32"]) == 0
    return run / "checkpoint.pt"


def _generator(ckpt: dict, key: str = "G_ema") -> StyleGAN2Generator:
    net = StyleGAN2Generator(TrainSettings.from_dict(json.loads(ckpt["settings"])).generator_config())
    net.load_state_dict(ckpt[key])
    return net.eval()


@pytest.mark.parametrize("fade_kimg", [0.0, 0.008])
@pytest.mark.slow
def test_grown_generator_renders_the_smaller_one_upsampled(tmp_path, small_run, fade_kimg):
    small = load_checkpoint(small_run)
    out = tmp_path / "grown.pt"
    settings = grow_checkpoint(small, 32, out, channels=8, fade_kimg=fade_kimg)
    grown = load_checkpoint(out)
    assert settings.resolution == 32 and settings.channels[32] == 8
    assert settings.grown_at == small["images_seen"] == grown["images_seen"]
    assert settings.r1_gamma == pytest.approx(4 * TrainSettings.from_dict(json.loads(small["settings"])).r1_gamma)
    z = torch.from_numpy(np.random.RandomState(3).randn(3, 32)).float()
    with torch.no_grad():
        for key in ("G", "G_ema"):
            before = upsample2d(_generator(small, key)(z, psi=0.7, noise_mode="const"), make_filter())
            after = _generator(grown, key)(z, psi=0.7, noise_mode="const")
            assert after.shape == (3, 3, 32, 32)
            assert (after - before).abs().max() < 1e-4
    # the trained discriminator blocks carry over; the old fromRGB feeds the fade-in or goes
    assert torch.equal(grown["D"]["b16.conv0.weight"], small["D"]["b16.conv0.weight"])
    assert ("fromrgb_prev.weight" in grown["D"]) == (fade_kimg > 0)
    if fade_kimg:
        assert torch.equal(grown["D"]["fromrgb_prev.weight"], small["D"]["b16.fromrgb.weight"])
    # Adam moments follow their parameters; new parameters start without state
    g_names = [n for n, _ in _generator(grown).named_parameters()]
    old_names = [n for n, _ in _generator(small).named_parameters()]
    conv = "synthesis.b16.conv1.weight"
    old_m = small["opt_G"]["state"][old_names.index(conv)]["exp_avg"]
    assert torch.equal(grown["opt_G"]["state"][g_names.index(conv)]["exp_avg"], old_m)
    assert g_names.index("synthesis.b32.conv1.weight") not in grown["opt_G"]["state"]


@pytest.mark.slow
def test_training_resumes_from_the_grown_checkpoint(tmp_path, tiny_images, small_run):
    run = tmp_path / "run32"
    base = ["train", "--data", str(tiny_images), "--run", str(run), "--cache", str(tmp_path / "cache"),
            "--precision", "fp32"]
    assert main(base + ["--grow-from", str(small_run), "--resolution", "32", "--grow-channels", "8",
                        "--fade-kimg", "0.016", "--kimg", "0.036"]) == 0
    log = (run / "train.log").read_text()
    assert "grew" in log and "resumed from" in log and "fade-in over 0.016 kimg" in log
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["images_seen"] == 36
    assert all(torch.isfinite(t).all() for t in ckpt["G"].values())
    # the new block learned: its ToRGB left zero
    assert ckpt["G"]["synthesis.b32.torgb.weight"].abs().sum() > 0
    # a second call resumes at the run's own resolution, no --resolution needed
    assert main(base + ["--kimg", "0.044"]) == 0
    assert load_checkpoint(run / "checkpoint.pt")["images_seen"] == 44
    model = tmp_path / "model"
    assert main(base + ["--export", str(model)]) == 0
    assert load_generator(model).resolution == 32


def test_fade_alpha_ramps_from_the_grow():
    s = TrainSettings(resolution=32, grown_at=1000, fade_kimg=2.0)
    assert [s.fade_alpha(n) for n in (1000, 2000, 3000, 9000)] == [0.0, 0.5, 1.0, 1.0]
    assert TrainSettings().fade_alpha(0) == 1.0


@pytest.mark.parametrize("extra, message", [
    (["--resolution", "64"], "grows one block at a time: use --resolution 32"),
    (["--resolution", "32", "--resume-from", "x.pt"], "either --grow-from or --resume-from"),
    ([], "needs the --resolution"),
])
@pytest.mark.slow
def test_bad_grow_requests_are_one_sentence(capsys, tmp_path, tiny_images, small_run, extra, message):
    code = main(["train", "--data", str(tiny_images), "--run", str(tmp_path / "r"), "--cache",
                 str(tmp_path / "cache"), "--grow-from", str(small_run), "--kimg", "0.01"] + extra)
    err = capsys.readouterr().err
    assert code != 0 and message in err and "Traceback" not in err


@pytest.mark.slow
def test_a_grown_run_refuses_another_resolution(capsys, tmp_path, small_run):
    run = tmp_path / "r"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(small_run.read_bytes())
    code = main(["train", "--run", str(run), "--resolution", "32", "--eval"])
    err = capsys.readouterr().err
    assert code != 0 and "trains at 16 px, not 32 px" in err


@pytest.mark.slow
def test_resume_from_into_an_empty_folder_trains_at_the_checkpoints_resolution(tmp_path, tiny_images,
                                                                                small_run):
    run = tmp_path / "copy"
    assert main(["train", "--data", str(tiny_images), "--run", str(run), "--cache", str(tmp_path / "cache"),
                 "--precision", "fp32", "--resume-from", str(small_run), "--kimg", "0.028"]) == 0
    assert "at 16 px" in (run / "train.log").read_text()
    assert load_checkpoint(run / "checkpoint.pt")["images_seen"] == 28
