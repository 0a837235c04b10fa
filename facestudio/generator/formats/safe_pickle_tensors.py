"""The allow-listed stand-ins for torch and numpy reconstructors in a pickle.

A pickle rebuilds a tensor by naming ``torch._utils._rebuild_tensor_v2`` over a storage
from ``torch.storage._load_from_bytes`` (legacy ``torch.save`` bytes), and numpy values by
naming ``numpy.core.multiarray._reconstruct`` / ``scalar`` / ``numpy.dtype``.
:data:`TENSOR_CALLABLES` maps each such ``(module, name)`` to a function written here that
checks its arguments before building anything, and :data:`TENSOR_CONSTANTS` the names a
pickle may only mention (torch dtypes, ``numpy.ndarray``). :func:`build_array` and
:func:`build_dtype` vet the ``BUILD`` state of numpy values.

A failed check raises :class:`Refused` with a fragment of the sentence that
:class:`~facestudio.generator.formats.safe_pickle.RestrictedUnpickler` reports; damaged data raises
:class:`Corrupt`. Storage bytes are vetted opcode by opcode and then read by torch's
weights-only loader.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


class Refused(Exception):
    """The pickle asked for something outside the allow-list (a reason fragment)."""


class Corrupt(Exception):
    """The pickle is damaged (a reason fragment)."""


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise Refused(reason)


def one_line(exc: BaseException) -> str:
    """An exception's message as one short line without a final full stop."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200].rstrip(".")


def is_int(value: Any) -> bool:
    return type(value) is int


def is_int_tuple(value: Any) -> bool:
    return isinstance(value, tuple) and all(is_int(v) and 0 <= v < 2 ** 62 for v in value)


def is_empty_mapping(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and not value)


# ----------------------------------------------------------------------------- storages

@dataclass(frozen=True, eq=False)
class LoadedStorage:
    """A tensor storage read from ``_load_from_bytes``: raw bytes and element type."""

    untyped: torch.UntypedStorage
    dtype: torch.dtype
    numel: int


_LEGACY_STORAGE_CLASSES = frozenset(
    f"{kind}Storage" for kind in ("Float", "Half", "BFloat16", "Double", "Long", "Int",
                                  "Short", "Char", "Byte", "Bool", "Untyped"))
_CALLING_OPCODES = frozenset({"REDUCE", "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1",
                              "EXT2", "EXT4", "PERSID", "STACK_GLOBAL", "NEXT_BUFFER",
                              "READONLY_BUFFER"})


def _damaged_storage(exc: BaseException) -> Corrupt:
    return Corrupt(f"a tensor storage in the pickle is damaged ({one_line(exc)})")


def _check_storage_stream(data: bytes) -> None:
    """Vet a legacy ``torch.save`` stream of one storage before torch reads it.

    The stream is five pickles (magic number, protocol, system info, the storage as a
    persistent id, the storage keys) and raw bytes. They may name only ``torch.*Storage``
    classes and call nothing; torch's weights-only loader then checks them a second time.
    """
    stream = io.BytesIO(data)
    try:
        for _ in range(5):
            for opcode, arg, _pos in pickletools.genops(stream):
                if opcode.name == "GLOBAL":
                    module, _, name = str(arg).partition(" ")
                    require(module == "torch" and name in _LEGACY_STORAGE_CLASSES,
                            f"a tensor storage in the pickle asks for {module}.{name}, "
                            "which is not an allowed type")
                elif opcode.name in _CALLING_OPCODES:
                    raise Refused(f"a tensor storage in the pickle uses the {opcode.name} "
                                  "opcode, which a storage never needs")
    except Refused:
        raise
    except Exception as exc:
        raise _damaged_storage(exc) from None


