"""``facestudio audit``: what a set of faces holds in apparent age, gender and skin tone,
against the training data; ``facestudio audit-training`` builds the training data's side.

The set is a seed range of a model (``--seeds A-B [--psi P]``, optionally swept over psi
0.5 / 0.7 / 1.0 with ``--psi-sweep``), the gallery of a session file (``--session``) or
the images in a folder (``--folder``; files that are not images are skipped and counted).
The measurements and statistics are :mod:`facestudio.analysis.audit`'s; the report image
is :mod:`facestudio.commands.audit_report`'s and goes through the provenance export path.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facestudio.commands.arguments import DEFAULT_PSI, UserError, json_arg, model_arg, parse_seeds, seeds_arg
from facestudio.commands.output import result
from facestudio.commands.progress import counter, message

MAX_AUDIT_FACES = 100_000  # about 40 minutes of rendering and measuring at 128 px on 2 CPU cores
MAX_FOLDER_FILES = 100_000
FOLDER_SIZE = 128  # folder images are centre-cropped square and resized to this side
SWEEP_PSIS = (0.5, 0.7, 1.0)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def measure(images, net, measurer=None):
    """Age, gender and tone of ``images``; with a dlib ``measurer`` (``--measures``), the face
    measures too."""
    from facestudio.analysis.audit import measure_faces, with_face_measures
    m = measure_faces(images, net)
    return m if measurer is None else with_face_measures(m, images, measurer)


def measure_seeds(g, net, seeds: list[int], psi: float, batch: int = 64, label: str = "measuring", measurer=None):
    """Render and measure the faces of ``seeds`` at ``psi`` in batches (noise const)."""
    from facestudio.analysis.audit import empty_measurements
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    renderer, total, progress = Renderer(g), empty_measurements(), counter(label)
    for start in range(0, len(seeds), batch):
        chunk = seeds[start:start + batch]
        images = renderer.render_ws_batch(g.map(z_from_seeds(chunk, g.z_dim), psi=psi))
        total = total.concat(measure(images, net, measurer))
        progress(start + len(chunk), len(seeds))
    return total


def measure_session(path: Path, model: str | None, net, batch: int = 64, measurer=None):
    """Render and measure the gallery of a session file."""
    from facestudio.analysis.audit import empty_measurements
    from facestudio.commands.output import load_model
    from facestudio.render.model_directions import model_directions
    from facestudio.render.renderer import Renderer
    from facestudio.session.document import load_session
    doc = load_session(path)
    recipes = [face.recipe for face in doc.gallery]
    if not recipes:
        raise UserError(f"the session {path} has no faces in its gallery to audit")
    g = load_model(model)
    table = {d.id: d for d in model_directions(g) + list(doc.directions)}
    renderer, total, progress = Renderer(g, table), empty_measurements(), counter("measuring the gallery")
    for start in range(0, len(recipes), batch):
        total = total.concat(measure(renderer.render_batch(recipes[start:start + batch]), net, measurer))
        progress(min(start + batch, len(recipes)), len(recipes))
    return total, g


def read_folder_faces(folder: Path) -> tuple[np.ndarray, list[str], int]:
    """The images directly in ``folder`` as uint8 ``[N, FOLDER_SIZE, FOLDER_SIZE, 3]``
    (centre square, resized), their names, and how many files were skipped as not images."""
    from PIL import Image, UnidentifiedImageError

    from facestudio.analysis.identity import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
    from facestudio.image_limits import ImageLimitError, open_bounded_image
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if len(files) > MAX_FOLDER_FILES:
        raise UserError(f"{folder} holds {len(files):,} files; an audit reads at most {MAX_FOLDER_FILES:,}")
    faces, names, skipped = [], [], 0
    for path in files:
        try:
            with open_bounded_image(path, "the image", MAX_IMAGE_PIXELS, MAX_IMAGE_BYTES) as im:
                im = im.convert("RGB")
                side = min(im.size)
                left, top = (im.width - side) // 2, (im.height - side) // 2
                im = im.crop((left, top, left + side, top + side)).resize((FOLDER_SIZE, FOLDER_SIZE), Image.LANCZOS)
                faces.append(np.asarray(im, dtype=np.uint8))
                names.append(path.name)
        except (UnidentifiedImageError, OSError, ValueError, ImageLimitError):  # bounded before decoding
            skipped += 1
    shape = (len(faces), FOLDER_SIZE, FOLDER_SIZE, 3)
    return (np.stack(faces) if faces else np.zeros(shape, np.uint8)), names, skipped


def _classifier_error() -> dict:
    from facestudio.analysis.attributes import read_error_report
    report = read_error_report()
    keys = ("overall", "age_mae_by_bin", "gender_accuracy_by_gender", "gender_accuracy_by_age_bin",
            "count_by_age_bin", "split", "training_data")
    return {k: report[k] for k in keys if k in report}


def audit_document(source: str, measured, training: dict, classifier_error: dict, sweep=None) -> dict:
    """The audit's JSON document (see the module doc of :mod:`facestudio.analysis.audit`);
    with ``measures`` when the set was measured with dlib: each measure's percentiles beside
    the real photos' (UTKFace, ``weights/measures.json``)."""
    from facestudio.analysis.audit import compare, measure_distributions, set_statistics
    stats = set_statistics(measured)
    doc = {"source": source, **stats, "training": training["labels"],
           "training_measured_by_classifier": training.get("measured"),
           "difference": compare(stats, training["labels"]), "classifier_error": classifier_error}
    if measured.measures is not None:
        from facestudio.analysis.filters import optional_reference
        reference, problem = optional_reference()
        if problem:
            doc["measures_note"] = problem
        doc["measures"] = measure_distributions(measured, reference)
    if sweep:
        doc["psi_sweep"] = [{"psi": psi, **set_statistics(m)} for psi, m in sweep]
    return doc


