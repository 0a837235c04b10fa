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


def stamped(g, image, args, options, recipe=None, xmp_extra=None, path: Path | None = None) -> list[Path]:
    """Write ``image`` to ``path`` (default ``--out``) with the provenance stamp (model card
    terms, ``--artist``)."""
    from facestudio.provenance import export_image, make_stamp
    stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256, artist=args.artist or "",
                       attribution=args.attribution)
    return export_image(image, args.out if path is None else path, stamp, recipe, options, args.overwrite, xmp_extra)
