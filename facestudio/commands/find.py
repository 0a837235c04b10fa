"""``facestudio find``: faces of the bundled model (or ``--model``) by measured age, gender
and skin tone, or an equal number per bin with ``--balanced``.

Seeds are tried in order from ``--start-seed``, rendered and measured in batches
(:mod:`facestudio.analysis.selection`); the kept faces are rendered again from their
recipes and written through the same stamped export path as ``facestudio render``, into a
folder that appears whole (with ``find.json``: the request, the tries, each face's
measurements) or not at all. Progress and the time left go to stderr, the kept seeds to
stdout. When the model rarely makes what was asked, it says after how many tries each bin
was filled; when ``--max-tries`` runs out first, it says so and writes nothing.
"""

from __future__ import annotations

import json
import math
from functools import partial
from pathlib import Path

from facestudio.commands.arguments import UserError, export_args, json_arg, model_arg, psi_arg
from facestudio.commands.progress import bar, message
from facestudio.number_lists import NumberGrammar, NumberListError

MAX_FIND_COUNT = 10_000  # faces one find writes (about 0.3 GB of PNGs at 128 px)
FIND_MANIFEST = "find.json"  # what marks a folder as one find wrote (so --overwrite may replace it)
MAX_TRIES = 1_000_000  # seeds one find measures: about 2 hours here at 140 faces/s
MAX_AGE = 120


AGE_GRAMMAR = NumberGrammar("the age range", "age", 0, MAX_AGE, f"the ages the classifier reads, 0 to {MAX_AGE}",
                            "write it as A-B in years, e.g. 20-29 or 60-", lower="younger", open_ended=True, verb="is")


def parse_age_range(text: str) -> tuple[float, float]:
    """``"20-29"`` -> ``(20, 30)`` (whole years, both ends included), ``"80-"`` -> ``(80, 121)``:
    one range of the one number-list grammar (:mod:`facestudio.number_lists`)."""
    try:
        lo, hi = AGE_GRAMMAR.parse_range(text)
    except NumberListError as exc:
        raise UserError(str(exc)) from None
    return float(lo), float(hi + 1)


def parse_balanced(text: str) -> tuple[str, ...]:
    from facestudio.analysis.selection import BALANCE_DIMENSIONS
    dims = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in dims if d not in BALANCE_DIMENSIONS]
    if bad or not dims or len(set(dims)) != len(dims):
        raise UserError(f"cannot balance over {text!r}: list some of {','.join(BALANCE_DIMENSIONS)} once each")
    return dims


def _criteria(args):
    """The request's :class:`Criteria`: age, gender (with ``--confidence``), tone and the
    attribute filters (:mod:`facestudio.analysis.filters`, read with ``--margin``)."""
    from facestudio.analysis.filters import FilterError, bounds_from_args, check_confidence
    from facestudio.analysis.selection import Criteria
    from facestudio.analysis.skin_tone import category_index
    tone = None
    if args.tone is not None:
        try:
            tone = category_index(args.tone)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    try:
        confidence = check_confidence(args.confidence)
        bounds = bounds_from_args(args)
    except FilterError as exc:
        raise UserError(str(exc)) from None
    return Criteria(age=parse_age_range(args.age) if args.age else None, gender=args.gender, tone=tone,
                    confidence=confidence if args.gender else Criteria.confidence, bounds=bounds)


def check_request(args) -> tuple:
    """Everything about the request that can be wrong, checked before any model is loaded."""
    from facestudio.fileio import check_folder_target
    from facestudio.latent.seeds import MAX_SEED
    from facestudio.library.spec import default_max_tries  # a find tries what a filtered build would
    if not 1 <= args.count <= MAX_FIND_COUNT:
        raise UserError(f"--count {args.count} is outside 1 to {MAX_FIND_COUNT:,}, the most faces one find writes")
    max_tries = min(MAX_TRIES, default_max_tries(args.count, filtered=True)) if args.max_tries is None \
        else args.max_tries
    if not args.count <= max_tries <= MAX_TRIES:
        raise UserError(f"--max-tries {max_tries:,} must be at least --count ({args.count}) and at most "
                        f"{MAX_TRIES:,} (about 2 hours of rendering here)")
    if not 0 <= args.start_seed <= MAX_SEED - max_tries:
        raise UserError(f"--start-seed {args.start_seed} leaves no room for {max_tries:,} seeds below {MAX_SEED}")
    criteria, dims = _criteria(args), parse_balanced(args.balanced) if args.balanced else ()
    from facestudio.analysis.selection import bin_names
    bins = bin_names(dims, criteria)
    if args.count < len(bins):
        raise UserError(f"--balanced {args.balanced} makes {len(bins)} bins, more than the {args.count} faces "
                        f"asked for; ask for at least {len(bins)}")
    check_folder_target(args.out, overwrite=args.overwrite, marker=FIND_MANIFEST)
    return criteria, dims, max_tries