def _print_text(doc: dict) -> None:
    t = doc["training"]
    print(f"audit of {doc['source']}: {doc['count']} faces (training data: {t['count']} UTKFace photos)")
    print(f"  mean age {doc['age']['mean']:.1f} years (training {t['age']['mean']:.1f}); female "
          f"{100 * doc['female_share']:.1f} % (training {100 * t['female_share']:.1f} %); mean ITA "
          f"{doc['skin_tone']['ita_mean']:.1f}° (training {t['skin_tone']['ita_mean']:.1f}°)")
    for key, title in (("age", "age bin"), ("skin_tone", "skin tone")):
        print(f"  {title:<12} {'this set':>9} {'training':>9}")
        for name, share in doc[key]["bins"].items():
            print(f"  {name:<12} {100 * share:8.1f}% {100 * t[key]['bins'][name]:8.1f}%")
    d = doc["diversity"]
    print(f"  diversity (normalised entropy of the 84 age x gender x tone bins): "
          f"{d['normalised_joint_entropy']:.3f} (training {t['diversity']['normalised_joint_entropy']:.3f}); "
          f"{d['occupied_joint_bins']} of 84 bins occupied")
    for s in doc.get("psi_sweep", []):
        print(f"  psi {s['psi']}: diversity {s['diversity']['normalised_joint_entropy']:.3f}, age sd "
              f"{s['age']['std']:.1f} years, ITA sd {s['skin_tone']['ita_std']:.1f}°, female {100 * s['female_share']:.1f} %")
    if doc.get("measures"):
        print(f"  {'measure':<11} {'this set p10 / p50 / p90':>26} {'training (UTKFace)':>26} {'median shift':>13}")
        for name, row in doc["measures"].items():
            mine = " / ".join(f"{row[k]:.3g}" for k in ("p10", "p50", "p90")) if "p50" in row else "no face found"
            real = " / ".join(f"{row['training'][k]:.3g}" for k in ("p10", "p50", "p90")) if "training" in row else "-"
            shift = f"{row['median_shift_spreads']:+.2f} sd" if "median_shift_spreads" in row else ""
            print(f"  {name:<11} {mine:>26} {real:>26} {shift:>13}")
        if doc.get("measures_note"):
            print(f"  (no training column: {doc['measures_note']})")
        missing = max(row["not_found"] for row in doc["measures"].values())
        if missing:
            print(f"  (dlib found no face in {missing} of them; their measures are left out)")
    err = doc["classifier_error"].get("overall", {})
    if err:
        print(f"  the classifier's own held-out error: age {err['age_mae']:.1f} years, gender accuracy "
              f"{100 * err['gender_accuracy']:.1f} % (per group in --json)")


