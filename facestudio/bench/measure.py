"""The measurements of ``facestudio bench``: how fast the studio renders on this machine, for one model.

Measures, in one run: the exact full render (p50 / p95) and the same in the other feature
layout (NCHW / NHWC: what the default layout gains); a full-size bf16 render; preview renders per level in
float32 and bf16, with their ratios to the exact full render; how far bf16 frames are from
float32 ones (max / mean uint8 levels); partial re-render by the first changed ws row (the
prefix cache), exact and bf16; slider-to-frame latency through the real render worker while
a simulated 60 Hz drag moves a direction, with float32 and with bf16 previews (p50 / p95 and
frames shown per second); batch throughput at 1, 4 and 16 images and for a grid of 16 in the
renderer's own chunks; and peak resident memory. Timing targets live in the issue notes,
never in unit tests.

Each figure is handed to ``emit`` (one line of text, worded by :mod:`facestudio.bench.report`,
the one formatter of the bench) as soon as it is measured. How much is
measured follows a time budget (:func:`plan_for`): the first exact render is timed, and the
repetitions, the partial re-render rows, the bf16 error faces, the batch sizes and the drag
length grow only while the estimated total fits; ``quick`` measures each figure once.
"""

from __future__ import annotations

import resource
import statistics
import threading
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from facestudio.bench.report import (PARTIAL_LABEL, batch_line, bf16_error_line, drag_line, figure_line, fine_half_line, header_line,
                                     peak_memory_line, skipped_line)
from facestudio.latent.recipe import Recipe
from facestudio.bench.plan import DEFAULT_BUDGET_S, DRAG_HZ, BenchPlan, Deadline, plan_for
from facestudio.render.preview_levels import PreviewLevelChooser
from facestudio.render.worker import DEFAULT_SETTLE_SECONDS, RenderWorker

PRECISIONS = ("fp32", "bf16")
Emit = Callable[[str], None]


def _silent(line: str) -> None:
    pass


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p95": p95}


def _time_ms(fn, reps: int, before=None, warm_up: bool = True) -> list[float]:
    if warm_up:
        fn()
    out = []
    for _ in range(reps):
        if before:
            before()
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _preview_levels(renderer) -> dict[str, int]:
    """``"1/4 (64 px)" -> 2`` for the preview levels this model really has: 1/2 to 1/8 and the
    one drags start at (:mod:`facestudio.render.preview_levels`) where it is coarser."""
    out = {}
    chosen = PreviewLevelChooser.for_renderer(renderer).level
    for level in sorted({*range(1, min(3, renderer.max_level) + 1), chosen} - {0}):
        if renderer.effective_level(level) == level:
            out[f"1/{2 ** level} ({renderer.level_resolution(level)} px)"] = level
    return out


