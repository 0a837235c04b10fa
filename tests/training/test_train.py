"""The training command on a handful of tiny images: finite losses, resume, export, eval."""

import json

import numpy as np
import pytest
import torch

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.training.augment import AdaptiveAugment, augment
from facestudio.training.checkpoint import load_checkpoint
from facestudio.training.data import DatasetError, load_dataset
from facestudio.training.metrics import laplacian_pyramid, swd


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.slow
def test_both_precisions_train_with_finite_losses(tmp_path, tiny_images, precision):
    run = tmp_path / "run"
    assert main(["train", "--data", str(tiny_images), "--run", str(run), "--resolution", "16", "--tiny",
                 "--batch", "4", "--cache", str(tmp_path / "cache"), "--precision", precision,
                 "--kimg", "0.02"]) == 0
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert json.loads(ckpt["settings"])["precision"] == precision
    for name in ("G", "G_ema", "D"):
        assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in ckpt[name].values())
    expected = "bf16 autocast + channels_last" if precision == "bf16" else "compute: cpu, float32"
    assert expected in (run / "train.log").read_text()


def test_dataset_is_cropped_resized_and_cached(tmp_path, tiny_images):
    logs = []
    images, names = load_dataset(tiny_images, 16, tmp_path / "cache", log=logs.append)
    assert images.shape == (24, 16, 16, 3) and images.dtype == np.uint8
    assert any("skipped 1 unreadable" in line for line in logs)
    again, _ = load_dataset(tiny_images, 16, tmp_path / "cache")
    assert np.array_equal(np.asarray(again), images)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope", 16)


@pytest.mark.slow
def test_train_resume_export_and_eval(capsys, tmp_path, tiny_images):
    run = tmp_path / "run"
    base = ["train", "--data", str(tiny_images), "--run", str(run), "--resolution", "16", "--tiny",
            "--batch", "4", "--cache", str(tmp_path / "cache"), "--sample-kimg", "0.016"]
    assert main(base + ["--kimg", "0.032"]) == 0
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["images_seen"] == 32 and ckpt["steps"] == 8
    for name in ("G", "G_ema", "D"):
        assert all(torch.isfinite(t).all() for t in ckpt[name].values())
    log = (run / "train.log").read_text()
    assert "loss_G" not in log or "nan" not in log.lower()
    assert list(run.glob("samples-*.png"))
    # resume continues from the checkpoint rather than starting over
    assert main(base + ["--kimg", "0.064"]) == 0
    resumed = load_checkpoint(run / "checkpoint.pt")
    assert resumed["images_seen"] == 64
    assert "resumed from" in (run / "train.log").read_text()
    assert not torch.equal(resumed["G_ema"]["synthesis.b16.conv1.weight"],
                           ckpt["G_ema"]["synthesis.b16.conv1.weight"])
    # a fresh run folder seeded from a committed checkpoint continues from it
    other = tmp_path / "other"
    seeded = [a if a != str(run) else str(other) for a in base]
    assert main(seeded + ["--resume-from", str(run / "checkpoint.pt"), "--kimg", "0.08"]) == 0
    assert load_checkpoint(other / "checkpoint.pt")["images_seen"] == 80
    # export loads as a normal model and renders
    out = tmp_path / "model"
    assert main(base + ["--export", str(out)]) == 0
    g = load_generator(out)
    assert g.resolution == 16
    assert json.loads((out / "config.json").read_text())["source"]["images_seen"] == 64
    img = g.synthesize(g.map(np.random.RandomState(0).randn(2, g.z_dim)))
    assert img.shape == (2, 16, 16, 3)
    capsys.readouterr()
    assert main(base + ["--eval", "--eval-images", "8"]) == 0
    assert "SWD x1e3" in capsys.readouterr().out


def test_eval_without_checkpoint_is_one_sentence(capsys, tmp_path, tiny_images):
    code = main(["train", "--data", str(tiny_images), "--run", str(tmp_path / "empty"), "--resolution", "16",
                 "--cache", str(tmp_path / "cache"), "--eval", "--eval-images", "8"])
    err = capsys.readouterr().err
    assert code == 1 and "no checkpoint" in err and "Traceback" not in err


@pytest.mark.slow
def test_swd_floor_is_below_a_different_distribution():
    rng = np.random.default_rng(1)
    smooth = lambda n: np.clip(rng.normal(128, 20, (n, 32, 32, 3)).cumsum(axis=2) / 8 % 255, 0, 255).astype(np.uint8)
    a, b = smooth(64), smooth(64)
    noise = rng.integers(0, 255, (64, 32, 32, 3), dtype=np.uint8)
    same = swd(a, b)["swd_mean"]
    different = swd(a, noise)["swd_mean"]
    assert same < different / 3
    assert set(swd(a, b)) == {"swd_32px", "swd_16px", "swd_mean"}


