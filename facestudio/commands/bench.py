"""``facestudio bench``: how fast a model renders, previews, re-renders and follows a drag."""

from __future__ import annotations

import sys

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import UserError, model_arg


def cmd_bench(args) -> int:
    from facestudio.render.bench import DEFAULT_BUDGET_S, run_bench
    from facestudio.render.studio_model import open_studio_model
    budget = DEFAULT_BUDGET_S if args.budget is None else args.budget
    if not 0 < budget < float("inf") or any(n is not None and n < 1 for n in (args.reps, args.drag_steps)):
        raise UserError("--budget must be a positive number of seconds, --reps and --drag-steps at least 1")
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
                    help="about how long to measure (default: about a minute); sets the repetitions")
    sp.add_argument("--quick", action="store_true", help="each figure once (a few renders)")
    sp.add_argument("--reps", type=int, default=None, help="repetitions per timing (default: from the budget)")
    sp.add_argument("--drag-steps", type=int, default=None, help="slider moves in the simulated drag")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bench)
