"""Open any supported weight file, chosen by content rather than by extension.

Supported: facestudio native folders / safetensors, NVIDIA stylegan2-ada / stylegan3
training pickles (through the allow-list unpickler: nothing in the file is executed), and
rosinality stylegan2-pytorch checkpoints (``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch

from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.magic import LEGACY_TORCH_MAGIC, ZIP_MAGIC
from facestudio.generator.formats.native import is_safetensors, native_paths, read_native
from facestudio.generator.formats.nvidia_pickle import is_nvidia_pickle, read_nvidia_pickle
from facestudio.generator.formats.rosinality import read_rosinality_checkpoint
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.locations import bundled_weights_dir

Progress = Callable[[int, int], None]


def bundled_model_path() -> Path:
    """The default face model: ``$FACESTUDIO_MODEL`` if set, else the bundled ``weights/``
    (found by :mod:`facestudio.locations`: source tree, wheel data or PyInstaller build)."""
    env = os.environ.get("FACESTUDIO_MODEL")
    if env:
        return Path(env)
    return bundled_weights_dir()


def detect_format(path: Path) -> str:
    """``native`` | ``nvidia-pickle`` | ``rosinality`` from the first bytes of the file."""
    if path.is_dir():
        return "native"
    _check_regular(path)
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise ModelLoadError(f"{path} is empty")
    if is_safetensors(head):
        return "native"
    if head[:4] == ZIP_MAGIC or head.startswith(LEGACY_TORCH_MAGIC):
        return "rosinality"  # a torch.save file: zip, or the pre-1.6 pickle stream
    if is_nvidia_pickle(head):
        return "nvidia-pickle"
    raise ModelLoadError(
        f"{path} is not a model file facestudio knows (facestudio safetensors, NVIDIA "
        "StyleGAN2/3 pickle or rosinality checkpoint)")


def read_weights(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """(config, state dict in :class:`StyleGAN2Generator` names, metadata) for ``path``."""
    fmt = detect_format(path)
    if fmt == "native":
        config, state, meta = read_native(path)
    elif fmt == "nvidia-pickle":
        config, state, meta = read_nvidia_pickle(path)
    else:
        config, state, meta = read_rosinality_checkpoint(path)
    meta = dict(meta)
    meta["format"] = fmt
    return config, state, meta


def identity_file(path: Path) -> Path:
    """The file whose bytes are the model's identity (the weights file of a native folder)."""
    return native_paths(path)[0] if detect_format(path) == "native" else path


def _check_regular(path: Path) -> None:
    """Refuse a named pipe, socket or device at once: opening a FIFO would wait forever for
    a writer, and a device can be read without end."""
    if path.exists() and not path.is_dir() and not path.is_file():
        raise ModelLoadError(f"{path} is not a regular file, so it cannot be a model")


def check_model_path(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"model file {path} does not exist")
    _check_regular(path)
    if path.is_dir() and not native_paths(path)[0].is_file():
        raise ModelLoadError(f"{path} is a folder without a facestudio model in it")
    if not os.access(path, os.R_OK):
        raise ModelLoadError(f"model file {path} is not readable")
    return path
