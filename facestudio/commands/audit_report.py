"""The audit's report: bar plots of a set of faces beside the training data, drawn with
Pillow (matplotlib is not a dependency), and the same as an HTML page.

:func:`draw_report` takes the audit's JSON document (see :mod:`facestudio.commands.audit`)
and returns an RGB image: one panel per distribution (age bins, gender, skin tone, the
female share per age bin), each with the set's bars beside the training data's, the
classifier's held-out error printed under the groups it measures, and, when the audit
swept psi, how truncation narrows the spread.
"""

from __future__ import annotations

import base64
import html
import io
import math

from PIL import Image, ImageDraw

from facestudio.analysis.groups import AGE_BINS
from facestudio.analysis.skin_tone import TONE_CATEGORIES
from facestudio.provenance.caption import load_font

SET_COLOUR = (214, 96, 77)
TRAIN_COLOUR = (67, 147, 195)
PSI_COLOURS = ((150, 150, 150), (240, 170, 60), (214, 96, 77), (130, 80, 160))
INK, GRID, PAPER = (30, 30, 30), (225, 225, 225), (255, 255, 255)
PANEL_W, PANEL_H = 620, 360
WIDTH = 2 * PANEL_W + 60


def _bars(d: ImageDraw.ImageDraw, box: tuple[int, int, int, int], title: str, groups: list[str],
          series: list[tuple[str, list[float], tuple]], notes: list[str] | None = None,
          scale_max: float | None = None, percent: bool = True) -> None:
    """A grouped bar chart in ``box`` (x0, y0, x1, y1): one group per name in ``groups``, one
    bar per series (label, values, colour), values as shares (printed as %), a legend, and
    an optional small note under each group."""
    x0, y0, x1, y1 = box
    title_font, font, small = load_font(20), load_font(15), load_font(12)
    d.text((x0, y0), title, fill=INK, font=title_font)
    legend_x = x1
    for label, _, colour in reversed(series):
        w = d.textlength(label, font=font)
        legend_x -= w + 26
        d.rectangle((legend_x, y0 + 5, legend_x + 14, y0 + 19), fill=colour)
        d.text((legend_x + 18, y0 + 3), label, fill=INK, font=font)
    top, bottom, left = y0 + 44, y1 - (58 if notes else 36), x0 + 44
    step = _tick_step(scale_max or max([v for _, vals, _ in series for v in vals if v is not None] + [1e-9]) * 1.1)
    peak = scale_max or step * math.ceil(max([v for _, vals, _ in series for v in vals if v is not None] + [1e-9])
                                         * 1.1 / step)
    for i in range(int(round(peak / step)) + 1):
        y = bottom - (i * step / peak) * (bottom - top)
        d.line((left, y, x1, y), fill=GRID)
        d.text((x0, y - 8), f"{100 * i * step:.0f}%" if percent else f"{i * step:.0f}", fill=INK, font=small)
    slot = (x1 - left) / max(1, len(groups))
    bar_w = max(4.0, min(28.0, slot * 0.8 / max(1, len(series))))
    for gi, name in enumerate(groups):
        cx = left + slot * (gi + 0.5)
        start = cx - bar_w * len(series) / 2
        for si, (_, vals, colour) in enumerate(series):
            v = vals[gi]
            bx = start + si * bar_w
            if v is None:  # no face in the group: nothing to show a share of
                d.text((bx + bar_w / 2, bottom - 2), "none", fill=(110, 110, 110), font=small, anchor="mb")
                continue
            by = bottom - (v / peak) * (bottom - top)
            d.rectangle((bx + 1, by, bx + bar_w - 1, bottom), fill=colour)
            if len(series) <= 2 and slot > 60:
                text = f"{100 * v:.0f}" if percent else f"{v:.0f}"
                d.text((bx + bar_w / 2, by - 2), text, fill=INK, font=small, anchor="mb")
        d.text((cx, bottom + 6), name, fill=INK, font=font, anchor="mt")
        if notes and notes[gi]:
            d.text((cx, bottom + 26), notes[gi], fill=(110, 110, 110), font=small, anchor="mt")
    d.line((left, bottom, x1, bottom), fill=INK)


