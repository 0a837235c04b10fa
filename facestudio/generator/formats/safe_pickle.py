"""Unpickle model files as plain data through an allow-list; nothing from the file is run.

NVIDIA's training code pickles its networks as ``torch_utils.persistence`` objects:
``_reconstruct_persistent_obj(meta)`` where ``meta`` holds the class name, the *source code*
of the module that defines it (which the reference ``exec``\\ s on load), and the instance
``__dict__`` (``_parameters`` / ``_buffers`` / ``_modules``, attributes, ``_init_args`` /
``_init_kwargs``). Tensors use torch's standard reductions: ``_rebuild_tensor_v2`` over a
storage from ``torch.storage._load_from_bytes(legacy torch.save bytes)``.

:class:`RestrictedUnpickler` rebuilds such a file as plain data. Every global the pickle
names is looked up in an allow-list of functions written here and in
:mod:`~facestudio.generator.formats.safe_pickle_tensors` (nothing is imported from the names in the
file); calling, ``NEWOBJ``, ``BUILD`` and container opcodes are checked too. Persistent
objects become :class:`PersistentRecord` (the embedded source stays an inert string),
standard ``torch.nn`` containers :class:`TorchModuleRecord`, and ``dnnlib.util.EasyDict`` an
:class:`EasyDictRecord`. Anything else raises :class:`UnsafePickleError` before it could
be used.

It is built on the pure-Python ``pickle._Unpickler`` (the implementation behind
``pickle.Unpickler`` when the C accelerator is absent): the C unpickler applies ``BUILD``
through each object's own ``__setstate__`` and offers no hook to vet it.
"""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, ClassVar, Iterator

import numpy as np

from facestudio.generator.errors import ModelLoadError, UnsafePickleError
from facestudio.generator.formats.safe_pickle_tensors import (
    TENSOR_CALLABLES,
    TENSOR_CONSTANTS,
    Corrupt,
    Marker,
    Refused,
    build_array,
    build_dtype,
    is_empty_mapping,
    one_line,
    require,
)

# ----------------------------------------------------------------------------------- records

@dataclass(frozen=True, eq=False)
class PersistentRecord:
    """A ``torch_utils.persistence`` object as data.

    class_name: the class in the embedded module (``Generator``, ``SynthesisBlock`` ...);
    module_src: that module's source code, an inert string that is never compiled or run;
    state: the instance ``__dict__`` (``_parameters``, ``_buffers``, ``_modules``, plain
    attributes, ``_init_args`` / ``_init_kwargs``); version: the persistence format version.
    """

    class_name: str
    module_src: str
    state: dict
    version: int


class TorchModuleRecord:
    """A standard ``torch.nn`` module (``ModuleList``, ``Sequential`` ...) as data.

    ``torch_class`` is the dotted class path the pickle named; ``state`` its ``__dict__``.
    """

    __slots__ = ("state",)
    torch_class: ClassVar[str] = ""

    @property
    def class_name(self) -> str:
        return self.torch_class.rsplit(".", 1)[-1]

    @classmethod
    def blank(cls) -> "TorchModuleRecord":
        record = object.__new__(cls)
        record.state = {}
        return record


class EasyDictRecord(dict):
    """``dnnlib.util.EasyDict`` read as a plain dict (no attribute access, no foreign code)."""


DICT_TYPES = (dict, OrderedDict, EasyDictRecord)
"""The types an unpickled mapping can have."""


# ----------------------------------------------------------- safe constructors: plain Python

def _container_maker(kind: type, accepted: tuple[type, ...], what: str,
                     not_what: str) -> Callable[..., Any]:
    """A stand-in for ``kind(items)`` that accepts only items of the ``accepted`` types."""
    def make(items=()):
        require(type(items) in accepted, f"the pickle builds {what} from something that is "
                f"not a {not_what}")
        return kind(items)
    return make


_SEQUENCES = (list, tuple, set, frozenset)
_MAPPING_SOURCES = (dict, list, tuple)
_make_set = _container_maker(set, _SEQUENCES, "a set", "sequence")
_make_frozenset = _container_maker(frozenset, _SEQUENCES, "a frozenset", "sequence")
_make_list = _container_maker(list, _SEQUENCES, "a list", "sequence")
_make_tuple = _container_maker(tuple, _SEQUENCES, "a tuple", "sequence")
_make_dict = _container_maker(dict, _MAPPING_SOURCES, "a dict", "mapping")
_make_ordered_dict = _container_maker(OrderedDict, _MAPPING_SOURCES, "an OrderedDict", "mapping")


