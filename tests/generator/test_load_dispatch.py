"""load_generator picks the reader by content, whatever the file is called."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from facestudio.commands.main import main
from facestudio.generator import load_generator
from facestudio.generator.formats.native import WEIGHTS_FILE, write_native
from facestudio.generator.model import generator_from_network
from tests.conftest import randomised_network, small_config
from tests.generator.nvidia_fixtures import write_nvidia_style_pickle
from tests.generator.rosinality_fixtures import write_rosinality_checkpoint


def images(g) -> np.ndarray:
    z = np.random.RandomState(3).randn(2, g.z_dim)
    return g.synthesize(g.map(z, psi=0.7))


def native_folder(net, tmp_path):
    return write_native(tmp_path / "faces.pkl", net.config, net.state_dict())


def native_file(net, tmp_path):
    folder = write_native(tmp_path / "faces", net.config, net.state_dict())
    return (folder / WEIGHTS_FILE).rename(folder / "faces.pt")  # config.json stays beside it


def nvidia_pickle(net, tmp_path):
    return write_nvidia_style_pickle(net, tmp_path / "network-snapshot.pt")


def rosinality_zip(net, tmp_path):
    return write_rosinality_checkpoint(net, tmp_path / "550000.pkl")


def rosinality_legacy(net, tmp_path):
    path = tmp_path / "550000-legacy.pkl"  # a pickle stream, but torch's, not NVIDIA's
    torch.save({"g_ema": torch.load(write_rosinality_checkpoint(net, tmp_path / "zip.pt"),
                                    weights_only=True)["g_ema"],
                "latent_avg": net.mapping.w_avg.detach().clone()},
               path, _use_new_zipfile_serialization=False)
    return path


@pytest.mark.parametrize("write, fmt", [
    (native_folder, "native"),
    (native_file, "native"),
    (nvidia_pickle, "nvidia-pickle"),
    (rosinality_zip, "rosinality"),
    (rosinality_legacy, "rosinality"),
])
def test_every_format_loads_by_content_despite_its_extension(tmp_path, write, fmt):
    net = randomised_network(small_config(), seed=5)
    g = load_generator(write(net, tmp_path))
    assert g.meta["format"] == fmt
    assert g.config == net.config
    assert np.array_equal(images(g), images(generator_from_network(net)))


class _Payload:
    """Pickles as a call to ``os.system`` (the classic hostile pickle)."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_cli_refuses_a_hostile_pickle_in_one_sentence(tmp_path, capsys):
    marker = tmp_path / "marker"
    model = tmp_path / "model.pt"
    model.write_bytes(pickle.dumps({"G_ema": _Payload(f"touch {marker}")}, protocol=4))
    out = tmp_path / "face.png"
    code = main(["render", "--model", str(model), "--seed", "1", "--out", str(out)])
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("facestudio: "), err
    assert "Traceback" not in err and "system" in err
    assert not out.exists() and not marker.exists()


@pytest.fixture
def fifo(tmp_path):
    """A named pipe called like a model. A writer waits on it, so that a reader which opened
    it would get an empty file instead of blocking; the pipe is drained at the end."""
    import threading
    path = tmp_path / "faces.pkl"
    os.mkfifo(path)
    writer = threading.Thread(target=lambda: open(path, "wb").close(), daemon=True)
    writer.start()
    yield path
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # lets a writer still waiting finish
    writer.join()
    os.close(fd)


def test_a_named_pipe_is_refused_at_once(fifo, capsys):
    from facestudio.generator.errors import ModelLoadError
    from facestudio.generator.formats.loader import detect_format
    with pytest.raises(ModelLoadError, match="is not a regular file"):
        load_generator(fifo)
    with pytest.raises(ModelLoadError, match="is not a regular file"):
        detect_format(fifo)
    for argv in (["info", str(fifo)], ["render", "--model", str(fifo), "--seed", "1",
                                       "--out", str(fifo.parent / "x.png")]):
        assert main(argv) == 1
        _, err = capsys.readouterr()
        assert err.strip() == f"facestudio: {fifo} is not a regular file, so it cannot be a model"
