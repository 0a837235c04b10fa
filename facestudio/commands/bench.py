"""``facestudio bench``: how fast a model renders, previews, re-renders and follows a drag."""

from __future__ import annotations

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import model_arg


def cmd_bench(args) -> int:
    from facestudio.render.bench import format_report, run_bench
    from facestudio.render.studio_model import open_studio_model
    report = run_bench(open_studio_model(args.model), reps=args.reps, drag_steps=args.drag_steps)
    print(dumps_strict(report, indent=2) if args.json else format_report(report))
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("bench", help="measure render, preview, re-render and drag speed for a model")
    model_arg(sp)
    sp.add_argument("--reps", type=int, default=7, help="repetitions per timing (default 7)")
    sp.add_argument("--drag-steps", type=int, default=120, help="slider moves in the simulated drag")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bench)
