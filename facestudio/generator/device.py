"""Which device the generator runs on: ``$FACESTUDIO_DEVICE`` = ``auto`` | ``cpu`` | ``cuda[:N]``.

``auto`` (the default) picks the first CUDA GPU when PyTorch has one and the CPU otherwise;
``cpu`` forces the CPU even when a GPU is present (the same pixels on every machine).
"""

from __future__ import annotations

import os
from pathlib import Path

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


def pick_device(setting: str | None = None, named: str | None = None) -> torch.device:
    """The device for ``setting`` (default: :func:`device_setting`): the one device choice of
    the studio, the commands and training.

    ``named`` is how the setting is called in a message (default ``$FACESTUDIO_DEVICE``; a
    command passes its flag, ``--device``). Raises :class:`ModelLoadError` with one sentence
    for an unknown setting, or for ``cuda`` on a machine without a usable CUDA GPU.
    """
    name = (setting if setting is not None else device_setting()).strip().lower()
    said = f"{DEVICE_ENV}={name}" if named is None else f"{named} {name}"
    if name == "auto":
        return torch.device("cuda" if cuda_usable() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    kind, _, index = name.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise ModelLoadError(f"{said} is not a device facestudio knows: use auto, cpu, cuda or cuda:N")
    if not cuda_usable():
        raise ModelLoadError(f"{said} asks for a CUDA GPU, but PyTorch sees none here: this machine has no "
                             "usable CUDA GPU (see packaging/README.md for the CUDA build of torch)")
    if index and int(index) >= torch.cuda.device_count():
        raise ModelLoadError(f"{said}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return torch.device(name)


BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_bf16_units(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX-512 BF16) and PyTorch's oneDNN
    kernels can use it. ``cpuinfo``: the text of ``/proc/cpuinfo`` (read when None; on
    systems without it the answer is False, so ``auto`` stays float32)."""
    if not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return False
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in BF16_CPU_FLAGS)
