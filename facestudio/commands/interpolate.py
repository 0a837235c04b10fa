"""``facestudio interpolate``: the frames from one seed's face to another's, linear in W.

``facestudio interpolate --from A --to B --frames N [--layers 0-6] [--psi P] [--model M]
--out F``: F decides what is written, every file with the provenance stamp
(:mod:`facestudio.provenance.sequence`): ``.png`` / ``.jpg`` one sheet (the frames side by
side); ``.webp`` / ``.gif`` an endlessly looping animation, forth and back as the studio's
strip plays (``--one-way`` for A to B only; WebP lossless); a path ending in ``/`` or an
existing folder: ``frame_0000.png``... Frames, layers and sizes are checked before the model
is read or anything rendered.
"""

from __future__ import annotations

from pathlib import Path

from facestudio.commands.arguments import UserError, export_args, json_arg, latent_args, model_arg, parse_layer_list
from facestudio.commands.output import check_lookalikes, load_model, lookalike_facts, result, stamp_facts
from facestudio.commands.progress import face_progress


def _layer_range(text: str | None, num_ws: int) -> tuple[int, int]:
    """``--layers 4-7`` (inclusive, one range) -> the half-open ws rows ``(4, 8)``; all by default."""
    if text is None:
        return 0, num_ws
    layers = parse_layer_list(text, num_ws)
    if layers != list(range(layers[0], layers[-1] + 1)):
        raise UserError(f"--layers {text!r} is not one range: interpolate moves one run of layers, like 0-6 or 8-")
    return layers[0], layers[-1] + 1


def cmd_interpolate(args) -> int:
    from facestudio.bounded_json import dumps_strict
    from facestudio.latent.recipe import Recipe
    from facestudio.latent.seeds import check_seed
    from facestudio.provenance import ExportOptions, make_stamp
    from facestudio.provenance.sequence import check_strip, export_strip, strip_kind
    from facestudio.render.interpolate import MAX_STEPS, render_strip
    from facestudio.render.renderer import Renderer
    if not 2 <= args.frames <= MAX_STEPS:
        raise UserError(f"--frames must be from 2 to {MAX_STEPS}, not {args.frames}")
    if not 1 <= args.frame_ms <= 60_000:
        raise UserError(f"--frame-ms must be from 1 to 60000 milliseconds, not {args.frame_ms}")
    check_seed(args.from_seed)
    check_seed(args.to_seed)
    kind = strip_kind(args.out)
    options = ExportOptions(quality=args.quality, scale=args.scale, lossless=True)
    check_strip(args.out, args.frames, 1, 1, options, args.overwrite)  # the path, before the model is read
    g = load_model(args.model)
    layers = _layer_range(args.layers, g.num_ws)
    check_strip(args.out, args.frames, g.resolution, g.resolution, options, args.overwrite)
    a, b = (Recipe(g.sha256, seed, psi=args.psi, cutoff=args.cutoff, noise=args.noise, class_idx=args.class_idx,
                   model_name=g.name) for seed in (args.from_seed, args.to_seed))
    with face_progress("interpolate", args.frames) as advance:
        frames = render_strip(Renderer(g), a, b, args.frames, layers, progress=advance)
    stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256, artist=args.artist or "",
                       attribution=args.attribution)
    compact = dict(sort_keys=True, separators=(",", ":"))
    extra = {"Interpolation": f"from seed {a.seed} to seed {b.seed}; layers {layers[0]}-{layers[1] - 1}; "
                              f"{args.frames} frames; psi {args.psi}; noise {args.noise}",
             "InterpolationFrom": dumps_strict(a.to_dict(), **compact),
             "InterpolationTo": dumps_strict(b.to_dict(), **compact)}
    checked = check_lookalikes(g, frames, args, Path(args.out).name or str(args.out))
    extra.update(checked)
    written = export_strip(frames, args.out, stamp, options, args.overwrite, extra, args.frame_ms,
                           bounce=not args.one_way)
    where = written[0] if kind != "frames" else f"{len(written)} frames to {written[0].parent}"
    result(args, f"wrote {where} (seed {a.seed} to {b.seed}, {args.frames} frames, layers {layers[0]}-{layers[1] - 1})",
           {"written": [str(p) for p in written], "kind": kind, "from": a.seed, "to": b.seed, "frames": args.frames,
            "layers": [layers[0], layers[1] - 1], "psi": args.psi, "model": g.name, "stamp": stamp_facts(stamp),
            "lookalike": lookalike_facts(checked)})
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("interpolate", help="frames from one seed's face to another's: a sheet, an animation "
                        "or numbered frames")
    model_arg(sp)
    sp.add_argument("--from", dest="from_seed", type=int, required=True, metavar="SEED", help="the first face")
    sp.add_argument("--to", dest="to_seed", type=int, required=True, metavar="SEED", help="the last face")
    sp.add_argument("--frames", type=int, default=16, help="frames from A to B, both included (2-240, default 16)")
    sp.add_argument("--layers", default=None, help="the layers that travel, e.g. 0-6 or 8- (default all; the "
                    "others stay the first face's)")
    latent_args(sp)
    export_args(sp)
    sp.add_argument("--frame-ms", type=int, default=80, help="milliseconds per animation frame (default 80)")
    sp.add_argument("--one-way", action="store_true", help="an animation from A to B only, not forth and back")
    json_arg(sp)
    sp.add_argument("--out", required=True, help="a sheet (.png .jpg), an animation (.webp .gif, WebP lossless) "
                    "or a folder of numbered frames (a path ending in /, or an existing folder)")
    sp.set_defaults(func=cmd_interpolate)
