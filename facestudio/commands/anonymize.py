"""``facestudio anonymize``: stand-ins for the person in a photo (:mod:`facestudio.anonymizer`).

The photo is read once into memory, bounded before decoding, and never written, cached or
logged: the output folder receives only the stand-ins, each a stamped, watermarked export
whose recipe is the stand-in's own (a seed and slider amounts) and whose stamp says it is a
stand-in made from a photo and how far (dlib) it is from the photo's face.
"""

from __future__ import annotations

import time
from pathlib import Path

from facestudio.commands.arguments import UserError, export_args, json_arg, model_arg
from facestudio.commands.output import export_guard, load_model, paths_text, result, stamped
from facestudio.commands.progress import bar, message

MAX_COUNT = 20
OUTPUT_NAME = "stand-in-{}.png"


def _one_thread() -> None:
    """The anonymizer's networks run on small batches. On a busy 2-core machine a second torch
    thread spins: 4 stand-ins took 82-98 s with 2 threads and 14-16 s with one at a load
    average of 10 (docs/anonymize.md); what a second thread gains on an idle machine was not
    measured. So one thread unless ``--threads`` says otherwise."""
    import torch
    torch.set_num_threads(1)


def output_paths(folder: Path, count: int, overwrite: bool) -> list[Path]:
    """The stand-ins' files in ``folder``, checked writable before any work."""
    from facestudio.fileio import check_writable_target
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {folder} is a file; give a folder for the stand-ins.")
    paths = [folder / OUTPUT_NAME.format(i) for i in range(1, count + 1)]
    if folder.is_dir():
        for p in paths:
            check_writable_target(p, overwrite=overwrite)
    return paths


def write_stand_in(g, stand_in, args, options, path: Path, guard) -> dict:
    """The one place a stand-in is exported (with the stamp, the watermark and the guard's
    verdict, :func:`facestudio.commands.output.stamped`); its facts for --json."""
    from facestudio.anonymizer import PHOTO_NOTE
    extra = {"StandIn": PHOTO_NOTE,
             "StandInDistance": f"{stand_in.distance:.3f} (dlib distance to the photo's face; 0.6 or more is "
                                "another person)",
             "StandInKept": "; ".join(f"{m} {'kept' if ok else 'not kept'}" for m, ok in stand_in.kept.items())}
    written = stamped(g, stand_in.face, args, options, stand_in.recipe, xmp_extra=extra, path=path, guard=guard)
    return written.facts(distance=round(stand_in.distance, 4), kept=stand_in.kept,
                         measures={k: round(v, 4) for k, v in stand_in.measures.items()},
                         recipe=stand_in.recipe.to_dict())


def cmd_anonymize(args) -> int:
    from facestudio.anonymizer import Anonymizer, read_photo
    from facestudio.analysis.stand_ins import TOLERANCE_TEXT, kept_measures, parse_keep
    from facestudio.provenance.export import ExportOptions
    started = time.monotonic()
    if not 1 <= args.count <= MAX_COUNT:
        raise UserError(f"--count {args.count} is out of range: make from 1 to {MAX_COUNT} stand-ins at a time.")
    if args.face is not None and args.face < 1:
        raise UserError(f"--face {args.face} is not a face number: faces are numbered from 1, left to right.")
    if args.seed is not None:
        from facestudio.latent.seeds import check_seed
        check_seed(args.seed)
    keep = parse_keep(args.keep)
    out = Path(args.out)
    paths = output_paths(out, args.count, args.overwrite)
    options = ExportOptions(quality=args.quality, scale=args.scale)
    if getattr(args, "threads", None) is None:
        _one_thread()
    pixels = read_photo(Path(args.photo))
    g = load_model(args.model)
    guard = export_guard(g, args)
    anonymizer = Anonymizer(g, guard, keep)
    with bar(anonymizer.steps(), "anonymize", unit="step") as progress:
        done = anonymizer.stand_ins(pixels, args.count, args.face, args.seed, what=str(args.photo),
                                    progress=progress.update)
    del pixels
    search = done.search
    if not search.stand_ins:
        raise UserError(f"no stand-in was found among {search.tried} candidates that is clean, another person, "
                        "resembles no training photo and could be measured; try again (another pool of faces is "
                        "drawn).")
    out.mkdir(parents=True, exist_ok=True)
    faces = [write_stand_in(g, s, args, options, p, guard) for s, p in zip(search.stand_ins, paths)]
    seconds = time.monotonic() - started
    measures = kept_measures(keep)
    kept_counts = {m: sum(s.kept[m] for s in search.stand_ins) for m in measures}
    short = len(search.stand_ins) < args.count
    if short:
        message(f"only {len(search.stand_ins)} of {args.count} stand-ins were found that are clean, another person "
                f"and apart from each other ({search.tried} candidates tried, {search.unclean} refused as blotched)")
    distances = [s.distance for s in search.stand_ins]
    text = (f"wrote {paths_text(paths[:len(faces)])}: {len(faces)} stand-in{'s' if len(faces) != 1 else ''}, "
            f"dlib distance to the photo's face {min(distances):.2f}-{max(distances):.2f} (0.6 or more is another "
            f"person); kept: " + ", ".join(f"{m} {n}/{len(faces)}" for m, n in kept_counts.items())
            + f"; {seconds:.0f} s; the photo was not kept")
    result(args, text, {"stand_ins": faces, "photo_kept": False, "keep": list(keep),
                        "tolerances": {m: TOLERANCE_TEXT[m] for m in measures},
                        "photo_measures": {k: round(v, 4) for k, v in done.target.items()},
                        "candidates_tried": search.tried, "refused_as_blotched": search.unclean, "seconds": round(seconds, 2), "model": g.name})
    return 1 if short else 0


def add_parser(sub) -> None:
    from facestudio.analysis.stand_ins import DEFAULT_KEEP, KEEP_GROUPS
    sp = sub.add_parser("anonymize", help="stand-ins for the person in a photo: faces of people who do not exist "
                                          "that keep the photo's age, gender, expression, pose, skin and lighting")
    sp.add_argument("photo", type=Path, help="the photo (read into memory only; never written or kept)")
    sp.add_argument("--count", type=int, default=4, help=f"how many stand-ins (1-{MAX_COUNT}, default 4)")
    sp.add_argument("--out", type=Path, required=True, help="folder for the stand-ins (stand-in-1.png ...)")
    model_arg(sp)
    sp.add_argument("--keep", default=None, help=f"what the stand-ins keep, from {', '.join(KEEP_GROUPS)} "
                                                 f"(default {','.join(DEFAULT_KEEP)}; 'none' keeps nothing)")
    sp.add_argument("--face", type=int, default=None, metavar="K",
                    help="which face when the photo holds several (1 = leftmost)")
    sp.add_argument("--seed", type=int, default=None,
                    help="first seed of the pool the stand-ins are drawn from (default: a new pool each time)")
    export_args(sp)
    json_arg(sp, "the stand-ins written, each one's distance to the photo, measures, recipe, stamp and lookalike check")
    sp.set_defaults(func=cmd_anonymize)
