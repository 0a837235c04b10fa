"""Where a StyleGAN2 render spends its time: per block and per operator.

Loads a model folder (for the FFHQ-size network, write one first with
``tests/benchmarks/ffhq_size_model.py /tmp/ffhq1024``), renders one face a few times in the
chosen precision and prints two tables from ``torch.profiler``: wall time per synthesis block
(its convolutions, noise, bias and activation, ToRGB and the skip upsampling) and the
operators that took the time, with their share of the whole render.

Run: ``.venv/bin/python tests/benchmarks/profile_synthesis.py /tmp/ffhq1024 [--precision bf16]
[--level K] [--reps 3]``. Not part of the test suite; run it with the machine otherwise idle.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from facestudio.generator.model import load_generator
from facestudio.latent.seeds import z_from_seed
from facestudio.render.allocator import keep_freed_memory
from facestudio.render.renderer import Renderer


def instrument_blocks(synthesis) -> None:
    """Wrap each block's ``features`` and ``image`` in a profiler range named after it."""
    for block in synthesis.blocks():
        for name in ("features", "image"):
            original = getattr(block, name)

            def wrapped(*args, _original=original, _label=f"b{block.resolution}.{name}", **kwargs):
                with record_function(_label):
                    return _original(*args, **kwargs)

            setattr(block, name, wrapped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--level", type=int, default=0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    keep_freed_memory()  # as the command line and the studio do at start
    if args.threads:
        torch.set_num_threads(args.threads)
    generator = load_generator(args.model)
    renderer = Renderer(generator)
    ws = generator.map(z_from_seed(1, generator.z_dim), psi=0.7)

    def render():
        renderer.clear_prefix_cache()
        renderer.render_ws(ws, "const", args.level, precision=args.precision)

    render()  # warm-up: weight copies, oneDNN primitives
    times = []
    for _ in range(args.reps):
        t = time.perf_counter()
        render()
        times.append((time.perf_counter() - t) * 1000)
    print(f"{generator.name}: {generator.resolution} px, {args.precision}, level {args.level}, "
          f"{torch.get_num_threads()} threads: render {min(times):.1f} ms best of {args.reps} "
          f"({', '.join(f'{t:.0f}' for t in times)})")
    instrument_blocks(generator.network.synthesis)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.reps):
            render()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / args.reps / 1000
    blocks = defaultdict(float)
    for e in events:
        if e.key.startswith("b") and "." in e.key and e.key.split(".")[0][1:].isdigit():
            blocks[e.key] += e.cpu_time_total / args.reps / 1000
    print(f"\nper block (ms per render; profiled total {total:.1f} ms)")
    for key in sorted(blocks, key=lambda k: (int(k.split(".")[0][1:]), k)):
        print(f"  {key:<18} {blocks[key]:8.1f}")
    print(f"\ntop operators by self time (ms per render, share)")
    ops = [e for e in events if not e.key.startswith("b") or "." not in e.key]
    for e in sorted(ops, key=lambda e: -e.self_cpu_time_total)[:args.top]:
        ms = e.self_cpu_time_total / args.reps / 1000
        print(f"  {e.key:<40} {ms:8.1f}  {100 * ms / total:5.1f} %  calls {e.count // args.reps}")


if __name__ == "__main__":
    main()
