"""``facestudio attributes``: fit the named Age and Gender directions for a model.

The InterFaceGAN recipe, with every step on this machine and nothing downloaded:

1. train a small age / gender classifier on UTKFace's file-name labels
   (:mod:`facestudio.training.attribute_classifier`, inference in
   :mod:`facestudio.analysis.attributes`; cached in the work folder);
2. sample W from the model's mapping network (reference seeding, no truncation), render each
   face and let the classifier label it;
3. fit a logistic boundary for gender (on the faces the classifier is sure of) and a ridge
   trend for age (in years) in W (:func:`facestudio.latent.attributes.fit_directions`);
4. measure on held-out seeds at psi 0.7 how far each fitted direction moves age, gender
   and face tone (:func:`measure`), and set its unit from that (:func:`calibrate`);
5. combine the three so that Age moves the age and, as measured, neither the gender nor
   the tone, and Gender likewise (:func:`facestudio.latent.attributes.decorrelate`; InterFaceGAN's projection of the
   other normals is measured alongside and used when the responses cannot be solved);
6. write a direction bundle (``.npz``) that the studio loads beside the model
   (``weights/directions.npz`` for the bundled model).

One slider unit is calibrated on held-out faces: about 5 years of age for Age, about 1 in the
classifier's gender log-odds for Gender (see :func:`calibrate` for why not one standard
deviation of W). A straight line in W with such a unit does not reach far enough: three units
either way took only 20 % of the bundled model's faces across P(female) 0.2 / 0.8, and a wider
unit broke faces. So, unless ``--keep-units``, each named direction becomes one offset per
layer of W+ optimised through the generator and the classifier so that its end stops span
the attribute (:func:`span_by_optimisation`, :mod:`facestudio.training.attribute_directions`:
Age at least 30 years between -3 and +3; Gender from P(female) below 0.2 to above 0.8 for
80 % of faces), and the span is measured again on other held-out seeds.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from facestudio.commands.arguments import UserError, json_arg, model_arg
from facestudio.commands.output import load_model, result
from facestudio.commands.progress import counter, note
from facestudio.latent.attributes import (SHIPPED, UNIT_TARGETS, UNIT_TEXT, Labelled, decorrelate, face_tone,
                                          fit_directions)
from facestudio.latent.directions import Direction, apply_edits

FIT_SEED = 1_000_000  # fit seeds start here, so they never overlap the seeds people browse
MEASURE_SEED = 10_000  # held-out seeds on which units are calibrated and responses measured
CHECK_SEED = 20_000  # other held-out seeds on which the shipped directions are checked
MEASURE_AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
MEASURE_PSI = 0.7
SPAN_AMOUNT = 3.0  # the sliders' end stops
GENDER_SPAN = (0.2, 0.8)  # Gender: P(female) below 0.2 at -3 and above 0.8 at +3 ...
SPAN_SHARE = 0.8  # ... for at least this share of held-out faces
AGE_SPAN_YEARS = 30.0  # Age: at least this many years between -3 and +3, on average
OPTIMISE_FACES = 2048  # fit faces the per-layer offsets are optimised on (seeds from FIT_SEED)
# per slider: Age's offsets grew blotched texture at +3 unless held small in W's metric and
# watched by the discriminator; Gender's lost its span under the same weights, and with a margin
# of 2 it reached the bar only with a unit widened by 1.35 (which put the faces' tone off); on
# the 1087 kimg model, with the offsets averaged, Gender at 0.01 kept dlib's same person in only
# 17-23 % of its end-stop faces, and at 0.1 in 55-59 % with the same span (84 %)
GOALS = {"age": {"whitened_l2": 0.3, "realism_weight": 2.0, "age_years": 34.0},
         "gender": {"whitened_l2": 0.1, "realism_weight": 1.0, "gender_margin": 2.5}}
UNIT_FACTORS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.35, 1.5)  # the optimised unit, rescaled
SPAN_MARGIN = 0.1  # a unit is chosen on the measuring seeds with this to spare (Age: 10 % more years,
# Gender: 10 % more faces), so that other held-out faces meet the bar too


def get_classifier(data: Path, work: Path, epochs: int, cache_dir: Path = Path("data-cache"), log=print):
    """The classifier in ``work`` when present, else trained on ``data`` and saved there."""
    from facestudio.analysis.attributes import load_classifier
    from facestudio.training.attribute_classifier import parse_utkface_labels, save_classifier, train_classifier
    from facestudio.training.data import load_dataset
    path = work / "classifier.safetensors"
    if path.is_file():
        log(f"using the classifier in {path}")
        report_file = work / "classifier.json"
        report = json.loads(report_file.read_text()) if report_file.is_file() else {}
        return load_classifier(path), report
    images, names = load_dataset(Path(data), 64, cache_dir=Path(cache_dir), log=log)
    ages, genders, ok = parse_utkface_labels(names)
    keep = np.flatnonzero(ok)
    net, report = train_classifier(np.asarray(images)[keep], ages[keep], genders[keep], epochs=epochs, log=log)
    log(report.line())
    work.mkdir(parents=True, exist_ok=True)
    save_classifier(net, path)
    report_dict = dict(report.__dict__)
    (work / "classifier.json").write_text(json.dumps(report_dict, indent=2))
    return net, report_dict


def label_generated(g, net, count: int, batch: int = 200, progress=None) -> Labelled:
    """Sample ``count`` faces (seeds from :data:`FIT_SEED`, psi 1) and classify them;
    ``progress(done, count)`` after each batch."""
    from facestudio.analysis.attributes import predict
    ws_all, ages, probs, tones = [], [], [], []
    rng = np.random.RandomState(FIT_SEED)
    for start in range(0, count, batch):
        n = min(batch, count - start)
        ws = g.map(rng.randn(n, g.z_dim))
        images = g.synthesize(ws)
        a, p = predict(net, images)
        ws_all.append(ws[:, 0]), ages.append(a), probs.append(p), tones.append(face_tone(images))
        if progress is not None:
            progress(start + n, count)
    return Labelled(*(np.concatenate(x) for x in (ws_all, ages, probs, tones)))


def measure(g, net, direction: Direction, count: int = 64, first_seed: int = MEASURE_SEED) -> dict:
    """Classifier response per slider unit along ``direction`` on ``count`` held-out seeds at
    psi 0.7: least-squares slopes over the amounts of the mean age (years), the mean
    p(female) and the mean gender log-odds (which, unlike p, does not saturate)."""
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.analysis.attributes import predict
    base = g.map(z_from_seeds(range(first_seed, first_seed + count), g.z_dim), psi=MEASURE_PSI)
    table = {direction.id: direction}
    mean_age, mean_p, mean_logit, mean_tone = [], [], [], []
    for amount in MEASURE_AMOUNTS:
        ws = np.stack([apply_edits(w, [(direction.id, amount, direction.layers)], table) for w in base])
        images = g.synthesize(ws)
        a, p = predict(net, images)
        mean_tone.append(float(face_tone(images).mean()))
        p = np.clip(p.astype(np.float64), 1e-6, 1 - 1e-6)
        mean_age.append(float(a.mean())), mean_p.append(float(p.mean()))
        mean_logit.append(float(np.log(p / (1 - p)).mean()))
    x = np.asarray(MEASURE_AMOUNTS)
    return {"age_years_per_unit": float(np.polyfit(x, mean_age, 1)[0]),
            "p_female_per_unit": float(np.polyfit(x, mean_p, 1)[0]),
            "gender_logit_per_unit": float(np.polyfit(x, mean_logit, 1)[0]),
            "tone_per_unit": float(np.polyfit(x, mean_tone, 1)[0]),
            "mean_age": mean_age, "mean_p_female": mean_p, "mean_tone": mean_tone}


def calibrate(g, net, direction: Direction, count: int = 64) -> tuple[Direction, dict]:
    """``direction`` with its unit set so that one slider unit moves its own attribute by
    :data:`UNIT_TARGETS` on held-out faces, and the measurement in that unit.

    Why not one W standard deviation, as for discovered directions: in a 256-d W one
    standard deviation along a single direction is a small step (about 0.7 years of age on
    the bundled model), so a slider of +-3 such units would barely move. A unit the
    classifier can read makes the slider do what its name says. If the attribute does not
    respond (an untrained model), the unit stays one standard deviation."""
    key, target = UNIT_TARGETS[direction.id.split("-")[0]]
    first = measure(g, net, direction, count)
    if not first[key] > 1e-3 * target:
        return direction, {**first, "unit": "one W standard deviation (the attribute did not respond)"}
    calibrated = replace(direction, scale=direction.scale * target / first[key],
                         meta={**direction.meta, "unit": UNIT_TEXT[key]})
    return calibrated, {**measure(g, net, calibrated, count), "unit": UNIT_TEXT[key],
                        "w_std_per_unit": target / first[key]}


def span(g, net, direction: Direction, count: int = 64, first_seed: int = MEASURE_SEED) -> dict:
    """What the slider's end stops do to each of ``count`` held-out faces at psi 0.7: the
    classifier's age and P(female) and the face tone at -3, 0 and +3 units (means), the mean
    age between -3 and +3, and the share of faces that go from P(female) below 0.2 at -3 to
    above 0.8 at +3 (:data:`GENDER_SPAN`)."""
    from facestudio.analysis.attributes import predict
    from facestudio.latent.seeds import z_from_seeds
    base = g.map(z_from_seeds(range(first_seed, first_seed + count), g.z_dim), psi=MEASURE_PSI)
    table = {direction.id: direction}
    ages, probs, tones = [], [], []
    for amount in (-SPAN_AMOUNT, 0.0, SPAN_AMOUNT):
        ws = np.stack([apply_edits(w, [(direction.id, amount, direction.layers)], table) for w in base])
        images = g.synthesize(ws)
        a, p = predict(net, images)
        ages.append(a.astype(np.float64)), probs.append(p.astype(np.float64)), tones.append(face_tone(images))
    low, high = GENDER_SPAN
    return {"age_at": [float(a.mean()) for a in ages], "p_female_at": [float(p.mean()) for p in probs],
            "tone_at": [float(t.mean()) for t in tones],
            "age_span_years": float((ages[2] - ages[0]).mean()),
            "spanned_share": float(np.mean((probs[0] < low) & (probs[2] > high)))}


def spans(direction_id: str, m: dict, margin: float = 0.0) -> bool:
    """Whether a :func:`span` measurement meets the slider's bar (Age: :data:`AGE_SPAN_YEARS`
    years apart; Gender: :data:`SPAN_SHARE` of the faces across :data:`GENDER_SPAN`), with
    ``margin`` to spare (a fraction of the bar for Age, of the faces for Gender)."""
    if direction_id.startswith("age"):
        return m["age_span_years"] >= AGE_SPAN_YEARS * (1 + margin)
    return m["spanned_share"] >= min(1.0, SPAN_SHARE + margin)


def fit_unit_to_span(g, net, direction: Direction, count: int = 64) -> tuple[Direction, dict]:
    """``direction`` with the smallest unit of :data:`UNIT_FACTORS` (times its own) whose end
    stops span its attribute on the measuring seeds with :data:`SPAN_MARGIN` to spare, and
    that span. The optimisation's classifier saw augmented faces, so its end stops land
    short of or past the bar as :func:`span` measures it; past it, a smaller unit keeps the
    faces nearer the model's range. Where none spans, the largest factor is kept and says so."""
    m = {}
    for factor in UNIT_FACTORS:
        candidate = replace(direction, scale=direction.scale * factor)
        m = {**span(g, net, candidate, count), "factor": factor}
        if spans(direction.id, m, SPAN_MARGIN):
            return candidate, {**m, "spans": True}
    return candidate, {**m, "spans": False}


