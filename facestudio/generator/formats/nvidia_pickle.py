"""Read NVIDIA StyleGAN network pickles without running anything from them.

stylegan2-ada-pytorch and stylegan3 save ``network-snapshot-*.pkl`` files: a dict with
``G_ema`` (the generator to use), usually also ``G``, ``D``, ``augment_pipe`` and
``training_set_kwargs``. Each network is a ``torch_utils.persistence`` object, which
:mod:`~facestudio.generator.formats.safe_pickle` reads as a :class:`PersistentRecord` (class name,
inert module source, instance ``__dict__``) through its allow-list unpickler.

:func:`read_nvidia_pickle` finds the generator in such a file and hands its records to the
reader of its family: :class:`~facestudio.generator.formats.sg2_pickle.GeneratorReader` for StyleGAN2,
:class:`~facestudio.generator.formats.sg3_pickle.StyleGAN3Reader` for StyleGAN3.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

import numpy as np
import torch

from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.magic import LEGACY_TORCH_MAGIC
from facestudio.generator.formats.safe_pickle import (
    DICT_TYPES,
    PersistentRecord,
    describe,
    open_binary,
    source_name,
    unpickle_stream,
)
from facestudio.generator.formats.safe_pickle_tensors import one_line
from facestudio.generator.formats.sg2_pickle import GeneratorReader
from facestudio.generator.formats.sg3_pickle import StyleGAN3Reader, is_stylegan3_record
from facestudio.generator.networks.config import GeneratorConfig

PICKLE_FORMAT = "nvidia-pickle"


def is_nvidia_pickle(head: bytes) -> bool:
    """Whether a file's first bytes (16 are plenty) look like a network pickle.

    True for a pickle header of protocol 2-5 (``\\x80`` + protocol byte), excluding the
    legacy ``torch.save`` format, whose first pickle is torch's magic number; torch zip
    files start with ``PK`` and safetensors with a length, so both give False.
    """
    head = bytes(head[:16])
    if len(head) < 2 or head[0] != 0x80 or not 2 <= head[1] <= 5:
        return False
    return len(head) == 2 or not LEGACY_TORCH_MAGIC.startswith(head[:len(LEGACY_TORCH_MAGIC)])


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-like data (EasyDicts become dicts); ValueError if it is not plain."""
    if depth > 16:
        raise ValueError("too deep")
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if type(value) in (list, tuple):
        return [_plain(v, depth + 1) for v in value]
    if type(value) in DICT_TYPES and all(type(k) is str for k in value):
        return {k: _plain(v, depth + 1) for k, v in value.items()}
    raise ValueError(f"{type(value).__name__} is not plain data")


def _plain_or_none(value: Any) -> Any:
    try:
        return _plain(value)
    except ValueError:
        return None


def convert_nvidia_data(data: Any, name: str = "the model file",
                        ) -> tuple[GeneratorConfig, dict[str, torch.Tensor], dict]:
    """Like :func:`read_nvidia_pickle` for data already read by
    :func:`~facestudio.generator.formats.safe_pickle.unpickle_restricted`
    (a snapshot dict, or a bare generator :class:`PersistentRecord`)."""
    reader = GeneratorReader(name)
    key = None
    if isinstance(data, PersistentRecord):
        record = data
    elif isinstance(data, dict):
        key = next((k for k in ("G_ema", "G") if data.get(k) is not None), None)
        if key is None:
            raise reader.fail("it holds no generator (no G_ema or G entry)")
        record = data[key]
        if not isinstance(record, PersistentRecord):
            raise reader.fail(f"its {key} entry is {describe(record)}, not a network")
    else:
        raise reader.fail(f"it holds {describe(data)} instead of a dict of networks")
    if is_stylegan3_record(reader, record):
        reader = StyleGAN3Reader(name)
    try:
        config, facts = reader.config(record)
        state = reader.state_dict(record, "", {}, set())
        reader.verify(config, state)
    except ModelLoadError:
        raise
    except Exception as exc:  # odd values in a well-formed pickle: still one sentence
        raise reader.fail(f"its generator records are malformed ({one_line(exc)})") from None
    metadata: dict[str, Any] = {
        "format": PICKLE_FORMAT, "family": config.family, "source_key": key,
        "source_class": record.class_name, "persistence_version": record.version, **facts}
    if isinstance(data, dict):
        metadata["entries"] = sorted(str(k) for k in data)
        training_set_kwargs = _plain_or_none(data.get("training_set_kwargs"))
        if training_set_kwargs is not None:
            metadata["training_set_kwargs"] = training_set_kwargs
    init_kwargs = _plain_or_none(reader.kwargs(record))
    if init_kwargs:
        metadata["init_kwargs"] = init_kwargs
    return config, state, metadata


def read_nvidia_pickle(source: str | os.PathLike | BinaryIO,
                       ) -> tuple[GeneratorConfig, dict[str, torch.Tensor], dict]:
    """Read a stylegan2-ada-pytorch / stylegan3 network pickle without executing it.

    source: a path or a binary file object. Uses ``G_ema`` (else ``G``). Returns
    ``(config, state, metadata)``: ``state`` maps :class:`StyleGAN2Generator` parameter and
    buffer names to float32 CPU tensors (``load_state_dict(strict=True)`` works), and
    ``metadata`` holds ``format``, ``source_key``, ``source_class``, ``num_fp16_res`` and,
    when they are plain data, ``training_set_kwargs`` and the generator's ``init_kwargs``.
    Raises :class:`UnsafePickleError` for a pickle that asks for anything outside the
    allow-list and :class:`ModelLoadError` for anything unreadable, unsupported or
    inconsistent; each message is one sentence. StyleGAN3 generators are read by
    :mod:`~facestudio.generator.formats.sg3_pickle` into a ``StyleGAN3Config`` and state dict
    named like :class:`~facestudio.generator.networks.stylegan3.StyleGAN3Generator`.
    """
    name = source_name(source)
    with open_binary(source, name) as raw:
        head = raw.read(16) or b""
        if not head:
            raise ModelLoadError(f"cannot load {name}: the file is empty.")
        if not is_nvidia_pickle(head):
            raise ModelLoadError(f"cannot load {name}: it is not an NVIDIA StyleGAN network "
                                 "pickle (it does not start with a pickle header of protocol 2-5).")
        data = unpickle_stream(raw, name, prefix=head)
    return convert_nvidia_data(data, name)
