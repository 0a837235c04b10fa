"""``facestudio train-encoder`` on a tiny setting: it trains, stops, resumes where it stopped
(the same weights as a run that never stopped), writes its files and refuses bad state."""

from __future__ import annotations

import json

import pytest
import torch

from facestudio.analysis.encoder import load_encoder
from facestudio.training.encoder import CHECKPOINT_NAME, load_state
from tests.helpers import assert_one_sentence, run

TINY = ["train-encoder", "--tiny", "--batch", "2", "--held-out", "4"]


@pytest.mark.slow
def test_it_trains_resumes_and_writes_the_encoder_and_its_report(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    code, _, err = run(capsys, *TINY, "--steps", "3", "--run", str(straight), "--out-dir", str(out))
    assert code == 0, err
    code, text, err = run(capsys, *TINY, "--steps", "2", "--run", str(stopped), "--out-dir", str(tmp_path),
                          "--minutes", "0.00001")
    assert code == 0 and "stopped at step 1 of 2" in text, (text, err)
    assert load_state(stopped / CHECKPOINT_NAME)["step"] == 1
    assert not (tmp_path / "encoder.safetensors").exists()  # nothing is written before the run ends
    code, _, err = run(capsys, *TINY, "--steps", "3", "--run", str(stopped), "--out-dir", str(tmp_path), "--json")
    assert code == 0, err
    assert "resuming" in (stopped / "train.log").read_text()
    a, b = load_state(straight / CHECKPOINT_NAME), load_state(stopped / CHECKPOINT_NAME)
    assert a["step"] == b["step"] == 3
    for name, tensor in a["net"].items():
        assert torch.equal(tensor, b["net"][name]), name
    code, _, err = run(capsys, *TINY, "--steps", "2", "--run", str(stopped), "--out-dir", str(tmp_path), "--overwrite")
    assert code == 1
    assert_one_sentence(err, "already at step 3, past --steps 2")
    net, model_sha256 = load_encoder(out / "encoder.safetensors")
    report = json.loads((out / "encoder.json").read_text())
    assert model_sha256 == report["model"]["sha256"] and net.width == 8
    assert report["faces"] == 4 and report["training"]["steps"] == 3
    assert report["encoder"]["w_mse"] > 0 and report["mean_w"]["pixel_mse"] > 0


def test_it_refuses_a_written_encoder_and_a_damaged_checkpoint(capsys, tmp_path):
    (tmp_path / "encoder.json").write_text("{}")
    code, _, err = run(capsys, *TINY, "--steps", "1", "--run", str(tmp_path / "run"), "--out-dir", str(tmp_path))
    assert code == 1
    assert_one_sentence(err, "already exists")
    assert not (tmp_path / "run").exists()  # refused before any training
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    code, _, err = run(capsys, *TINY, "--steps", "1", "--run", str(damaged), "--out-dir", str(tmp_path),
                       "--overwrite")
    assert code == 1
    assert_one_sentence(err, "not a readable encoder checkpoint")
    code, _, err = run(capsys, *TINY, "--steps", "0", "--run", str(damaged), "--out-dir", str(tmp_path))
    assert code == 1
    assert_one_sentence(err, "--steps must be between")
