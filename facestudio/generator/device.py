"""Which device the generator runs on: ``$FACESTUDIO_DEVICE`` = ``auto`` | ``cpu`` | ``cuda[:N]``.

``auto`` (the default) picks the first CUDA GPU when PyTorch has one and the CPU otherwise;
``cpu`` forces the CPU even when a GPU is present (the same pixels on every machine).
"""

from __future__ import annotations

import os

import torch

from facestudio.generator.errors import ModelLoadError

DEVICE_ENV = "FACESTUDIO_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def device_setting() -> str:
    """The asked-for device, lower case (``auto`` when ``$FACESTUDIO_DEVICE`` is unset or empty)."""
    return (os.environ.get(DEVICE_ENV) or "auto").strip().lower()


def cuda_usable() -> bool:
    """Whether this PyTorch build has a working CUDA GPU (False on CPU-only builds)."""
    try:
        return torch.cuda.is_available()
    except Exception:  # a broken driver install raises instead of answering
        return False


def pick_device(setting: str | None = None) -> torch.device:
    """The device for ``setting`` (default: :func:`device_setting`).

    Raises :class:`ModelLoadError` with one sentence for an unknown setting, or for ``cuda``
    on a machine without a usable CUDA GPU.
    """
    name = (setting if setting is not None else device_setting()).strip().lower()
    if name == "auto":
        return torch.device("cuda" if cuda_usable() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    kind, _, index = name.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise ModelLoadError(f"{DEVICE_ENV}={name!r} is not a device facestudio knows: "
                             "use auto, cpu, cuda or cuda:N")
    if not cuda_usable():
        raise ModelLoadError(f"{DEVICE_ENV}={name} asks for a CUDA GPU, but PyTorch sees none here "
                             "(see packaging/README.md for the CUDA build of torch)")
    if index and int(index) >= torch.cuda.device_count():
        raise ModelLoadError(f"{DEVICE_ENV}={name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return torch.device(name)