def bench_full_and_preview(renderer, recipe: Recipe, reps: int, emit: Emit = _silent, warm_up: bool = True,
                           full_ms: dict | None = None, other_layout: bool = True,
                           deadline: Deadline | None = None) -> dict:
    """Full and preview renders from scratch (empty prefix cache), float32 and bf16
    (``full_ms``: the exact full render, when already measured; ``other_layout``: also the
    exact render in the other feature layout; ``deadline``: leave out what does not fit)."""
    deadline = deadline or Deadline(None)
    clear = getattr(renderer, "clear_prefix_cache", None)
    ws = renderer.ws_for(recipe)[None]

    def timed(level: int, precision: str, label: str, check: bool = True) -> dict | None:
        if check and not deadline.allows(label, (reps + warm_up) * (1 if level == 0 else 0.5)):
            return None
        p = _percentiles(_time_ms(lambda: renderer.render_ws(ws, recipe.noise, level, precision=precision),
                                  reps, clear, warm_up))
        full = result["full_ms"]["p50"] if "full_ms" in result else None
        emit(figure_line(label, p, p["p50"] / full if full else None))
        return p

    result = {}
    if full_ms is not None:
        result["full_ms"] = full_ms
    else:
        result["full_ms"] = timed(0, "fp32", "full render (exact)", check=False)
    result["full_bf16_ms"] = timed(0, "bf16", "full render, bf16") or {}
    synthesis = renderer.generator.network.synthesis
    if (other_layout and hasattr(synthesis, "channels_last") and hasattr(renderer, "exact_precision")
            and deadline.allows("full_other_layout_ms", reps + warm_up + 2)):
        nhwc = renderer.exact_precision.channels_last
        saved = synthesis.channels_last
        renderer.clear_prefix_cache()
        default = renderer.render_ws(ws, recipe.noise)
        try:  # the exact path in the other feature layout: what the default choice gains
            synthesis.channels_last = not nhwc
            result["full_other_layout_ms"] = timed(0, "fp32", f"full render, {'NCHW' if nhwc else 'NHWC'}", check=False)
            renderer.clear_prefix_cache()
            other = renderer.render_ws(ws, recipe.noise)
        finally:
            synthesis.channels_last = saved
            renderer.clear_prefix_cache()
        result["other_layout"] = "NCHW" if nhwc else "NHWC"
        result["other_layout_max_levels"] = int(np.abs(default.astype(int) - other).max())
    levels = _preview_levels(renderer)
    result["preview_ms"], result["preview_bf16_ms"] = {}, {}
    for name, level in levels.items():
        for key, precision, label in (("preview_ms", "fp32", f"preview {name}"),
                                      ("preview_bf16_ms", "bf16", f"preview {name} bf16")):
            measured = timed(level, precision, label)
            if measured is not None:
                result[key][name] = measured
    full = result["full_ms"]["p50"]
    ratios = {}
    if result["full_bf16_ms"]:
        ratios["full bf16"] = result["full_bf16_ms"]["p50"] / full
    else:
        del result["full_bf16_ms"]
    for name in levels:
        for key, suffix in (("preview_ms", ""), ("preview_bf16_ms", " bf16")):
            if name in result[key]:
                ratios[f"preview {name}{suffix}"] = result[key][name]["p50"] / full
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


