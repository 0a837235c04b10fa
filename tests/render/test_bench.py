"""facestudio bench runs end to end on a small model and reports every figure it promises
(the numbers themselves are for people, not assertions)."""

import json

from facestudio.cli import main
from facestudio.render.bench import format_report, run_bench
from facestudio.render.studio_model import open_studio_model


def test_bench_reports_every_measure(native_model):
    report = run_bench(open_studio_model(native_model), reps=1, drag_steps=8)
    assert report["full_ms"]["p50"] > 0
    assert set(report["preview_ms"]) == {"1/2 (16 px)", "1/4 (8 px)", "1/8 (4 px)"}
    assert len(report["partial_ms"]) >= 3
    for key in ("drag_all_layers", "drag_fine_layers"):
        drag = report[key]
        assert drag["submitted"] == 8 and 1 <= drag["renders"] <= 9
        assert drag["latency_ms"]["p95"] >= drag["latency_ms"]["p50"] > 0
    assert set(report["batch_images_per_second"]) == {"batch 1", "batch 4", "batch 16"}
    assert report["peak_memory_mb"] > 0
    text = format_report(report)
    assert "full render" in text and "drag, fine layers" in text


def test_bench_command_prints_json(capsys, native_model):
    assert main(["--threads", "1", "bench", "--model", str(native_model), "--reps", "1", "--drag-steps", "6",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["resolution"] == 32 and "partial_ms" in report
