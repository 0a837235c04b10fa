"""What the named sliders' end stops do, read by two estimators (not a test; a few minutes).

    python tests/benchmarks/slider_span.py [--directions weights/directions.npz]
        [--compare OTHER.npz] [--seeds 64] [--first-seed 20000] [--sheet sliders.png] [--model PATH]

For each named direction (Age, Gender) of each bundle, on held-out seeds at psi 0.7 (by
default ``facestudio attributes``' check seeds, which took no part in fitting):

* the bundled classifier's reading at -3, 0 and +3 units (mean age, mean P(female), the share
  of faces carried from P(female) < 0.2 to > 0.8, face tone), as ``facestudio attributes``
  measures it (:func:`facestudio.commands.attributes.span`);
* an independent estimator's: a logistic gender probe and a ridge log-age probe on dlib's
  face descriptors of the UTKFace photos in ``weights/lookalike-index.npz`` (labels from the
  photos' file names; its held-out accuracy is printed), so that a slider that only fools the
  classifier it was fitted with shows here;
* identity: dlib's descriptor distance between each face at 0 and at -3 / +3 (median, and the
  share below dlib's same-person 0.6).

``--sheet`` writes a contact sheet of the first 8 seeds at -3, -1.5, 0, +1.5, +3 per slider.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

AMOUNTS = (-3.0, 0.0, 3.0)
SHEET_AMOUNTS = (-3.0, -1.5, 0.0, 1.5, 3.0)


def fit_dlib_probe(index_path: Path, held_out: float = 0.2, seed: int = 0) -> dict:
    """Logistic gender and ridge log-age probes on the index's descriptors, with held-out
    accuracy (gender) and mean absolute error (age, years) on a random ``held_out`` share."""
    from facestudio.training.attribute_classifier import parse_utkface_labels
    with np.load(index_path, allow_pickle=False) as z:
        x, names = z["embeddings"].astype(np.float64), [n.decode() for n in z["names"]]
    ages, genders, ok = parse_utkface_labels(names)
    x, ages, female = np.hstack([x[ok], np.ones((ok.sum(), 1))]), ages[ok], genders[ok].astype(np.float64)
    order = np.random.RandomState(seed).permutation(len(x))
    test, train = order[:int(held_out * len(x))], order[int(held_out * len(x)):]
    beta = np.zeros(x.shape[1])
    for _ in range(30):  # Newton's method with a unit L2 penalty
        p = 1 / (1 + np.exp(-np.clip(x[train] @ beta, -30, 30)))
        hess = (x[train] * (p * (1 - p))[:, None]).T @ x[train] + np.eye(x.shape[1])
        beta -= np.linalg.solve(hess, x[train].T @ (p - female[train]) + beta)
    a = x[train]
    age_w = np.linalg.solve(a.T @ a + np.eye(x.shape[1]), a.T @ np.log1p(ages[train]))
    return {"gender": beta, "log_age": age_w,
            "gender_accuracy": float(((x[test] @ beta > 0) == (female[test] > 0.5)).mean()),
            "age_mae": float(np.abs(np.expm1(x[test] @ age_w) - ages[test]).mean())}


def _descriptors(embedder, images: np.ndarray) -> np.ndarray:
    out = np.full((len(images), 128), np.nan)
    for i, image in enumerate(images):
        m = embedder.measure(image)
        if m.embedding is not None:
            out[i] = m.embedding
    return out


def measure_bundle(g, net, embedder, probe: dict, path: Path, seeds: range) -> dict:
    from facestudio.commands.attributes import MEASURE_PSI, span
    from facestudio.latent.direction_files import read_directions
    from facestudio.latent.directions import apply_edits
    from facestudio.latent.seeds import z_from_seeds
    base = g.map(z_from_seeds(seeds, g.z_dim), psi=MEASURE_PSI)
    out = {}
    for d in read_directions(path, g.w_dim, g.num_ws, g.sha256).directions:
        entry = {"classifier": span(g, net, d, len(seeds), first_seed=seeds.start), "unit_in_w": d.scale,
                 "per_layer": d.vector.ndim == 2}
        desc = {}
        for amount in AMOUNTS:
            ws = np.stack([apply_edits(w, [(d.id, amount, d.layers)], {d.id: d}) for w in base])
            desc[amount] = _descriptors(embedder, g.synthesize(ws))
        found = ~np.isnan(np.stack([desc[a][:, 0] for a in AMOUNTS])).any(axis=0)
        with_bias = {a: np.hstack([desc[a][found], np.ones((found.sum(), 1))]) for a in AMOUNTS}
        p_female = {a: 1 / (1 + np.exp(-(with_bias[a] @ probe["gender"]))) for a in AMOUNTS}
        ages = {a: np.expm1(with_bias[a] @ probe["log_age"]) for a in AMOUNTS}
        moved = {a: np.linalg.norm(desc[a][found] - desc[0.0][found], axis=1) for a in (-3.0, 3.0)}
        entry["dlib"] = {"faces_found": int(found.sum()),
                         "probe_p_female_at": [float(p_female[a].mean()) for a in AMOUNTS],
                         "probe_spanned_share": float(np.mean((p_female[-3.0] < 0.2) & (p_female[3.0] > 0.8))),
                         "probe_age_at": [float(ages[a].mean()) for a in AMOUNTS],
                         "identity_distance_median": [float(np.median(moved[a])) for a in (-3.0, 3.0)],
                         "same_person_share": [float(np.mean(moved[a] < 0.6)) for a in (-3.0, 3.0)]}
        out[d.name] = entry
    return out


def sheet(g, path: Path, seeds: range, out: Path) -> None:
    from PIL import Image
    from facestudio.commands.attributes import MEASURE_PSI
    from facestudio.latent.direction_files import read_directions
    from facestudio.latent.directions import apply_edits
    from facestudio.latent.seeds import z_from_seeds
    base = g.map(z_from_seeds(range(seeds.start, seeds.start + 8), g.z_dim), psi=MEASURE_PSI)
    blocks = []
    for d in read_directions(path, g.w_dim, g.num_ws, g.sha256).directions:
        rows = [np.concatenate(list(g.synthesize(np.stack([apply_edits(w, [(d.id, a, d.layers)], {d.id: d})
                                                           for w in base]))), axis=1) for a in SHEET_AMOUNTS]
        blocks.append(np.concatenate(rows, axis=0))
    gap = np.full((8, blocks[0].shape[1], 3), 255, np.uint8)
    Image.fromarray(np.concatenate([x for b in blocks for x in (b, gap)][:-1], axis=0)).save(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directions", default=str(ROOT / "weights" / "directions.npz"))
    parser.add_argument("--compare", action="append", default=[], help="another bundle for the same model")
    parser.add_argument("--model", default=None)
    parser.add_argument("--index", default=str(ROOT / "weights" / "lookalike-index.npz"))
    parser.add_argument("--seeds", type=int, default=64)
    parser.add_argument("--first-seed", type=int, default=20_000)
    parser.add_argument("--sheet", default=None, help="write a sheet of the --directions sliders here (.png)")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.generator import load_generator
    g, net, embedder = load_generator(args.model), load_bundled_classifier(), IdentityEmbedder()
    probe = fit_dlib_probe(Path(args.index))
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    result = {"seeds": [seeds.start, seeds.stop - 1],
              "dlib_probe": {"gender_accuracy": probe["gender_accuracy"], "age_mae_years": probe["age_mae"]},
              "bundles": {p: measure_bundle(g, net, embedder, probe, Path(p), seeds)
                          for p in [args.directions, *args.compare]}}
    if args.sheet:
        sheet(g, Path(args.directions), seeds, Path(args.sheet))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
