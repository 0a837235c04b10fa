"""The command line: the composition root of facestudio.

Every command turns bad input into one sentence on stderr and a non-zero exit status;
tracebacks are reserved for bugs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from facestudio import __version__

EXIT_USAGE = 2
EXIT_FAILED = 1


class UserError(Exception):
    """A problem with what the user asked for; the message is shown as it is."""


def _threads(n: int | None) -> None:
    """Set torch's intra-op threads once: all cores but one by default (one is for the GUI)."""
    import torch
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, n if n else cores - 1 if cores > 2 else cores))


def _progress_printer(label: str):
    """A progress callback for large files: a single updating line on stderr."""
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        if total < 64 << 20:
            return
        pct = int(100 * done / total)
        if pct != state["last"]:
            state["last"] = pct
            end = "\n" if done >= total else ""
            print(f"\r{label}: {pct:3d}% of {total / 2**20:.0f} MiB", end=end, file=sys.stderr, flush=True)

    return report


def _load(model: str | None):
    from facestudio.generator import load_generator
    return load_generator(model, progress=_progress_printer("reading model"))


def _parse_layers(text: str, num_ws: int) -> list[int]:
    """``"0-3"`` / ``"4,5,6"`` / ``"8-"`` -> sorted layer indices within ``[0, num_ws)``."""
    layers: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                a, _, b = part.partition("-")
                lo = int(a) if a else 0
                hi = int(b) if b else num_ws - 1
                layers.update(range(lo, hi + 1))
            elif part:
                layers.add(int(part))
    except ValueError:
        raise UserError(f"cannot read layer list {text!r}: use forms like 0-3, 4,5,6 or 8-") from None
    bad = sorted(i for i in layers if not 0 <= i < num_ws)
    if bad or not layers:
        raise UserError(f"layers {text!r} are outside this model's 0-{num_ws - 1}")
    return sorted(layers)


def _parse_int_list(text: str, what: str) -> list[int]:
    try:
        out = []
        for part in text.split(","):
            if "-" in part.strip()[1:]:
                a, _, b = part.strip().partition("-")
                out.extend(range(int(a), int(b) + 1))
            elif part.strip():
                out.append(int(part))
        return out
    except ValueError:
        raise UserError(f"cannot read {what} {text!r}: use forms like 1,2,3 or 10-15") from None


def _save_image(image, out: Path, overwrite: bool) -> None:
    """Write one uint8 ``[H, W, 3]`` image atomically; format from the extension."""
    from PIL import Image

    from facestudio.fileio import atomic_write
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
    fmt = formats.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"cannot write {out}: the extension must be .png, .jpg or .webp")
    with atomic_write(out, overwrite=overwrite) as tmp:
        kwargs = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
        Image.fromarray(image).save(tmp, format=fmt, **kwargs)


# --- commands ----------------------------------------------------------------------

