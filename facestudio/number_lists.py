"""The one grammar of number lists and ranges that every command and the studio read:
``7``, ``1,5,9``, ``0-63``, ``0-9,20-29`` (ranges inclusive; commas, semicolons or line
breaks between the parts) and, where a :class:`NumberGrammar` is ``open_ended``, ``8-``
(up to the highest) and ``-3`` (from the lowest).

Seeds (the CLI's ``--seeds`` and the Mix tab's rows and columns), layer lists and age
ranges are read by it, so the same text means the same numbers everywhere. A bad text is
refused with one sentence (:class:`NumberListError`), and every range is checked against
its bounds and the list's ``limit`` before a number of it is made, so ``0-99999999999999``
costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from facestudio.errors import FacestudioError


class NumberListError(FacestudioError, ValueError):
    """A number list or range that cannot be read or leaves its bounds; one sentence."""


@dataclass(frozen=True)
class NumberGrammar:
    """How one kind of number list is named and bounded.

    what: the list in a message ("seeds", "layers", "the age range"); unit: one number of
    it ("seed"); low/high: the numbers allowed (inclusive); bounds: them in words, after
    "are outside" ("the seeds, 0 to 4294967295"); forms: examples for an unreadable text;
    lower: which end is written first ("lower", "younger").
    """

    what: str
    unit: str
    low: int
    high: int
    bounds: str
    forms: str
    lower: str = "lower"
    open_ended: bool = False
    verb: str = "are"  # "is" for a list named in the singular ("the age range")
    counted: str = ""  # what the limit counts ("faces"; default: the unit, plural)

    def parse_range(self, part: str, whole: str | None = None) -> tuple[int, int]:
        """``"5"`` -> ``(5, 5)``, ``"5-7"`` -> ``(5, 7)`` (``"8-"`` / ``"-3"`` when open-ended),
        within ``low`` to ``high``; ``whole`` is the text the part came from, for messages."""
        a, dash, b = part.strip().partition("-")
        a, b = a.strip(), b.strip()
        try:
            if self.open_ended:
                lo = int(a) if a else self.low
                hi = (int(b) if b else self.high) if dash else lo
                if not (a or b):
                    raise ValueError
            else:
                lo, hi = int(a), int(b if dash else a)
        except ValueError:
            raise NumberListError(f"cannot read {self.what} {whole if whole is not None else part!r}: "
                                  f"{self.forms}") from None
        if lo > hi:
            raise NumberListError(f"{self.what} {part.strip()!r} {self.verb} reversed: write the {self.lower} {self.unit} "
                                  f"first, as in {hi}-{lo}")
        if lo < self.low or hi > self.high:
            raise NumberListError(f"{self.what} {part.strip()!r} {self.verb} outside {self.bounds}")
        return lo, hi

    def parse(self, text: str, limit: int, limit_note: str = "", allow_empty: bool = False) -> list[int]:
        """The numbers ``text`` lists, in its order (repeats kept), at most ``limit`` of them
        (``limit_note`` says why, after "more than N"); an empty list only with ``allow_empty``."""
        out: list[int] = []
        parts = [p.strip() for p in text.replace(";", ",").replace("\n", ",").split(",")]
        for part in filter(None, parts):
            lo, hi = self.parse_range(part, text if len(parts) > 1 else None)
            if len(out) + hi - lo + 1 > limit:
                raise NumberListError(f"the {self.what} {text.strip()!r} name more than {limit} "
                                      f"{self.counted or self.unit + 's'}{', ' + limit_note if limit_note else ''}")
            out.extend(range(lo, hi + 1))
        if not out and not allow_empty:
            raise NumberListError(f"{self.what} {text!r} name no {self.unit}: {self.forms}")
        return out


def layer_grammar(num_ws: int) -> NumberGrammar:
    """A model's ws rows (layers), 0 to ``num_ws - 1``; ``8-`` and ``-3`` allowed."""
    return NumberGrammar("layers", "layer", 0, num_ws - 1, f"this model's 0-{num_ws - 1}",
                         "use forms like 0-3, 4,5,6 or 8-", open_ended=True)
