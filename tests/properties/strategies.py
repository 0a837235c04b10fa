"""Hypothesis strategies for the reader property tests: hostile JSON values, structured
mutations of a valid document, and byte-level mutations of a valid file.

The property every reader must have, "a valid object or one sentence, nothing else", is
:func:`assert_one_sentence`: the exception is one of the reader's own error types and its
message is one non-empty line.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import strategies as st

from facestudio.latent.recipe import MAX_AMOUNT, MAX_PSI, Recipe

HUGE_INTS = st.sampled_from([10 ** 400, -(10 ** 400), 2 ** 63, 2 ** 64 + 1, -(2 ** 31) - 1, 4294967296])
ODD_FLOATS = st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324, -0.0, 1e30])
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(-10, 10), st.integers(), HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True), ODD_FLOATS,
    st.text(max_size=12), st.sampled_from(["", "pca0", "\n", "0-5", "nan", "1e999", "const", "stylegan3"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (a tuple of keys and indices) to a value inside ``doc``, the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, prefix + (i,))
    return out


def _set(doc: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@st.composite
def mutated(draw, doc: Any, max_changes: int = 3) -> Any:
    """``doc`` (JSON) with one to ``max_changes`` values replaced by hostile ones, or deleted."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, max_changes))):
        path = draw(st.sampled_from(paths(doc)))
        if path and draw(st.integers(0, 5)) == 0:
            doc = _set(doc, path, None, delete=True)
        else:
            doc = _set(doc, path, draw(JSON))
    return doc


@st.composite
def mutated_bytes(draw, data: bytes) -> bytes:
    """``data`` with a few bytes flipped or overwritten, or truncated, or a slice repeated."""
    buf = bytearray(data)
    kind = draw(st.sampled_from(["flip", "overwrite", "truncate", "repeat"]))
    if kind == "truncate":
        return bytes(buf[:draw(st.integers(0, max(0, len(buf) - 1)))])
    if kind == "repeat":
        start = draw(st.integers(0, len(buf) - 1))
        stop = draw(st.integers(start, min(len(buf), start + 64)))
        return bytes(buf[:stop] + buf[start:stop] * draw(st.integers(1, 8)) + buf[stop:])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        else:
            buf[at] = draw(st.integers(0, 255))
    return bytes(buf)


def check_valid(recipe: Recipe) -> None:
    """What a Recipe promises the renderer and the undo stack, whatever it was read from."""
    assert isinstance(recipe.seed, int) and 0 <= recipe.seed <= 2 ** 32 - 1
    assert math.isfinite(recipe.psi) and abs(recipe.psi) <= MAX_PSI
    for edit in recipe.edits + (recipe.mix.edits if recipe.mix else ()):
        assert math.isfinite(edit.amount) and abs(edit.amount) <= MAX_AMOUNT
        assert all(isinstance(i, int) and i >= 0 for i in edit.layers)
    if recipe.transform is not None:
        assert all(math.isfinite(v) for v in recipe.transform)
    assert Recipe.from_dict(recipe.to_dict()) == recipe  # what was read writes back the same