def cmd_render(args) -> int:
    from facestudio.fileio import check_writable_target
    from facestudio.latent.seeds import check_seed, z_from_seed
    check_writable_target(args.out, overwrite=args.overwrite)
    check_seed(args.seed)
    g = _load(args.model)
    ws = g.map(z_from_seed(args.seed, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    _save_image(g.synthesize(ws, noise=args.noise)[0], args.out, args.overwrite)
    print(f"wrote {args.out}")
    return 0


def cmd_mix(args) -> int:
    import numpy as np

    from facestudio.fileio import check_writable_target
    from facestudio.latent.seeds import z_from_seeds
    check_writable_target(args.out, overwrite=args.overwrite)
    rows = _parse_int_list(args.rows, "row seeds")
    cols = _parse_int_list(args.cols, "column seeds")
    if not rows or not cols:
        raise UserError("give at least one row seed and one column seed")
    g = _load(args.model)
    layers = _parse_layers(args.layers, g.num_ws)
    seeds = sorted(set(rows + cols))
    ws = g.map(z_from_seeds(seeds, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    w_of = dict(zip(seeds, ws))
    singles = g.synthesize(ws, noise=args.noise)
    img_of = dict(zip(seeds, singles))
    mixed = np.stack([w_of[r].copy() for r in rows for _ in cols])
    for i, (r, c) in enumerate((r, c) for r in rows for c in cols):
        mixed[i, layers] = w_of[c][layers]
    cells = g.synthesize(mixed, noise=args.noise)
    res = g.resolution
    sheet = np.zeros(((len(rows) + 1) * res, (len(cols) + 1) * res, 3), np.uint8)
    for j, c in enumerate(cols):
        sheet[0:res, (j + 1) * res:(j + 2) * res] = img_of[c]
    for i, r in enumerate(rows):
        sheet[(i + 1) * res:(i + 2) * res, 0:res] = img_of[r]
        for j in range(len(cols)):
            sheet[(i + 1) * res:(i + 2) * res, (j + 1) * res:(j + 2) * res] = cells[i * len(cols) + j]
    _save_image(sheet, args.out, args.overwrite)
    print(f"wrote {args.out} ({len(rows)} x {len(cols)} grid, layers {args.layers})")
    return 0


def cmd_info(args) -> int:
    g = _load(args.model)
    info = g.describe()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for k, v in info.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}:{b}" for a, b in v.items())
        print(f"{k:<{width}}  {v}")
    return 0


def cmd_convert(args) -> int:
    from facestudio.generator.native import write_native
    g = _load(args.input)
    card = g.card.to_text() if g.card else None
    write_native(args.output, g.config, g.network.state_dict(), card_text=card, overwrite=args.overwrite,
                 source={"file": Path(args.input).name, "sha256": g.sha256,
                         "format": g.meta.get("format")})
    print(f"wrote {args.output} (facestudio native format)")
    return 0


def cmd_train(args) -> int:
    from facestudio.training.command import run_train
    return run_train(args)


def cmd_gui(args) -> int:
    from facestudio.fileio import check_writable_target
    if args.screenshot is not None:
        check_writable_target(args.screenshot, overwrite=True)
    from facestudio.ui.app import run_gui
    return run_gui(args.model, args.screenshot)


# --- parser -------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facestudio", description="Design faces of people who do not exist.")
    p.add_argument("--version", action="version", version=f"facestudio {__version__}")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: cores - 1)")
    sub = p.add_subparsers(dest="command")

    def model_arg(sp, required=False):
        sp.add_argument("--model", default=None, required=required,
                        help="weight file or native model folder (default: the bundled model)")

    def latent_args(sp):
        sp.add_argument("--psi", type=float, default=1.0, help="truncation psi (default 1.0)")
        sp.add_argument("--cutoff", type=int, default=None, help="truncate only the first K layers")
        sp.add_argument("--noise", choices=("const", "random", "none"), default="const")
        sp.add_argument("--class", dest="class_idx", type=int, default=None,
                        help="class index for conditional models")
        sp.add_argument("--overwrite", action="store_true", help="replace an existing output file")

    sp = sub.add_parser("render", help="render one face")
    model_arg(sp)
    sp.add_argument("--seed", type=int, required=True)
    latent_args(sp)
    sp.add_argument("--out", type=Path, required=True, help="output image (.png .jpg .webp)")
    sp.set_defaults(func=cmd_render)

    sp = sub.add_parser("mix", help="style-mixing grid like the reference style_mixing.py")
    model_arg(sp)
    sp.add_argument("--rows", required=True, help="row seeds, e.g. 1,2")
    sp.add_argument("--cols", required=True, help="column (style donor) seeds, e.g. 3,4,5")
    sp.add_argument("--layers", default="0-6", help="layers taken from the column seed (default 0-6)")
    latent_args(sp)
    sp.add_argument("--out", type=Path, required=True)
    sp.set_defaults(func=cmd_mix)

    sp = sub.add_parser("info", help="describe a model")
    sp.add_argument("model", nargs="?", default=None)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser("convert", help="convert a weight file to the native format")
    sp.add_argument("input")
    sp.add_argument("output", type=Path)
    sp.add_argument("--overwrite", action="store_true")
    sp.set_defaults(func=cmd_convert)

    from facestudio.training.command import add_train_arguments
    sp = sub.add_parser("train", help="train a generator (the bundled model's recipe)")
    add_train_arguments(sp)
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("gui", help="open the studio window")
    model_arg(sp)
    sp.add_argument("--screenshot", type=Path, default=None)
    sp.set_defaults(func=cmd_gui)
    return p


def main(argv: list[str] | None = None) -> int:
    from facestudio.fileio import OutputPathError
    from facestudio.generator.errors import ModelLoadError
    from facestudio.training.data import DatasetError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or [])])
    try:
        _threads(args.threads)
        return args.func(args)
    except (UserError, ModelLoadError, OutputPathError, DatasetError, ValueError) as exc:
        print(f"facestudio: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("facestudio: interrupted", file=sys.stderr)
        return 130
