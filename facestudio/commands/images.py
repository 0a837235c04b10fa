"""The image commands: ``render`` one face, a style-``mix`` grid, a contact sheet (``grid``)
and ``inspect`` what an image carries."""

from __future__ import annotations

import sys
from pathlib import Path

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import (EXIT_FAILED, MAX_SHEET_FACES, UserError, export_args, json_arg, latent_args,
                                           model_arg, parse_layer_list, parse_seeds, seeds_arg)
from facestudio.commands.output import check_sheet, export_options, load_model, paths_text, result, stamped
from facestudio.commands.progress import face_progress


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
    from facestudio.latent.recipe import Recipe
    options = export_options(args)
    check_seed(args.seed)
    g = load_model(args.model)
    recipe = Recipe(g.sha256, args.seed, psi=args.psi, cutoff=args.cutoff, noise=args.noise,
                    class_idx=args.class_idx, model_name=g.name, transform=_transform_arg(args, g))
    written = stamped(g, Renderer(g).render(recipe), args, options, recipe)
    result(args, f"wrote {paths_text(written.paths)}", written.facts(seed=args.seed, psi=args.psi, model=g.name))
    return 0


def cmd_inspect(args) -> int:
    from facestudio.provenance import format_report, read_provenance
    prov = read_provenance(args.file)
    print(dumps_strict(prov.as_dict(), indent=2, ensure_ascii=False) if args.json else format_report(prov))
    if not prov.is_stamped:
        if prov.watermark.found:  # the metadata is gone, the pixels still say who made it
            print(f"facestudio: {args.file} carries no provenance stamp, but its invisible watermark says "
                  "facestudio made it", file=sys.stderr)
            return 0
        print(f"facestudio: {args.file} carries no provenance stamp", file=sys.stderr)
        return EXIT_FAILED
    return 0


def cmd_mix(args) -> int:
    import numpy as np

    from facestudio.latent.mixing import grid_layout
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    from facestudio.sheets import tile
    options = export_options(args)
    rows = parse_seeds(args.rows, "row seeds")
    cols = parse_seeds(args.cols, "column seeds")
    if len(rows) * len(cols) > MAX_SHEET_FACES:
        raise UserError(f"a mix of {len(rows)} rows x {len(cols)} columns is {len(rows) * len(cols)} faces; "
                        f"one sheet holds at most {MAX_SHEET_FACES}")
    g = load_model(args.model)
    layers = parse_layer_list(args.layers, g.num_ws)
    res = g.resolution
    check_sheet(len(rows) + 1, len(cols) + 1, res, args.out, options)
    seeds = sorted(set(rows + cols))
    ws = g.map(z_from_seeds(seeds, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    w_of = dict(zip(seeds, ws))
    renderer = Renderer(g)  # ws mapped in one call, like the reference; any set of layers mixes
    mixed = np.stack([w_of[r].copy() for r in rows for _ in cols])
    for i, (r, c) in enumerate((r, c) for r in rows for c in cols):
        mixed[i, layers] = w_of[c][layers]
    with face_progress("mix", len(seeds) + len(mixed)) as advance:
        img_of = dict(zip(seeds, renderer.render_ws_batch(ws, args.noise, progress=advance)))
        cells = renderer.render_ws_batch(mixed, args.noise, progress=advance)
    faces = grid_layout([img_of[r] for r in rows], [img_of[c] for c in cols], cells)
    sheet = tile(faces, len(cols) + 1)
    written = stamped(g, sheet, args, options, xmp_extra={"MixGrid": f"rows {args.rows}; columns {args.cols}; "
                                                          f"layers {args.layers}; psi {args.psi}; noise {args.noise}"},
                      faces=[f for f in faces if f is not None])
    result(args, f"wrote {args.out} ({len(rows)} x {len(cols)} grid, layers {args.layers})",
           written.facts(rows=rows, cols=cols, layers=layers, psi=args.psi, model=g.name))
    return 0


def cmd_grid(args) -> int:
    """A contact sheet: one face per seed, ``--cols`` per row, in seed order."""
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    from facestudio.sheets import tile
    options = export_options(args)
    seeds = parse_seeds(args.seeds)
    if args.cols < 1:
        raise UserError("--cols must be at least 1")
    g = load_model(args.model)
    cols = min(args.cols, len(seeds))
    rows = -(-len(seeds) // cols)
    res = g.resolution
    check_sheet(rows, cols, res, args.out, options)
    ws = g.map(z_from_seeds(seeds, g.z_dim), c=args.class_idx, psi=args.psi, cutoff=args.cutoff)
    with face_progress("grid", len(seeds)) as advance:
        faces = Renderer(g).render_ws_batch(ws, args.noise, progress=advance)
    written = stamped(g, tile(faces, cols), args, options, xmp_extra={
        "ContactSheet": f"seeds {args.seeds}; psi {args.psi}; noise {args.noise}; {cols} columns"}, faces=faces)
    result(args, f"wrote {args.out} ({len(seeds)} face{'s' if len(seeds) != 1 else ''}, {rows} x {cols})",
           written.facts(faces=len(seeds), rows=rows, cols=cols, psi=args.psi, model=g.name))
    return 0


def add_parsers(sub) -> None:
    """Register ``render``, ``mix``, ``grid`` and ``inspect`` on the main parser's subparsers."""
    sp = sub.add_parser("render", help="render one face")
    model_arg(sp)
    sp.add_argument("--seed", type=int, required=True)
    latent_args(sp)
    export_args(sp)
    sp.add_argument("--out", type=Path, required=True, help="output image (.png .jpg .webp)")
    sp.add_argument("--sidecar", action="store_true", help="also write the recipe and stamp to OUT.json")
    json_arg(sp)
    sp.add_argument("--translate", default=None, help="StyleGAN3 only: move the face by X,Y "
                    "(the image spans about 1), as in the reference gen_images.py")
    sp.add_argument("--rotate", type=float, default=None, help="StyleGAN3 only: rotate by degrees")
    sp.set_defaults(func=cmd_render)

    sp = sub.add_parser("mix", help="style-mixing grid like the reference style_mixing.py")
    model_arg(sp)
    seeds_arg(sp, "--rows", "row seeds", required=True)
    seeds_arg(sp, "--cols", "column (style donor) seeds", required=True)
    sp.add_argument("--layers", default="0-6", help="layers taken from the column seed (default 0-6)")
    latent_args(sp)
    export_args(sp)
    sp.add_argument("--out", type=Path, required=True)
    json_arg(sp)
    sp.set_defaults(func=cmd_mix)

    sp = sub.add_parser("grid", help="a contact sheet of faces for a list of seeds")
    model_arg(sp)
    seeds_arg(sp, required=True)
    sp.add_argument("--cols", type=int, default=8, help="faces per row (default 8)")
    latent_args(sp)
    export_args(sp)
    sp.add_argument("--out", type=Path, required=True)
    json_arg(sp)
    sp.set_defaults(func=cmd_grid)

    sp = sub.add_parser("inspect", help="print the provenance and recipe stamped into an image")
    sp.add_argument("file", type=Path)
    json_arg(sp, "the stamp, the recipe and the watermark")
    sp.set_defaults(func=cmd_inspect)
