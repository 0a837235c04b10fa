"""``facestudio bench``: how fast the studio renders on this machine, for one model.

Measures, in one run: the exact full render (p50 / p95) and the same in the other feature
layout (NCHW / NHWC: what the default layout gains); a full-size bf16 render; preview renders per level in
float32 and bf16, with their ratios to the exact full render; how far bf16 frames are from
float32 ones (max / mean uint8 levels); partial re-render by the first changed ws row (the
prefix cache), exact and bf16; slider-to-frame latency through the real render worker while
a simulated 60 Hz drag moves a direction, with float32 and with bf16 previews (p50 / p95 and
frames shown per second); batch throughput at 1, 4 and 16 images and for a grid of 16 in the
renderer's own chunks; and peak resident memory. Timing targets live in the issue notes,
never in unit tests.
"""

from __future__ import annotations

import resource
import statistics
import threading
import time
from dataclasses import replace

import numpy as np

from facestudio.latent.recipe import Recipe
from facestudio.render.worker import DEFAULT_PREVIEW_LEVEL, DEFAULT_SETTLE_SECONDS, RenderWorker

PRECISIONS = ("fp32", "bf16")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95}


def _time_ms(fn, reps: int, before=None) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(reps):
        if before:
            before()
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _preview_levels(renderer) -> dict[str, int]:
    """``"1/4 (64 px)" -> 2`` for the preview levels this model really has (at most 3)."""
    out = {}
    for level in range(1, min(3, renderer.max_level) + 1):
        if renderer.effective_level(level) == level:
            out[f"1/{2 ** level} ({renderer.level_resolution(level)} px)"] = level
    return out


def bench_full_and_preview(renderer, recipe: Recipe, reps: int) -> dict:
    """Full and preview renders from scratch (empty prefix cache), float32 and bf16."""
    clear = getattr(renderer, "clear_prefix_cache", None)
    ws = renderer.ws_for(recipe)[None]

    def timed(level: int, precision: str) -> dict:
        return _percentiles(_time_ms(lambda: renderer.render_ws(ws, recipe.noise, level, precision=precision),
                                     reps, clear))

    result = {"full_ms": timed(0, "fp32"), "full_bf16_ms": timed(0, "bf16")}
    synthesis = renderer.generator.network.synthesis
    if hasattr(synthesis, "channels_last") and hasattr(renderer, "exact_precision"):
        nhwc = renderer.exact_precision.channels_last
        saved = synthesis.channels_last
        renderer.clear_prefix_cache()
        default = renderer.render_ws(ws, recipe.noise)
        try:  # the exact path in the other feature layout: what the default choice gains
            synthesis.channels_last = not nhwc
            result["full_other_layout_ms"] = timed(0, "fp32")
            renderer.clear_prefix_cache()
            other = renderer.render_ws(ws, recipe.noise)
        finally:
            synthesis.channels_last = saved
            renderer.clear_prefix_cache()
        result["other_layout"] = "NCHW" if nhwc else "NHWC"
        result["other_layout_max_levels"] = int(np.abs(default.astype(int) - other).max())
    levels = _preview_levels(renderer)
    result["preview_ms"] = {name: timed(level, "fp32") for name, level in levels.items()}
    result["preview_bf16_ms"] = {name: timed(level, "bf16") for name, level in levels.items()}
    full = result["full_ms"]["p50"]
    ratios = {"full bf16": result["full_bf16_ms"]["p50"] / full}
    for name in levels:
        ratios[f"preview {name}"] = result["preview_ms"][name]["p50"] / full
        ratios[f"preview {name} bf16"] = result["preview_bf16_ms"][name]["p50"] / full
    result["ratio_to_full"] = ratios
    return result


def bench_bf16_error(renderer, recipe: Recipe, seeds: int = 4) -> dict:
    """max / mean uint8 difference of bf16 frames from float32 frames, per level (full
    size and each preview level), over ``seeds`` faces."""
    levels = {"full": 0, **_preview_levels(renderer)}
    out = {}
    for name, level in levels.items():
        diffs = []
        for seed in range(seeds):
            ws = renderer.ws_for(replace(recipe, seed=recipe.seed + seed))[None]
            renderer.clear_prefix_cache()
            want = renderer.render_ws(ws, recipe.noise, level, precision="fp32")
            renderer.clear_prefix_cache()
            got = renderer.render_ws(ws, recipe.noise, level, precision="bf16")
            diffs.append(np.abs(got.astype(np.int16) - want.astype(np.int16)))
        diffs = np.stack(diffs)
        out[name] = {"max": int(diffs.max()), "mean": float(diffs.mean())}
    renderer.clear_prefix_cache()
    return out


