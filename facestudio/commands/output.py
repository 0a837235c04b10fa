"""What the commands share on the way out and in between: loading a model with a progress
line, checking output paths and sheet sizes before any work, and writing a stamped image."""

from __future__ import annotations

import sys
from pathlib import Path

from facestudio.commands.arguments import UserError

# A sheet holds at most this many pixels (a 400 MB RGB image): checked before anything is allocated.
MAX_SHEET_PIXELS = 1 << 27


def progress_printer(label: str):
    """A progress callback for large files: a single updating line on stderr."""
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        if total < 64 << 20:
            return
        pct = int(100 * done / total)
        if pct != state["last"]:
            state["last"] = pct
            end = "\n" if done >= total else ""
            print(f"\r{label}: {pct:3d}% of {total / 2**20:.0f} MiB", end=end, file=sys.stderr, flush=True)

    return report


def photo_progress(label: str):
    """A progress callback for indexing photos: ``label: 1,234 of 23,707 photos`` on stderr."""
    state = {"last": -1}

    def report(done: int, total: int) -> None:
        pct = 100 * done // max(1, total)
        if pct != state["last"] or done == total:
            state["last"] = pct
            print(f"\r{label}: {done:,} of {total:,} photos", end="\n" if done >= total else "",
                  file=sys.stderr, flush=True)

    return report


def load_model(model: str | None):
    from facestudio.generator import load_generator
    return load_generator(model, progress=progress_printer("reading model"))


def check_sheet(rows: int, cols: int, res: int, out: Path, options, margin: tuple[int, int] = (0, 0)) -> None:
    """Before anything is rendered, refuse a sheet of ``rows`` x ``cols`` cells of ``res``
    pixels (plus ``margin`` = (width, height) of labels) past :data:`MAX_SHEET_PIXELS`, or
    wider or taller than the format of ``out`` holds once exported with ``options``."""
    from facestudio.provenance.export import check_export_size
    width, height = cols * res + margin[0], rows * res + margin[1]
    if width * height > MAX_SHEET_PIXELS:
        raise UserError(f"a sheet of {rows} x {cols} faces of {res} pixels would be {width} x {height} "
                        f"pixels; facestudio makes sheets of at most {MAX_SHEET_PIXELS // 10**6} megapixels")
    check_export_size(out, width, height, options)


def export_options(args):
    """Check the output paths and export options before any model is loaded."""
    from facestudio.fileio import check_writable_target
    from facestudio.provenance.export import ExportOptions, resolve_format, sidecar_path
    options = ExportOptions(quality=args.quality, scale=args.scale, sidecar=getattr(args, "sidecar", False))
    resolve_format(args.out, options)
    check_writable_target(args.out, overwrite=args.overwrite)
    if options.sidecar:
        check_writable_target(sidecar_path(args.out), overwrite=args.overwrite)
    return options


def export_guard(g, args):
    """The export guard for model ``g`` (:mod:`facestudio.analysis.lookalike_guard`): the
    bundled training-set index when it was built for ``g``, and ``--against DIR``."""
    from facestudio.analysis import lookalike_guard
    from facestudio.locations import data_dir
    against = getattr(args, "against", None)
    if against is not None and not Path(against).is_dir():
        raise UserError(f"--against {against} is not a folder of photos.")
    return lookalike_guard.guard_for_model(
        g.sha256, lookalike_guard.default_index_path(), Path(against) if against else None, data_dir=data_dir(),
        progress=photo_progress(f"indexing {against}"), log=lambda line: print(f"--against {line}", file=sys.stderr))


def check_lookalikes(g, faces, args, what: str, guard=None) -> dict[str, str]:
    """Refuse (:class:`UserError`) to write ``faces`` when one resembles a real photo, unless
    ``--allow-lookalike``; the XMP properties that record the check. A check that cannot run
    does not stop the export: the file records why, and stderr says how to install dlib."""
    guard = guard or export_guard(g, args)
    verdict = guard.check(faces)
    allowed = bool(getattr(args, "allow_lookalike", False))
    if verdict.resembles and not allowed:
        raise UserError(verdict.refusal(what))
    if not verdict.checked and guard.embedder is None:  # without an index for the model, the file says so
        print(f"facestudio: {what} was not checked for lookalikes: {verdict.reason}", file=sys.stderr)
    elif verdict.resembles:
        print(f"facestudio: writing {what} although it {verdict.summary()} (--allow-lookalike)", file=sys.stderr)
    return verdict.xmp_fields(allowed)


def stamped(g, image, args, options, recipe=None, xmp_extra=None, faces=None, path: Path | None = None,
            guard=None) -> list[Path]:
    """Write ``image`` to ``path`` (default ``--out``) with the provenance stamp (model card
    terms, ``--artist``), once the lookalike guard (``guard``, or one made for this call) has
    checked ``faces`` (the faces a sheet is made of; default the image)."""
    from facestudio.provenance import export_image, make_stamp
    stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256, artist=args.artist or "",
                       attribution=args.attribution)
    target = Path(args.out if path is None else path)
    checked = check_lookalikes(g, [image] if faces is None else faces, args, target.name, guard)
    return export_image(image, target, stamp, recipe, options, args.overwrite, {**(xmp_extra or {}), **checked})