def measure_seed_batch(g, net, seeds: list[int], psi: float, criteria=None, measurer=None):
    """Render ``seeds`` at ``psi`` (noise const) and measure them; with a dlib ``measurer``,
    the faces that ``criteria``'s cheaper filters keep are measured with it too."""
    from facestudio.analysis.audit import measure_faces, with_face_measures
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    images = Renderer(g).render_ws_batch(g.map(z_from_seeds(seeds, g.z_dim), psi=psi))
    m = measure_faces(images, net)
    if measurer is not None:
        m = with_face_measures(m, images, measurer, None if criteria is None else criteria.matches_classified(m))
    return m


def face_measurer(net):
    """dlib's measures with the classifier ``net`` (UserError when dlib is missing)."""
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.identity import DlibMissingError
    try:
        return FaceMeasurer(net)
    except DlibMissingError as exc:
        raise UserError(f"the attribute filters measure faces with dlib: {exc}") from None


def _lookalike_veto(guard, renderer, g, psi: float, seed: int) -> str | None:
    """Why the face of ``seed`` must not be kept (it resembles a training photo), or None."""
    from facestudio.latent.recipe import Recipe
    verdict = guard.check([renderer.render(Recipe(g.sha256, seed, psi=psi, model_name=g.name))])
    return verdict.summary() if verdict.resembles else None


def _progress_bar(count: int):
    """A bar over the faces kept (their rate and the time left), with the seeds tried beside it;
    the callback for :func:`~facestudio.analysis.selection.search` and the bar to close."""
    progress = bar(count, "find", unit="face")

    def report(r) -> None:
        progress.update(len(r.kept) - progress.n)
        progress.set_postfix_str(f"tried {r.tries:,} seeds ({r.tries / max(1e-6, r.seconds):.0f}/s)", refresh=False)
    return report, progress


def _bin_lines(result, dims) -> list[str]:
    """One line per bin: its quota and after how many tries it was filled (1 in how many seeds)."""
    lines = []
    for b, p in result.bins.items():
        name = "/".join(b) if dims else "all"
        if p.filled_after is not None:
            lines.append(f"  {name}: {p.kept} of {p.quota} after {p.filled_after:,} tries "
                         f"(about 1 in {max(1, round(p.filled_after / max(1, p.kept)))} seeds)")
        else:
            lines.append(f"  {name}: {p.kept} of {p.quota} after all {result.tries:,} tries")
    return lines


