"""How much ``facestudio bench`` measures within a time budget.

A 1024 px network renders one face in seconds on a small CPU, so a fixed number of
repetitions of every figure runs for many minutes. :func:`plan_for` starts from the least
that still says how the studio feels (the exact and bf16 full renders, the previews, one
partial re-render row, the drags with the model's own preview precision, batch 1) and grows
it, one part at a time, while the estimated time fits the budget. The estimate counts
renders in units of the exact full render, which the bench times first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

DEFAULT_BUDGET_S = 60.0
MAX_REPS = 7
MAX_DRAG_STEPS = 120
BATCH_SIZES = (1, 4, 16)
DRAG_HZ = 60.0


@dataclass(frozen=True)
class BenchPlan:
    """reps: timed runs per figure (after a warm-up when ``warm_up``); rows: partial
    re-render rows; bf16_seeds: faces for the bf16 error (0: skipped); batch_sizes;
    drag_steps: slider moves per drag; the flags: figures a tight budget leaves out."""

    reps: int = MAX_REPS
    warm_up: bool = True
    rows: int = 5
    bf16_seeds: int = 4
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    drag_steps: int = MAX_DRAG_STEPS
    other_layout: bool = True
    bf16_partial: bool = True
    both_drags: bool = True
    grid: bool = True

    def seconds(self, full_s: float, levels: int) -> float:
        """Estimated run time for a model whose exact full render takes ``full_s`` seconds
        and that has ``levels`` preview levels (previews counted by their pixel share)."""
        timed = self.reps + self.warm_up
        previews = sum(4.0 ** -k for k in range(1, levels + 1))
        renders = timed * (2 + 2 * previews) + (timed + 2) * self.other_layout
        renders += 2 * self.bf16_seeds * (1 + previews)
        renders += (self.reps + 1) * (2 * self.rows * (1 + self.bf16_partial) + 1 + previews)
        drags = 6 if self.both_drags else 3
        renders += drags * 1.5 + sum(n * (min(self.reps, 3) + self.warm_up) for n in self.batch_sizes)
        renders += max(self.batch_sizes) * self.grid
        return renders * full_s + drags * self.drag_steps / DRAG_HZ

    def skipped(self) -> list[str]:
        """The figures this plan leaves out, by report key."""
        names = {"other_layout": "full_other_layout_ms", "bf16_partial": "partial_bf16_ms",
                 "both_drags": "drag (the other preview precision)", "grid": "grid in chunks"}
        out = [key for flag, key in names.items() if not getattr(self, flag)]
        return out + (["bf16_vs_fp32_levels"] if not self.bf16_seeds else [])


SMALLEST_PLAN = BenchPlan(reps=1, warm_up=False, rows=1, bf16_seeds=0, batch_sizes=(1,), drag_steps=8,
                          other_layout=False, bf16_partial=False, both_drags=False, grid=False)
QUICK_PLAN = replace(SMALLEST_PLAN, bf16_seeds=1, other_layout=True, bf16_partial=True, both_drags=True,
                     grid=True)
GROWTH = (("bf16_partial", (True,)), ("bf16_seeds", (1,)), ("both_drags", (True,)), ("other_layout", (True,)),
          ("grid", (True,)), ("warm_up", (True,)), ("rows", (2, 3, 4, 5)), ("bf16_seeds", (2, 3, 4)),
          ("batch_sizes", (BATCH_SIZES[:2], BATCH_SIZES)), ("reps", tuple(range(2, MAX_REPS + 1))),
          ("drag_steps", (30, 60, MAX_DRAG_STEPS)))


def plan_for(full_s: float, levels: int, budget_s: float = DEFAULT_BUDGET_S, quick: bool = False) -> BenchPlan:
    """The plan to run: :data:`QUICK_PLAN` (every figure once) when ``quick``, else the
    smallest plan grown part by part (:data:`GROWTH` order) while its estimate fits
    ``budget_s`` seconds."""
    if quick:
        return QUICK_PLAN
    plan = SMALLEST_PLAN
    for name, values in GROWTH:
        for value in values:
            candidate = replace(plan, **{name: value})
            if candidate.seconds(full_s, levels) > budget_s:
                break
            plan = candidate
    return plan


class Deadline:
    """What is left of the budget while the bench runs. :meth:`allows` says whether a figure
    estimated at ``renders`` exact full renders (plus ``seconds``) still fits before the end,
    and records the name of each one that does not; ``budget_s`` None allows everything."""

    def __init__(self, budget_s: float | None, start: float | None = None, clock=time.perf_counter):
        self._clock = clock
        self.end = None if budget_s is None else (clock() if start is None else start) + budget_s
        self.full_s = 0.0  # set once the first exact render is timed
        self.skipped: list[str] = []

    def allows(self, name: str, renders: float, seconds: float = 0.0) -> bool:
        if self.end is None or self._clock() + renders * self.full_s + seconds <= self.end:
            return True
        self.skipped.append(name)
        return False
