"""``facestudio --version``, ``facestudio doctor`` and the device setting it reports."""

import json
import sys

import numpy as np
import pytest
import torch

from facestudio import __version__
from facestudio.commands import doctor
from facestudio.commands.main import build_parser, main
from facestudio.generator import ModelLoadError, load_generator
from facestudio.generator import device as device_mod
from facestudio.generator.device import pick_device
from facestudio.latent.seeds import z_from_seed

CHECK_NAMES = ["python", "facestudio", "torch", "threads", "bf16", "device", "gpu", "libraries", "qt",
               "folders", "model", "resources", "exiftool"]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"facestudio {__version__}"


def test_doctor_reports_every_check_and_passes_here(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("FACESTUDIO_DATA", str(tmp_path / "data"))
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == CHECK_NAMES
    assert all(line.split()[0] in ("ok", "warn") for line in lines[:-1])
    assert lines[-1].startswith("0 failed")
    qt = next(line for line in lines if line.split()[1] == "qt")
    assert "platform plugin 'offscreen'" in qt
    assert str(tmp_path / "data" / "models") in next(line for line in lines if line.split()[1] == "folders")


def test_doctor_json_and_an_essential_failure(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("FACESTUDIO_MODEL", str(tmp_path / "missing"))
    monkeypatch.setattr(doctor, "CHECKS", (doctor.check_python, doctor.check_bundled_model))
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in report] == ["python", "model"]
    assert report[1]["status"] == "FAIL" and "does not exist" in report[1]["detail"]


def test_a_check_that_raises_is_a_failure_not_a_traceback():
    def check_broken():
        raise RuntimeError("boom")

    results = doctor.run_checks((doctor.check_python, check_broken))
    assert results[1] == doctor.Check("broken", doctor.FAIL, "the check itself failed: RuntimeError: boom")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="display variables are an X11/Wayland matter")
def test_no_display_is_a_warning(monkeypatch):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    check = doctor.check_qt()
    assert check.status == doctor.WARN and "no display" in check.detail


def test_doctor_names_a_device_this_machine_lacks(monkeypatch):
    monkeypatch.setattr(device_mod, "cuda_usable", lambda: False)
    monkeypatch.setenv("FACESTUDIO_DEVICE", "cuda")
    check = doctor.check_device()
    assert check.status == doctor.FAIL and "PyTorch sees none" in check.detail
    monkeypatch.setenv("FACESTUDIO_DEVICE", "tpu")
    assert "not a device facestudio knows" in doctor.check_device().detail


def test_pick_device(monkeypatch):
    monkeypatch.setattr(device_mod, "cuda_usable", lambda: False)
    assert pick_device("auto") == torch.device("cpu") and pick_device(" CPU ") == torch.device("cpu")
    with pytest.raises(ModelLoadError, match="asks for a CUDA GPU"):
        pick_device("cuda")
    monkeypatch.setattr(device_mod, "cuda_usable", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pick_device("auto") == torch.device("cuda")  # chosen automatically when present
    assert pick_device("cpu") == torch.device("cpu")  # the setting that forces the CPU
    assert pick_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ModelLoadError, match="has 1 CUDA GPU"):
        pick_device("cuda:1")
    monkeypatch.delenv("FACESTUDIO_DEVICE", raising=False)
    assert device_mod.device_setting() == "auto"


def test_forcing_the_cpu_renders_the_same_pixels(monkeypatch, native_model, capsys):
    monkeypatch.delenv("FACESTUDIO_DEVICE", raising=False)
    auto = load_generator(native_model)
    monkeypatch.setenv("FACESTUDIO_DEVICE", "cpu")
    cpu = load_generator(native_model)
    assert cpu.device == torch.device("cpu") and cpu.describe()["device"] == "cpu"
    ws = cpu.map(z_from_seed(3, cpu.z_dim), psi=0.7)
    assert np.array_equal(cpu.synthesize(ws), auto.synthesize(auto.map(z_from_seed(3, auto.z_dim), psi=0.7)))
    monkeypatch.setattr(device_mod, "cuda_usable", lambda: False)
    code = main(["--device", "cuda", "info", str(native_model)])
    assert code == 1 and "asks for a CUDA GPU" in capsys.readouterr().err


def test_the_global_device_option_is_not_trains():
    assert build_parser().parse_args(["train", "--device", "cuda"]).render_device is None
    assert build_parser().parse_args(["--device", "cpu", "info"]).render_device == "cpu"
