"""The one formatter of ``facestudio bench``: every line of its text report.

:mod:`facestudio.bench.measure` hands each line to ``emit`` as the figure is measured, and
:func:`format_report` writes the whole report from its dict with the same functions, in the
order the figures are measured, so the two never disagree.
"""

from __future__ import annotations

PARTIAL_LABEL = "re-render"


def figure_line(label: str, p: dict, ratio: float | None = None) -> str:
    """A timing: its p50 / p95 in ms and, when given, its ratio to the exact full render."""
    text = f"  {label:<30} p50 {p['p50']:8.1f} ms   p95 {p['p95']:8.1f} ms"
    return text + (f"   {ratio:5.2f} x full" if ratio is not None else "")


def header_line(r: dict) -> str:
    return (f"{r['model']}: {r['resolution']} px, {r['architecture']}, num_ws {r['num_ws']}; "
            f"previews {r['preview_precision']}, exact layout {r['exact_layout']}, batch size {r['batch_size']}")


def bf16_error_line(errors: dict) -> str:
    return "  bf16 vs fp32 (uint8 levels)    " + "  ".join(
        f"{name}: max {d['max']} mean {d['mean']:.2f}" for name, d in errors.items())


def fine_half_line(h: dict) -> str:
    bf16 = f"bf16 {h['bf16_ratio']:.2f} x full, " if h["bf16_ratio"] is not None else ""
    return (f"  fine half (rows {h['row']}+)             exact {h['exact_ratio']:.2f} x full, {bf16}"
            f"preview (level {h['preview_level']}) {h['preview_ms']['p50']:.1f} ms = {h['preview_ratio']:.2f} x full")


def drag_line(precision: str, key: str, d: dict) -> str:
    lat = d["latency_ms"]
    return (f"  drag, {key.replace('_', ' ')}, {precision} previews  latency p50 {lat.get('p50', float('nan')):6.1f} ms  "
            f"p95 {lat.get('p95', float('nan')):6.1f} ms  {d['frames_per_second']:5.1f} frames/s "
            f"({d['renders']} renders for {d['submitted']} moves)")


def batch_line(key: str, images_per_second: float) -> str:
    return f"  {key:<31} {images_per_second:8.1f} img/s"


def peak_memory_line(mb: float) -> str:
    return f"  peak memory          {mb:.0f} MB"


def skipped_line(skipped: list[str]) -> str:
    return f"  left out to fit the budget: {', '.join(skipped)}"


def format_report(r: dict) -> str:
    """The whole report as text: the lines ``emit`` printed along the way, in one piece."""
    full = r["full_ms"]["p50"]
    ratio = lambda p: p["p50"] / full  # noqa: E731
    lines = [header_line(r), figure_line("full render (exact)", r["full_ms"])]
    if "full_bf16_ms" in r:
        lines.append(figure_line("full render, bf16", r["full_bf16_ms"], ratio(r["full_bf16_ms"])))
    if "full_other_layout_ms" in r:
        p = r["full_other_layout_ms"]
        lines.append(figure_line(f"full render, {r['other_layout']}", p, ratio(p))
                     + f"   (within {r['other_layout_max_levels']} levels)")
    for name in dict.fromkeys([*r["preview_ms"], *r["preview_bf16_ms"]]):
        for key, suffix in (("preview_ms", ""), ("preview_bf16_ms", " bf16")):
            if name in r[key]:
                lines.append(figure_line(f"preview {name}{suffix}", r[key][name], ratio(r[key][name])))
    for key, suffix in (("partial_ms", ""), ("partial_bf16_ms", " bf16")):
        lines += [figure_line(f"{PARTIAL_LABEL} {name}{suffix}", p, ratio(p)) for name, p in r.get(key, {}).items()]
    if "fine_half" in r:
        lines.append(fine_half_line(r["fine_half"]))
    if "bf16_vs_fp32_levels" in r:
        lines.append(bf16_error_line(r["bf16_vs_fp32_levels"]))
    lines += [drag_line(precision, key, d) for precision, drags in r["drag"].items() for key, d in drags.items()]
    lines += [batch_line(key, value) for key, value in r["batch_images_per_second"].items()]
    lines.append(peak_memory_line(r["peak_memory_mb"]))
    if r.get("plan", {}).get("skipped"):
        lines.append(skipped_line(r["plan"]["skipped"]))
    return "\n".join(lines)
