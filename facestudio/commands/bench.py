"""``facestudio bench``: how fast a model renders, previews, re-renders and follows a drag."""

from __future__ import annotations

import sys

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import UserError, model_arg


MAX_BUDGET_S = 3600.0  # --budget: an hour of measuring at most
MAX_REPS = 100  # --reps: timed runs per figure
MAX_DRAG_STEPS = 6000  # --drag-steps: slider moves per drag, 100 s at 60 Hz


def check_bench_args(args) -> float:
    """The time budget, with ``--budget``, ``--reps`` and ``--drag-steps`` checked before any
    model is loaded (each bounded, so that no bench runs without end); :class:`UserError` otherwise."""
    from facestudio.bench.plan import DEFAULT_BUDGET_S
    budget = DEFAULT_BUDGET_S if args.budget is None else args.budget
    if not 0 < budget <= MAX_BUDGET_S:
        raise UserError(f"--budget {budget:g} is outside 0 to {MAX_BUDGET_S:g} seconds")
    for option, value, most in (("--reps", args.reps, MAX_REPS), ("--drag-steps", args.drag_steps, MAX_DRAG_STEPS)):
        if value is not None and not 1 <= value <= most:
            raise UserError(f"{option} {value} is outside 1 to {most:,}")
    return budget


def cmd_bench(args) -> int:
    from facestudio.bench.measure import run_bench
    from facestudio.render.studio_model import open_studio_model
    budget = check_bench_args(args)
    stream = sys.stderr if args.json else sys.stdout  # --json keeps stdout one whole JSON document
    report = run_bench(open_studio_model(args.model), reps=args.reps, drag_steps=args.drag_steps,
                       budget_s=budget, quick=args.quick, emit=lambda line: print(line, file=stream, flush=True))
    if args.json:
        print(dumps_strict(report, indent=2))
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("bench", help="measure render, preview, re-render and drag speed for a model")
    model_arg(sp)
    sp.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                    help=f"about how long to measure, up to {MAX_BUDGET_S:g} (default: about a minute); sets the "
                         "repetitions")
    sp.add_argument("--quick", action="store_true", help="each figure once (a few renders)")
    sp.add_argument("--reps", type=int, default=None,
                    help=f"repetitions per timing, up to {MAX_REPS} (default: from the budget)")
    sp.add_argument("--drag-steps", type=int, default=None,
                    help=f"slider moves in the simulated drag, up to {MAX_DRAG_STEPS:,}")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bench)