def span_by_optimisation(g, net, direction: Direction, w_samples: np.ndarray, steps: int,
                         realism=None, faces: int = OPTIMISE_FACES) -> tuple[Direction, dict]:
    """``direction`` (a calibrated whole-W Age or Gender) turned into one offset per layer of
    W+ whose end stops span the attribute on ``faces`` fit faces at psi 0.7
    (:func:`facestudio.training.attribute_directions.optimise_span`), and its last losses.
    w_samples: untruncated W ``[N, w_dim]`` (the labelled faces') for the offset's metric;
    realism: the model's training discriminator, which keeps the end stops' faces as real to it
    as the faces at 0 (:func:`facestudio.training.attribute_directions.discriminator_from_checkpoint`)."""
    from facestudio.analysis.attributes import gender_logit_and_age
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.training.attribute_directions import SpanGoal, optimise_span
    attribute = direction.id.split("-")[0]
    g.network.requires_grad_(False)
    net.requires_grad_(False).eval()

    def readout(images):
        return gender_logit_and_age(net(images.clamp(-1, 1)))

    pool = g.map(z_from_seeds(range(FIT_SEED, FIT_SEED + faces), g.z_dim), psi=MEASURE_PSI)
    offset, losses = optimise_span(lambda ws: g.network.synthesis(ws, noise_mode="const"), readout, pool,
                                   w_samples, direction.vector * direction.scale,
                                   SpanGoal(attribute, amount=SPAN_AMOUNT, steps=steps, **GOALS[attribute]), realism)
    size = float(np.linalg.norm(offset, axis=1).max())
    meta = {**direction.meta, "method": "one offset per W+ layer, optimised through the generator and the "
                                        "classifier so that the end stops span the attribute",
            "unit": f"{SPAN_AMOUNT:g} units reach the end stops (see span_age_years / span_share)"}
    return replace(direction, vector=offset / size, scale=size, meta=meta), losses


