"""``facestudio lookalike`` (does this face resemble a real person's photo?) and
``facestudio lookalike-index`` (index a folder of photos, such as a model's training set).

``lookalike IMAGE... [--json] [--index PATH] [--against DIR]`` answers per image; a file
with no face, or one that cannot be read, is an answer for that file, not the end of the
run (the exit status is 1 when any file could not be read). The default index is
``weights/lookalike-index.npz`` beside the bundled model. ``--against DIR`` indexes the
photos in DIR on first use (with progress on stderr) and keeps the index in facestudio's
data folder under the digest of DIR's names and contents, so a changed folder is indexed again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import EXIT_FAILED, UserError, json_arg, model_arg
from facestudio.commands.output import photo_progress, result
from facestudio.commands.progress import message
from facestudio.errors import FacestudioError
from facestudio.shown_text import json_safe, shown

MAX_JOBS = 64  # lookalike-index --jobs: worker processes, each with its own dlib networks


def _training_index(args, embedder):
    from facestudio.analysis import lookalike_guard
    from facestudio.analysis.lookalike import LookalikeIndex
    path = Path(args.index) if args.index else lookalike_guard.default_index_path()
    if not path.is_file():
        if args.index or not args.against:
            raise UserError(f"there is no lookalike index at {path}: build one with facestudio "
                            f"lookalike-index --data DIR --out {path}, or pass --against DIR.")
        return None
    index = LookalikeIndex.load(path, embedder.sha256)
    if args.model or index.model_sha256:
        from facestudio.commands.output import load_model
        index.check_model(load_model(args.model).sha256, f"the lookalike index {path}")
    return index


def _against_index(folder: Path, embedder):
    """The (cached) index of the photos in ``folder``."""
    from facestudio.analysis.lookalike_guard import cached_folder_index
    from facestudio.locations import data_dir
    if not folder.is_dir():
        raise UserError(f"--against {folder} is not a folder of photos.")
    return cached_folder_index(folder, embedder, data_dir(), photo_progress(f"indexing {folder}"),
                               lambda line: message(f"--against {line}"))


def _verdict(index, embedding, threshold: float) -> dict:
    match = index.nearest(embedding) if index is not None and len(index) else None
    if match is None:
        return {"resembles": None, "distance": None, "nearest": None}
    return {"resembles": match.distance < threshold, "distance": round(match.distance, 4), "nearest": match.name}


def check_file(path: str, embedder, training, against, threshold: float) -> dict:
    """The answer for one image: see the module doc; ``error`` when it cannot be read."""
    from facestudio.analysis.identity import IdentityError
    answer: dict = {"file": path}
    try:
        m = embedder.measure_file(path)
    except IdentityError as exc:
        return {**answer, "error": str(exc), "face_found": False, "resembles_training_photo": None,
                "distance": None, "threshold": threshold, "nearest": None}
    answer["face_found"], answer["face_box"] = m.found, m.face_box
    if not m.found:
        return {**answer, "resembles_training_photo": None, "distance": None, "threshold": threshold,
                "nearest": None}
    v = _verdict(training, m.embedding, threshold)
    answer.update(resembles_training_photo=v["resembles"], distance=v["distance"], threshold=threshold,
                  nearest=v["nearest"])
    if against is not None:
        a = _verdict(against, m.embedding, threshold)
        answer["against"] = {"resembles": a["resembles"], "distance": a["distance"], "nearest": a["nearest"]}
    return answer


def _text(a: dict) -> str:
    """One line per image; every name from a file or a folder is shown escaped (:func:`shown`)."""
    name = shown(a["file"])
    if "error" in a:
        return f"{name}: {shown(a['error'])}"
    if not a["face_found"]:
        return f"{name}: no face found"
    parts = []
    if a["distance"] is not None:
        word = "RESEMBLES" if a["resembles_training_photo"] else "does not resemble"
        parts.append(f"{word} a training photo (nearest {shown(a['nearest'])}, distance {a['distance']:.3f}, "
                     f"threshold {a['threshold']:.2f})")
    if "against" in a and a["against"]["distance"] is not None:
        b = a["against"]
        word = "RESEMBLES" if b["resembles"] else "does not resemble"
        parts.append(f"{word} a photo of --against (nearest {shown(b['nearest'])}, distance {b['distance']:.3f})")
    if not parts:
        parts.append("not compared: there is no indexed face to compare it with")
    return f"{name}: " + "; ".join(parts) + f" [face box: {a['face_box']}]"


def cmd_lookalike(args) -> int:
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.analysis.lookalike import DEFAULT_THRESHOLD
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0.0 < threshold < 2.0:
        raise UserError(f"--threshold {threshold} is outside 0-2, the range of face distances.")
    embedder = IdentityEmbedder()
    training = _training_index(args, embedder)
    against = _against_index(Path(args.against), embedder) if args.against else None
    answers = [check_file(f, embedder, training, against, threshold) for f in args.images]
    if args.json:
        print(json_safe(dumps_strict(answers if len(answers) > 1 else answers[0], indent=2, ensure_ascii=False)))
    else:
        print("\n".join(_text(a) for a in answers))
    return EXIT_FAILED if any("error" in a for a in answers) else 0


def _model_sha256(model: str) -> str:
    from facestudio.commands.output import load_model
    return load_model(None if model == "bundled" else model).sha256


def _add_model(args) -> int:
    """``--add-model MODEL --out INDEX``: record that MODEL was trained on INDEX's photos too."""
    from facestudio.analysis.lookalike import LookalikeIndex
    if args.data or args.training_set_of or args.limit is not None:
        raise UserError("--add-model changes an existing index; it takes only --out (the index), not --data, "
                        "--training-set-of or --limit.")
    out = Path(args.out)
    if not out.is_file():
        raise UserError(f"--add-model needs an existing index at --out, and there is no file {out}.")
    index = LookalikeIndex.load(out).with_model(_model_sha256(args.add_model))
    index.save(out, overwrite=True)
    result(args, f"{out} now serves {len(index.models)} models: " + ", ".join(m[:12] for m in index.models),
           {"written": [str(out)], "models": list(index.models)})
    return 0