def cmd_find(args) -> int:
    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.selection import search
    from facestudio.commands.output import export_guard, load_model, stamped
    from facestudio.fileio import atomic_folder
    from facestudio.latent.recipe import Recipe
    from facestudio.provenance.export import ExportOptions
    from facestudio.render.renderer import Renderer
    criteria, dims, max_tries = check_request(args)
    options = ExportOptions(quality=args.quality, scale=args.scale)
    net, g = load_bundled_classifier(), load_model(args.model)
    measurer = face_measurer(net) if criteria.bounds else None
    guard, renderer = export_guard(g, args), Renderer(g)
    report, progress = _progress_bar(args.count)
    with progress:
        result = search(lambda seeds: measure_seed_batch(g, net, seeds, args.psi, criteria, measurer),
                        criteria, args.count, max_tries,
                        first_seed=args.start_seed, dims=dims, progress=report,
                        veto=None if args.allow_lookalike else partial(_lookalike_veto, guard, renderer, g, args.psi))
    what = f"faces {criteria.describe()}" + (f" balanced over {','.join(dims)}" if dims else "")
    if not result.complete:
        short = "; ".join(f"{'/'.join(b) or 'all'} {p.kept} of {p.quota}" for b, p in result.bins.items()
                          if p.kept < p.quota)
        raise UserError(f"after {result.tries:,} tries (--max-tries) only {len(result.kept)} of the {args.count} "
                        f"{what} were found (short: {short}); the model rarely makes them at psi {args.psi}, "
                        f"so nothing was written: raise --max-tries or ask for fewer")
    recipes = [Recipe(g.sha256, seed, psi=args.psi, model_name=g.name) for seed, _ in result.kept]
    rows, checks, stamp = [], {}, {}
    with atomic_folder(args.out, overwrite=args.overwrite, marker=FIND_MANIFEST) as staging:
        for start in range(0, len(recipes), renderer.batch_size):
            chunk = recipes[start:start + renderer.batch_size]
            for recipe, image in zip(chunk, renderer.render_batch(chunk)):
                name = f"seed-{recipe.seed:07d}.{args.format}"
                written = stamped(g, image, args, options, recipe, path=staging / name, guard=guard)
                rows.append(name)
                checks[name], stamp = written.lookalike, written.stamp
        faces = [{"seed": seed, "file": name, **m} for (seed, m), name in zip(result.kept, rows)]
        manifest = {"request": {"age": args.age, "gender": args.gender, "tone": args.tone, "balanced": list(dims),
                                "confidence": criteria.confidence, "margin": args.margin,
                                "attributes": {b.key: {"side": b.side, "measure": b.measure, "at_least": b.low,
                                                       "at_most": b.high} for b in criteria.bounds},
                                "count": args.count, "psi": args.psi, "start_seed": args.start_seed,
                                "max_tries": max_tries},
                    "model": {"name": g.name, "sha256": g.sha256}, "tries": result.tries,
                    "bins": {"/".join(b) or "all": {"quota": p.quota, "kept": p.kept, "filled_after_tries": p.filled_after}
                             for b, p in result.bins.items()},
                    "faces": faces,
                    "left_out_as_lookalikes": [{"seed": seed, "why": why} for seed, why in result.left_out],
                    "note": "age and gender are the bundled classifier's estimates (see weights/attributes.json "
                            "for its error per group); skin tone is the ITA angle over the cheeks and nose bridge; "
                            "smile, yaw, hair ... are dlib-landmark and CIELAB measures (docs/filters.md)"}
        (staging / FIND_MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if args.json:
        print(json.dumps({"written": [str(Path(args.out) / f) for f in rows + [FIND_MANIFEST]], **manifest,
                          "stamp": stamp, "lookalike": checks}, indent=2))
    else:
        for face in faces:
            asked = "".join(f", {b.measure} {face[b.measure]:.3g}" for b in criteria.bounds)
            print(f"seed {face['seed']}: age {face['age']:.0f}, {face['gender']} (P(female) {face['p_female']:.2f}), "
                  f"ITA {face['ita']:.0f}° ({face['tone']}){asked} -> {Path(args.out) / face['file']}")
    rate = result.tries / max(1, len(result.kept))
    message(f"found {len(result.kept)} {what} in {result.tries:,} tries ({result.seconds:.0f} s"
            f"{f', 1 in {math.ceil(rate)} seeds matched' if rate > 1 else ''}); wrote {args.out}", prefix=False)
    if result.left_out:
        message(f"left out {len(result.left_out)} matching faces that resemble a training photo (seeds "
                f"{', '.join(str(seed) for seed, _ in result.left_out[:8])}{' …' if len(result.left_out) > 8 else ''})",
                prefix=False)
    if dims or rate > 20:
        message("\n".join(_bin_lines(result, dims)), prefix=False)
    return 0


def face_filter_args(sp) -> None:
    """The filters ``find`` and ``library build`` share: age, gender, tone and the attributes."""
    from facestudio.analysis.filters import add_filter_args
    from facestudio.analysis.skin_tone import TONE_CATEGORIES
    sp.add_argument("--age", default=None, help="apparent age range in years, e.g. 20-29 or 60-")
    sp.add_argument("--gender", choices=("female", "male"), default=None)
    sp.add_argument("--tone", default=None, help="skin tone category (ITA): " +
                    ", ".join(c.replace(" ", "-") for c in TONE_CATEGORIES))
    add_filter_args(sp)


def add_parser(sub) -> None:
    sp = sub.add_parser("find", help="faces by measured age, gender, skin tone, expression, head pose and hair "
                                     "(or balanced over age, gender and tone)")
    model_arg(sp)
    face_filter_args(sp)
    sp.add_argument("--balanced", default=None, help="equal numbers per bin of these, e.g. age,gender,tone")
    sp.add_argument("--count", type=int, required=True, help=f"faces to find (1 to {MAX_FIND_COUNT:,})")
    sp.add_argument("--out", type=Path, required=True, help="folder to write (appears whole or not at all)")
    psi_arg(sp)
    sp.add_argument("--max-tries", type=int, default=None,
                    help="seeds to try at most before giving up (default 200 per face, at least 2000)")
    sp.add_argument("--start-seed", type=int, default=0, help="first seed tried (default 0)")
    sp.add_argument("--format", choices=("png", "jpg", "webp"), default="png")
    export_args(sp)
    json_arg(sp, "the files written and find.json's request, tries, bins and faces")
    sp.set_defaults(func=cmd_find)
