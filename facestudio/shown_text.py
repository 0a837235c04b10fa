"""Names that come from files (a photo's name in an index, a catalogue row's file, a name in a
folder of photos), made safe to show in a terminal or a window.

Such a name may hold terminal escape sequences (clear the screen, set the window title), new
lines (forge a line of the report) or bidirectional overrides (show a name backwards).
:func:`shown` makes every such character visible as an escape (``\\x1b``, ``\\n``,
``\\u202e``); :func:`json_safe` does the same inside a JSON document, where the escapes keep
the value the same string. Standard library only, so every package may use it.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls, DEL, the line and paragraph separators and the format characters
# (bidirectional overrides and isolates, zero-width characters)
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_UNSAFE = re.compile("[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(text: object) -> str:
    """``text`` with every control, format or unassigned character written as an escape."""
    text = str(text)
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _HIDDEN_CATEGORIES else ch for ch in text)


def json_safe(document: str) -> str:
    """A JSON text (made with ``ensure_ascii=False``) whose strings hold no character a
    terminal acts on: JSON already escapes C0 controls; DEL, the C1 controls and the
    invisible format characters are written as ``\\uXXXX`` escapes (the same strings)."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
