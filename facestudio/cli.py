"""The command line: the composition root of facestudio.

Every command turns bad input into one sentence on stderr and a non-zero exit status;
tracebacks are reserved for bugs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from facestudio import __version__
from facestudio.bounded_json import dumps_strict

EXIT_USAGE = 2
EXIT_FAILED = 1
# A grid or mix sheet holds at most this many faces, and this many pixels (a 400 MB RGB
# image): bounds checked before anything is allocated.
MAX_SHEET_FACES = 4096
MAX_SHEET_PIXELS = 1 << 27


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
            if not part:
                continue
            a, dash, b = part.partition("-")
            lo = int(a) if a else 0
            hi = (int(b) if b else num_ws - 1) if dash else lo
            if a and b and lo > hi:
                raise UserError(f"layers {part!r} are reversed: write the lower layer first, as in {hi}-{lo}")
            if not 0 <= lo <= hi < num_ws:  # checked before the range is built, however large
                raise UserError(f"layers {text!r} are outside this model's 0-{num_ws - 1}")
            layers.update(range(lo, hi + 1))
    except ValueError:
        raise UserError(f"cannot read layer list {text!r}: use forms like 0-3, 4,5,6 or 8-") from None
    if not layers:
        raise UserError(f"layers {text!r} name no layer of this model's 0-{num_ws - 1}")
    return sorted(layers)


def _parse_int_list(text: str, what: str, limit: int = MAX_SHEET_FACES) -> list[int]:
    """``"1,2,10-15"`` -> the listed ints, refusing more than ``limit`` before building them."""
    out: list[int] = []
    for part in text.split(","):
        try:
            if "-" in part.strip()[1:]:
                a, _, b = part.strip().partition("-")
                span = range(int(a), int(b) + 1)
            else:
                span = range(int(part), int(part) + 1) if part.strip() else range(0)
        except ValueError:
            raise UserError(f"cannot read {what} {text!r}: use forms like 1,2,3 or 10-15") from None
        if len(out) + len(span) > limit:
            raise UserError(f"the {what} {text!r} name more than {limit} faces, the most one sheet holds")
        out.extend(span)
    return out


def _check_sheet(rows: int, cols: int, res: int, out: Path, options, margin: tuple[int, int] = (0, 0)) -> None:
    """Before anything is rendered, refuse a sheet of ``rows`` x ``cols`` cells of ``res``
    pixels (plus ``margin`` = (width, height) of labels) past :data:`MAX_SHEET_PIXELS`, or
    wider or taller than the format of ``out`` holds once exported with ``options``."""
    from facestudio.provenance.export import check_export_size
    width, height = cols * res + margin[0], rows * res + margin[1]
    if width * height > MAX_SHEET_PIXELS:
        raise UserError(f"a sheet of {rows} x {cols} faces of {res} pixels would be {width} x {height} "
                        f"pixels; facestudio makes sheets of at most {MAX_SHEET_PIXELS // 10**6} megapixels")
    check_export_size(out, width, height, options)


# --- commands ----------------------------------------------------------------------

def _export_options(args):
    """Check the output paths and export options before any model is loaded."""
    from facestudio.fileio import check_writable_target
    from facestudio.provenance.export import ExportOptions, resolve_format, sidecar_path
    options = ExportOptions(quality=args.quality, scale=args.scale, sidecar=getattr(args, "sidecar", False))
    resolve_format(args.out, options)
    check_writable_target(args.out, overwrite=args.overwrite)
    if options.sidecar:
        check_writable_target(sidecar_path(args.out), overwrite=args.overwrite)
    return options


def _stamped(g, image, args, options, recipe=None, xmp_extra=None) -> list[Path]:
    """Write ``image`` with the provenance stamp (model card terms, ``--artist``)."""
    from facestudio.provenance import export_image, make_stamp
    stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256, artist=args.artist or "",
                       attribution=args.attribution)
    return export_image(image, args.out, stamp, recipe, options, args.overwrite, xmp_extra)


def _transform_arg(args, g) -> tuple[float, float, float] | None:
    """``(tx, ty, angle)`` from ``--translate X,Y`` / ``--rotate DEG`` (as the reference
    ``gen_images.py``), or None when neither is given."""
    if args.translate is None and args.rotate is None:
        return None
    if not g.supports_transform:
        raise UserError(f"only StyleGAN3 models can translate or rotate a face, and {g.name} "
                        "is a StyleGAN2 model")
    tx = ty = 0.0
    if args.translate is not None:
        try:
            tx, ty = (float(v) for v in args.translate.split(","))
        except ValueError:
            raise UserError(f"cannot read --translate {args.translate!r}: use X,Y such as 0.1,-0.2") from None
    return (tx, ty, float(args.rotate or 0.0))


def cmd_render(args) -> int:
    from facestudio.latent.seeds import check_seed
    from facestudio.render.renderer import Renderer
    from facestudio.session.recipe import Recipe
    options = _export_options(args)
    check_seed(args.seed)
    g = _load(args.model)
    recipe = Recipe(g.sha256, args.seed, psi=args.psi, cutoff=args.cutoff, noise=args.noise,
                    class_idx=args.class_idx, model_name=g.name, transform=_transform_arg(args, g))
    written = _stamped(g, Renderer(g).render(recipe), args, options, recipe)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_inspect(args) -> int:
    from facestudio.provenance import format_report, read_provenance
    prov = read_provenance(args.file)
    print(dumps_strict(prov.as_dict(), indent=2, ensure_ascii=False) if args.json else format_report(prov))
    if not prov.is_stamped:
        print(f"facestudio: {args.file} carries no provenance stamp", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_mix(args) -> int:
    import numpy as np

    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    from facestudio.sheets import tile
    options = _export_options(args)
    rows = _parse_int_list(args.rows, "row seeds")
    cols = _parse_int_list(args.cols, "column seeds")
    if not rows or not cols:
        raise UserError("give at least one row seed and one column seed")
    if len(rows) * len(cols) > MAX_SHEET_FACES:
        raise UserError(f"a mix of {len(rows)} rows x {len(cols)} columns is {len(rows) * len(cols)} faces; "
                        f"one sheet holds at most {MAX_SHEET_FACES}")
    g = _load(args.model)
    layers = _parse_layers(args.layers, g.num_ws)
    res = g.resolution
    _check_sheet(len(rows) + 1, len(cols) + 1, res, args.out, options)
    seeds = sorted(set(rows + cols))
    ws = g.map(z_from_seeds(seeds, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    w_of = dict(zip(seeds, ws))
    renderer = Renderer(g)  # ws mapped in one call, like the reference; any set of layers mixes
    img_of = dict(zip(seeds, renderer.render_ws_batch(ws, args.noise)))
    mixed = np.stack([w_of[r].copy() for r in rows for _ in cols])
    for i, (r, c) in enumerate((r, c) for r in rows for c in cols):
        mixed[i, layers] = w_of[c][layers]
    cells = renderer.render_ws_batch(mixed, args.noise)
    faces = [None, *(img_of[c] for c in cols)]  # the reference layout: the top-left cell empty
    for i, r in enumerate(rows):
        faces += [img_of[r], *cells[i * len(cols):(i + 1) * len(cols)]]
    sheet = tile(faces, len(cols) + 1)
    _stamped(g, sheet, args, options, xmp_extra={"MixGrid": f"rows {args.rows}; columns {args.cols}; "
                                                  f"layers {args.layers}; psi {args.psi}; noise {args.noise}"})
    print(f"wrote {args.out} ({len(rows)} x {len(cols)} grid, layers {args.layers})")
    return 0


def cmd_grid(args) -> int:
    """A contact sheet: one face per seed, ``--cols`` per row, in seed order."""
    from facestudio.latent.seeds import check_seed, z_from_seeds
    from facestudio.render.renderer import Renderer
    from facestudio.sheets import tile
    options = _export_options(args)
    seeds = _parse_int_list(args.seeds, "seeds")
    if not seeds:
        raise UserError("give at least one seed, e.g. --seeds 0-63")
    for s in seeds:
        check_seed(s)
    if args.cols < 1:
        raise UserError("--cols must be at least 1")
    g = _load(args.model)
    cols = min(args.cols, len(seeds))
    rows = -(-len(seeds) // cols)
    res = g.resolution
    _check_sheet(rows, cols, res, args.out, options)
    ws = g.map(z_from_seeds(seeds, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    sheet = tile(Renderer(g).render_ws_batch(ws, args.noise), cols)
    _stamped(g, sheet, args, options, xmp_extra={
        "ContactSheet": f"seeds {args.seeds}; psi {args.psi}; noise {args.noise}; {cols} columns"})
    print(f"wrote {args.out} ({len(seeds)} faces, {rows} x {cols})")
    return 0


def cmd_info(args) -> int:
    g = _load(args.model)
    info = g.describe()
    if args.json:
        print(dumps_strict(info, indent=2))
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


def cmd_train(args) -> int:
    from facestudio.training.command import run_train
    return run_train(args)


def cmd_doctor(args) -> int:
    from facestudio.doctor import doctor, qt_probe
    return qt_probe() if args.qt_probe else doctor(as_json=args.json)


def cmd_gui(args) -> int:
    from facestudio.fileio import check_writable_target
    if args.file is not None and not os.path.lexists(args.file):
        print(f"facestudio: {args.file} is neither a file nor a facestudio command "
              "(see facestudio --help)", file=sys.stderr)
        return EXIT_USAGE
    if args.screenshot is not None:
        check_writable_target(args.screenshot, overwrite=True)
    from facestudio.ui.app import run_gui
    return run_gui(args.model, args.screenshot, args.file)


# --- parser -------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facestudio", description="Design faces of people who do not exist.")
    p.add_argument("--version", action="version", version=f"facestudio {__version__}")
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: cores - 1)")
    p.add_argument("--device", dest="render_device", default=None, help="where the generator runs: auto "
                   "(a CUDA GPU when present, the default), cpu or cuda; sets FACESTUDIO_DEVICE")
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
        sp.add_argument("--artist", default="", help="creator stamped into the file (dc:creator, EXIF Artist)")
        sp.add_argument("--attribution", default=None, help="credit line (default: the model card's)")
        sp.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality 1-100 (default 95)")
        sp.add_argument("--scale", type=int, default=1, help="integer Lanczos upscale factor (default 1)")

    sp = sub.add_parser("render", help="render one face")
    model_arg(sp)
    sp.add_argument("--seed", type=int, required=True)
    latent_args(sp)
    sp.add_argument("--out", type=Path, required=True, help="output image (.png .jpg .webp)")
    sp.add_argument("--sidecar", action="store_true", help="also write the recipe and stamp to OUT.json")
    sp.add_argument("--translate", default=None, help="StyleGAN3 only: move the face by X,Y "
                    "(the image spans about 1), as in the reference gen_images.py")
    sp.add_argument("--rotate", type=float, default=None, help="StyleGAN3 only: rotate by degrees")
    sp.set_defaults(func=cmd_render)

    sp = sub.add_parser("mix", help="style-mixing grid like the reference style_mixing.py")
    model_arg(sp)
    sp.add_argument("--rows", required=True, help="row seeds, e.g. 1,2")
    sp.add_argument("--cols", required=True, help="column (style donor) seeds, e.g. 3,4,5")
    sp.add_argument("--layers", default="0-6", help="layers taken from the column seed (default 0-6)")
    latent_args(sp)
    sp.add_argument("--out", type=Path, required=True)
    sp.set_defaults(func=cmd_mix)

    sp = sub.add_parser("grid", help="a contact sheet of faces for a list of seeds")
    model_arg(sp)
    sp.add_argument("--seeds", required=True, help="seeds, e.g. 0-63 or 1,5,9")
    sp.add_argument("--cols", type=int, default=8, help="faces per row (default 8)")
    latent_args(sp)
    sp.add_argument("--out", type=Path, required=True)
    sp.set_defaults(func=cmd_grid)

    sp = sub.add_parser("inspect", help="print the provenance and recipe stamped into an image")
    sp.add_argument("file", type=Path)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_inspect)

    sp = sub.add_parser("info", help="describe a model")
    sp.add_argument("model", nargs="?", default=None)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser("convert", help="convert a weight file to the native format")
    sp.add_argument("input")
    sp.add_argument("output", type=Path)
    sp.add_argument("--overwrite", action="store_true")
    sp.set_defaults(func=cmd_convert)

    from facestudio.directions_cli import add_parsers as add_direction_parsers
    add_direction_parsers(sub, model_arg, latent_args)
    from facestudio.attributes_cli import add_parser as add_attributes_parser
    add_attributes_parser(sub, model_arg)

    sp = sub.add_parser("bench", help="measure render, preview, re-render and drag speed for a model")
    model_arg(sp)
    sp.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                    help="about how long to measure (default: about a minute); sets the repetitions")
    sp.add_argument("--quick", action="store_true", help="each figure once (a few renders)")
    sp.add_argument("--reps", type=int, default=None, help="repetitions per timing (default: from the budget)")
    sp.add_argument("--drag-steps", type=int, default=None, help="slider moves in the simulated drag")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bench)

    from facestudio.training.command import add_train_arguments
    sp = sub.add_parser("train", help="train a generator (the bundled model's recipe)")
    add_train_arguments(sp)
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("doctor", help="check this machine for bug reports (Python, torch, GPU, Qt, folders)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    sp.set_defaults(func=cmd_doctor)

    sp = sub.add_parser("gui", help="open the studio window (facestudio FILE is short for facestudio gui FILE)")
    model_arg(sp)
    sp.add_argument("--screenshot", type=Path, default=None)
    sp.add_argument("file", nargs="?", default=None, help="a model, a session (.fsession) or an exported "
                    "image whose recipe to reopen, as a file manager opens it")
    sp.set_defaults(func=cmd_gui)
    return p


# the options before the command that take a value, as build_parser defines them
_GLOBAL_OPTIONS_WITH_VALUE = ("--threads", "--device")


def _with_gui_for_a_bare_path(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``argv`` with ``gui`` inserted before its first positional argument when that is not
    a command name: ``facestudio [OPTIONS] FILE`` opens FILE in the studio, as a file
    manager's double-click does. Command names win (``facestudio gui render`` opens a file
    named render)."""
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv[:i] + ["gui"] + argv[i:] if i + 1 < len(argv) else argv
        if arg in _GLOBAL_OPTIONS_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return argv if arg in commands else argv[:i] + ["gui"] + argv[i:]
    return argv


def main(argv: list[str] | None = None) -> int:
    from facestudio.fileio import OutputPathError
    from facestudio.generator.errors import ModelLoadError
    from facestudio.training.checkpoint import CheckpointError
    from facestudio.training.data import DatasetError

    parser = build_parser()
    args = parser.parse_args(_with_gui_for_a_bare_path(list(sys.argv[1:] if argv is None else argv), parser))
    if args.command is None:
        args.func, args.model, args.screenshot, args.file = cmd_gui, None, None, None
    if args.render_device:  # for this process and what it starts (train has its own --device)
        os.environ["FACESTUDIO_DEVICE"] = args.render_device
    try:
        if getattr(args, "psi", None) is not None:  # every command that truncates, before any work
            from facestudio.session.recipe import check_psi
            check_psi(args.psi)
        _threads(args.threads)
        return args.func(args)
    except (UserError, ModelLoadError, OutputPathError, DatasetError, CheckpointError, ValueError) as exc:
        print(f"facestudio: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("facestudio: interrupted", file=sys.stderr)
        return 130