def _make_bytes(*args) -> bytes:
    require(args == () or (len(args) == 1 and type(args[0]) is bytes),
            "the pickle builds bytes in an unusual way")
    return bytes(*args)


def _make_bytearray(data=b"") -> bytearray:
    require(type(data) is bytes, "the pickle builds a bytearray in an unusual way")
    return bytearray(data)


def _make_complex(real=0.0, imag=0.0) -> complex:
    require(type(real) in (int, float) and type(imag) in (int, float),
            "the pickle builds a complex number from something that is not a number")
    return complex(real, imag)


def _codecs_encode(text, encoding="utf-8") -> bytes:
    """``_codecs.encode``: how protocol 2 stores bytes (as latin-1 text)."""
    require(type(text) is str and encoding in ("latin1", "latin-1"),
            "the pickle calls _codecs.encode in an unusual way")
    return text.encode("latin1")


def _reconstruct_persistent_obj(meta) -> PersistentRecord:
    """``torch_utils.persistence._reconstruct_persistent_obj``, without the ``exec``."""
    require(isinstance(meta, dict), "the pickle builds a persistent object without a meta dict")
    class_name, module_src = meta.get("class_name"), meta.get("module_src")
    state = meta.get("state")
    require(meta.get("type") == "class" and type(class_name) is str
            and class_name.isidentifier() and type(module_src) is str
            and type(meta.get("version")) is int and isinstance(state, dict),
            "the pickle builds a persistent object from an unusual meta dict")
    return PersistentRecord(class_name, module_src, dict(state), meta["version"])


_OBJECT = Marker("builtins.object")
_TORCH_MODULE_RECORDS = {
    path: type(path.rsplit(".", 1)[-1] + "Record", (TorchModuleRecord,),
               {"__slots__": (), "torch_class": path})
    for path in ("torch.nn.modules.container.ModuleList", "torch.nn.modules.container.ModuleDict",
                 "torch.nn.modules.container.Sequential",
                 "torch.nn.modules.container.ParameterList",
                 "torch.nn.modules.container.ParameterDict", "torch.nn.modules.linear.Identity")}
_NEW_OBJECT_TYPES: dict[type, Any] = {EasyDictRecord: EasyDictRecord}
_NEW_OBJECT_TYPES.update({cls: cls.blank for cls in _TORCH_MODULE_RECORDS.values()})


def _copyreg_newobj(cls, *args) -> Any:
    """``copyreg.__newobj__`` (protocols 0-1 spell NEWOBJ this way)."""
    require(cls in _NEW_OBJECT_TYPES and args == (), "the pickle creates an object of a type "
            "that is not allowed")
    return _NEW_OBJECT_TYPES[cls]()


def _copyreg_reconstructor(cls, base, state) -> Any:
    """``copyreg._reconstructor`` (protocols 0-1): a record or EasyDict, nothing else."""
    if cls is EasyDictRecord and base is _make_dict:
        require(state is None or type(state) is dict, "the pickle builds an EasyDict from "
                "something that is not a dict")
        return EasyDictRecord(state or {})
    require(cls in _NEW_OBJECT_TYPES and base is _OBJECT and state is None,
            "the pickle calls copyreg._reconstructor with a type that is not allowed")
    return _NEW_OBJECT_TYPES[cls]()


# ------------------------------------------------------------------------------ allow-list

_CALLABLES: dict[tuple[str, str], Any] = {
    **TENSOR_CALLABLES,
    ("collections", "OrderedDict"): _make_ordered_dict,
    ("builtins", "set"): _make_set,
    ("builtins", "frozenset"): _make_frozenset,
    ("builtins", "list"): _make_list,
    ("builtins", "tuple"): _make_tuple,
    ("builtins", "dict"): _make_dict,
    ("builtins", "bytes"): _make_bytes,
    ("builtins", "bytearray"): _make_bytearray,
    ("builtins", "complex"): _make_complex,
    ("_codecs", "encode"): _codecs_encode,
    ("copyreg", "__newobj__"): _copyreg_newobj,
    ("copyreg", "_reconstructor"): _copyreg_reconstructor,
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
}
_ALLOWED: dict[tuple[str, str], Any] = {
    **_CALLABLES, **TENSOR_CONSTANTS, ("builtins", "object"): _OBJECT,
    ("dnnlib.util", "EasyDict"): EasyDictRecord, ("dnnlib", "EasyDict"): EasyDictRecord,
    **{tuple(path.rsplit(".", 1)): cls for path, cls in _TORCH_MODULE_RECORDS.items()}}

