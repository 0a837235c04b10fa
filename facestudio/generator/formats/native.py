"""The native model format: a folder with ``model.safetensors``, ``config.json`` and
``MODEL_CARD.md``.

- ``model.safetensors``: float32 tensors named like :class:`StyleGAN2Generator`'s state
  dict. Safetensors holds raw arrays and a JSON header, so reading it can never run code.
- ``config.json``: ``{"format": "facestudio-generator", "version": 1, "generator": {...}}``
  where ``generator`` is :meth:`GeneratorConfig.to_dict`, plus optional ``source`` info.
- ``MODEL_CARD.md``: see :mod:`facestudio.generator.formats.model_card`.

A lone ``.safetensors`` file may also be opened: its config is then read from
``config.json`` beside it.
"""

from __future__ import annotations

import errno
import json
import re
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from facestudio.bounded_json import HeaderError, JsonError, document_version, loads_bounded
from facestudio.fileio import OutputPathError, atomic_folder, describe_os_error
from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.model_card import CARD_FILE
from facestudio.generator.networks.config import GeneratorConfig, config_from_dict

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 1 << 20  # a real config.json, with its training settings, is about 1 KB
FORMAT_NAME = "facestudio-generator"
FORMAT_VERSION = 1


def is_safetensors(head: bytes) -> bool:
    """Safetensors starts with a little-endian u64 header size followed by ``{``."""
    if len(head) < 9:
        return False
    (size,) = struct.unpack("<Q", head[:8])
    return 2 <= size < 100_000_000 and head[8:9] == b"{"


def native_paths(path: Path) -> tuple[Path, Path]:
    """(weights file, config file) for a native model folder or its ``.safetensors`` file."""
    if path.is_dir():
        return path / WEIGHTS_FILE, path / CONFIG_FILE
    return path, path.parent / CONFIG_FILE


def read_native(path: Path) -> tuple[GeneratorConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """Read config, state dict and the rest of ``config.json`` (as metadata)."""
    weights_path, config_path = native_paths(Path(path))
    if not weights_path.is_file():
        raise ModelLoadError(f"{path} is not a facestudio model: {weights_path.name} is missing")
    if not config_path.is_file():
        raise ModelLoadError(f"{weights_path} has no {CONFIG_FILE} beside it, so its architecture is unknown")
    if config_path.stat().st_size > MAX_CONFIG_BYTES:
        raise ModelLoadError(f"{config_path} is too large to be a generator config "
                             f"(over {MAX_CONFIG_BYTES >> 20} MiB)")
    try:
        doc = loads_bounded(config_path.read_bytes(), str(config_path))
    except OSError as exc:
        raise ModelLoadError(f"{config_path} cannot be read ({exc.strerror or exc})") from None
    except JsonError as exc:
        raise ModelLoadError(str(exc)) from None
    try:
        document_version(doc, FORMAT_NAME, FORMAT_VERSION, "generator config", default=1)
    except HeaderError as exc:
        raise ModelLoadError(f"{config_path} {exc}") from None
    try:
        config = config_from_dict(doc["generator"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{config_path} has an invalid generator config: {exc}") from None
    try:
        state = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{weights_path} is truncated or not a safetensors file ({exc})") from None
    meta = {k: v for k, v in doc.items() if k not in ("generator",)}
    return config, {k: v.float() for k, v in state.items()}, meta


def write_native(
    folder: Path,
    config: GeneratorConfig,
    state_dict: dict[str, torch.Tensor],
    card_text: str | None = None,
    source: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a native model folder atomically: build it beside the target, then rename.

    Raises OutputPathError when ``folder`` exists (and not ``overwrite``) or its parent
    is missing or read-only, and when writing fails (a full disk): one sentence, with
    nothing left behind and an existing folder untouched. Returns the folder.
    """
    try:
        with atomic_folder(Path(folder), overwrite=overwrite, marker=CONFIG_FILE) as staging:
            tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state_dict.items()}
            _save_tensors(tensors, staging / WEIGHTS_FILE)
            doc: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                                   "generator": config.to_dict()}
            if source:
                doc["source"] = source
            (staging / CONFIG_FILE).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
            if card_text is not None:
                (staging / CARD_FILE).write_text(card_text, encoding="utf-8")
    except OSError as exc:
        raise OutputPathError(describe_os_error(Path(folder), exc)) from None
    return folder


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """``save_file``, whose I/O failures (a SafetensorError naming ``os error N``) become the
    OSError they are."""
    try:
        save_file(tensors, str(path))
    except SafetensorError as exc:
        code = re.search(r"os error (\d+)", str(exc))
        raise OSError(int(code.group(1)) if code else errno.EIO, str(exc)) from None