def bench_partial(renderer, recipe: Recipe, reps: int, precision: str | None = "fp32", level: int = 0,
                  rows: list[int] | None = None) -> dict:
    """Time a render whose ws differs from the previous (exact) one from row ``k`` on, in
    ``precision`` at ``level``: what a settled frame (fp32, level 0) or a drag preview (None:
    the preview precision, level > 0) costs. ``rows``: the ``k`` to try (default: 0, 1/4,
    1/2, 3/4 and the last row)."""
    if not hasattr(renderer, "clear_prefix_cache"):
        return {}
    base = renderer.ws_for(recipe)[None]
    num_ws = base.shape[1]
    if rows is None:
        rows = sorted({0, num_ws // 4, num_ws // 2, (3 * num_ws) // 4, num_ws - 1})
    out = {}
    for k in rows:
        times = []
        for rep in range(reps + 1):
            renderer.clear_prefix_cache()
            renderer.render_ws(base, recipe.noise)  # the base face, as just shown
            edited = base.copy()
            edited[:, k:] += 0.05 * (rep + 1)
            t = time.perf_counter()
            renderer.render_ws(edited, recipe.noise, level, precision=precision)
            if rep:  # the first is a warm-up
                times.append((time.perf_counter() - t) * 1000)
        out[f"from row {k}"] = _percentiles(times)
    return out


def bench_drag(renderer, recipe: Recipe, direction_id: str, layers: tuple[int, int],
               steps: int = 120, hz: float = 60.0,
               settle_seconds: float = DEFAULT_SETTLE_SECONDS) -> dict:
    """Drive the real worker like a slider dragged at ``hz`` for ``steps`` moves."""
    submitted: dict[int, float] = {}
    latencies: list[float] = []
    shown_during: list[float] = []
    done = threading.Event()
    lock = threading.Lock()

    def on_result(result):
        now = time.perf_counter()
        with lock:
            if result.error is None and result.request_id in submitted:
                latencies.append((now - submitted[result.request_id]) * 1000)
                shown_during.append(now)
        if result.level == 0:
            done.set()

    worker = RenderWorker(renderer, on_result, settle_seconds=settle_seconds)
    try:
        start = time.perf_counter()
        for i in range(steps):
            amount = 2.0 * np.sin(i / steps * np.pi * 2)
            r = recipe.with_edit(direction_id, round(float(amount), 3) or 0.001, layers)
            with lock:
                rid = worker.submit(r, interactive=True)
                submitted[rid] = time.perf_counter()
            time.sleep(max(0.0, start + (i + 1) / hz - time.perf_counter()))
        drag_end = time.perf_counter()
        done.clear()
        done.wait(30)
        worker.wait_idle(30)
        stats = worker.stats
    finally:
        worker.shutdown()
    frames = [t for t in shown_during if t <= drag_end + 1e-3]
    duration = drag_end - start
    return {"latency_ms": _percentiles(latencies) if latencies else {},
            "frames_per_second": len(frames) / duration if duration else 0.0,
            "renders": stats.rendered, "previews": stats.previews, "submitted": steps}


def bench_drags(renderer, recipe: Recipe, direction, fine: tuple[int, int], steps: int) -> dict:
    """Both drags (all of the direction's layers, fine layers only) with float32 previews
    and with bf16 previews; the renderer's own preview precision is restored afterwards."""
    own = renderer.preview_precision.name
    out = {}
    try:
        for precision in PRECISIONS:
            renderer.set_preview_precision(precision)
            renderer.clear_prefix_cache()
            out[precision] = {
                "all_layers": bench_drag(renderer, recipe, direction.id, direction.layers, steps),
                "fine_layers": bench_drag(renderer, replace(recipe, seed=recipe.seed + 1), direction.id,
                                          fine, steps),
            }
    finally:
        renderer.set_preview_precision(own)
    return out


def bench_batches(renderer, recipe: Recipe, sizes=(1, 4, 16), reps: int = 3) -> dict:
    ws1 = renderer.ws_for(recipe)[None]
    clear = getattr(renderer, "clear_prefix_cache", None)
    out = {}
    for n in sizes:
        ws = np.repeat(ws1, n, axis=0) + np.random.RandomState(n).randn(n, 1, 1).astype(np.float32) * 0.01
        times = _time_ms(lambda w=ws: renderer.render_ws(w, recipe.noise), reps, clear)
        out[f"batch {n}"] = n / (statistics.median(times) / 1000)
    size = getattr(renderer, "batch_size", None)
    if size is not None:
        grid = [replace(recipe, seed=recipe.seed + i) for i in range(max(sizes))]
        times = _time_ms(lambda: renderer.render_batch(grid), 1, clear)
        out[f"grid of {len(grid)} in chunks of {size}"] = len(grid) / (statistics.median(times) / 1000)
    return out


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(model, reps: int = 7, drag_steps: int = 120) -> dict:
    """All measurements for a :class:`facestudio.render.studio_model.StudioModel`."""
    renderer = model.renderer
    recipe = Recipe(model.sha256, seed=1, psi=0.7, class_idx=0 if model.c_dim else None,
                    model_name=model.name)
    direction = model.directions[0]
    fine = model.layer_groups()["fine"]
    report = {"model": model.name, "resolution": model.resolution, "num_ws": model.num_ws,
              "architecture": model.info["architecture"],
              "preview_precision": renderer.preview_precision.name,
              "exact_layout": "NHWC" if renderer.exact_precision.channels_last else "NCHW",
              "batch_size": renderer.batch_size}
    report.update(bench_full_and_preview(renderer, recipe, reps))
    report["bf16_vs_fp32_levels"] = bench_bf16_error(renderer, recipe)
    report["partial_ms"] = bench_partial(renderer, recipe, reps)
    report["partial_bf16_ms"] = bench_partial(renderer, recipe, reps, "bf16")
    half = f"from row {model.num_ws // 2}"
    if half in report["partial_ms"]:
        level = renderer.effective_level(DEFAULT_PREVIEW_LEVEL)
        preview = bench_partial(renderer, recipe, reps, None, level, rows=[model.num_ws // 2])
        full = report["full_ms"]["p50"]
        report["fine_half"] = {
            "row": model.num_ws // 2, "preview_level": level,
            "exact_ratio": report["partial_ms"][half]["p50"] / full,
            "bf16_ratio": report["partial_bf16_ms"][half]["p50"] / full,
            "preview_ms": preview[half], "preview_ratio": preview[half]["p50"] / full,
        }
    drags = bench_drags(renderer, recipe, direction, fine, drag_steps)
    report["drag"] = drags
    own = drags[renderer.preview_precision.name]
    report["drag_all_layers"] = own["all_layers"]
    report["drag_fine_layers"] = own["fine_layers"]
    report["batch_images_per_second"] = bench_batches(renderer, recipe)
    report["peak_memory_mb"] = peak_memory_mb()
    return report


def _line(label: str, p: dict, ratio: float | None = None) -> str:
    text = f"  {label:<30} p50 {p['p50']:8.1f} ms   p95 {p['p95']:8.1f} ms"
    return text + (f"   {ratio:5.2f} x full" if ratio is not None else "")


def format_report(r: dict) -> str:
    full = r["full_ms"]["p50"]
    ratio = lambda p: p["p50"] / full  # noqa: E731
    lines = [f"{r['model']}: {r['resolution']} px, {r['architecture']}, num_ws {r['num_ws']}; "
             f"previews {r['preview_precision']}, exact layout {r['exact_layout']}, "
             f"batch size {r['batch_size']}",
             _line("full render (exact)", r["full_ms"])]
    if "full_other_layout_ms" in r:
        p = r["full_other_layout_ms"]
        lines.append(_line(f"full render, {r['other_layout']}", p, ratio(p))
                     + f"   (within {r['other_layout_max_levels']} levels)")
    lines.append(_line("full render, bf16", r["full_bf16_ms"], ratio(r["full_bf16_ms"])))
    for name, p in r["preview_ms"].items():
        lines.append(_line(f"preview {name}", p, ratio(p)))
        q = r["preview_bf16_ms"][name]
        lines.append(_line(f"preview {name} bf16", q, ratio(q)))
    lines.append("  bf16 vs fp32 (uint8 levels)    " + "  ".join(
        f"{name}: max {d['max']} mean {d['mean']:.2f}" for name, d in r["bf16_vs_fp32_levels"].items()))
    for name, p in r["partial_ms"].items():
        lines.append(_line(f"re-render {name}", p, ratio(p)))
        lines.append(_line(f"re-render {name} bf16", r["partial_bf16_ms"][name], ratio(r["partial_bf16_ms"][name])))
    if "fine_half" in r:
        h = r["fine_half"]
        lines.append(f"  fine half (rows {h['row']}+)             exact {h['exact_ratio']:.2f} x full, "
                     f"bf16 {h['bf16_ratio']:.2f} x full, preview (level {h['preview_level']}) "
                     f"{h['preview_ms']['p50']:.1f} ms = {h['preview_ratio']:.2f} x full")
    for precision, drags in r["drag"].items():
        for key, label in (("all_layers", "all layers"), ("fine_layers", "fine layers")):
            d = drags[key]
            lat = d["latency_ms"]
            lines.append(f"  drag, {label}, {precision} previews  latency p50 {lat.get('p50', float('nan')):6.1f} ms  "
                         f"p95 {lat.get('p95', float('nan')):6.1f} ms  {d['frames_per_second']:5.1f} frames/s "
                         f"({d['renders']} renders for {d['submitted']} moves)")
    lines.append("  batch throughput     " + "  ".join(f"{k}: {v:.1f} img/s"
                                                      for k, v in r["batch_images_per_second"].items()))
    lines.append(f"  peak memory          {r['peak_memory_mb']:.0f} MB")
    return "\n".join(lines)
