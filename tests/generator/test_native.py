"""The native format: round trip, identity, model card, and every kind of bad file."""

import json
import os

import numpy as np
import pytest

from facestudio.fileio import OutputPathError
from facestudio.generator import ModelLoadError, load_generator
from facestudio.generator.formats.native import CONFIG_FILE, WEIGHTS_FILE, write_native
from facestudio.latent.seeds import z_from_seed
from tests.conftest import randomised_network, small_config


def test_round_trip_gives_identical_pixels(tmp_path):
    cfg = small_config(architecture="resnet", c_dim=2, conv_clamp=256.0)
    net = randomised_network(cfg, seed=4)
    folder = write_native(tmp_path / "m", cfg, net.state_dict(), card_text="---\nname: X\n---\n")
    g = load_generator(folder)
    assert g.config == cfg
    import torch
    z = torch.from_numpy(z_from_seed(9, cfg.z_dim)).float()
    c = torch.eye(2)[[1]]
    with torch.no_grad():
        want = net(z, c, psi=0.6, noise_mode="const")
    got = g.synthesize_tensor(g.map(z.numpy(), c=1, psi=0.6), "const")
    assert torch.equal(got, want)
    assert g.name == "X"


def test_identity_is_the_sha256_of_the_weights_file(native_model):
    import hashlib
    g = load_generator(native_model)
    assert g.sha256 == hashlib.sha256((native_model / WEIGHTS_FILE).read_bytes()).hexdigest()
    # the lone safetensors file opens too, with the same identity
    assert load_generator(native_model / WEIGHTS_FILE).sha256 == g.sha256


def test_model_card_metadata(native_model):
    g = load_generator(native_model)
    info = g.describe()
    assert info["license"] == "CC-BY-NC-4.0"
    assert info["trained"] == "false"
    assert info["name"] == "Test faces"


def test_missing_file():
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_generator("/no/such/model.pkl")


def test_truncated_weights(native_model):
    w = native_model / WEIGHTS_FILE
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="truncated"):
        load_generator(native_model)


def test_unknown_format(tmp_path):
    p = tmp_path / "notes.pkl"
    p.write_text("these are not weights")
    with pytest.raises(ModelLoadError, match="not a model file facestudio knows"):
        load_generator(p)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        load_generator(empty)


def test_config_that_does_not_match_the_weights(native_model):
    doc = json.loads((native_model / CONFIG_FILE).read_text())
    doc["generator"]["channels"]["8"] = 64
    (native_model / CONFIG_FILE).write_text(json.dumps(doc))
    with pytest.raises(ModelLoadError, match="does not match its config"):
        load_generator(native_model)


def test_broken_config(native_model):
    (native_model / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_generator(native_model)
    (native_model / CONFIG_FILE).unlink()
    with pytest.raises(ModelLoadError, match="config.json"):
        load_generator(native_model / WEIGHTS_FILE)


def test_write_refuses_to_overwrite_and_leaves_nothing_behind(tmp_path, native_model, monkeypatch):
    cfg = small_config()
    sd = randomised_network(cfg).state_dict()
    with pytest.raises(OutputPathError, match="already exists"):
        write_native(native_model, cfg, sd)
    with pytest.raises(OutputPathError, match="does not exist"):
        write_native(tmp_path / "missing" / "m", cfg, sd)
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    # root may write into a 0o500 folder, so model "read-only" as the permission check sees it
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) else real_access(p, mode))
    with pytest.raises(OutputPathError, match="not writable"):
        write_native(ro / "m", cfg, sd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "ro"]


def test_overwrite_replaces_atomically(tmp_path, native_model):
    cfg = small_config()
    net = randomised_network(cfg, seed=7)
    write_native(native_model, cfg, net.state_dict(), overwrite=True)
    g = load_generator(native_model)
    ws = g.map(z_from_seed(1, cfg.z_dim))
    assert np.isfinite(ws).all()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_written_files_get_ordinary_permissions(tmp_path):
    cfg = small_config()
    old = os.umask(0o022)
    try:
        folder = write_native(tmp_path / "m", cfg, randomised_network(cfg).state_dict())
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755
    assert (folder / WEIGHTS_FILE).stat().st_mode & 0o777 == 0o644