def cmd_lookalike_index(args) -> int:
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.analysis.lookalike import build_index
    from facestudio.fileio import check_writable_target
    if args.add_model:
        return _add_model(args)
    if not args.data:
        raise UserError("give --data DIR, the folder of photos to index (or --add-model MODEL for an existing index).")
    out, data = Path(args.out), Path(args.data)
    check_writable_target(out, overwrite=args.overwrite)
    if not data.is_dir():
        raise UserError(f"--data {data} is not a folder of photos.")
    if not 1 <= args.jobs <= MAX_JOBS:
        raise UserError(f"--jobs {args.jobs} must be between 1 and {MAX_JOBS}.")
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit {args.limit} must be at least 1.")
    model_sha256 = _model_sha256(args.training_set_of) if args.training_set_of else ""
    embedder = IdentityEmbedder()
    index, report = build_index(data, embedder, args.name or data.name, photo_progress(f"indexing {data}"),
                                limit=args.limit, model_sha256=model_sha256, jobs=args.jobs)
    if not len(index):
        raise UserError(f"no face was found in {shown(data)} ({report.line()}), so no index was written.")
    index.save(out, overwrite=args.overwrite)
    result(args, f"wrote {out}: {report.line()}", {"written": [str(out)], "report": report.line(),
                                                   "models": list(index.models)})
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("lookalike", help="does a face resemble a training photo (or a photo in --against)?")
    sp.add_argument("images", nargs="+", metavar="IMAGE")
    json_arg(sp, "one object per image (a list for several)")
    sp.add_argument("--index", default=None, help="lookalike index (default: lookalike-index.npz beside the bundled model)")
    sp.add_argument("--against", default=None, metavar="DIR",
                    help="also check against a folder of photos of real people who must not appear")
    sp.add_argument("--threshold", type=float, default=None, help="distance below which a face resembles a photo")
    model_arg(sp)
    sp.set_defaults(func=cmd_lookalike)

    sp = sub.add_parser("lookalike-index", help="index the faces of a folder of photos for lookalike")
    sp.add_argument("--data", default=None, metavar="DIR", help="folder of photos (searched recursively)")
    sp.add_argument("--out", required=True, help="index file to write (.npz)")
    sp.add_argument("--name", default=None, help="what the photos are, recorded in the index (default: the folder name)")
    sp.add_argument("--training-set-of", default=None, metavar="MODEL",
                    help="record that these are the training photos of MODEL ('bundled' for the bundled model)")
    sp.add_argument("--limit", type=int, default=None, help="index at most N photos (in name order)")
    sp.add_argument("--jobs", type=int, default=1, help="measure in this many processes (default 1)")
    sp.add_argument("--overwrite", action="store_true", help="replace an existing index file")
    sp.add_argument("--add-model", default=None, metavar="MODEL",
                    help="record that MODEL (e.g. one grown from the indexed model) was trained on the photos of "
                         "the existing index --out, without measuring them again")
    json_arg(sp, "the index written and what it holds")
    sp.set_defaults(func=cmd_lookalike_index)