def test_laplacian_pyramid_reconstructs_the_image():
    from facestudio.training.metrics import _pyr_up
    x = torch.randn(2, 3, 32, 32)
    levels = laplacian_pyramid(x)
    rec = levels[-1]
    for band in reversed(levels[:-1]):
        rec = band + _pyr_up(rec)
    torch.testing.assert_close(rec, x, atol=1e-5, rtol=1e-5)


def test_augment_is_identity_at_p0_and_differentiable():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    assert torch.equal(augment(x, 0.0), x)
    y = augment(x, 1.0)
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_adaptive_strength_moves_towards_the_target():
    aug = AdaptiveAugment(target=0.6, speed_images=1000)
    aug.record(torch.ones(8, 1))  # D calls every real real: overfitting -> more augmentation
    aug.update(100)
    assert aug.p == pytest.approx(0.1)
    aug.record(-torch.ones(8, 1))
    aug.update(100)
    assert aug.p == pytest.approx(0.0)


def test_resume_from_a_damaged_checkpoint_is_one_sentence(capsys, tmp_path, tiny_images):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04 not really")
    code = main(["train", "--data", str(tiny_images), "--run", str(tmp_path / "r"), "--resolution", "16",
                 "--tiny", "--cache", str(tmp_path / "cache"), "--resume-from", str(bad), "--kimg", "0.01"])
    err = capsys.readouterr().err
    assert code == 1 and "not a readable facestudio training checkpoint" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def test_pack_data_round_trips_through_load_dataset(capsys, tmp_path, tiny_images):
    packed = tmp_path / "packed.tar"
    assert main(["train", "--data", str(tiny_images), "--resolution", "16", "--cache", str(tmp_path / "c"),
                 "--pack-data", str(packed)]) == 0
    original, names = load_dataset(tiny_images, 16, tmp_path / "c")
    again, names_again = load_dataset(packed, 16)
    assert names_again == names and again.shape == original.shape
    assert np.abs(again.astype(int) - np.asarray(original)).mean() < 6  # JPEG, not bit-exact


def test_cuda_without_a_gpu_is_one_sentence(capsys, tmp_path, tiny_images, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["train", "--data", str(tiny_images), "--run", str(tmp_path / "r"), "--resolution", "16",
                 "--tiny", "--cache", str(tmp_path / "c"), "--device", "cuda", "--kimg", "0.01"])
    err = capsys.readouterr().err
    assert code == 1 and "no usable CUDA GPU" in err


def test_memorisation_flags_copies_and_mirrors_but_not_new_faces():
    from facestudio.training.metrics import memorisation
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (1, 16, 16, 3))
    training = np.clip(base + rng.normal(0, 40, (200, 16, 16, 3)), 0, 255).astype(np.uint8)
    copies = training[:5].copy()
    mirrored = training[5:8, :, ::-1].copy()
    brighter = np.clip(training[8:10].astype(int) + 20, 0, 255).astype(np.uint8)  # normalised away
    new = np.clip(base + rng.normal(0, 40, (10, 16, 16, 3)), 0, 255).astype(np.uint8)
    result = memorisation(np.concatenate([copies, mirrored, brighter, new]), training, size=16)
    assert result["count_below"] == 10 and result["share_below"] == pytest.approx(10 / 20)
    assert result["threshold"] > 0 and result["training_duplicates"] == 0
    # duplicated training photos don't drag the threshold to zero
    with_duplicates = np.concatenate([training, training[:4], training[4:8, :, ::-1]])
    dup = memorisation(copies, with_duplicates, size=16)
    assert dup["training_duplicates"] == 16
    assert dup["threshold"] == pytest.approx(result["threshold"], rel=0.2) and dup["count_below"] == 5
    # copies and mirrors are found at distance ~0, each against its own photo
    assert {(g, r) for g, r, _ in result["closest"]} == {(i, i) for i in range(8)}
    assert all(d < 1e-3 for _, _, d in result["closest"])


@pytest.mark.slow
def test_eval_reports_memorisation(capsys, tmp_path, tiny_images):
    run = tmp_path / "run"
    base = ["train", "--data", str(tiny_images), "--run", str(run), "--resolution", "16", "--tiny",
            "--batch", "4", "--cache", str(tmp_path / "cache")]
    assert main(base + ["--kimg", "0.008"]) == 0
    capsys.readouterr()
    assert main(base + ["--eval", "--eval-images", "8", "--memorisation", "16"]) == 0
    assert "memorisation (" in capsys.readouterr().out
