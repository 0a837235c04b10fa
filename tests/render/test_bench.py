"""facestudio bench runs end to end on a small model and reports every figure it promises
(the numbers themselves are for people, not assertions)."""

import json

from facestudio.bounded_json import dumps_strict
from facestudio.commands.main import main
from facestudio.bench.measure import run_bench
from facestudio.bench.report import format_report
from facestudio.render.studio_model import open_studio_model


def test_bench_reports_every_measure(native_model):
    model = open_studio_model(native_model)
    own = model.renderer.preview_precision
    report = run_bench(model, reps=1, drag_steps=8)
    assert model.renderer.preview_precision == own  # restored after the drags
    assert report["full_ms"]["p50"] > 0 and report["full_bf16_ms"]["p50"] > 0
    assert report["full_other_layout_ms"]["p50"] > 0 and report["other_layout_max_levels"] <= 1
    levels = {"1/2 (16 px)", "1/4 (8 px)", "1/8 (4 px)"}
    assert set(report["preview_ms"]) == set(report["preview_bf16_ms"]) == levels
    assert {f"preview {name} bf16" for name in levels} <= set(report["ratio_to_full"])
    errors = report["bf16_vs_fp32_levels"]
    assert set(errors) == {"full"} | levels and all(0 <= e["mean"] <= e["max"] for e in errors.values())
    assert len(report["partial_ms"]) >= 3 and set(report["partial_bf16_ms"]) == set(report["partial_ms"])
    half = report["fine_half"]
    assert half["row"] == 4 and half["exact_ratio"] > 0 and half["preview_ratio"] > 0
    assert set(report["drag"]) == {"fp32", "bf16"}
    for drag in [report["drag_all_layers"], report["drag_fine_layers"]] + [
            d for pair in report["drag"].values() for d in pair.values()]:
        assert drag["submitted"] == 8 and 1 <= drag["renders"] <= 9
        assert drag["latency_ms"]["p95"] >= drag["latency_ms"]["p50"] > 0
    assert report["drag_all_layers"] is report["drag"][own.name]["all_layers"]
    assert set(report["batch_images_per_second"]) == {"batch 1", "batch 4", "batch 16",
                                                      f"grid of 16 in chunks of {report['batch_size']}"}
    assert report["peak_memory_mb"] > 0
    text = format_report(report)
    assert "full render" in text and "drag, fine layers" in text and "bf16 previews" in text


def test_bench_command_prints_json(capsys, native_model):
    assert main(["--threads", "1", "bench", "--model", str(native_model), "--reps", "1", "--drag-steps", "6",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["resolution"] == 32 and "partial_ms" in report


def _counting(model, monkeypatch, lines):
    """Record, at every network call, how many figure lines were out already."""
    seen = []
    render_ws = model.renderer.render_ws

    def counted(*args, **kwargs):
        seen.append(len(lines))
        return render_ws(*args, **kwargs)

    monkeypatch.setattr(model.renderer, "render_ws", counted)
    return seen


def test_each_figure_is_emitted_as_soon_as_it_is_measured(native_model, monkeypatch):
    model = open_studio_model(native_model)
    lines = []
    seen = _counting(model, monkeypatch, lines)
    report = run_bench(model, quick=True, emit=lines.append)
    assert lines[0].startswith(model.name) and "full render (exact)" in lines[1]
    assert lines[-1].startswith("  peak memory")
    assert len(set(seen)) >= 10  # renders ran between figure lines, not all before the first
    assert any(line.startswith("  re-render from row") for line in lines[:-3])
    assert report["plan"] == {"budget_s": 60.0, "quick": True, "reps": 1, "skipped": []}


def test_quick_and_a_small_budget_bound_the_renders(native_model, monkeypatch):
    model = open_studio_model(native_model)
    counts = {}
    for name, options in [("quick", {"quick": True}), ("tiny budget", {"budget_s": 1e-9}),
                          ("default", {})]:
        seen = _counting(model, monkeypatch, [])
        report = run_bench(model, drag_steps=4, **options)
        monkeypatch.undo()
        counts[name] = len(seen)
        assert report["full_ms"]["p50"] > 0
        assert format_report(report).startswith(model.name)  # whatever was left out
        if name == "tiny budget":  # only the first exact render fits; the rest is named
            assert report["plan"]["skipped"][:2] == ["full_other_layout_ms", "partial_bf16_ms"]
            assert "full render, bf16" in report["plan"]["skipped"] and "drag_fine_layers" not in report
            assert json.loads(dumps_strict(report))["batch_images_per_second"] == {}
        else:
            assert report["drag_fine_layers"]["submitted"] == 4
    assert counts["tiny budget"] < counts["quick"] < counts["default"]
    assert report["plan"]["reps"] == 7 and report["plan"]["skipped"] == []


def test_the_plan_grows_only_while_its_estimate_fits_the_budget():
    from facestudio.bench.plan import QUICK_PLAN, SMALLEST_PLAN, BenchPlan, plan_for
    assert plan_for(0.001, 3, quick=True) == QUICK_PLAN and QUICK_PLAN.reps == 1
    assert plan_for(0.0001, 3) == BenchPlan()  # a fast model: everything, 7 repetitions
    assert plan_for(100.0, 3, budget_s=60) == SMALLEST_PLAN  # the least is still measured
    for full_s in (0.01, 0.1, 1.0, 6.0):
        plan = plan_for(full_s, 3)
        assert plan.seconds(full_s, 3) <= 60 or plan == SMALLEST_PLAN
    slow, fast = plan_for(6.0, 3), plan_for(0.05, 3)
    assert slow.reps <= fast.reps and len(slow.skipped()) >= len(fast.skipped())
    assert set(SMALLEST_PLAN.skipped()) >= {"full_other_layout_ms", "partial_bf16_ms", "bf16_vs_fp32_levels"}


def test_bench_json_stays_whole_on_stdout_while_figures_go_to_stderr(capsys, native_model):
    assert main(["--threads", "1", "bench", "--model", str(native_model), "--quick", "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["plan"]["quick"] and "batch_images_per_second" in report and "peak_memory_mb" in report
    assert "full render (exact)" in err and "peak memory" in err


def test_bench_prints_figures_without_json(capsys, native_model):
    assert main(["--threads", "1", "bench", "--model", str(native_model), "--quick"]) == 0
    out, err = capsys.readouterr()
    assert "full render (exact)" in out and "drag, fine layers" in out and "peak memory" in out and not err


def test_a_bad_budget_is_one_sentence(capsys, native_model):
    """Issue 33, finding 10: a budget, repetitions or drag steps that would run without end
    are refused before the model is read."""
    for bad, text in ((["--budget", "0"], "--budget 0 is outside 0 to 3600 seconds"),
                      (["--budget", "nan"], "--budget nan is outside"), (["--budget", "1e9"], "--budget 1e+09 is outside"),
                      (["--reps", "0"], "--reps 0 is outside 1 to 100"),
                      (["--drag-steps", "1000000000"], "--drag-steps 1000000000 is outside 1 to 6,000")):
        assert main(["bench", "--model", str(native_model), *bad]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and text in err, err
