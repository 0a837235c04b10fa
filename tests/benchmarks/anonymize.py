"""What the anonymizer keeps, how far its stand-ins are from the person, and what it costs.

``python -m tests.benchmarks.anonymize [--photos 50] [--count 4] [--sheet docs/anonymize.png]
[--private-sheet /tmp/with-photos.png] [--no-encoder] [--encoder-steps N]`` runs the anonymizer of the bundled model on
``--photos`` adult UTKFace photos (age label 20-75, every k-th in the tar so that ages, sexes
and skin tones are mixed) and prints, as one JSON object:

* per kept measure, the share of stand-ins that keep it within its tolerance
  (:data:`facestudio.analysis.stand_ins.TOLERANCES`);
* the distribution of dlib distances from each stand-in to its photo's face, and how many
  stand-ins were found per photo;
* seconds per photo (in one process, the models loaded once; wall time, and the process's CPU
  time, which other work on the machine does not inflate) and the start-up (loading the
  model, dlib, the classifier, the guard), with the torch threads used;
* the projection's pixel error (mean squared, images in [-1, 1]) against the aligned photo.
  ``--no-encoder`` projects without the encoder (``weights/encoder.safetensors``), from the
  pool of faces alone, as the anonymizer did before it had one; ``--encoder-steps`` tries
  another number of optimisation steps after the encoder's guess.

These photos are the bundled model's own training photos, which flatters the projection
(the model has seen these very faces); a photo from elsewhere fits less well.

``--sheet``: 6 of the photos (different ages, sexes and skin tones) -> 4 stand-ins each, as a
stamped, watermarked sheet of stand-ins only, each row labelled with the photo's UTKFace label
and measures: UTKFace's terms (non-commercial research use; each photo's copyright stays with
its owner) give no right to republish its photos, so the committed sheet shows none.
``--private-sheet`` writes the same sheet with the photos' aligned crops in the first column,
for looking at on this machine only (never commit it).
"""

from __future__ import annotations

import argparse
import io
import json
import tarfile
import time
from pathlib import Path

import numpy as np

UTKFACE = Path(__file__).resolve().parents[3] / "shared" / "data" / "utkface" / "UTKFace.tar"
SHEET_ROWS = (("30", "1", "0"), ("70", "0", "0"), ("25", "0", "1"), ("55", "1", "1"),
              ("40", "1", "2"), ("35", "0", "3"))  # (age, gender 1 = female, race) of the sheet's rows
RACES = ("White", "Black", "Asian", "Indian", "Other")