def _load_from_bytes(data: Any) -> LoadedStorage:
    """``torch.storage._load_from_bytes``: read the storage with ``weights_only=True``."""
    require(type(data) in (bytes, bytearray), "the pickle passes a tensor storage that is "
            "not bytes")
    _check_storage_stream(bytes(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TypedStorage deprecation notices
            storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True,
                                 mmap=False)
            if isinstance(storage, torch.storage.TypedStorage):
                untyped, dtype = storage.untyped(), storage.dtype
            elif isinstance(storage, torch.UntypedStorage):
                untyped, dtype = storage, torch.uint8
            else:
                raise Refused(f"a tensor storage in the pickle holds a {type(storage).__name__} "
                              "instead of a storage")
    except pickle.UnpicklingError:
        raise Refused("a tensor storage in the pickle asks for something torch's "
                      "weights-only loader does not allow") from None
    except (Refused, Corrupt):
        raise
    except Exception as exc:
        raise _damaged_storage(exc) from None
    itemsize = torch.empty((), dtype=dtype).element_size()
    return LoadedStorage(untyped, dtype, untyped.nbytes() // itemsize)


# ------------------------------------------------------------------------------ tensors

def _tensor_view(storage: Any, offset: Any, size: Any, stride: Any) -> torch.Tensor:
    require(isinstance(storage, LoadedStorage), "the pickle builds a tensor on something "
            "that is not a storage")
    require(is_int(offset) and offset >= 0 and is_int_tuple(size) and is_int_tuple(stride)
            and len(size) == len(stride), "the pickle builds a tensor with an invalid layout")
    if math.prod(size) > 0:
        end = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
        require(end <= storage.numel, "the pickle builds a tensor that reaches past its storage")
        # Only overlapping views (stride 0 ...) hold more elements than their storage; torch
        # never pickles parameters like that, and they would multiply memory on conversion.
        require(math.prod(size) <= storage.numel, "the pickle builds a tensor with more "
                "elements than its storage")
    tensor = torch.empty(0, dtype=storage.dtype)
    return tensor.set_(storage.untyped, offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride) -> torch.Tensor:
    """``torch._utils._rebuild_tensor``: a view ``[*size]`` into a storage."""
    return _tensor_view(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None) -> torch.Tensor:
    """``torch._utils._rebuild_tensor_v2``; hooks and metadata must be empty."""
    require(type(requires_grad) is bool and is_empty_mapping(backward_hooks)
            and is_empty_mapping(metadata), "the pickle builds a tensor with hooks or metadata")
    return _tensor_view(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, backward_hooks) -> torch.Tensor:
    """``torch._utils._rebuild_parameter``: the parameter's data as a plain tensor."""
    require(isinstance(data, torch.Tensor) and type(requires_grad) is bool
            and is_empty_mapping(backward_hooks), "the pickle builds an invalid parameter")
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state) -> torch.Tensor:
    """Like :func:`_rebuild_parameter`; the extra Python attributes in ``state`` are dropped."""
    require(state is None or isinstance(state, (dict, tuple)), "the pickle builds an invalid "
            "parameter")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _torch_size(dims=()) -> torch.Size:
    require(is_int_tuple(tuple(dims)) if isinstance(dims, (list, tuple)) else False,
            "the pickle builds an invalid torch.Size")
    return torch.Size(dims)


def _torch_device(kind, index=None) -> torch.device:
    require(type(kind) is str and kind.split(":")[0] in ("cpu", "cuda", "mps", "meta")
            and (index is None or is_int(index)), "the pickle names an invalid device")
    return torch.device(kind) if index is None else torch.device(kind, index)


_TORCH_DTYPES = {name: getattr(torch, name) for name in (
    "float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
    "bool", "complex64", "complex128")}


# -------------------------------------------------------------------------------- numpy

class Marker:
    """A named placeholder for a class the pickle may only *mention* (e.g. ``numpy.ndarray``
    as the first argument of ``_reconstruct``); it cannot be called or built."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NDARRAY = Marker("numpy.ndarray")
_DTYPE_NAME = re.compile(r"[biufc]\d{1,2}")


def _plain_dtype(dtype: Any) -> bool:
    return (isinstance(dtype, np.dtype) and dtype.kind in "biufc" and not dtype.hasobject
            and dtype.fields is None and dtype.subdtype is None)


def _np_dtype(name, align=False, copy=True) -> np.dtype:
    """``numpy.dtype(name, align, copy)`` for plain numeric types only; always a fresh copy
    so that a following BUILD cannot touch numpy's shared dtype objects."""
    reason = f"the pickle asks for the numpy dtype {name!r}, which is not a plain number type"
    require(type(name) is str and _DTYPE_NAME.fullmatch(name) is not None
            and type(align) is bool and type(copy) is bool, reason)
    dtype = np.dtype(name, False, True)
    require(_plain_dtype(dtype), reason)
    return dtype


def _np_reconstruct(subtype, shape, typecode) -> np.ndarray:
    """``numpy.core.multiarray._reconstruct``: the empty array a BUILD then fills."""
    require(subtype is _NDARRAY and shape == (0,) and typecode in (b"b", "b"),
            "the pickle builds a numpy array in a way numpy never does")
    return np.empty((0,), dtype=np.int8)


def _holds_exactly(raw: Any, shape: Any, dtype: Any) -> bool:
    """Whether ``raw`` is the bytes of a plain-number array of ``shape`` and ``dtype``."""
    return (type(raw) in (bytes, bytearray) and _plain_dtype(dtype) and is_int_tuple(shape)
            and len(raw) == math.prod(shape) * dtype.itemsize)


def _np_frombuffer(buffer, dtype, shape, order) -> np.ndarray:
    """``numpy.core.numeric._frombuffer`` (pickle protocol 5): a copy of the bytes."""
    require(_holds_exactly(buffer, shape, dtype) and order in ("C", "F"),
            "the pickle builds an invalid numpy array")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy(order="K")


def _np_scalar(dtype, data) -> np.generic:
    """``numpy.core.multiarray.scalar``: one number from its dtype and raw bytes."""
    require(_plain_dtype(dtype) and type(data) is bytes and len(data) == dtype.itemsize,
            "the pickle builds an invalid numpy scalar")
    return np.frombuffer(data, dtype=dtype)[0]


def build_dtype(dtype: np.dtype, state: Any) -> None:
    """``BUILD`` on a numpy dtype: only the plain byte-order state numpy writes."""
    require(type(state) is tuple and len(state) == 8 and state[0] == 3
            and state[1] in ("<", ">", "|", "=") and state[2:] == (None, None, None, -1, -1, 0),
            "the pickle sets an unusual state on a numpy dtype")
    dtype.__setstate__(state)


def build_array(array: np.ndarray, state: Any) -> None:
    """``BUILD`` on the empty array of :func:`_np_reconstruct`: its shape, dtype and bytes."""
    require(type(state) is tuple and len(state) == 5, "the pickle sets an invalid numpy array "
            "state")
    version, shape, dtype, fortran, raw = state
    require(version == 1 and type(fortran) is bool and _holds_exactly(raw, shape, dtype),
            "the pickle sets an invalid numpy array state")
    array.__setstate__(state)


# --------------------------------------------------------------------- allow-list entries

TENSOR_CALLABLES: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch", "Size"): _torch_size,
    ("torch", "device"): _torch_device,
    ("numpy", "dtype"): _np_dtype,
}
for _core in ("numpy.core", "numpy._core"):  # numpy 1.x and 2.x spell the module differently
    TENSOR_CALLABLES[(f"{_core}.multiarray", "_reconstruct")] = _np_reconstruct
    TENSOR_CALLABLES[(f"{_core}.multiarray", "scalar")] = _np_scalar
    TENSOR_CALLABLES[(f"{_core}.numeric", "_frombuffer")] = _np_frombuffer
"""``(module, name)`` -> the checked function that stands in for it."""

TENSOR_CONSTANTS: dict[tuple[str, str], Any] = {("numpy", "ndarray"): _NDARRAY}
TENSOR_CONSTANTS.update({("torch", name): dtype for name, dtype in _TORCH_DTYPES.items()})
"""``(module, name)`` -> a value the pickle may name but not call: markers and dtypes."""
