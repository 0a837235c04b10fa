"""The command line's direction commands: ``directions``, ``edit`` and ``sheet``.

* ``facestudio directions [--model M] --method pca|sefa[-coarse|-middle|-fine] --count K
  --out FILE`` discovers directions (cached per model) and writes a bundle (``.npz``, with
  names, layer ranges, scales and the model's sha256) or unit vectors (``.npy``).
* ``facestudio edit [--model M] --seed N [--psi P] [--directions FILE ...]
  --direction NAME=AMOUNT[@LAYERS] ... --out FILE`` renders one edited face.
* ``facestudio sheet [--model M] --seeds 1,2,3 --direction NAME[@LAYERS] ...
  [--amounts=-2,-1,0,1,2] --out FILE`` renders a contact sheet: one row per direction and
  seed, one column per amount.

NAME is a direction id or name from the ``--directions`` files (searched first), else one
of the model's discovered directions: ``pca0``.. / ``PC 1``.., ``sefa0``.. / ``SeFa 1``..,
``sefa-coarse0`` / ``SeFa coarse 1`` (and ``middle``, ``fine``). AMOUNT is in slider units
(standard deviations of W along the direction); LAYERS like ``4-7`` (inclusive) or ``8-``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facestudio.commands.arguments import (MAX_SHEET_FACES, UserError, export_args, json_arg, latent_args, model_arg,
                                           parse_layer_list, parse_seeds, seeds_arg)
from facestudio.commands.output import check_sheet, export_options, load_model, paths_text, result, stamped
from facestudio.commands.progress import face_progress, message
from facestudio.latent.directions import Direction, DirectionError, find_direction

SHEET_LABEL_WIDTH = 92
SHEET_HEADER = 14


# --- resolving names --------------------------------------------------------------------

def load_direction_files(paths, g, found, allow_other_model: bool) -> list[Direction]:
    """Directions from ``--directions`` files for generator ``g``; ``.npy`` ones get their
    unit from the model's W statistics. A bundle from another model needs the flag."""
    from facestudio.latent.direction_files import adopt, read_directions
    out = []
    for path in paths or ():
        res = read_directions(path, g.w_dim, g.num_ws, model_sha256=g.sha256)
        dirs = res.directions
        if res.other_model:
            if not allow_other_model:
                raise UserError(f"{Path(path).name} was made for another model (sha256 "
                                       f"{res.other_model[:12]}); pass --allow-other-model to use it anyway")
            message(f"warning: using {Path(path).name}, made for another model (sha256 {res.other_model[:12]})")
            dirs = adopt(dirs, g.sha256)
        if Path(path).suffix.lower() == ".npy":
            dirs = [found.with_std_scale(d) for d in dirs]
        out.extend(dirs)
    return out


def resolve(name: str, available: list[Direction]) -> Direction:
    """:func:`facestudio.latent.directions.find_direction`, refused with :class:`UserError`."""
    try:
        return find_direction(name, available, "give an id or name from --directions files or one of the model's "
                                               "pca0.., sefa0.., sefa-coarse0.. directions")
    except DirectionError as exc:
        raise UserError(str(exc)) from None


def parse_layers(text: str, num_ws: int) -> tuple[int, int]:
    """``"4-7"`` (inclusive) -> ``(4, 8)``; the layers must be one contiguous run."""
    layers = parse_layer_list(text, num_ws)
    if layers != list(range(layers[0], layers[-1] + 1)):
        raise UserError(f"layers {text!r} must be one contiguous range such as 4-7")
    return layers[0], layers[-1] + 1


def parse_edit(spec: str, available: list[Direction], num_ws: int) -> tuple[Direction, float, tuple[int, int]]:
    """``NAME=AMOUNT[@LAYERS]`` -> (direction, amount, half-open layers)."""
    name, eq, rest = spec.rpartition("=")
    if not eq or not name:
        raise UserError(f"cannot read --direction {spec!r}: use NAME=AMOUNT or NAME=AMOUNT@4-7")
    amount_text, at, layers_text = rest.partition("@")
    try:
        amount = float(amount_text)
    except ValueError:
        raise UserError(f"cannot read the amount in --direction {spec!r}: it must be a number") from None
    if not np.isfinite(amount):
        raise UserError(f"the amount in --direction {spec!r} must be a finite number")
    d = resolve(name, available)
    return d, amount, parse_layers(layers_text, num_ws) if at else d.layers


def _available(args, g):
    from facestudio.render.discovery import discover
    from facestudio.render.model_directions import model_directions
    found = discover(g)
    keep = len(found.pca_vectors)
    files = load_direction_files(args.directions, g, found, args.allow_other_model)
    ids = {d.id for d in files}
    return files + [d for d in model_directions(g) + found.all_directions(keep) if d.id not in ids]  # files win