def _print_span(d: Direction, held_out: dict) -> None:
    """The end stops on the held-out check seeds."""
    m = held_out
    note(f"{d.name:<20} at -{SPAN_AMOUNT:g} / +{SPAN_AMOUNT:g} units on held-out faces "
          f"({'meets' if spans(d.id, m) else 'misses'} the bar): age {m['age_at'][0]:.1f} -> "
          f"{m['age_at'][2]:.1f} years, P(female) {m['p_female_at'][0]:.2f} -> {m['p_female_at'][2]:.2f}, "
          f"{100 * m['spanned_share']:.0f} % of faces across {GENDER_SPAN[0]}/{GENDER_SPAN[1]}")


def _print_measurement(d: Direction, m: dict) -> None:
    note(f"{d.name:<20} 1 unit = {d.scale:.3f} in W: age {m['age_years_per_unit']:+.2f} years, "
          f"p(female) {m['p_female_per_unit']:+.3f}, gender log-odds {m['gender_logit_per_unit']:+.2f}, "
          f"tone {m['tone_per_unit']:+.1f} levels")


def cmd_attributes(args) -> int:
    from facestudio.fileio import check_writable_target
    from facestudio.latent.direction_files import write_directions
    check_writable_target(args.out, overwrite=args.overwrite)
    if args.span_steps < 1:
        raise UserError("--span-steps must be at least 1")
    if args.samples < 100:
        raise UserError("--samples must be at least 100 for a boundary worth shipping")
    work = Path(args.work)
    net, cls_report = get_classifier(Path(args.data), work, args.epochs, Path(args.cache))
    g = load_model(args.model)
    realism = None
    if args.discriminator and not args.keep_units:
        from facestudio.training.attribute_directions import discriminator_from_checkpoint
        from facestudio.training.checkpoint import CheckpointError
        try:
            realism = discriminator_from_checkpoint(args.discriminator, g.resolution)
        except (CheckpointError, RuntimeError) as exc:  # RuntimeError: a checkpoint of another network
            raise UserError(f"cannot use {args.discriminator} as this model's discriminator: "
                            f"{str(exc).splitlines()[0][:200]}") from None
    lab = label_generated(g, net, args.samples, progress=counter("labelling generated faces"))
    dirs, facts = fit_directions(lab, g.num_ws, g.sha256)
    report = {"classifier": cls_report, "fit": facts, "directions": {}}
    calibrated, measured = {}, {}
    for d in dirs:
        d, m = calibrate(g, net, d, args.measure_seeds)
        calibrated[d.id], measured[d.id] = d, m
        _print_measurement(d, m)
    bases = ["age-raw", "gender-raw", "tone"]
    named = decorrelate([calibrated[b] for b in bases], [measured[b] for b in bases], SHIPPED, g.num_ws, g.sha256)
    if named is None:  # fall back to InterFaceGAN's projection
        note("the measured responses are too entangled to solve; shipping the projected directions")
        named = {id: replace(calibrated[f"{id}-projected"], id=id, name=SHIPPED[id][0]) for id in SHIPPED}
    shipped = []
    for d in list(named.values()):
        if not args.keep_units:  # the straight line does not reach: optimise the end stops per layer
            d, losses = span_by_optimisation(g, net, d, lab.ws, args.span_steps, realism)
            d, fitted = fit_unit_to_span(g, net, d, args.measure_seeds)
            report.setdefault("span_optimisation", {})[d.id] = {"losses": losses, "unit": fitted}
            note(f"{d.name:<20} optimised per layer; unit x{fitted['factor']:g} of the optimised one "
                  f"({'spans' if fitted['spans'] else 'does not span even at the largest'} on the measuring seeds)")
        m = measure(g, net, d, args.measure_seeds, first_seed=CHECK_SEED)  # checked on faces that took
        m["span"] = span(g, net, d, args.measure_seeds, first_seed=CHECK_SEED)  # no part in making them
        m["span"]["meets_bar"] = spans(d.id, m["span"])
        measured[d.id] = m
        _print_measurement(d, m)
        _print_span(d, m["span"])
        shipped.append(replace(d, meta={**d.meta, **{k: v for k, v in m.items() if k.endswith("_per_unit")},
                                        "span_age_years": m["span"]["age_span_years"],
                                        "span_share": m["span"]["spanned_share"]}))
        named[d.id] = d
    report["directions"] = {id: {"name": d.name, "scale": d.scale, **measured[id]}
                            for id, d in {**calibrated, **named}.items()}
    write_directions(shipped, args.out, overwrite=args.overwrite)
    work.mkdir(parents=True, exist_ok=True)
    (work / "report.json").write_text(json.dumps(report, indent=2))
    note(f"fit on {facts['samples']} generated faces (gender boundary on the {facts['gender_samples']} clearest; "
          f"boundary accuracy {100 * facts['gender_boundary_accuracy']:.1f} %, "
          f"female share {100 * facts['female_share']:.0f} %, age {facts['age_mean']:.0f} ± {facts['age_std']:.0f} years)")
    result(args, f"wrote {args.out} (Age and Gender, each holding the other and the face tone fixed as measured); "
           f"report in {work / 'report.json'}", {"written": [str(args.out), str(work / "report.json")],
                                                 "fit": facts, "directions": report["directions"]})
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("attributes", help="fit the named Age / Gender directions for a model "
                                           "(classifier trained on UTKFace labels)")
    model_arg(sp)
    sp.add_argument("--data", default="../shared/data/utkface/UTKFace.tar",
                    help="UTKFace images (folder or tar) whose file names carry the labels")
    sp.add_argument("--cache", default="data-cache", help="folder for the decoded-image cache")
    sp.add_argument("--work", default="runs/attributes", help="folder for the classifier and the report")
    sp.add_argument("--samples", type=int, default=6000, help="generated faces to label and fit on")
    sp.add_argument("--measure-seeds", type=int, default=64,
                    help="held-out faces on which each direction's effect per unit is measured")
    sp.add_argument("--epochs", type=int, default=5, help="classifier training epochs")
    sp.add_argument("--out", required=True, help="direction bundle to write (.npz)")
    sp.add_argument("--keep-units", action="store_true",
                    help="ship the straight-line directions with their calibrated units (about 5 years, 1 in the "
                         "gender log-odds) instead of optimising per-layer offsets whose end stops span the "
                         "attribute; the span is measured either way")
    sp.add_argument("--discriminator", default=None, metavar="CHECKPOINT",
                    help="the model's facestudio training checkpoint: its discriminator keeps the optimised end "
                         "stops' faces as real as the faces at 0 (without it, only the offsets' size does)")
    sp.add_argument("--span-steps", type=int, default=300,
                    help="optimisation steps for each slider's per-layer offsets (12 faces each)")
    sp.add_argument("--overwrite", action="store_true")
    json_arg(sp, "the files written, the fit and each direction's measured effect")
    sp.set_defaults(func=cmd_attributes)