_CALLABLE_IDS = frozenset(id(fn) for fn in _CALLABLES.values())
_ALLOWED_NAMES: dict[int, str] = {}
for (_module, _name), _obj in _ALLOWED.items():
    _ALLOWED_NAMES.setdefault(id(_obj), f"{_module}.{_name}")
_MODULE_ALIASES = {"__builtin__": "builtins", "copy_reg": "copyreg"}  # protocol 0-2 spellings


def describe(obj: Any) -> str:
    """How an error message names ``obj``: the pickle's own name for allow-listed objects."""
    if id(obj) in _ALLOWED_NAMES:
        return _ALLOWED_NAMES[id(obj)]
    return f"an object of type {type(obj).__name__}"


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickles only tensors, numpy numbers and arrays, plain containers and records.

    ``source_name`` names the file in error messages. Every global goes through
    :meth:`find_class` and the allow-list; REDUCE may call only the allow-listed functions,
    NEWOBJ may create only records, BUILD may fill only numpy arrays / dtypes and torch
    module records, and container opcodes apply only to real dicts, lists and sets.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: Any, source_name: str):
        super().__init__(file)
        self.source_name = source_name

    def refuse(self, reason: str) -> UnsafePickleError:
        return UnsafePickleError(f"refusing to load {self.source_name}: {reason}; "
                                 "nothing from the file was run.")

    def find_class(self, module: str, name: str) -> Any:
        module = _MODULE_ALIASES.get(module, module)
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            raise self.refuse(f"the pickle asks for {module}.{name}, which is not an "
                              "allowed type") from None

    def persistent_load(self, pid: Any) -> Any:
        raise self.refuse("the pickle uses a persistent id, which network pickles never contain")

    def _load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if id(func) not in _CALLABLE_IDS or type(args) is not tuple:
            raise self.refuse(f"the pickle asks to call {describe(func)}, which is not allowed")
        try:
            self.stack[-1] = func(*args)
        except Refused as exc:
            raise self.refuse(f"{exc} (through {describe(func)})") from None
        except (TypeError, ValueError, OverflowError):
            raise self.refuse(f"the pickle calls {describe(func)} with unexpected "
                              "arguments") from None
    dispatch[pickle.REDUCE[0]] = _load_reduce

    def _new_object(self, cls: Any, args: Any, kwargs: Any = None) -> None:
        args = args if type(args) is tuple else (None,)  # anything but a tuple is refused
        if not isinstance(cls, type) or cls not in _NEW_OBJECT_TYPES or args != () or kwargs:
            raise self.refuse(f"the pickle asks to create {describe(cls)}, which is not allowed")
        self.append(_NEW_OBJECT_TYPES[cls]())

    def _load_newobj(self) -> None:
        args = self.stack.pop()
        self._new_object(self.stack.pop(), args)
    dispatch[pickle.NEWOBJ[0]] = _load_newobj

    def _load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        self._new_object(self.stack.pop(), args, kwargs)
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        try:
            if type(inst) is np.ndarray:
                build_array(inst, state)
            elif isinstance(inst, np.dtype):
                build_dtype(inst, state)
            elif isinstance(inst, TorchModuleRecord) and type(state) is dict:
                inst.state = state
            elif type(inst) in DICT_TYPES and is_empty_mapping(state):
                pass  # an empty instance __dict__, as some Python versions write
            else:
                raise Refused(f"the pickle asks to set the state of {describe(inst)}, "
                              "which is not allowed")
        except Refused as exc:
            raise self.refuse(str(exc)) from None
    dispatch[pickle.BUILD[0]] = _load_build

    def _load_instantiate(self) -> None:
        raise self.refuse("the pickle uses the INST/OBJ opcodes, which network pickles never "
                          "contain")
    dispatch[pickle.INST[0]] = _load_instantiate
    dispatch[pickle.OBJ[0]] = _load_instantiate

    def _target(self, index: int, kinds: tuple[type, ...], what: str) -> Any:
        target = self.stack[index]
        if type(target) not in kinds:
            raise self.refuse(f"the pickle asks to {what} {describe(target)}, which is not "
                              "allowed")
        return target

    def _load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._target(-1, DICT_TYPES, "add items to")[key] = value
    dispatch[pickle.SETITEM[0]] = _load_setitem

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        target = self._target(-1, DICT_TYPES, "add items to")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]
    dispatch[pickle.SETITEMS[0]] = _load_setitems

    def _load_append(self) -> None:
        value = self.stack.pop()
        self._target(-1, (list,), "append to").append(value)
    dispatch[pickle.APPEND[0]] = _load_append

    def _load_appends(self) -> None:
        items = self.pop_mark()
        self._target(-1, (list,), "append to").extend(items)
    dispatch[pickle.APPENDS[0]] = _load_appends

    def _load_additems(self) -> None:
        items = self.pop_mark()
        self._target(-1, (set,), "add items to").update(items)
    dispatch[pickle.ADDITEMS[0]] = _load_additems


