"""JSON that arrives in files and metadata a hostile user may have crafted.

:func:`loads_bounded` parses it with a bound on nesting depth, so that a document nested
100,000 deep (which Python's parser or a later ``json.dumps`` would meet as a
RecursionError) is refused with one sentence. Sizes are bounded where the bytes are read.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # a session manifest, the deepest document facestudio writes, nests about 6 deep


class JsonError(ValueError):
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
