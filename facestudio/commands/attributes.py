"""``facestudio attributes``: fit the named sliders (smile, mouth open, eyes open, head turn,
head nod, hair lightness, age, gender) for any model, from measurements of its own faces.

1. measure real photos (UTKFace, ``--data``) for each measure's spread: it sets the
   sliders' units, and its percentiles serve the filters of ``find``
   and ``library build`` (written as ``--measures-out``);
2. render style-mixed faces of the model and measure them (dlib's landmarks, CIELAB
   lightness, the attribute classifier; :mod:`facestudio.analysis.face_measures`);
3. fit each slider as the smallest step in W+ that moves its own measure and holds the
   others (:mod:`facestudio.latent.slider_fit`), and set its unit on held-out faces so that
   -2 to +2 moves its measure 1.6 real-photo spreads, the 21st to the 79th percentile (Age: 38
   years; Gender: 8 in the classifier's log-odds); a slider that names leaks to cancel (the
   head nod: the mouth) gets a second pass measured along its own path
   (:mod:`facestudio.latent.slider_refine`, ``--refine-seeds`` faces) and its unit set again;
4. judge every slider on other held-out faces (own change, share of faces, leakage into
   every other measure, dlib's same-person rate) and write the bundle, with the evidence in
   each direction's tooltip, plus a report in the work folder.

Nothing is optimised through the generator or a classifier's gradient. Measured faces are kept
in the work folder in chunks, so an interrupted fit resumes where it stopped. Directions the new
ones replace (the model's current bundle) stay in the bundle, retired, under ``ID@VERSION``, so
recipes made with them render as before.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from facestudio.commands.arguments import UserError, json_arg, model_arg
from facestudio.commands.output import load_model, result
from facestudio.commands.progress import bar, note

MIN_SAMPLES_PER_FEATURE = 2  # the regressions need at least this many faces per W+ feature


def slider_ids(text: str) -> tuple[str, ...]:
    """``--only``'s comma-separated slider ids, each one of the fit's sliders (imported here,
    not at start-up: the fitting pipeline pulls in the face measures)."""
    from argparse import ArgumentTypeError
    from facestudio.commands.slider_fitting import SLIDERS
    ids = tuple(i.strip() for i in text.split(",") if i.strip())
    unknown = [i for i in ids if i not in {s.id for s in SLIDERS}]
    if unknown or not ids:
        raise ArgumentTypeError(f"{', '.join(unknown) or text!r} is not a named slider; choose from "
                                f"{', '.join(s.id for s in SLIDERS)}")
    return ids


def tooltip(spec, row: dict) -> str:
    """One slider's evidence as its tooltip."""
    text = (f"{spec.name}: + is {spec.positive}. From -2 to +2 on held-out faces its measure moves "
            f"{row['own_spreads']:.1f} real-photo spreads, the same way on {100 * row['own_share']:.0f} % of faces")
    if "same_person_share" in row:
        text += f"; the same person (dlib) on {100 * row['same_person_share']:.0f} %"
    if "age_years" in row and spec.own == "age":
        text += f"; {row['age_years']:.0f} years between the end stops"
    worst = max(row["leakage"].items(), key=lambda kv: abs(kv[1]))
    return text + f". Largest side effect: {worst[0]} {worst[1]:+.2f} spreads."