def write_report(doc: dict, out: Path, overwrite: bool, g=None) -> None:
    from facestudio.commands.audit_report import draw_report, png_bytes, report_html
    from facestudio.fileio import atomic_write
    image = draw_report(doc)
    if out.suffix.lower() == ".html":
        with atomic_write(out, overwrite) as tmp:
            tmp.write_text(report_html(doc, png_bytes(image)), encoding="utf-8")
        return
    from facestudio.provenance import export_image, make_stamp
    stamp = make_stamp(g.card.meta if g is not None and g.card else {}, g.name if g else "",
                       g.sha256 if g else "", note="facestudio audit report (charts, no face)")
    export_image(image, out, stamp, None, None, overwrite, {"Audit": doc["source"][:200]})


def cmd_audit(args) -> int:
    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.audit import read_training_summary
    from facestudio.commands.output import load_model
    from facestudio.fileio import check_writable_target
    if args.out is not None:
        if args.out.suffix.lower() not in (".png", ".html"):
            raise UserError(f"the report {args.out} must be a .png or an .html file")
        check_writable_target(args.out, overwrite=args.overwrite)
    if args.psi is not None and not args.seeds:
        raise UserError("--psi applies to --seeds: a session, a folder or a library holds faces at their own psi")
    if args.psi_sweep and not args.seeds:
        raise UserError("--psi-sweep needs --seeds: a session, a folder or a library holds faces at their own psi")
    limit = MAX_AUDIT_FACES // (len(SWEEP_PSIS) if args.psi_sweep else 1)
    seeds = parse_seeds(args.seeds, limit=limit, limit_note="the most an audit measures at a time (about 40 "
                        "minutes here), so audit a part of them") if args.seeds else None
    training, error = read_training_summary(), _classifier_error()
    if args.measures and args.library is not None:
        raise UserError("a library's faces were measured when it was built: leave out --measures")
    net, g, sweep, skipped = load_bundled_classifier(), None, None, None
    if args.measures:
        from facestudio.commands.find import face_measurer
        measurer = face_measurer(net)
    else:
        measurer = None
    if seeds is not None:
        psi = DEFAULT_PSI if args.psi is None else args.psi
        g = load_model(args.model)
        measured = measure_seeds(g, net, seeds, psi, label=f"psi {psi}", measurer=measurer)
        source = f"{g.name} seeds {args.seeds} at psi {psi}"
        if args.psi_sweep:
            sweep = [(p, measured if p == psi else measure_seeds(g, net, seeds, p, label=f"psi {p}"))
                     for p in SWEEP_PSIS]
    elif args.session is not None:
        measured, g = measure_session(args.session, args.model, net, measurer=measurer)
        source = f"the gallery of {args.session.name}"
    elif args.library is not None:
        from facestudio.commands.library import library_measurements
        measured = library_measurements(args.library)  # measured when the library was built
        if not len(measured):
            raise UserError(f"the library {args.library} holds no faces yet")
        source = f"the library {args.library.name}"
    else:
        images, names, skipped = read_folder_faces(args.folder)
        if not len(images):
            raise UserError(f"the folder {args.folder} holds no images to audit "
                            f"({skipped} other file{'s' if skipped != 1 else ''} skipped)")
        if skipped:
            message(f"skipped {skipped} file{'s' if skipped != 1 else ''} in {args.folder} that "
                    f"{'are' if skipped != 1 else 'is'} not {'images' if skipped != 1 else 'an image'}")
        measured = measure(images, net, measurer)
        source = f"the folder {args.folder.name}"
    doc = audit_document(source, measured, training, error, sweep)
    if skipped is not None:
        doc["skipped_files"] = skipped
    if g is not None:
        doc["model"] = {"name": g.name, "sha256": g.sha256}
    if args.out is not None:
        write_report(doc, args.out, args.overwrite, g)
        doc["written"] = [str(args.out)]
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_text(doc)
    if args.out is not None:
        message(f"wrote {args.out}")
    return 0