# --------------------------------------------------------------------------- file access

class _Truncated(Exception):
    """The file ends before the pickle does."""


class _StrictReader:
    """A binary reader that raises :class:`_Truncated` instead of returning short reads.

    Long reads go in chunks, so a length field that lies costs no more memory than the
    file really holds.
    """

    CHUNK = 64 << 20

    def __init__(self, raw: BinaryIO, prefix: bytes = b""):
        self._raw = raw
        self._prefix = prefix

    def _take_prefix(self, n: int) -> bytes:
        head, self._prefix = self._prefix[:n], self._prefix[n:]
        return head

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            return self._take_prefix(len(self._prefix)) + self._raw.read()
        parts = [self._take_prefix(n)]
        missing = n - len(parts[0])
        while missing > 0:
            chunk = self._raw.read(min(missing, self.CHUNK))
            if not chunk:
                raise _Truncated()
            parts.append(chunk)
            missing -= len(chunk)
        return b"".join(parts)

    def readline(self) -> bytes:
        if b"\n" in self._prefix:
            return self._take_prefix(self._prefix.index(b"\n") + 1)
        line = self._take_prefix(len(self._prefix)) + self._raw.readline()
        if not line.endswith(b"\n"):
            raise _Truncated()
        return line

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:] = data
        return len(data)


def source_name(source: Any) -> str:
    """How error messages name a path or file object: its file name, else "the model file"."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name or str(source)
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "the model file"


@contextmanager
def open_binary(source: Any, name: str) -> Iterator[BinaryIO]:
    """A path opened for reading (closed afterwards), or a binary file object as it is."""
    if isinstance(source, (str, os.PathLike)):
        try:
            f = open(source, "rb")
        except OSError as exc:
            raise ModelLoadError(f"cannot open {name}: {exc.strerror or one_line(exc)}.") from None
        with f:
            yield f
    elif hasattr(source, "read"):
        yield source
    else:
        raise ModelLoadError(f"cannot read {name}: expected a path or a binary file object.")


def unpickle_stream(raw: BinaryIO, name: str, prefix: bytes = b"") -> Any:
    """Unpickle ``prefix`` (bytes already read from ``raw``) and the rest of ``raw``."""
    unpickler = RestrictedUnpickler(_StrictReader(raw, prefix), name)
    try:
        return unpickler.load()
    except ModelLoadError:
        raise
    except (_Truncated, EOFError):
        raise ModelLoadError(f"cannot load {name}: the file is truncated (the pickle ends "
                             "before its last instruction).") from None
    except Corrupt as exc:
        raise ModelLoadError(f"cannot load {name}: {exc}.") from None
    except MemoryError:
        raise ModelLoadError(f"cannot load {name}: it needs more memory than is free.") from None
    except Exception as exc:
        raise ModelLoadError(f"cannot load {name}: it is not a readable pickle "
                             f"({one_line(exc)}).") from None


def unpickle_restricted(source: str | os.PathLike | BinaryIO) -> Any:
    """Unpickle a file or binary stream through :class:`RestrictedUnpickler`.

    Returns plain data: dicts, lists, numbers, strings, CPU tensors, numpy values and the
    record types of this module. Raises :class:`UnsafePickleError` for anything outside the
    allow-list and :class:`ModelLoadError` for unreadable data (one sentence each).
    """
    name = source_name(source)
    with open_binary(source, name) as raw:
        return unpickle_stream(raw, name)