def cmd_attributes(args) -> int:
    from dataclasses import replace
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.commands import slider_fitting as fit
    from facestudio.fileio import atomic_write, check_writable_target
    from facestudio.latent.direction_files import write_directions
    from facestudio.latent.slider_fit import layer_groups
    from facestudio.render.model_directions import model_directions
    measures_out = Path(args.measures_out) if args.measures_out else Path(args.out).with_name("measures.json")
    for target in (args.out, measures_out):
        check_writable_target(target, overwrite=args.overwrite)
    g = load_model(args.model)
    needed = MIN_SAMPLES_PER_FEATURE * len(layer_groups(g.num_ws)) * g.w_dim
    if args.samples < needed:
        raise UserError(f"--samples must be at least {needed} for this model ({MIN_SAMPLES_PER_FEATURE} faces "
                        f"per W+ feature), got {args.samples}")
    for option in ("check_seeds", "calibrate_seeds", "refine_seeds"):
        if not 4 <= getattr(args, option) <= 10_000:
            raise UserError(f"--{option.replace('_', '-')} must be between 4 and 10000")
    if not Path(args.data).exists():
        raise UserError(f"the real photos {args.data} do not exist: give --data a folder or tar of face photos")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    measurer = FaceMeasurer()
    start = time.monotonic()
    with bar(args.real, "measuring real photos") as b:
        reference = fit.real_reference(Path(args.data), measurer, args.real, work, b.update)
    with bar(args.samples, "measuring the model's faces") as b:
        group_ws, measured = fit.fit_samples(g, FaceMeasurer(identity=True), args.samples, work, b.update)
    chosen = [s for s in fit.SLIDERS if not args.only or s.id in args.only]
    steps, facts = fit.fit_sliders(group_ws, measured, reference, g.num_ws, specs=chosen)
    directions, calibration = [], {}
    current = model_directions(g)
    with bar(len(chosen), "setting units", unit="slider") as b:
        for spec in chosen:
            kept_first = fit.second_pass_start(spec, current)
            if kept_first is not None:  # its first pass kept: only the second is new
                d, origin = kept_first
                facts[spec.id]["first_pass"] = f"kept: the second pass starts from {origin}"
            else:
                d, calibration[spec.id] = fit.calibrate(g, measurer, spec, steps[spec.id], reference,
                                                        count=args.calibrate_seeds)
            if spec.cancel:  # the second pass, then the unit again
                step, response = fit.refine(g, measurer, spec, d, reference, group_ws.reshape(-1, g.w_dim),
                                            count=args.refine_seeds)
                d, calibration[spec.id] = fit.calibrate(g, measurer, spec, step, reference,
                                                        count=args.calibrate_seeds, per_unit=True)
                if kept_first is not None and kept_first[1] != spec.id:  # a later run starts from the same vector
                    d = replace(d, meta={**d.meta, "refined_from": kept_first[1]})
                facts[spec.id]["refined"] = {"leak_per_unit": response.leak, "local_r2": response.r2,
                                             "cancelled": dict(spec.cancel)}
            directions.append(d)
            b.update(1)
    with bar(len(directions), "judging on held-out faces", unit="slider") as b:
        evidence = fit.evaluate(g, measurer, directions, reference, specs=chosen, count=args.check_seeds,
                                identity=IdentityEmbedder(), progress=b.update)
    specs = {s.id: s for s in fit.SLIDERS}
    fitted = {d.id: replace(d, meta={**d.meta, "tooltip": tooltip(specs[d.id], evidence[d.id]),
                                     "evidence": evidence[d.id]}) for d in directions}
    retired = [d for d in current if d.meta.get("retired")]
    internal = [d for d in current if d.meta.get("internal") and not d.meta.get("retired")]  # a tool's own: kept
    kept = {d.id: d for d in current if not d.meta.get("retired") and d.id in specs and d.id not in fitted}
    shipped = [fitted.get(s.id) or kept[s.id] for s in fit.SLIDERS if s.id in fitted or s.id in kept]
    write_directions(shipped + retired + internal, args.out, overwrite=args.overwrite)
    with atomic_write(measures_out, overwrite=args.overwrite) as tmp:
        tmp.write_text(json.dumps({"format": "facestudio-measures", "version": 1, "model_sha256": g.sha256,
                                   "real_photos": reference}, indent=1))
    report = {"fit": facts, "calibration": calibration, "evidence": evidence, "real_photos": reference,
              "seconds": time.monotonic() - start}
    (work / "report.json").write_text(json.dumps(report, indent=1))
    for d in fitted.values():
        note(f"{d.id:<11} {d.meta['tooltip']}")
    old = f"; the {len(retired)} it replaces kept, retired, for older recipes" if retired else ""
    result(args, f"wrote {args.out} ({len(fitted)} named sliders fitted, {len(kept)} kept{old}) and "
                 f"{measures_out}; report in "
                 f"{work / 'report.json'} ({time.monotonic() - start:.0f} s)",
           {"written": [str(args.out), str(measures_out), str(work / "report.json")],
            "sliders": {d.id: d.meta["evidence"] for d in fitted.values()}, "kept": sorted(kept),
            "retired": [d.id for d in retired]})
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("attributes", help="fit the named sliders (smile, pose, hair, age, gender ...) for a model",
                        description=__doc__.split("\n\n")[0])
    model_arg(sp)
    sp.add_argument("--data", default="../shared/data/utkface/UTKFace.tar",
                    help="real face photos (folder or tar) that set each measure's spread")
    sp.add_argument("--work", default="runs/attributes",
                    help="folder for measured faces (a stopped fit resumes from it) and the report")
    sp.add_argument("--samples", type=int, default=8000, help="style-mixed faces to measure and fit on")
    sp.add_argument("--real", type=int, default=3000, help="real photos to measure")
    sp.add_argument("--check-seeds", type=int, default=64,
                    help="held-out faces on which each slider is judged (its tooltip's figures)")
    sp.add_argument("--calibrate-seeds", type=int, default=32,
                    help="held-out faces on which each slider's unit is set")
    sp.add_argument("--refine-seeds", type=int, default=200,  # slider_fitting.REFINE_FACES, not imported at start-up
                    help="faces along whose paths a slider's second pass measures the leaks it cancels "
                         "(the head nod's mouth)")
    sp.add_argument("--out", required=True, help="direction bundle to write (.npz)")
    sp.add_argument("--measures-out", default=None,
                    help="where to write the real photos' percentiles (default: measures.json beside --out)")
    sp.add_argument("--only", type=slider_ids, default=None, metavar="ID[,ID...]",
                    help="fit only these named sliders (smile, pitch, ...; a wrong id lists them all) and "
                         "keep the model's current others as they are")
    sp.add_argument("--overwrite", action="store_true")
    json_arg(sp, "the files written and each slider's evidence on held-out faces")
    sp.set_defaults(func=cmd_attributes)