# --- commands ---------------------------------------------------------------------------

def cmd_directions(args) -> int:
    from facestudio.fileio import check_writable_target
    from facestudio.latent.direction_files import write_directions
    from facestudio.latent.discovery import METHODS
    from facestudio.render.discovery import discover
    if args.count < 1:
        raise UserError("--count must be at least 1")
    if Path(args.out).suffix.lower() not in (".npz", ".npy"):
        raise UserError(f"cannot write {args.out}: the extension must be .npz (bundle) or .npy (vectors)")
    check_writable_target(args.out, overwrite=args.overwrite)
    g = load_model(args.model)
    found = discover(g)
    if args.method not in found.methods():
        raise UserError(f"this model offers only {', '.join(found.methods())} (not {args.method})")
    dirs = found.directions(args.method, args.count)
    write_directions(dirs, args.out, overwrite=args.overwrite)
    lines = []
    for d in dirs:
        layers = f"layers {d.layers[0]}-{d.layers[1] - 1}"
        extra = next((f"{k} {v:.4g}" for k, v in d.meta.items() if k in ("variance_ratio", "eigenvalue")), "")
        lines.append(f"{d.id:<16} {d.name:<18} {layers:<12} 1 unit = {d.scale:.4g} in W  {extra}")
    facts = [{"id": d.id, "name": d.name, "layers": [d.layers[0], d.layers[1] - 1], "scale": float(d.scale)}
             for d in dirs]
    result(args, "\n".join(lines + [f"wrote {args.out} ({len(dirs)} {METHODS[args.method]} directions)"]),
           {"written": [str(args.out)], "method": args.method, "model": g.name, "directions": facts})
    return 0


def cmd_edit(args) -> int:
    from facestudio.latent.seeds import check_seed
    from facestudio.render.renderer import Renderer
    from facestudio.latent.recipe import Edit, Recipe
    options = export_options(args)
    check_seed(args.seed)
    if not args.direction:
        raise UserError("give at least one --direction NAME=AMOUNT")
    g = load_model(args.model)
    available = _available(args, g)
    edits, used = [], {}
    for spec in args.direction:
        d, amount, layers = parse_edit(spec, available, g.num_ws)
        edits.append(Edit(d.id, amount, layers))
        used[d.id] = d
    recipe = Recipe(g.sha256, args.seed, psi=args.psi, cutoff=args.cutoff, noise=args.noise,
                    class_idx=args.class_idx, edits=tuple(edits), model_name=g.name)
    image = Renderer(g, used).render(recipe)
    written = stamped(g, image, args, options, recipe)
    result(args, f"wrote {paths_text(written.paths)}", written.facts(seed=args.seed, psi=args.psi, model=g.name,
                                                                    edits=list(args.direction)))
    return 0


