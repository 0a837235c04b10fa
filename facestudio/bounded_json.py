"""JSON that arrives in files and metadata a hostile user may have crafted, and JSON that
facestudio prints.

:func:`loads_bounded` parses it with a bound on nesting depth, so that a document nested
100,000 deep (which Python's parser or a later ``json.dumps`` would meet as a
RecursionError) is refused with one sentence. Sizes are bounded where the bytes are read.
:func:`dumps_strict` writes what the ``--json`` options print: strict JSON, in which an
infinite or NaN number (``Infinity`` is not JSON) is ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from facestudio.errors import FacestudioError

MAX_DEPTH = 32  # a session manifest, the deepest document facestudio writes, nests about 6 deep


class JsonError(FacestudioError, ValueError):
    """The text is not JSON, or is nested deeper than :data:`MAX_DEPTH`; one sentence."""


def loads_bounded(text: str | bytes, what: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, refusing a document nested deeper than ``max_depth``.

    ``what`` names the document in the message (e.g. "the recipe in the XMP packet");
    bytes are read as UTF-8.
    """
    try:
        doc = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    except RecursionError:
        doc = None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        raise JsonError(f"{what} is not valid JSON") from None
    else:
        if _within_depth(doc, max_depth):
            return doc
    raise JsonError(f"{what} is nested more than {max_depth} levels deep, which no facestudio file is")


def _within_depth(doc: Any, max_depth: int) -> bool:
    """Whether no list or object in ``doc`` lies more than ``max_depth`` containers deep
    (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > max_depth:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def finite_or_null(value: Any) -> Any:
    """``value`` with every infinite or NaN float (numpy's too) replaced by None, tuples made
    lists and numpy scalars made Python numbers, so that strict JSON can hold it."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "shape", None) == ():
        value = value.item()  # a numpy scalar
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    return value


def numpy_plain(value: Any) -> Any:
    """``json.dumps``'s ``default`` for the numpy scalars and small arrays that metadata holds
    (a direction's ``meta``, a session's UI state); TypeError for anything else."""
    import numpy as np
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps_strict(value: Any, **options) -> str:
    """``json.dumps(value, allow_nan=False, **options)`` of :func:`finite_or_null` (value)."""
    return json.dumps(finite_or_null(value), allow_nan=False, **options)


class HeaderError(FacestudioError, ValueError):
    """A document's ``format`` / ``version`` header is not one this facestudio reads; its
    text is a clause that follows the document's name ("b.npz" + " is not a …")."""


def document_version(doc: Any, fmt: str | None, newest: int, what: str, default: int | None = None) -> int:
    """The version of a facestudio JSON document ``doc`` (``{"format": fmt, "version": N, …}``):
    the one header check of sessions, direction bundles, generator configs and recipes.

    ``fmt`` None: the document has no format name (a recipe); ``default``: the version of a
    document that names none (None: the version is required). :class:`HeaderError` when
    ``doc`` is not an object of ``fmt``, its version is not a whole number from 1, or it
    is newer than ``newest``; ``what`` names the kind of document in the clause.
    """
    if not isinstance(doc, dict) or (fmt is not None and doc.get("format") != fmt):
        raise HeaderError(f"is not a facestudio {what}")
    version = doc.get("version", default)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise HeaderError(f"is not a readable {what}: its version must be a whole number from 1, got {repr(version)[:40]}")
    if version > newest:
        raise HeaderError(f"was written by a newer facestudio ({what} version {version}; "
                          f"this one reads up to {newest})")
    return version