def _tick_step(peak: float) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving 3 to 6 grid lines up to ``peak``."""
    for power in range(-3, 7):
        for m in (1, 2, 2.5, 5):
            step = m * 10.0 ** power
            if peak / step <= 5:
                return step
    return peak


def _fmt(value, digits=1, unit="") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def draw_report(doc: dict) -> Image.Image:
    """The report image (RGB) of an audit document."""
    sweep = doc.get("psi_sweep") or []
    rows = 2 + (1 if sweep else 0)
    height = 120 + rows * (PANEL_H + 30) + 40
    image = Image.new("RGB", (WIDTH, height), PAPER)
    d = ImageDraw.Draw(image)
    train, err = doc["training"], doc.get("classifier_error") or {}
    d.text((30, 20), f"Audit of {doc['source']}: {doc['count']} faces against the training data "
                     f"({train['count']} UTKFace photos)", fill=INK, font=load_font(24))
    div, tdiv = doc["diversity"], train["diversity"]["normalised_joint_entropy"]
    d.text((30, 58), f"diversity (normalised entropy of the 84 age x gender x tone bins): "
                     f"{div['normalised_joint_entropy']:.3f} here, {tdiv:.3f} in the training data;  "
                     f"mean age {doc['age']['mean']:.1f} vs {train['age']['mean']:.1f} years;  "
                     f"female {100 * doc['female_share']:.0f}% vs {100 * train['female_share']:.0f}%",
           fill=INK, font=load_font(15))
    d.text((30, 82), "Age and gender are the classifier's estimates (its held-out error is under each bar group); "
                     "training bars use UTKFace's labels. Skin tone: ITA from CIELAB over cheeks and nose bridge.",
           fill=(90, 90, 90), font=load_font(13))
    two = [("this set", SET_COLOUR), ("training", TRAIN_COLOUR)]
    mae = err.get("age_mae_by_bin", {})
    panels = [
        ("Apparent age (share of faces per bin)", list(AGE_BINS), "age", [f"±{_fmt(mae.get(b), 0)} y" for b in AGE_BINS]),
        ("Gender (share)", ["female", "male"], "gender", [
            f"acc {_fmt(100 * v if v is not None else None, 0, '%')}"
            for v in (err.get("gender_accuracy_by_gender", {}).get(g) for g in ("female", "male"))]),
        ("Skin tone, ITA category (share)", list(TONE_CATEGORIES), "skin_tone", None),
        ("Female share per age bin", list(AGE_BINS), "female_by_age", [
            f"acc {_fmt(100 * v if v is not None else None, 0, '%')}"
            for v in (err.get("gender_accuracy_by_age_bin", {}).get(b) for b in AGE_BINS)]),
    ]
    for i, (title, groups, key, notes) in enumerate(panels):
        x, y = 30 + (i % 2) * (PANEL_W + 20), 120 + (i // 2) * (PANEL_H + 30)
        series = [(label, _values(src, key, groups), colour) for (label, colour), src in zip(two, (doc, train))]
        _bars(d, (x, y, x + PANEL_W, y + PANEL_H), title, groups, series, notes,
              scale_max=1.0 if key == "female_by_age" else None)
    if sweep:
        y = 120 + 2 * (PANEL_H + 30)
        series = [(f"psi {s['psi']}", _values(s, "age", list(AGE_BINS)), PSI_COLOURS[i % len(PSI_COLOURS)])
                  for i, s in enumerate(sweep)] + [("training", _values(train, "age", list(AGE_BINS)), TRAIN_COLOUR)]
        _bars(d, (30, y, 30 + PANEL_W, y + PANEL_H), "Truncation: age bins per psi", list(AGE_BINS), series)
        series = [(f"psi {s['psi']}", _values(s, "skin_tone", list(TONE_CATEGORIES)), PSI_COLOURS[i % len(PSI_COLOURS)])
                  for i, s in enumerate(sweep)] + [("training", _values(train, "skin_tone", list(TONE_CATEGORIES)),
                                                    TRAIN_COLOUR)]
        _bars(d, (50 + PANEL_W, y, 50 + 2 * PANEL_W, y + PANEL_H), "Truncation: skin tone per psi",
              list(TONE_CATEGORIES), series, notes=[""] * 6)
        lines = "   ".join(f"psi {s['psi']}: diversity {s['diversity']['normalised_joint_entropy']:.3f}, "
                           f"age sd {s['age']['std']:.1f} y, ITA sd {s['skin_tone']['ita_std']:.1f}°, "
                           f"female {100 * s['female_share']:.0f}%" for s in sweep)
        d.text((30, y + PANEL_H + 8), lines, fill=INK, font=load_font(13))
    return image


def _values(stats: dict, key: str, groups: list[str]) -> list[float]:
    """The shares a panel plots for one set."""
    if key == "gender":
        return [stats["female_share"], 1 - stats["female_share"]]
    if key == "female_by_age":
        table = stats["age_by_gender"]
        return [table[b]["female"] / (table[b]["female"] + table[b]["male"])
                if table[b]["female"] + table[b]["male"] else None for b in groups]
    return [stats[key]["bins"][g] for g in groups]


def report_html(doc: dict, png: bytes) -> str:
    """A self-contained HTML page: the report image and the tables behind it."""
    def table(title: str, groups: list[str], rows: list[tuple[str, list[str]]]) -> str:
        head = "".join(f"<th>{html.escape(g)}</th>" for g in groups)
        body = "".join(f"<tr><th>{html.escape(n)}</th>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                       + "</tr>" for n, cells in rows)
        return f"<h2>{html.escape(title)}</h2><table><tr><th></th>{head}</tr>{body}</table>"

    train, err = doc["training"], doc.get("classifier_error") or {}
    pct = lambda v: f"{100 * v:.1f}%"  # noqa: E731
    parts = [table("Age bins", list(AGE_BINS), [
        ("this set", [pct(doc["age"]["bins"][b]) for b in AGE_BINS]),
        ("training", [pct(train["age"]["bins"][b]) for b in AGE_BINS]),
        ("classifier age error (years)", [_fmt(err.get("age_mae_by_bin", {}).get(b)) for b in AGE_BINS])]),
        table("Skin tone (ITA)", list(TONE_CATEGORIES), [
            ("this set", [pct(doc["skin_tone"]["bins"][c]) for c in TONE_CATEGORIES]),
            ("training", [pct(train["skin_tone"]["bins"][c]) for c in TONE_CATEGORIES])]),
        table("Gender", ["female share", "diversity"], [
            ("this set", [pct(doc["female_share"]), f"{doc['diversity']['normalised_joint_entropy']:.3f}"]),
            ("training", [pct(train["female_share"]), f"{train['diversity']['normalised_joint_entropy']:.3f}"])])]
    picture = base64.b64encode(png).decode("ascii")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>facestudio audit</title><style>"
            "body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}"
            "table{border-collapse:collapse}tr:nth-child(even){background:#f2f2f2}</style></head><body>"
            f"<h1>Audit of {html.escape(str(doc['source']))}</h1>"
            f"<img alt='audit plots' src='data:image/png;base64,{picture}' style='max-width:100%'>"
            + "".join(parts) + "</body></html>\n")


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
