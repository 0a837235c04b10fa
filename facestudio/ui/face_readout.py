"""The read-out of the face on the canvas: its measured expression, head pose, hair, which side
the light falls from, how much it reads as wearing glasses, age and gender, and how each moved
since the face measured before it, so that a user sees what a slider did and what else moved
with it.

The numbers come from the measuring thread (:class:`~facestudio.analysis.checker.AttributeMeter`
with dlib's measures, at the render's full size); this module only turns one measured face into
table rows. Each geometric measure is also put in real-photo spreads (the real photos' median
is 0; ``weights/measures.json``) and named by the side the filters would put it on
(:func:`~facestudio.analysis.filters.side_of`), e.g. "smiling" or "in between".
"""

from __future__ import annotations

import math

from facestudio.analysis.filters import BY_KEY, side_of

SHOWN = (("smile", "Smile"), ("mouth_open", "Mouth open"), ("eyes_open", "Eyes open"), ("yaw", "Head turn"),
         ("pitch", "Head nod"), ("hair", "Hair (L*)"), ("side_light", "Side light"), ("glasses", "Glasses"),
         ("age", "Age"), ("p_female", "P(female)"))


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def readout_rows(face: dict, reference: dict | None, before: dict | None = None) -> list[tuple[str, str, str, str]]:
    """``(label, reading, value, change since before)`` for each measure shown; ``face`` and
    ``before`` are :meth:`~facestudio.analysis.audit.Measurements.face` rows. The geometric
    and lightness measures are given in real-photo spreads ("sd") from the real photos'
    median when the reference is there, else as raw values."""
    rows = []
    for key, label in SHOWN:
        value = face.get(key)
        old = (before or {}).get(key)
        if not _finite(value):
            rows.append((label, "no face found" if key in BY_KEY else "", "—", ""))
            continue
        if key == "age":
            rows.append((label, face.get("age_bin", ""), f"{value:.0f} y", f"{value - old:+.0f} y" if _finite(old) else ""))
            continue
        if key == "p_female":
            reading = "female" if value >= 0.9 else "male" if value <= 0.1 else "unsure"
            rows.append((label, reading, f"{value:.2f}", f"{value - old:+.2f}" if _finite(old) else ""))
            continue
        real = (reference or {}).get(key)
        if real:
            spread = float(real["spread"])
            shown = f"{(value - float(real['p50'])) / spread:+.1f} sd"
            change = f"{(value - old) / spread:+.1f} sd" if _finite(old) else ""
            f = BY_KEY.get(key)
            side = side_of(key, value, reference) if f else None
            reading = (f.words[f.sides.index(side)] if side else "in between") if f else ""
        else:
            shown, change, reading = f"{value:.3g}", f"{value - old:+.3g}" if _finite(old) else "", ""
        rows.append((label, reading, shown, change))
    return rows


def readout_html(rows: list[tuple[str, str, str, str]], moved_threshold: float = 0.5) -> str:
    """The rows as a small HTML table; a change of at least ``moved_threshold`` spreads is bold."""
    def cell(text: str) -> str:
        try:
            strong = text.endswith("sd") and abs(float(text.split()[0])) >= moved_threshold
        except (ValueError, IndexError):
            strong = False
        return f"<b>{text}</b>" if strong else text

    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td align='right'>&nbsp;{c}</td><td align='right'>&nbsp;{cell(d)}</td></tr>"
                   for a, b, c, d in rows)
    return ("<table cellspacing='0' cellpadding='1'><tr><th align='left'>measured</th><th></th>"
            f"<th align='right'>vs real</th><th align='right'>&nbsp;moved</th></tr>{body}</table>")
