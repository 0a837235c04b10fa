"""``facestudio attributes``: fit the named Age and Gender directions for a model.

The InterFaceGAN recipe, with every step on this machine and nothing downloaded:

1. train a small age / gender classifier on UTKFace's file-name labels
   (:mod:`facestudio.training.attribute_classifier`; cached in the work folder);
2. sample W from the model's mapping network (reference seeding, no truncation), render each
   face and let the classifier label it;
3. fit a logistic boundary for gender (on the faces the classifier is sure of) and a ridge
   trend for age (in years) in W (:mod:`facestudio.latent.attributes`);
4. make each conditional on the other (project the other's normal out), so moving "Age"
   holds the gender score's linear part fixed and vice versa;
5. measure on held-out seeds at psi 0.7: how far one slider unit moves the classifier's
   score along each direction, and how much it leaks into the other attribute;
6. write a direction bundle (``.npz``) that the studio loads beside the model
   (``weights/directions.npz`` for the bundled model).

One slider unit is one standard deviation of the W samples along the direction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.latent.directions import Direction, apply_edits

FIT_SEED = 1_000_000  # fit seeds start here, so they never overlap the seeds people browse
MEASURE_SEED = 10_000  # held-out seeds for the per-unit report start here
MEASURE_AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)
MEASURE_PSI = 0.7
EXTREMES = 0.3  # the gender boundary is fitted on this share of most and least feminine faces


def _cli():
    from facestudio import cli
    return cli


@dataclass
class Labelled:
    """W samples ``[N, w_dim]`` and the classifier's ages (years) and p(female) ``[N]``."""

    ws: np.ndarray
    ages: np.ndarray
    p_female: np.ndarray


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
    ws_all, ages, probs = [], [], []
    rng = np.random.RandomState(FIT_SEED)
    for start in range(0, count, batch):
        n = min(batch, count - start)
        ws = g.map(rng.randn(n, g.z_dim))
        a, p = predict(net, g.synthesize(ws))
        ws_all.append(ws[:, 0]), ages.append(a), probs.append(p)
        log(f"labelled {start + n}/{count} generated faces")
    return Labelled(np.concatenate(ws_all), np.concatenate(ages), np.concatenate(probs))


def fit_directions(g, lab: Labelled) -> tuple[list[Direction], dict]:
    """Raw and conditional Age / Gender directions with their W-std scales, plus fit facts."""
    from facestudio.latent.attributes import fit_linear_boundary, fit_linear_trend, project_out
    # InterFaceGAN's choice: the clearest faces on each side, ranked by score (a threshold
    # at p = 0.5 would depend on the classifier's calibration on generated faces)
    order = np.argsort(lab.p_female)
    k = max(2, int(len(order) * EXTREMES))
    sure = np.concatenate([order[:k], order[-k:]])
    boundary = fit_linear_boundary(lab.ws[sure], np.r_[np.zeros(k), np.ones(k)])
    age_dir, years_per_w = fit_linear_trend(lab.ws, lab.ages)
    facts = {"samples": int(len(lab.ws)), "gender_samples": int(len(sure)),
             "gender_boundary_accuracy": boundary.accuracy,
             "female_share": float((lab.p_female > 0.5).mean()),
             "age_mean": float(lab.ages.mean()), "age_std": float(lab.ages.std()),
             "age_years_per_w_unit": years_per_w,
             "cosine_age_gender": float(abs(age_dir @ boundary.normal))}

    def make(id, name, vector, meta):
        scale = float(np.std(lab.ws.astype(np.float64) @ vector))
        return Direction(id=id, name=name, vector=vector.astype(np.float32), layers=(0, g.num_ws),
                         scale=scale, source="attribute", model_sha256=g.sha256, meta=meta)

    dirs = [make("age", "Age", project_out(age_dir, boundary.normal),
                 {"positive": "older", "conditioned_on": ["gender"]}),
            make("gender", "Gender", project_out(boundary.normal, age_dir),
                 {"positive": "more feminine", "conditioned_on": ["age"]}),
            make("age-raw", "Age (unconditioned)", age_dir, {"positive": "older"}),
            make("gender-raw", "Gender (unconditioned)", boundary.normal, {"positive": "more feminine"})]
    return dirs, facts


def measure(g, net, direction: Direction, count: int = 64) -> dict:
    """Classifier response per slider unit along ``direction`` on ``count`` held-out seeds at psi 0.7:
    slopes (least squares over the amounts) of mean age in years and mean p(female)."""
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.training.attribute_classifier import predict
    base = g.map(z_from_seeds(range(MEASURE_SEED, MEASURE_SEED + count), g.z_dim), psi=MEASURE_PSI)
    table = {d.id: d for d in [direction]}
    mean_age, mean_p = [], []
    for amount in MEASURE_AMOUNTS:
        ws = np.stack([apply_edits(w, [(direction.id, amount, direction.layers)], table) for w in base])
        a, p = predict(net, g.synthesize(ws))
        mean_age.append(float(a.mean())), mean_p.append(float(p.mean()))
    x = np.asarray(MEASURE_AMOUNTS)
    return {"age_years_per_unit": float(np.polyfit(x, mean_age, 1)[0]),
            "p_female_per_unit": float(np.polyfit(x, mean_p, 1)[0]),
            "mean_age": mean_age, "mean_p_female": mean_p}


def cmd_attributes(args) -> int:
    from facestudio.fileio import check_writable_target
    from facestudio.latent.direction_files import write_directions
    check_writable_target(args.out, overwrite=args.overwrite)
    if args.samples < 100:
        raise _cli().UserError("--samples must be at least 100 for a boundary worth shipping")
    work = Path(args.work)
    net, cls_report = get_classifier(Path(args.data), work, args.epochs, Path(args.cache))
    g = _cli()._load(args.model)
    lab = label_generated(g, net, args.samples)
    dirs, facts = fit_directions(g, lab)
    report = {"classifier": cls_report, "fit": facts, "directions": {}}
    for d in dirs:
        m = measure(g, net, d, args.measure_seeds)
        report["directions"][d.id] = {"scale": d.scale, **m}
        print(f"{d.name:<24} 1 unit = {d.scale:.3f} in W: age {m['age_years_per_unit']:+.2f} years/unit, "
              f"p(female) {m['p_female_per_unit']:+.3f}/unit")
    shipped = [Direction(id=d.id, name=d.name, vector=d.vector, layers=d.layers, scale=d.scale,
                         source=d.source, model_sha256=d.model_sha256,
                         meta={**d.meta, **{k: v for k, v in report["directions"][d.id].items()
                                            if k.endswith("_per_unit")}})
               for d in dirs[:2]]
    write_directions(shipped, args.out, overwrite=args.overwrite)
    work.mkdir(parents=True, exist_ok=True)
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(f"fit on {facts['samples']} generated faces (gender boundary on the {facts['gender_samples']} clearest; "
          f"boundary accuracy {100 * facts['gender_boundary_accuracy']:.1f} %, "
          f"female share {100 * facts['female_share']:.0f} %, age {facts['age_mean']:.0f} ± {facts['age_std']:.0f} years)")
    print(f"wrote {args.out} (Age and Gender, each holding the other fixed); report in {work / 'report.json'}")
    return 0


def add_parser(sub, model_arg) -> None:
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