def adult_photos(tar_path: Path, count: int, every: int = 97) -> list[tuple[str, np.ndarray]]:
    """``count`` adult photos (label age 20-75), every ``every``-th adult in the tar."""
    from PIL import Image
    out, seen = [], 0
    with tarfile.open(tar_path) as tar:
        for m in tar:
            name = Path(m.name).name
            parts = name.split("_")
            if not m.isfile() or len(parts) < 4 or not parts[0].isdigit() or not 20 <= int(parts[0]) <= 75:
                continue
            seen += 1
            if seen % every == 0:
                out.append((name, np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB"))))
                if len(out) == count:
                    break
    return out


def sheet_photos(tar_path: Path) -> list[tuple[str, np.ndarray]]:
    """The first photo of each (age, gender, race) of :data:`SHEET_ROWS`."""
    from PIL import Image
    wanted, found = {f"{a}_{g}_{r}_": None for a, g, r in SHEET_ROWS}, {}
    with tarfile.open(tar_path) as tar:
        for m in tar:
            name = Path(m.name).name
            for prefix in wanted:
                if name.startswith(prefix) and prefix not in found and m.isfile():
                    found[prefix] = (name, np.asarray(Image.open(io.BytesIO(tar.extractfile(m).read())).convert("RGB")))
            if len(found) == len(wanted):
                break
    return [found[p] for p in wanted if p in found]


def label(name: str, target: dict) -> str:
    age, gender, race = name.split("_")[:3]
    return (f"photo: UTKFace {age} y, {'female' if gender == '1' else 'male'}, {RACES[int(race)]} | measured age "
            f"{target['age']:.0f}, P(f) {target['p_female']:.2f}, smile {target['smile']:.2f}, yaw {target['yaw']:+.2f}")


def write_sheet(rows, path: Path, g, with_photos: bool) -> None:
    """Rows of stand-ins (and the photo's crop first when ``with_photos``), a label above each row."""
    from PIL import Image, ImageDraw
    from facestudio.provenance import export_image, make_stamp
    from facestudio.provenance.export import ExportOptions
    r, label_h = g.resolution, 14
    cols = 4 + (1 if with_photos else 0)
    sheet = Image.new("RGB", (cols * r, len(rows) * (r + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (name, done) in enumerate(rows):
        y = i * (r + label_h)
        draw.text((2, y + 1), label(name, done.target), fill=(0, 0, 0))
        faces = ([done.crop] if with_photos else []) + [s.face for s in done.search.stand_ins]
        for j, face in enumerate(faces):
            sheet.paste(Image.fromarray(face), (j * r, y + label_h))
            if j >= (1 if with_photos else 0):
                s = done.search.stand_ins[j - (1 if with_photos else 0)]
                draw.text((j * r + 2, y + label_h + r - 11), f"d {s.distance:.2f} age {s.measures['age']:.0f}",
                          fill=(255, 255, 0))
    if with_photos:
        sheet.save(path)
        return
    stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256)
    export_image(np.asarray(sheet), path, stamp, None, ExportOptions(scale=1), overwrite=True,
                 xmp_extra={"StandIn": "stand-ins made from UTKFace photos; the photos are not shown or kept"})


def main() -> None:
    import torch
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sheet", type=Path, default=None)
    parser.add_argument("--private-sheet", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=UTKFACE)
    parser.add_argument("--no-encoder", action="store_true", help="project from the pool alone")
    parser.add_argument("--encoder-steps", type=int, default=None, help="optimisation steps after the encoder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    from facestudio.analysis import lookalike_guard, projection
    from facestudio.anonymizer import Anonymizer
    from facestudio.analysis.stand_ins import DEFAULT_KEEP, STAND_IN_SEED, TOLERANCE_TEXT, kept_measures
    from facestudio.generator import load_generator
    g = load_generator()
    guard = lookalike_guard.guard_for_model(g.sha256, lookalike_guard.default_index_path())
    anonymizer = Anonymizer(g, guard, DEFAULT_KEEP)
    if args.no_encoder:
        anonymizer.encoder = None
    if args.encoder_steps is not None:
        projection.ENCODER_STEPS = args.encoder_steps
    startup = time.perf_counter() - started
    measures = kept_measures(DEFAULT_KEEP)
    kept = {m: [] for m in measures}
    distances, found, seconds, apart, label_age_gap, projection_errors, cpu = [], [], [], [], [], [], []
    tried = unclean = 0
    for index, (name, pixels) in enumerate(adult_photos(args.data, args.photos)):
        t, c = time.perf_counter(), time.process_time()
        done = anonymizer.stand_ins(pixels, args.count, first_seed=STAND_IN_SEED + index * 4096, what=name)
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        projection_errors.append(done.projection_error)
        stand_ins = done.search.stand_ins
        found.append(len(stand_ins))
        tried, unclean = tried + done.search.tried, unclean + done.search.unclean
        for s in stand_ins:
            distances.append(s.distance)
            label_age_gap.append(abs(s.measures["age"] - float(name.split("_")[0])))
            for m in measures:
                kept[m].append(s.kept[m])
        apart += [float(np.linalg.norm(a.embedding - b.embedding)) for i, a in enumerate(stand_ins)
                  for b in stand_ins[i + 1:]]
    d = np.asarray(distances)
    report = {
        "photos": len(seconds), "count_asked": args.count, "threads": args.threads,
        "stand_ins_found": {"total": int(sum(found)), "photos_short": int(sum(f < args.count for f in found))},
        "candidates": {"tried": tried, "refused_as_blotched": unclean},
        "kept_share": {m: round(float(np.mean(v)), 3) for m, v in kept.items()},
        "tolerances": {m: TOLERANCE_TEXT[m] for m in measures},
        "age_within_12_of_the_label": round(float(np.mean(np.asarray(label_age_gap) <= 12)), 3),
        "distance_to_photo": {"min": round(float(d.min()), 3), "p10": round(float(np.percentile(d, 10)), 3),
                              "median": round(float(np.median(d)), 3), "max": round(float(d.max()), 3),
                              "below_0.6": int((d < 0.6).sum())},
        "distance_between_stand_ins": {"min": round(float(min(apart)), 3), "median": round(float(np.median(apart)), 3)},
        "seconds_per_photo": {"median": round(float(np.median(seconds)), 2), "max": round(float(max(seconds)), 2)},
        "cpu_seconds_per_photo": {"median": round(float(np.median(cpu)), 2), "max": round(float(max(cpu)), 2)},
        "startup_seconds": round(startup, 2),
        "encoder": anonymizer.encoder is not None,
        "projection_steps": projection.projection_steps(anonymizer.encoder),
        "projection_pixel_error": {"median": round(float(np.median(projection_errors)), 4),
                                   "max": round(float(max(projection_errors)), 4)},
        "note": "UTKFace photos are the bundled model's training photos: this flatters the projection",
    }
    print(json.dumps(report, indent=1))
    if args.sheet or args.private_sheet:
        rows = [(name, anonymizer.stand_ins(pixels, 4, first_seed=STAND_IN_SEED + 999_000 + i * 4096, what=name))
                for i, (name, pixels) in enumerate(sheet_photos(args.data))]
        if args.sheet:
            write_sheet(rows, args.sheet, g, with_photos=False)
        if args.private_sheet:
            write_sheet(rows, args.private_sheet, g, with_photos=True)


if __name__ == "__main__":
    main()