def partial_rows(num_ws: int, count: int = 5) -> list[int]:
    """The first changed rows to time, most telling first: the half (a fine-layer edit),
    0 (everything), the last, a quarter, three quarters."""
    rows = dict.fromkeys([num_ws // 2, 0, num_ws - 1, num_ws // 4, (3 * num_ws) // 4])
    return sorted(list(rows)[:count])


def bench_partial(renderer, recipe: Recipe, reps: int, precision: str | None = "fp32", level: int = 0,
                  rows: list[int] | None = None, emit: Emit = _silent, label: str | None = None,
                  deadline: Deadline | None = None) -> dict:
    """Time a render whose ws differs from the previous (exact) one from row ``k`` on, in
    ``precision`` at ``level``: what a settled frame (fp32, level 0) or a drag preview (None:
    the preview precision, level > 0) costs. ``rows``: the ``k`` to try (default: 0, 1/4,
    1/2, 3/4 and the last row)."""
    if not hasattr(renderer, "clear_prefix_cache"):
        return {}
    base = renderer.ws_for(recipe)[None]
    num_ws = base.shape[1]
    if rows is None:
        rows = partial_rows(num_ws)
    out = {}
    for k in rows:
        if deadline and not deadline.allows(f"re-render from row {k}{label or ''}", 2 * (reps + 1)):
            continue
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
        if label is not None:
            emit(figure_line(f"{PARTIAL_LABEL} from row {k}{label}", out[f"from row {k}"]))
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
    # the frames shown while the slider moved (the settled frame after it is not a drag frame)
    during = [ms for ms, t in zip(latencies, shown_during) if t <= drag_end + 1e-3] or latencies
    duration = drag_end - start
    return {"latency_ms": _percentiles(during) if during else {},
            "frames_per_second": len(frames) / duration if duration else 0.0,
            "renders": stats.rendered, "previews": stats.previews, "submitted": steps}


def bench_drags(renderer, recipe: Recipe, direction, fine: tuple[int, int], steps: int,
                precisions=PRECISIONS, emit: Emit = _silent, deadline: Deadline | None = None) -> dict:
    """The drags (all of the direction's layers; fine layers only; the two ws rows only the last
    block reads, whose preview must run that block at full size) with each preview precision in ``precisions``; the
    renderer's own preview precision is restored afterwards."""
    own = renderer.preview_precision.name
    out = {}
    try:
        for precision in precisions:
            renderer.set_preview_precision(precision)
            renderer.clear_prefix_cache()
            out[precision] = {}
            num_ws = renderer.generator.num_ws
            for key, seed, layers in (("all_layers", recipe.seed, direction.layers),
                                      ("fine_layers", recipe.seed + 1, fine),
                                      ("last_block", recipe.seed + 2, (max(0, num_ws - 2), num_ws))):
                if deadline and not deadline.allows(f"drag, {key}, {precision}", 2, steps / DRAG_HZ):
                    continue
                out[precision][key] = bench_drag(renderer, replace(recipe, seed=seed), direction.id, layers, steps)
                emit(drag_line(precision, key, out[precision][key]))
    finally:
        renderer.set_preview_precision(own)
    return out


def bench_batches(renderer, recipe: Recipe, sizes=(1, 4, 16), reps: int = 3, grid: bool = True,
                  emit: Emit = _silent, warm_up: bool = True, deadline: Deadline | None = None) -> dict:
    ws1 = renderer.ws_for(recipe)[None]
    clear = getattr(renderer, "clear_prefix_cache", None)
    out = {}
    deadline = deadline or Deadline(None)
    for n in sizes:
        if not deadline.allows(f"batch {n}", n * (reps + warm_up)):
            continue
        ws = np.repeat(ws1, n, axis=0) + np.random.RandomState(n).randn(n, 1, 1).astype(np.float32) * 0.01
        times = _time_ms(lambda w=ws: renderer.render_ws(w, recipe.noise), reps, clear, warm_up)
        out[f"batch {n}"] = n / (statistics.median(times) / 1000)
        emit(batch_line(f"batch {n}", out[f"batch {n}"]))
    size = getattr(renderer, "batch_size", None)
    if size is not None and grid and deadline.allows("grid in chunks", max(sizes) * (1 + warm_up)):
        faces = [replace(recipe, seed=recipe.seed + i) for i in range(max(sizes))]
        times = _time_ms(lambda: renderer.render_batch(faces), 1, clear, warm_up)
        key = f"grid of {len(faces)} in chunks of {size}"
        out[key] = len(faces) / (statistics.median(times) / 1000)
        emit(batch_line(key, out[key]))
    return out


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bench(model, reps: int | None = None, drag_steps: int | None = None, *,
              budget_s: float = DEFAULT_BUDGET_S, quick: bool = False, emit: Emit = _silent) -> dict:
    """All measurements for a :class:`facestudio.render.studio_model.StudioModel`, each
    handed to ``emit`` as a line of text when measured. How much is measured follows
    :func:`~facestudio.bench.plan.plan_for` (``budget_s`` seconds, or ``quick``);
    ``reps`` / ``drag_steps``, when given, replace the plan's."""
    renderer = model.renderer
    recipe = Recipe(model.sha256, seed=1, psi=0.7, class_idx=0 if model.c_dim else None,
                    model_name=model.name)
    report = {"model": model.name, "resolution": model.resolution, "num_ws": model.num_ws,
              "architecture": model.info["architecture"],
              "preview_precision": renderer.preview_precision.name,
              "exact_layout": "NHWC" if renderer.exact_precision.channels_last else "NCHW",
              "batch_size": renderer.batch_size}
    deadline = Deadline(None if quick else budget_s)
    emit(header_line(report))
    ws = renderer.ws_for(recipe)[None]
    probe = _time_ms(lambda: renderer.render_ws(ws, recipe.noise), 1, renderer.clear_prefix_cache, False)
    plan = plan_for(probe[0] / 1000, len(_preview_levels(renderer)), budget_s, quick)
    plan = replace(plan, **({"reps": reps} if reps else {}), **({"drag_steps": drag_steps} if drag_steps else {}))
    deadline.full_s = probe[0] / 1000
    full = _percentiles(probe) if plan.reps == 1 and not plan.warm_up else None
    if full is not None:
        emit(figure_line("full render (exact)", full))
    report.update(bench_full_and_preview(renderer, recipe, plan.reps, emit, plan.warm_up, full, plan.other_layout,
                                         deadline))
    _bench_partials(renderer, recipe, model.num_ws, plan, report, emit, deadline)
    levels = len(_preview_levels(renderer))
    if plan.bf16_seeds and deadline.allows("bf16_vs_fp32_levels", plan.bf16_seeds * (2 + levels)):
        report["bf16_vs_fp32_levels"] = bench_bf16_error(renderer, recipe, plan.bf16_seeds)
        emit(bf16_error_line(report["bf16_vs_fp32_levels"]))
    own = renderer.preview_precision.name
    precisions = PRECISIONS if plan.both_drags else (own,)
    report["drag"] = bench_drags(renderer, recipe, model.directions.shown()[0], model.layer_groups()["fine"],
                                 plan.drag_steps, precisions, emit, deadline)
    for key in ("all_layers", "fine_layers", "last_block"):
        if key in report["drag"][own]:
            report[f"drag_{key}"] = report["drag"][own][key]
    report["batch_images_per_second"] = bench_batches(renderer, recipe, plan.batch_sizes, min(plan.reps, 3),
                                                      plan.grid, emit, plan.warm_up, deadline)
    report["peak_memory_mb"] = peak_memory_mb()
    emit(peak_memory_line(report["peak_memory_mb"]))
    skipped = plan.skipped() + deadline.skipped
    report["plan"] = {"budget_s": budget_s, "quick": quick, "reps": plan.reps, "skipped": skipped}
    if skipped:
        emit(skipped_line(skipped))
    return report


def _bench_partials(renderer, recipe: Recipe, num_ws: int, plan: BenchPlan, report: dict, emit: Emit,
                    deadline: Deadline) -> None:
    """The partial re-render figures and the fine half's summary, into ``report``."""
    rows = partial_rows(num_ws, plan.rows)
    report["partial_ms"] = bench_partial(renderer, recipe, plan.reps, rows=rows, emit=emit, label="",
                                         deadline=deadline)
    if plan.bf16_partial:
        report["partial_bf16_ms"] = bench_partial(renderer, recipe, plan.reps, "bf16", rows=rows, emit=emit,
                                                  label=" bf16", deadline=deadline)
    half = f"from row {num_ws // 2}"
    if half not in report["partial_ms"] or not deadline.allows("fine_half", 2 * (plan.reps + 1)):
        return
    level = renderer.effective_level(PreviewLevelChooser.for_renderer(renderer).level)
    preview = bench_partial(renderer, recipe, plan.reps, None, level, rows=[num_ws // 2])
    full = report["full_ms"]["p50"]
    bf16 = report.get("partial_bf16_ms", {}).get(half)
    report["fine_half"] = {
        "row": num_ws // 2, "preview_level": level,
        "exact_ratio": report["partial_ms"][half]["p50"] / full,
        "bf16_ratio": bf16["p50"] / full if bf16 else None,
        "preview_ms": preview[half], "preview_ratio": preview[half]["p50"] / full,
    }
    emit(fine_half_line(report["fine_half"]))