def cmd_audit_training(args) -> int:
    """Measure the training photos once and cache the summary the audit compares with."""
    from facestudio.analysis.attributes import INPUT_SIZE, load_bundled_classifier
    from facestudio.analysis.audit import measure_faces, training_summary
    from facestudio.commands.classifier import labelled_utkface, training_data_digest
    from facestudio.fileio import atomic_write, check_writable_target
    check_writable_target(args.out, overwrite=args.overwrite)
    images, ages, female, names = labelled_utkface(Path(args.data), Path(args.cache), INPUT_SIZE)
    net, progress = load_bundled_classifier(), counter("measuring training photos", unit="photo")
    parts = []
    for start in range(0, len(images), 1024):
        parts.append(measure_faces(images[start:start + 1024], net))
        progress(min(start + 1024, len(images)), len(images))
    measured = parts[0]
    for p in parts[1:]:
        measured = measured.concat(p)
    summary = training_summary(ages, female, measured.ita, measured, training_data_digest(Path(args.data), names))
    with atomic_write(args.out, overwrite=args.overwrite) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    result(args, f"wrote {args.out}: {len(images)} photos, mean age {summary['labels']['age']['mean']:.1f} years, "
           f"female {100 * summary['labels']['female_share']:.1f} %, mean ITA "
           f"{summary['labels']['skin_tone']['ita_mean']:.1f}°", {"written": [str(args.out)], **summary})
    return 0


def add_parsers(sub) -> None:
    sp = sub.add_parser("audit", help="age, gender and skin tone of a set of faces against the training data")
    source = sp.add_mutually_exclusive_group(required=True)
    seeds_arg(source, what="the model's faces of these seeds")
    source.add_argument("--session", type=Path, help="a session file: its gallery")
    source.add_argument("--folder", type=Path, help="a folder of face images (aligned, as the model's)")
    source.add_argument("--library", type=Path, help="a stock library (facestudio library build): its catalogue")
    model_arg(sp)
    sp.add_argument("--psi", type=float, default=None,
                    help=f"truncation psi for --seeds (default {DEFAULT_PSI:g}, as the studio)")
    sp.add_argument("--psi-sweep", action="store_true", help="with --seeds: also measure psi 0.5, 0.7 and 1.0")
    sp.add_argument("--measures", action="store_true",
                    help="also measure expression, head pose and hair lightness with dlib (about 10 ms a face) and "
                         "report them beside the real photos' (a library's are in its catalogue already)")
    json_arg(sp, "the audit (and the report written)")
    sp.add_argument("--out", type=Path, default=None, help="report with bar plots: .png or .html")
    sp.add_argument("--overwrite", action="store_true")
    sp.set_defaults(func=cmd_audit)

    sp = sub.add_parser("audit-training", help="measure the training photos once for the audit's comparison")
    sp.add_argument("--data", default="../shared/data/utkface/UTKFace.tar", help="UTKFace (folder or tar)")
    sp.add_argument("--cache", default="data-cache", help="folder for the decoded-image cache")
    sp.add_argument("--out", type=Path, default=Path("weights/audit-training.json"))
    sp.add_argument("--overwrite", action="store_true")
    json_arg(sp, "what was written and the training summary")
    sp.set_defaults(func=cmd_audit_training)