def cmd_sheet(args) -> int:
    from facestudio.latent.directions import apply_edits
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    options = export_options(args)
    seeds = parse_seeds(args.seeds)
    amounts = _parse_amounts(args.amounts)
    if not args.direction:
        raise UserError("give at least one --direction")
    g = load_model(args.model)
    available = _available(args, g)
    picked = []
    for spec in args.direction:
        name, at, layers_text = spec.partition("@")
        d = resolve(name, available)
        picked.append((d, parse_layers(layers_text, g.num_ws) if at else d.layers))
    n_rows = len(picked) * len(seeds)
    if n_rows * len(amounts) > MAX_SHEET_FACES:
        raise UserError(f"a sheet of {n_rows} rows x {len(amounts)} amounts is {n_rows * len(amounts)} "
                            f"faces; one sheet holds at most {MAX_SHEET_FACES}")
    check_sheet(n_rows, len(amounts), g.resolution, args.out, options, (SHEET_LABEL_WIDTH, SHEET_HEADER))
    base = g.map(z_from_seeds(seeds, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    rows = []
    for d, layers in picked:
        for w in base:
            rows.append(np.stack([apply_edits(w, [(d.id, a, layers)], {d.id: d}) for a in amounts]))
    ws = np.concatenate(rows)
    with face_progress("sheet", len(ws)) as advance:
        images = Renderer(g).render_ws_batch(ws, args.noise, progress=advance)
    labels = [f"{d.name}\nseed {s}\nL{layers[0]}-{layers[1] - 1}" for d, layers in picked for s in seeds]
    sheet = compose_sheet(images.reshape(len(labels), len(amounts), *images.shape[1:]), labels,
                          [f"{a:+g}" for a in amounts], group=len(seeds))
    written = stamped(g, sheet, args, options, xmp_extra={
        "DirectionSheet": f"directions {', '.join(d.id for d, _ in picked)}; seeds {args.seeds}; "
                          f"amounts {', '.join(f'{a:g}' for a in amounts)}; psi {args.psi}"}, faces=images)
    result(args, f"wrote {args.out} ({len(picked)} directions x {len(seeds)} seeds x {len(amounts)} amounts)",
           written.facts(directions=[d.id for d, _ in picked], seeds=seeds, amounts=amounts, psi=args.psi))
    return 0


def _parse_amounts(text: str) -> list[float]:
    """``"-2,0,2"`` -> the amounts, each within the recipe's edit range, at most one sheet's worth."""
    from facestudio.latent.recipe import check_amount
    parts = [a for a in text.split(",") if a.strip()]
    if len(parts) > MAX_SHEET_FACES:
        raise UserError(f"--amounts lists {len(parts)} amounts, more than the "
                               f"{MAX_SHEET_FACES} faces one sheet holds")
    try:
        amounts = [float(a) for a in parts]
    except ValueError:
        raise UserError(f"cannot read amounts {text!r}: use a list like -2,-1,0,1,2") from None
    if not amounts:
        raise UserError("give finite amounts like --amounts=-2,-1,0,1,2")
    return [check_amount(a, "the amount in --amounts") for a in amounts]


def compose_sheet(cells: np.ndarray, labels: list[str], headers: list[str], group: int = 1) -> np.ndarray:
    """cells ``[rows, cols, R, R, 3]`` uint8 -> one image with a header row and a label
    column; a thin line separates every ``group`` rows."""
    from PIL import Image, ImageDraw, ImageFont
    from facestudio.sheets import tile
    n_rows, n_cols, res = cells.shape[0], cells.shape[1], cells.shape[2]
    sheet = Image.fromarray(tile(cells.reshape(-1, *cells.shape[2:]), n_cols,
                                 margin=(SHEET_HEADER, 0, 0, SHEET_LABEL_WIDTH), background=(24, 24, 27)))
    width = sheet.width
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for j, text in enumerate(headers):
        draw.text((SHEET_LABEL_WIDTH + j * res + res // 2 - 3 * len(text), 2), text, fill=(230, 230, 230), font=font)
    for i in range(n_rows):
        y = SHEET_HEADER + i * res
        draw.multiline_text((4, y + 4), labels[i], fill=(230, 230, 230), font=font, spacing=2)
        if i and i % group == 0:
            draw.line([(0, y), (width, y)], fill=(138, 180, 248), width=1)
    return np.asarray(sheet)


# --- parsers ----------------------------------------------------------------------------

def add_parsers(sub) -> None:
    """Register the three commands on the main parser's subparsers."""
    from facestudio.latent.discovery import METHODS

    def direction_files(sp):
        sp.add_argument("--directions", action="append", type=Path, default=[], metavar="FILE",
                        help="direction bundle (.npz) or vectors (.npy); repeatable")
        sp.add_argument("--allow-other-model", action="store_true",
                        help="use a bundle made for another model anyway")

    sp = sub.add_parser("directions", help="discover latent directions (PCA / SeFa) and save them")
    model_arg(sp)
    sp.add_argument("--method", choices=list(METHODS), default="pca")
    sp.add_argument("--count", type=int, default=12)
    sp.add_argument("--out", type=Path, required=True, help="bundle (.npz) or unit vectors (.npy)")
    sp.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    json_arg(sp, "what was written and the directions")
    sp.set_defaults(func=cmd_directions)

    sp = sub.add_parser("edit", help="render one face moved along latent directions")
    model_arg(sp)
    sp.add_argument("--seed", type=int, required=True)
    sp.add_argument("--direction", action="append", default=[], metavar="NAME=AMOUNT[@LAYERS]",
                    help="e.g. pca0=1.5, 'PC 2=-1@0-3' (repeatable; amounts in standard deviations)")
    direction_files(sp)
    latent_args(sp)
    export_args(sp)
    sp.add_argument("--out", type=Path, required=True, help="output image (.png .jpg .webp)")
    sp.add_argument("--sidecar", action="store_true", help="also write the recipe and stamp to OUT.json")
    json_arg(sp)
    sp.set_defaults(func=cmd_edit)

    sp = sub.add_parser("sheet", help="contact sheet of directions at several amounts for several seeds")
    model_arg(sp)
    seeds_arg(sp, default="1,2,3")
    sp.add_argument("--direction", action="append", default=[], metavar="NAME[@LAYERS]", help="repeatable")
    sp.add_argument("--amounts", default="-2,-1,0,1,2", help="write as --amounts=-2,-1,0,1,2")
    direction_files(sp)
    latent_args(sp)
    export_args(sp)
    sp.add_argument("--out", type=Path, required=True, help="output image (.png .jpg .webp)")
    json_arg(sp)
    sp.set_defaults(func=cmd_sheet)
