"""``facestudio attribute-classifier``: train the bundled age / gender classifier and
measure its error per group on held-out UTKFace photos.

Writes two files into ``--out-dir`` (``weights/`` for the bundled one), each atomically:
``attributes.safetensors`` (the network, about 1.2 MB) and ``attributes.json`` (the
held-out error report of :func:`facestudio.analysis.groups.error_by_group`, the split
seed and fraction, the epochs, and the digest of the training data: the archive's sha256
and the sha256 of its sorted image names, which carry the labels).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from facestudio.commands.arguments import UserError, json_arg
from facestudio.commands.output import result
from facestudio.commands.progress import note
from facestudio.fileio import file_sha256

SPLIT_SEED = 0
SPLIT_FRACTION = 0.1


def data_sha256(path: Path) -> str:
    """sha256 of a file (:func:`facestudio.fileio.file_sha256`) or, for a folder, of its
    sorted file names and sizes."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path)}|{f.stat().st_size}\n".encode())
    return h.hexdigest()


def training_data_digest(source: Path, names: list[str]) -> dict:
    """What the classifier was trained on, in a form another run can compare."""
    return {"source": Path(source).name, "sha256": data_sha256(source), "images": len(names),
            "names_sha256": hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()}


def labelled_utkface(data: Path, cache: Path, resolution: int, log=print):
    """UTKFace faces ``[N, R, R, 3]`` with ages, is-female and names, only those whose name
    carries both labels."""
    from facestudio.training.attribute_classifier import parse_utkface_labels
    from facestudio.training.data import load_dataset
    images, names = load_dataset(Path(data), resolution, cache_dir=Path(cache), log=log)
    ages, genders, ok = parse_utkface_labels(names)
    keep = np.flatnonzero(ok)
    return np.asarray(images)[keep], ages[keep], genders[keep] == 1, [names[i] for i in keep]


def cmd_attribute_classifier(args) -> int:
    from facestudio.analysis.attributes import INPUT_SIZE, REPORT_NAME, WEIGHTS_NAME, predict
    from facestudio.analysis.groups import error_by_group
    from facestudio.fileio import atomic_write, check_writable_target
    from facestudio.training.attribute_classifier import held_out_split, save_classifier, train_classifier
    if not 1 <= args.epochs <= 100:
        raise UserError("--epochs must be between 1 and 100")
    out = Path(args.out_dir)
    weights_path, report_path = out / WEIGHTS_NAME, out / REPORT_NAME
    for path in (weights_path, report_path):
        check_writable_target(path, overwrite=args.overwrite)
    t0 = time.time()
    images, ages, female, names = labelled_utkface(Path(args.data), Path(args.cache), INPUT_SIZE)
    note(f"{len(images)} labelled faces from {args.data}")
    net, summary = train_classifier(images, ages, female.astype(np.int64), epochs=args.epochs,
                                    val_fraction=SPLIT_FRACTION, seed=SPLIT_SEED)
    held_out, _ = held_out_split(len(images), SPLIT_FRACTION, SPLIT_SEED)
    pred_age, p_female = predict(net, images[held_out])
    report = {
        "what": "apparent age and P(female) of the bundled attribute classifier, measured on UTKFace photos "
                "that training never saw; ages in years, accuracies as fractions",
        **error_by_group(ages[held_out], female[held_out], pred_age, p_female),
        "split": {"seed": SPLIT_SEED, "held_out_fraction": SPLIT_FRACTION, "held_out": int(len(held_out)),
                  "train": int(len(images) - len(held_out)),
                  "how": "facestudio.training.attribute_classifier.held_out_split over the labelled faces "
                         "in archive order"},
        "training": {"epochs": args.epochs, "seconds": round(time.time() - t0, 1), "input_size": INPUT_SIZE},
        "training_data": training_data_digest(Path(args.data), names),
    }
    save_classifier(net, weights_path)
    with atomic_write(report_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    note(summary.line())
    for name, mae in report["age_mae_by_bin"].items():
        acc = report["gender_accuracy_by_age_bin"][name]
        note(f"  age {name:>6}: {report['count_by_age_bin'][name]:5d} faces, age error "
              f"{mae if mae is None else round(mae, 1)} years, gender accuracy {acc if acc is None else round(acc, 3)}")
    result(args, f"wrote {weights_path} and {report_path}",
           {"written": [str(weights_path), str(report_path)], **report})
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("attribute-classifier", help="train the bundled age / gender classifier on UTKFace and "
                                                     "write its held-out error report")
    sp.add_argument("--data", default="../shared/data/utkface/UTKFace.tar",
                    help="UTKFace images (folder or tar) whose file names carry the labels")
    sp.add_argument("--cache", default="data-cache", help="folder for the decoded-image cache")
    sp.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    sp.add_argument("--out-dir", default="weights", help="where attributes.safetensors and attributes.json go")
    sp.add_argument("--overwrite", action="store_true")
    json_arg(sp, "the files written and the held-out error report")
    sp.set_defaults(func=cmd_attribute_classifier)
