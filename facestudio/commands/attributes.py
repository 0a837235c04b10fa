"""``facestudio attributes``: fit the named Age and Gender directions for a model.

The InterFaceGAN recipe, with every step on this machine and nothing downloaded:

1. train a small age / gender classifier on UTKFace's file-name labels
   (:mod:`facestudio.training.attribute_classifier`; cached in the work folder);
2. sample W from the model's mapping network (reference seeding, no truncation), render each
   face and let the classifier label it;
3. fit a logistic boundary for gender (on the faces the classifier is sure of) and a ridge
   trend for age (in years) in W (:mod:`facestudio.latent.attributes`);
4. measure on held-out seeds at psi 0.7 how far each fitted direction moves age, gender
   and face tone (:func:`measure`), and set its unit from that (:func:`calibrate`);
5. combine the three so that Age moves the age and, as measured, neither the gender nor
   the tone, and Gender likewise (:func:`decorrelate`; InterFaceGAN's projection of the
   other normals is measured alongside and used when the responses cannot be solved);
6. write a direction bundle (``.npz``) that the studio loads beside the model
   (``weights/directions.npz`` for the bundled model).

One slider unit is calibrated on held-out faces: about 5 years of age for Age, about 1 in the
classifier's gender log-odds for Gender (see :func:`calibrate` for why not one standard
deviation of W).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from facestudio.commands.arguments import UserError, model_arg
from facestudio.commands.output import load_model
from facestudio.latent.directions import Direction, apply_edits

FIT_SEED = 1_000_000  # fit seeds start here, so they never overlap the seeds people browse
MEASURE_SEED = 10_000  # held-out seeds on which units are calibrated and responses measured
CHECK_SEED = 20_000  # other held-out seeds on which the shipped directions are checked
MEASURE_AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
MEASURE_PSI = 0.7
UNIT_TARGETS = {"age": ("age_years_per_unit", 5.0), "gender": ("gender_logit_per_unit", 1.0),
                "tone": ("tone_per_unit", 10.0)}
UNIT_TEXT = {"age_years_per_unit": "about 5 years of age (classifier)",
             "gender_logit_per_unit": "about 1 in the classifier's gender log-odds (odds x 2.7)",
             "tone_per_unit": "about 10 levels of face luma"}
RESPONSES = ("age_years_per_unit", "gender_logit_per_unit", "tone_per_unit")
MAX_CONDITION = 100.0  # a response matrix worse conditioned than this is not trusted
EXTREMES = 0.3  # the gender boundary is fitted on this share of most and least feminine faces


@dataclass
class Labelled:
    """W samples ``[N, w_dim]``, the classifier's ages (years) and p(female) ``[N]``, and
    each face's tone ``[N]`` (:func:`face_tone`)."""

    ws: np.ndarray
    ages: np.ndarray
    p_female: np.ndarray
    tone: np.ndarray


