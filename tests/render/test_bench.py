"""facestudio bench runs end to end on a small model and reports every figure it promises
(the numbers themselves are for people, not assertions)."""

import json

from facestudio.commands.main import main
from facestudio.render.bench import format_report, run_bench
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
