"""Evidence for the named sliders on held-out seeds at psi 0.7, and their picture.

    python -m tests.benchmarks.named_sliders [--seeds 100] [--first-seed 20000] [--picture docs/named_sliders.png]

For each slider of the bundled model (``weights/directions.npz``): its own measure's mean change
from -2 to +2 in real-photo spreads and the share of faces that move its way; every other
measure's change (the leakage table); dlib's identity distance between the -2 and +2 faces
(median, and the share under 0.6, dlib's "same person"); realism as dlib's face-detector score
at -2 / 0 / +2 (a face that stops looking like a face loses it); for Gender, P(female) read by
an estimator that sees neither colour nor the eyes (:mod:`tests.benchmarks.gender_check`), so
painted eye make-up cannot move it. None of these judges was used to fit the sliders except
the measures themselves, and these seeds took no part in fitting or calibrating.

The picture: 8 held-out seeds x (-2, -1, 0, +1, +2) for each slider, at 100 %.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

BARS = {"own_spreads": 1.5, "own_share": 0.85, "leakage": 0.6, "same_person_share": 0.75,
        "age_years": 10.0, "gender_check": 0.35}
AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)  # the picture's columns
KEEPS_PERSON = ("smile", "mouth_open", "yaw", "pitch", "hair", "side_light")
ALLOWED = {"smile": ("mouth_open", "eyes_open"), "mouth_open": ("smile", "eyes_open"), "pitch": ("eyes_open",),
           "eyes_open": ("pitch",), "hair": ("background",), "age": ("hair", "skin"), "gender": ("hair",)}
SHORT = {"smile": "smile", "mouth_open": "mouth", "eyes_open": "eyes", "yaw": "yaw", "pitch": "pitch",
         "face_width": "width", "hair": "hair", "skin": "skin", "background": "bg", "side_light": "side",
         "glasses": "glass", "age": "age", "p_female": "P(f)"}


def detector_score(detector):
    from facestudio.analysis.face_measures import to_measure_size

    def score(images):
        out = []
        for image in images:
            _, scores, _ = detector.run(to_measure_size(image), 0, -1.0)
            out.append(max(scores) if len(scores) else -1.0)
        return np.asarray(out)
    return score


def table(report: dict, lines=print) -> list[str]:
    """The evidence as text lines, and which bars each slider misses."""
    from facestudio.analysis.face_measures import MEASURES
    head = (f"{'slider':<11} {'own':>5} {'share':>6} {'same':>5} {'id med':>6}  "
            + " ".join(f"{SHORT[m]:>6}" for m in MEASURES) + "  detector -2/0/+2   extra")
    lines(head)
    misses = []
    for sid, row in report.items():
        own = next(m for m in MEASURES if m not in row["leakage"])
        leak = " ".join(f"{'  own ' if m == own else format(row['leakage'][m], '+6.2f')}" for m in MEASURES)
        det = "/".join(f"{v:.2f}" for v in row["detector"])
        extra = ""
        if "age_years" in row:
            extra = f"age {row['age_years']:+.1f} y, P(f) {row['p_female_change']:+.2f}"
        if sid == "gender":
            extra += f", blind P(f) {row['gender_check'][2] - row['gender_check'][0]:+.2f}"
        same = row.get("same_person_share", float("nan"))
        lines(f"{sid:<11} {row['own_spreads']:5.2f} {100 * row['own_share']:5.0f}% {100 * same:4.0f}% "
              f"{row.get('identity_median', float('nan')):6.2f}  {leak}  {det:<17} {extra}")
        miss = []
        if row["own_spreads"] < BARS["own_spreads"]:
            miss.append("own change")
        if row["own_share"] < BARS["own_share"]:
            miss.append("share")
        for m, v in row["leakage"].items():
            if abs(v) > BARS["leakage"] and m not in ALLOWED.get(sid, ()):
                miss.append(f"leaks {m}")
        if sid in KEEPS_PERSON and same < BARS["same_person_share"]:
            miss.append("identity")
        if sid == "age" and row["age_years"] < BARS["age_years"]:
            miss.append("years")
        if sid == "gender" and row["gender_check"][2] - row["gender_check"][0] < BARS["gender_check"]:
            miss.append("blind gender")
        misses.append(f"{sid}: {'meets every bar' if not miss else 'misses ' + ', '.join(miss)}")
    for m in misses:
        lines(m)
    return misses


def picture(g, directions, path: Path, seeds: list[int]) -> None:
    """8 seeds x 5 amounts for each slider, two blocks a row, labelled."""
    from PIL import Image, ImageDraw
    from facestudio.commands.slider_fitting import CHECK_PSI, edited_faces
    from facestudio.latent.seeds import z_from_seeds
    base = g.map(z_from_seeds(seeds, g.z_dim), psi=CHECK_PSI)
    res, label = g.resolution, 18
    blocks = []
    for d in directions:
        columns = [edited_faces(g, base, d, a) for a in AMOUNTS]
        block = np.concatenate([np.concatenate(list(col), axis=0) for col in columns], axis=1)
        canvas = Image.new("RGB", (block.shape[1], block.shape[0] + label), "white")
        canvas.paste(Image.fromarray(block), (0, label))
        draw = ImageDraw.Draw(canvas)
        draw.text((4, 3), f"{d.name} ({d.id}):  " + "   ".join(f"{a:+g}" for a in AMOUNTS), fill="black")
        blocks.append(np.asarray(canvas))
    gap = np.full((blocks[0].shape[0], 8, 3), 255, np.uint8)
    rows = []
    for i in range(0, len(blocks), 2):
        pair = blocks[i:i + 2] if i + 1 < len(blocks) else [blocks[i], np.full_like(blocks[i], 255)]
        rows.append(np.concatenate([pair[0], gap, pair[1]], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path, optimize=True)
    print(f"wrote {path} ({len(directions)} sliders x {len(seeds)} seeds x 5 amounts, {res} px faces)")


def main() -> None:
    import torch
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=20_000)
    parser.add_argument("--work", default="runs/named", help="where the gender check estimator is kept")
    parser.add_argument("--picture", default=None, help="also write the sliders' picture here")
    parser.add_argument("--json", default=None, help="also write the report here")
    args = parser.parse_args()
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.identity import IdentityEmbedder, import_dlib
    from facestudio.commands.slider_fitting import SLIDERS, evaluate
    from facestudio.generator import load_generator
    from facestudio.locations import bundled_weights_dir
    from facestudio.render.model_directions import model_directions, shown
    from tests.benchmarks.gender_check import load_or_train, p_female
    g = load_generator(None)
    named = {d.id: d for d in shown(model_directions(g))}
    directions = [named[s.id] for s in SLIDERS if s.id in named]
    reference = json.loads((bundled_weights_dir() / "measures.json").read_text())["real_photos"]
    check = load_or_train(Path(args.work))
    extra = {"detector": detector_score(import_dlib().get_frontal_face_detector()),
             "gender_check": lambda images: p_female(check, images)}
    start = time.monotonic()
    report = evaluate(g, FaceMeasurer(), directions, reference, count=args.seeds, first_seed=args.first_seed,
                      identity=IdentityEmbedder(), extra=extra)
    print(f"{args.seeds} held-out seeds from {args.first_seed} at psi 0.7; changes from -2 to +2 in real-photo "
          f"spreads ({time.monotonic() - start:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    table(report)
    if args.picture:
        picture(g, directions, Path(args.picture), list(range(args.first_seed + 5000, args.first_seed + 5008)))


if __name__ == "__main__":
    main()