def face_tone(images: np.ndarray) -> np.ndarray:
    """Mean luma (0-255, Rec. 601) of the centre half of each uint8 face ``[N, H, W, 3]``:
    mostly skin and lighting. Held fixed by the named directions, because the data ties
    age and gender to skin tone and lighting, and a slider named Age should not lighten
    or darken a person's skin."""
    h, w = images.shape[1:3]
    centre = images[:, h // 4: h - h // 4, w // 4: w - w // 4].astype(np.float64)
    return (centre @ np.array([0.299, 0.587, 0.114])).mean(axis=(1, 2))


def get_classifier(data: Path, work: Path, epochs: int, cache_dir: Path = Path("data-cache"), log=print):
    """The classifier in ``work`` when present, else trained on ``data`` and saved there."""
    from facestudio.training.attribute_classifier import (load_classifier, parse_utkface_labels,
                                                          save_classifier, train_classifier)
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


def label_generated(g, net, count: int, batch: int = 200, log=print) -> Labelled:
    """Sample ``count`` faces (seeds from :data:`FIT_SEED`, psi 1) and classify them."""
    from facestudio.training.attribute_classifier import predict
    ws_all, ages, probs, tones = [], [], [], []
    rng = np.random.RandomState(FIT_SEED)
    for start in range(0, count, batch):
        n = min(batch, count - start)
        ws = g.map(rng.randn(n, g.z_dim))
        images = g.synthesize(ws)
        a, p = predict(net, images)
        ws_all.append(ws[:, 0]), ages.append(a), probs.append(p), tones.append(face_tone(images))
        log(f"labelled {start + n}/{count} generated faces")
    return Labelled(*(np.concatenate(x) for x in (ws_all, ages, probs, tones)))


def fit_directions(g, lab: Labelled) -> tuple[list[Direction], dict]:
    """The fitted directions with W-std scales: InterFaceGAN's single-attribute ones
    (``age-raw``, ``gender-raw``), the face-tone trend (``tone``) and InterFaceGAN's
    conditional ones (``age-projected``, ``gender-projected``: the others' normals projected
    out), plus facts about the fit."""
    from facestudio.latent.attributes import fit_linear_boundary, fit_linear_trend, project_out
    # InterFaceGAN's choice: the clearest faces on each side, ranked by score (a threshold
    # at p = 0.5 would depend on the classifier's calibration on generated faces)
    order = np.argsort(lab.p_female)
    k = max(2, int(len(order) * EXTREMES))
    sure = np.concatenate([order[:k], order[-k:]])
    boundary = fit_linear_boundary(lab.ws[sure], np.r_[np.zeros(k), np.ones(k)])
    age_dir, years_per_w = fit_linear_trend(lab.ws, lab.ages)
    tone_dir, _ = fit_linear_trend(lab.ws, lab.tone)
    facts = {"samples": int(len(lab.ws)), "gender_samples": int(len(sure)),
             "gender_boundary_accuracy": boundary.accuracy,
             "female_share": float((lab.p_female > 0.5).mean()),
             "age_mean": float(lab.ages.mean()), "age_std": float(lab.ages.std()),
             "age_years_per_w_unit": years_per_w,
             "cosine_age_gender": float(abs(age_dir @ boundary.normal)),
             "cosine_age_tone": float(abs(age_dir @ tone_dir)),
             "cosine_gender_tone": float(abs(boundary.normal @ tone_dir))}

    def make(id, name, vector, meta):
        scale = float(np.std(lab.ws.astype(np.float64) @ vector))
        return Direction(id=id, name=name, vector=vector.astype(np.float32), layers=(0, g.num_ws),
                         scale=scale, source="attribute", model_sha256=g.sha256, meta=meta)

    dirs = [make("age-raw", "Age (single)", age_dir, {"positive": "older"}),
            make("gender-raw", "Gender (single)", boundary.normal, {"positive": "more feminine"}),
            make("tone", "Face tone", tone_dir, {"positive": "lighter"}),
            make("age-projected", "Age (projected)", project_out(age_dir, boundary.normal, tone_dir),
                 {"positive": "older", "conditioned_on": ["gender", "tone"]}),
            make("gender-projected", "Gender (projected)", project_out(boundary.normal, age_dir, tone_dir),
                 {"positive": "more feminine", "conditioned_on": ["age", "tone"]})]
    return dirs, facts


def measure(g, net, direction: Direction, count: int = 64, first_seed: int = MEASURE_SEED) -> dict:
    """Classifier response per slider unit along ``direction`` on ``count`` held-out seeds at
    psi 0.7: least-squares slopes over the amounts of the mean age (years), the mean
    p(female) and the mean gender log-odds (which, unlike p, does not saturate)."""
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.training.attribute_classifier import predict
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


def decorrelate(g, bases: list[Direction], responses: list[dict], targets: dict[str, tuple[float, float, float]]
                ) -> dict[str, Direction] | None:
    """Named directions whose *measured* side effects vanish, to first order.

    ``bases`` are the age, gender and tone directions, ``responses`` their measurements
    (:func:`measure`): column j of ``R`` says how far one unit of base j moves (age years,
    gender log-odds, tone levels). For each target response ``t`` (say 5 years, 0, 0), the
    W step ``sum_j c_j scale_j v_j`` with ``R c = t`` moves the wanted attribute and, as far
    as the responses add up linearly, nothing else. Projecting normals out (InterFaceGAN)
    holds the *linear fits* fixed; on a model whose attributes bend away from those fits
    this holds what the classifier actually sees. None if ``R`` is too ill-conditioned.
    """
    r = np.array([[m[k] for m in responses] for k in RESPONSES])
    if not np.isfinite(r).all() or np.linalg.cond(r) > MAX_CONDITION:
        return None
    out = {}
    for id, (name, positive, conditions, target) in targets.items():
        c = np.linalg.solve(r, np.asarray(target, dtype=np.float64))
        step = sum(cj * b.scale * b.vector.astype(np.float64) for cj, b in zip(c, bases))
        key = UNIT_TARGETS[id][0]
        out[id] = Direction(id=id, name=name, vector=step / np.linalg.norm(step), layers=(0, g.num_ws),
                            scale=float(np.linalg.norm(step)), source="attribute", model_sha256=g.sha256,
                            meta={"positive": positive, "conditioned_on": conditions, "unit": UNIT_TEXT[key],
                                  "method": "measured responses solved for zero side effects"})
    return out


SHIPPED = {"age": ("Age", "older", ["gender", "tone"], (5.0, 0.0, 0.0)),
           "gender": ("Gender", "more feminine", ["age", "tone"], (0.0, 1.0, 0.0))}


def _print_measurement(d: Direction, m: dict) -> None:
    print(f"{d.name:<20} 1 unit = {d.scale:.3f} in W: age {m['age_years_per_unit']:+.2f} years, "
          f"p(female) {m['p_female_per_unit']:+.3f}, gender log-odds {m['gender_logit_per_unit']:+.2f}, "
          f"tone {m['tone_per_unit']:+.1f} levels")


def cmd_attributes(args) -> int:
    from facestudio.fileio import check_writable_target
    from facestudio.latent.direction_files import write_directions
    check_writable_target(args.out, overwrite=args.overwrite)
    if args.samples < 100:
        raise UserError("--samples must be at least 100 for a boundary worth shipping")
    work = Path(args.work)
    net, cls_report = get_classifier(Path(args.data), work, args.epochs, Path(args.cache))
    g = load_model(args.model)
    lab = label_generated(g, net, args.samples)
    dirs, facts = fit_directions(g, lab)
    report = {"classifier": cls_report, "fit": facts, "directions": {}}
    calibrated, measured = {}, {}
    for d in dirs:
        d, m = calibrate(g, net, d, args.measure_seeds)
        calibrated[d.id], measured[d.id] = d, m
        _print_measurement(d, m)
    bases = ["age-raw", "gender-raw", "tone"]
    named = decorrelate(g, [calibrated[b] for b in bases], [measured[b] for b in bases], SHIPPED)
    if named is None:  # fall back to InterFaceGAN's projection
        print("the measured responses are too entangled to solve; shipping the projected directions")
        named = {id: replace(calibrated[f"{id}-projected"], id=id, name=SHIPPED[id][0]) for id in SHIPPED}
    shipped = []
    for d in named.values():  # checked on faces that took no part in making them
        m = measure(g, net, d, args.measure_seeds, first_seed=CHECK_SEED)
        measured[d.id] = m
        _print_measurement(d, m)
        shipped.append(replace(d, meta={**d.meta, **{k: v for k, v in m.items() if k.endswith("_per_unit")}}))
    report["directions"] = {id: {"name": d.name, "scale": d.scale, **measured[id]}
                            for id, d in {**calibrated, **named}.items()}
    write_directions(shipped, args.out, overwrite=args.overwrite)
    work.mkdir(parents=True, exist_ok=True)
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(f"fit on {facts['samples']} generated faces (gender boundary on the {facts['gender_samples']} clearest; "
          f"boundary accuracy {100 * facts['gender_boundary_accuracy']:.1f} %, "
          f"female share {100 * facts['female_share']:.0f} %, age {facts['age_mean']:.0f} ± {facts['age_std']:.0f} years)")
    print(f"wrote {args.out} (Age and Gender, each holding the other and the face tone fixed as measured); report in {work / 'report.json'}")
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
    sp.add_argument("--overwrite", action="store_true")
    sp.set_defaults(func=cmd_attributes)
