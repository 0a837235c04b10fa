"""``facestudio library build | info | verify | export``: a stock library of faces.

``build`` makes or finishes ``LIB`` (:mod:`facestudio.library.build`): the same command
after an interruption goes on where the catalogue stops, a second run adds nothing, another
spec or model is refused. ``info`` prints the counts and the audit's distributions,
``verify`` checks every file against its row (exists, pixel hash, stamp, watermark) and
``export --parquet`` writes the catalogue for data tools (pyarrow, optional).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import (UserError, json_arg, model_arg, parse_seeds, psi_arg, scale_arg,
                                           seeds_arg)
from facestudio.commands.output import result
from facestudio.commands.progress import bar
from facestudio.shown_text import json_safe, shown

ENGINES = ("local", "ray")
MAX_PROBLEMS_SHOWN = 20


def _request(args) -> tuple:
    """Everything about the request that can be wrong, checked before any model is loaded:
    the filters, balance, seeds and seeds to try."""
    from facestudio.commands.find import _criteria, parse_balanced
    from facestudio.library.spec import MAX_COUNT, default_max_tries
    if not 1 <= args.count <= MAX_COUNT:
        raise UserError(f"--count {args.count:,} is outside 1 to {MAX_COUNT:,}, the most faces one library holds")
    if args.seeds is not None and args.start_seed is not None:
        raise UserError("give --start-seed or --seeds, not both")
    criteria, dims = _criteria(args), parse_balanced(args.balanced) if args.balanced else ()
    if criteria.bounds:  # the workers measure with dlib: say now when it is missing, not from a worker
        from facestudio.analysis.identity import DlibMissingError, import_dlib, model_files
        try:
            import_dlib(), model_files()
        except DlibMissingError as exc:
            raise UserError(f"the attribute filters measure faces with dlib: {exc}") from None
    seeds = library_seeds(args.seeds) if args.seeds is not None else None
    filtered = bool(dims) or criteria != type(criteria)()
    max_tries = args.max_tries or default_max_tries(args.count, filtered, None if seeds is None else len(seeds))
    if max_tries < args.count:
        raise UserError(f"{max_tries:,} seeds to try cannot make {args.count:,} faces; list more seeds or raise "
                        "--max-tries")
    return criteria, dims, seeds, max_tries


def library_seeds(text: str) -> tuple[int, ...]:
    """The seeds a build tries, in order (:func:`parse_seeds`'s grammar, ``@FILE`` too), each once."""
    from facestudio.library.spec import MAX_TRIES
    seeds, seen = parse_seeds(text, "seeds", limit=MAX_TRIES, limit_note="the most one build tries"), set()
    for seed in seeds:
        if seed in seen:
            raise UserError(f"the seeds {text!r} list seed {seed} twice; a build tries each seed once")
        seen.add(seed)
    return tuple(seeds)


def _spec(args, g, request):
    from facestudio.library.spec import LibrarySpec
    criteria, dims, seeds, max_tries = request
    return LibrarySpec(count=args.count, model_sha256=g.sha256, model_name=g.name,
                       start_seed=args.start_seed or 0, seeds=seeds, max_tries=max_tries, psi=args.psi,
                       format=args.format, quality=args.quality, scale=args.scale, age=criteria.age,
                       gender=criteria.gender, tone=criteria.tone, balanced=dims,
                       confidence=criteria.confidence, bounds=criteria.bounds)


def _progress_bar(count: int):
    """A bar over the faces added, the seeds decided beside it; the build's callback and the bar."""
    progress = bar(count, "library build", unit="face")

    def report(r) -> None:
        progress.update(r.added - progress.n)
        progress.set_postfix_str(f"decided {r.decided:,} seeds", refresh=False)
    return report, progress


def _check_face_size(side: int) -> None:
    """Refuse, before any work, faces larger than a library's reader opens (:data:`MAX_FACE_PIXELS`)."""
    from facestudio.library.catalog import MAX_FACE_PIXELS
    if side * side > MAX_FACE_PIXELS:
        raise UserError(f"a library face of {side} x {side} pixels is more than the {MAX_FACE_PIXELS / 1e6:.1f} "
                        "megapixels a library's face files may have; choose a smaller --scale")


def cmd_build(args) -> int:
    from facestudio.commands.output import load_model
    from facestudio.library.build import build_library, describe_skipped
    from facestudio.library.engines import check_workers, make_engine
    from facestudio.library.worker import WorkerConfig
    from facestudio.provenance.export import ExportOptions, exported_size
    if args.engine != "ray" and args.ray_address:
        raise UserError("--ray-address joins a Ray cluster; use it with --engine ray")
    check_workers(args.workers)
    ExportOptions(quality=args.quality, scale=args.scale)  # refuses a bad scale or quality before any work
    if args.engine == "ray":
        from facestudio.library.engines import import_ray
        import_ray()
    request = _request(args)
    g = load_model(args.model)
    _check_face_size(exported_size(g.resolution, g.resolution, ExportOptions(scale=args.scale))[0])
    spec = _spec(args, g, request)
    model = str(Path(args.model).resolve()) if args.model else None
    config = WorkerConfig(str(Path(args.out).resolve()), model, spec.canonical_json(), spec.sha256)
    on_progress, progress = _progress_bar(spec.count)
    with progress:
        report = build_library(args.out, spec, config,
                               lambda: make_engine(args.engine, config, args.workers, args.ray_address), on_progress)
    skipped = describe_skipped(report.skipped)
    fixed = (f"; removed {report.removed_orphans} unfinished files" if report.removed_orphans else "") + \
            (f"; made {report.restored} missing files again" if report.restored else "")
    if report.added or report.decided:
        text = (f"added {report.added:,} faces to {args.out} in {report.seconds:.1f} s "
                f"({report.added / max(1e-6, report.seconds):.2f} faces/s; skipped {skipped}){fixed}; "
                f"it holds all {spec.count:,}")
    else:
        text = f"{args.out} already holds all {spec.count:,} faces; nothing to add{fixed}"
    result(args, text, {"written": [str(args.out)], "added": report.added, "decided": report.decided,
                        "count": spec.count, "seconds": round(report.seconds, 3), "skipped": dict(report.skipped),
                        "removed_unfinished": report.removed_orphans, "restored": report.restored,
                        "model": g.name, "model_sha256": g.sha256, "psi": spec.psi})
    return 0


def _open(lib: Path):
    from facestudio.library.catalog import Catalog
    if not Path(lib).is_dir():
        raise UserError(f"{shown(lib)} is not a folder")
    return Catalog(lib, readonly=True)


def _stored_spec(catalog, lib: Path) -> dict:
    """The library's spec (checked: :func:`facestudio.library.spec.read_stored_spec`) and its
    face count, refused past the most faces a library holds."""
    from facestudio.library.spec import MAX_COUNT, read_stored_spec
    spec = read_stored_spec(catalog.meta("spec"), lib)
    if catalog.face_count() > MAX_COUNT:
        raise UserError(f"{shown(lib)} lists more than {MAX_COUNT:,} faces, the most a library holds: its catalogue "
                        "is damaged")
    return spec


SUMMARY_COLUMNS = ("age", "p_female", "ita", "lookalike_distance")


def _summary_columns(catalog) -> tuple[str, ...]:
    """:data:`SUMMARY_COLUMNS` and the measure columns the catalogue has."""
    from facestudio.library.catalog import MEASURE_COLUMNS
    return SUMMARY_COLUMNS + tuple(m for m in MEASURE_COLUMNS if m in catalog.present)


def library_summary(lib: Path) -> dict:
    """What ``library info --json`` prints: the spec, counts, and the audit's distributions."""
    import numpy as np
    from facestudio.analysis.audit import set_statistics
    from facestudio.library.build import NEAR_DUPLICATE_DISTANCE
    with _open(lib) as catalog:
        spec = _stored_spec(catalog, lib)
        names = _summary_columns(catalog)
        rows = catalog.columns(names)
        without_embedding = catalog.faces_without_embedding()
        skipped = catalog.skipped_counts()
        decided = catalog.next_position()
    distances = np.array([r[3] for r in rows if r[3] is not None])
    summary = {"library": str(lib), "spec": spec, "spec_sha256": None, "faces": len(rows),
               "asked_for": spec["count"], "complete": len(rows) >= spec["count"],
               "seeds_decided": decided, "skipped": skipped,
               "near_duplicate": {"measure": "Euclidean distance of dlib identity embeddings",
                                  "threshold": NEAR_DUPLICATE_DISTANCE,
                                  "faces_without_embedding": without_embedding},
               "lookalike": {"checked": int(len(distances)),
                             "nearest_distance_min": round(float(distances.min()), 4) if len(distances) else None,
                             "nearest_distance_median": round(float(np.median(distances)), 4) if len(distances) else None}}
    if rows:
        measured = measurements_of(rows, names)
        summary["audit"] = set_statistics(measured)
        if measured.measures is not None:
            from facestudio.analysis.audit import measure_distributions
            from facestudio.analysis.filters import optional_reference
            summary["measures"] = measure_distributions(measured, optional_reference()[0])
    return summary


def measurements_of(rows, names: tuple[str, ...]):
    """The audit's :class:`Measurements` of catalogue rows, tuples of the columns ``names``
    (age, p_female and ita among them; measured when the library was built), with the face
    measures when any row holds them (a library built before holds none)."""
    import numpy as np
    from facestudio.analysis.audit import Measurements
    from facestudio.library.catalog import MEASURE_COLUMNS
    column = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    measures = {k: np.array([np.nan if v is None else v for v in column[k]], float)
                for k in MEASURE_COLUMNS if k in column}
    return Measurements(np.array(column["age"], float), np.array(column["p_female"], float),
                        np.array(column["ita"], float),
                        measures=measures if any(np.isfinite(v).any() for v in measures.values()) else None)


def library_measurements(lib: Path):
    """The measurements of every face of the library ``lib`` (for ``audit --library``)."""
    with _open(lib) as catalog:
        _stored_spec(catalog, lib)
        names = _summary_columns(catalog)
        return measurements_of(catalog.columns(names), names)


def cmd_info(args) -> int:
    s = library_summary(args.lib)
    if args.json:
        print(json_safe(dumps_strict(s, indent=2, ensure_ascii=False)))
        return 0
    spec = s["spec"]
    print(f"library {shown(args.lib)}: {s['faces']:,} of {s['asked_for']:,} faces"
          f"{'' if s['complete'] else ' (unfinished: run the same build command to finish it)'}")
    size = "at the mark size" if spec["scale"] is None else f"x{spec['scale']}"
    print(f"  model {shown(spec['model_name'])} (sha256 {shown(spec['model_sha256'][:12])}), psi {spec['psi']}, "
          f"{spec['format'].upper()} {size}, {s['seeds_decided']:,} seeds decided")
    print("  skipped: " + ", ".join(f"{n:,} {k}" for k, n in s["skipped"].items()))
    look = s["lookalike"]
    if look["checked"]:
        print(f"  lookalike check: {look['checked']:,} faces, nearest training photo at distance "
              f"{look['nearest_distance_min']} at the closest (median {look['nearest_distance_median']})")
    if "audit" in s:
        a = s["audit"]
        print(f"  age: mean {a['age']['mean']} years; " + ", ".join(f"{k} {v:.0%}" for k, v in a["age"]["bins"].items()))
        print(f"  gender: {a['gender']['female']:,} female, {a['gender']['male']:,} male")
        print("  skin tone: " + ", ".join(f"{k} {v:.0%}" for k, v in a["skin_tone"]["bins"].items()))
        print(f"  diversity (normalised joint entropy): {a['diversity']['normalised_joint_entropy']}")
    return 0


VERIFY_COLUMNS = ("position", "seed", "file", "model_sha256", "pixel_sha256")


def verify_library(lib: Path, threads: int | None = None) -> tuple[int, list[str]]:
    """Check every face: its row names a face file of the library (relative, inside
    ``faces/``: any other name is a problem and is never opened), the file is a regular file
    there, its pixels give the row's hash, it carries the stamp (of the library's model) and
    the watermark; and no face file lacks a row. Returns the number of faces checked and one
    sentence per problem, every name shown escaped, in the catalogue's order. The files are
    read in ``threads`` threads (default: one per CPU; decoding, hashing and the mark's FFTs
    release the GIL), each decoded once."""
    from concurrent.futures import ThreadPoolExecutor
    from facestudio.library.build import check_confined, library_files
    from facestudio.library.spec import MAX_COUNT
    lib = Path(lib)
    with _open(lib) as catalog:
        if catalog.face_count() > MAX_COUNT:
            raise UserError(f"{shown(lib)} lists more than {MAX_COUNT:,} faces, the most a library holds: its "
                            "catalogue is damaged")
        rows = catalog.columns(VERIFY_COLUMNS)
    check_confined(lib)
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        problems = [p for face in pool.map(lambda row: _verify_face(lib, *row), rows, chunksize=16) for p in face]
    extra = library_files(lib) - {r[2] for r in rows}
    problems += [f"{shown(name)} is not in the catalogue." for name in sorted(extra)]
    return len(rows), problems


def _verify_face(lib: Path, position: int, seed: int, file: str, model_sha256: str, pixel_sha256: str) -> list[str]:
    """The problems of one catalogued face (none: an empty list)."""
    from facestudio.image_limits import open_bounded_image
    from facestudio.library.catalog import MAX_FACE_BYTES, MAX_FACE_PIXELS
    from facestudio.library.catalog import pixel_sha256 as hash_pixels
    from facestudio.library.worker import is_face_file
    from facestudio.provenance.reader import read_provenance
    name = shown(file)
    if not is_face_file(file):
        return [f"the face at position {position} (seed {seed}) names {name}, which is not a face file of the "
                "library; it is not opened."]
    path = lib / file
    if path.is_symlink() or (os.path.lexists(path) and not path.is_file()):
        return [f"{name} (seed {seed}) is a link or not a regular file; it is not opened."]
    if not path.is_file():
        return [f"{name} (seed {seed}) is missing."]
    try:
        with open_bounded_image(path, "the face file", MAX_FACE_PIXELS, MAX_FACE_BYTES):
            pass  # its size and pixel count bounded before anything is decoded
        prov = read_provenance(path, keep_pixels=True)  # decoded once: the hash, the stamp, the mark
    except (OSError, ValueError) as exc:
        return [f"{name} (seed {seed}) cannot be read ({shown(exc)})."]
    if prov.pixels is None:
        return [f"{name} (seed {seed}) cannot be read ({shown(prov.watermark.reason)})."]
    if hash_pixels(prov.pixels) != pixel_sha256:
        return [f"{name} (seed {seed}) does not hold the pixels catalogued (its hash differs)."]
    problems = []
    if not prov.is_stamped or prov.model_sha256 != model_sha256:
        problems.append(f"{name} (seed {seed}) lacks the provenance stamp of the library's model.")
    if not prov.watermark.found:
        problems.append(f"{name} (seed {seed}) carries no watermark.")
    return problems


def cmd_verify(args) -> int:
    count, problems = verify_library(args.lib)
    if problems:
        for line in problems[:MAX_PROBLEMS_SHOWN]:
            print(f"facestudio: {line}", file=sys.stderr)  # the problems are the result: never --quiet
        if len(problems) > MAX_PROBLEMS_SHOWN:
            print(f"facestudio: and {len(problems) - MAX_PROBLEMS_SHOWN} more problems.", file=sys.stderr)
        print(f"facestudio: {shown(args.lib)} failed verification: {len(problems)} problems in {count:,} faces.",
              file=sys.stderr)
        return 1
    print(f"{shown(args.lib)}: all {count:,} faces present, with the catalogued pixels, the stamp and the watermark")
    return 0


def cmd_export(args) -> int:
    from facestudio.fileio import atomic_write
    try:
        import pyarrow
        import pyarrow.parquet as parquet
    except ImportError:
        raise UserError("library export --parquet needs pyarrow: pip install 'facestudio[data]'") from None
    from facestudio.library.catalog import FACE_COLUMNS
    with _open(args.lib) as catalog:
        rows = catalog.faces()
    columns = {c: [getattr(r, c) for r in rows] for c in FACE_COLUMNS}
    table = pyarrow.table(columns)
    with atomic_write(Path(args.parquet), overwrite=args.overwrite) as tmp:
        parquet.write_table(table, tmp)
    result(args, f"wrote {len(rows):,} faces to {args.parquet}", {"written": [str(args.parquet)], "faces": len(rows)})
    return 0


def add_parsers(sub) -> None:
    from facestudio.commands.find import face_filter_args
    from facestudio.library.spec import MAX_COUNT
    lib = sub.add_parser("library", help="a stock library of faces: build, info, verify, export")
    lsub = lib.add_subparsers(dest="library_command", required=True)
    sp = lsub.add_parser("build", help="make or finish a library (resumable; a second run adds nothing)")
    model_arg(sp)
    sp.add_argument("--count", type=int, required=True, help=f"faces the library holds (1 to {MAX_COUNT:,})")
    sp.add_argument("--start-seed", type=int, default=None, help="first seed tried (default 0)")
    seeds_arg(sp, what="the seeds to try, in order, each once", default=None)
    sp.add_argument("--max-tries", type=int, default=None, help="seeds to try at most (default 20 per face, "
                    "200 with filters)")
    psi_arg(sp)
    face_filter_args(sp)
    sp.add_argument("--balanced", default=None, help="equal numbers per bin of these, e.g. age,gender,tone")
    sp.add_argument("--out", type=Path, required=True, help="the library folder (made when missing)")
    sp.add_argument("--engine", choices=ENGINES, default="local")
    sp.add_argument("--workers", type=int, default=1, help="worker processes or Ray actors (default 1)")
    sp.add_argument("--ray-address", default=None, help="join this Ray cluster (default: start a local one)")
    sp.add_argument("--format", choices=("png", "jpg", "webp"), default="png")
    sp.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality 1-100 (default 95)")
    scale_arg(sp)
    json_arg(sp, "the library written, faces added, seeds decided and skipped")
    sp.set_defaults(func=cmd_build)
    sp = lsub.add_parser("info", help="counts and the audit's distributions of a library")
    sp.add_argument("lib", type=Path)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_info)
    sp = lsub.add_parser("verify", help="check every file against the catalogue (hash, stamp, watermark)")
    sp.add_argument("lib", type=Path)
    sp.set_defaults(func=cmd_verify, uses_torch=False)  # reads files only: torch is not loaded
    sp = lsub.add_parser("export", help="write the catalogue for data tools")
    sp.add_argument("lib", type=Path)
    sp.add_argument("--parquet", type=Path, required=True, help="the Parquet file to write (needs pyarrow)")
    sp.add_argument("--overwrite", action="store_true", help="replace an existing file")
    json_arg(sp, "the file written and the faces in it")
    sp.set_defaults(func=cmd_export)
