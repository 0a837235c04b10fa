"""``facestudio bench``: how fast the studio renders on this machine, for one model.

Measures, in one run: full render (p50 / p95), preview render per level, partial re-render
by the first changed ws row (the prefix cache), slider-to-frame latency through the real
render worker while a simulated 60 Hz drag moves a direction (p50 / p95 and frames shown per
second), batch throughput at 1, 4 and 16 images, and peak resident memory. Timing targets
live here and in the issue notes, never in unit tests.
"""

from __future__ import annotations

import resource
import statistics
import threading
import time
from dataclasses import replace

import numpy as np

from facestudio.render.worker import RenderWorker
from facestudio.session.recipe import Recipe


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


def bench_full_and_preview(renderer, recipe: Recipe, reps: int) -> dict:
    clear = getattr(renderer, "clear_prefix_cache", None)
    result = {"full_ms": _percentiles(_time_ms(lambda: renderer.render(recipe), reps, clear))}
    previews = {}
    for level in range(1, min(3, renderer.max_level) + 1):
        if renderer.effective_level(level) == level:
            size = renderer.level_resolution(level)
            previews[f"1/{2 ** level} ({size} px)"] = _percentiles(
                _time_ms(lambda lv=level: renderer.render(recipe, lv), reps, clear))
    result["preview_ms"] = previews
    return result


def bench_partial(renderer, recipe: Recipe, reps: int) -> dict:
    """Time a render whose ws differs from the previous one from row ``k`` on."""
    if not hasattr(renderer, "clear_prefix_cache"):
        return {}
    base = renderer.ws_for(recipe)[None]
    num_ws = base.shape[1]
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
            renderer.render_ws(edited, recipe.noise)
            if rep:  # the first is a warm-up
                times.append((time.perf_counter() - t) * 1000)
        out[f"from row {k}"] = _percentiles(times)
    return out


def bench_drag(renderer, recipe: Recipe, direction_id: str, layers: tuple[int, int],
               steps: int = 120, hz: float = 60.0, settle_seconds: float = 0.15) -> dict:
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


def bench_batches(renderer, recipe: Recipe, sizes=(1, 4, 16), reps: int = 3) -> dict:
    ws1 = renderer.ws_for(recipe)[None]
    clear = getattr(renderer, "clear_prefix_cache", None)
    out = {}
    for n in sizes:
        ws = np.repeat(ws1, n, axis=0) + np.random.RandomState(n).randn(n, 1, 1).astype(np.float32) * 0.01
        times = _time_ms(lambda w=ws: renderer.render_ws(w, recipe.noise), reps, clear)
        out[f"batch {n}"] = n / (statistics.median(times) / 1000)
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
              "architecture": model.info["architecture"]}
    report.update(bench_full_and_preview(renderer, recipe, reps))
    report["partial_ms"] = bench_partial(renderer, recipe, reps)
    report["drag_all_layers"] = bench_drag(renderer, recipe, direction.id, direction.layers, drag_steps)
    report["drag_fine_layers"] = bench_drag(renderer, replace(recipe, seed=2), direction.id, fine, drag_steps)
    report["batch_images_per_second"] = bench_batches(renderer, recipe)
    report["peak_memory_mb"] = peak_memory_mb()
    return report


def format_report(r: dict) -> str:
    lines = [f"{r['model']}: {r['resolution']} px, {r['architecture']}, num_ws {r['num_ws']}",
             f"  full render          p50 {r['full_ms']['p50']:8.1f} ms   p95 {r['full_ms']['p95']:8.1f} ms"]
    for name, p in r["preview_ms"].items():
        lines.append(f"  preview {name:<12} p50 {p['p50']:8.1f} ms   p95 {p['p95']:8.1f} ms")
    for name, p in r["partial_ms"].items():
        lines.append(f"  re-render {name:<10} p50 {p['p50']:8.1f} ms   p95 {p['p95']:8.1f} ms")
    for key, label in (("drag_all_layers", "drag, all layers"), ("drag_fine_layers", "drag, fine layers")):
        d = r[key]
        lat = d["latency_ms"]
        lines.append(f"  {label:<20} latency p50 {lat.get('p50', float('nan')):6.1f} ms  "
                     f"p95 {lat.get('p95', float('nan')):6.1f} ms  {d['frames_per_second']:5.1f} frames/s "
                     f"({d['renders']} renders for {d['submitted']} moves)")
    lines.append("  batch throughput     " + "  ".join(f"{k}: {v:.1f} img/s"
                                                      for k, v in r["batch_images_per_second"].items()))
    lines.append(f"  peak memory          {r['peak_memory_mb']:.0f} MB")
    return "\n".join(lines)
