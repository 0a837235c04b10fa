"""What the commands share on the way out and in between: loading a model with a progress
bar, checking output paths and sheet sizes before any work, writing a stamped image, and
saying what was done: a line on stdout, or with ``--json`` one JSON object (:func:`result`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facestudio.commands.arguments import UserError
from facestudio.commands.progress import counter, file_progress, is_quiet, message

# A sheet holds at most this many pixels (a 400 MB RGB image): checked before anything is allocated.
MAX_SHEET_PIXELS = 1 << 27


def photo_progress(desc: str):
    """A ``(done, total)`` callback for indexing a folder of photos."""
    return counter(desc, unit="photo")


def result(args, text: str, facts: dict) -> None:
    """Say what a command did: with ``--json`` the ``facts`` as one JSON object on stdout,
    else ``text`` on stdout (unless ``--quiet``)."""
    from facestudio.bounded_json import dumps_strict
    if getattr(args, "json", False):
        print(dumps_strict(facts, indent=2, ensure_ascii=False))
    elif not is_quiet():
        print(text)


def paths_text(paths) -> str:
    return ", ".join(str(p) for p in paths)


@dataclass
class Written:
    """What an export wrote: the files, the stamp's key facts and the lookalike check's verdict."""

    paths: list[Path]
    stamp: dict = field(default_factory=dict)
    lookalike: dict = field(default_factory=dict)

    def facts(self, **extra) -> dict:
        return {"written": [str(p) for p in self.paths], **extra, "stamp": self.stamp, "lookalike": self.lookalike}


def stamp_facts(stamp) -> dict:
    """The key facts of a provenance stamp, as ``--json`` reports them."""
    return {"ai_generated": True, "disclosure": stamp.disclosure, "model": stamp.model_name,
            "model_sha256": stamp.model_sha256, "license": stamp.license_name, "license_url": stamp.license_url,
            "attribution": stamp.attribution, "artist": stamp.artist, "created": stamp.created}


def lookalike_facts(xmp: dict[str, str]) -> dict:
    """The lookalike check's XMP properties (``LookalikeVerdict`` ...) as ``verdict`` ... keys."""
    import re
    return {re.sub(r"(?<!^)(?=[A-Z])", "_", k[len("Lookalike"):] or "check").lower(): v
            for k, v in xmp.items() if k.startswith("Lookalike")}


def load_model(model: str | None):
    from facestudio.generator import load_generator
    return load_generator(model, progress=file_progress("reading model"))


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
        progress=photo_progress(f"indexing {against}"), log=lambda line: message(f"--against {line}"))


ALLOW_HINT = "pass --allow-lookalike to write it anyway"


def check_lookalikes(g, faces, args, what: str, guard=None) -> dict[str, str]:
    """Refuse (:class:`UserError`) to write ``faces`` when one resembles a real photo, unless
    ``--allow-lookalike``; the XMP properties that record the check (for the frames of an
    animation, which :func:`facestudio.provenance.sequence.export_animation` writes)."""
    from facestudio.analysis.lookalike_guard import decide
    guard = guard or export_guard(g, args)
    verdict = guard.check(faces)
    fields = decide(verdict, bool(getattr(args, "allow_lookalike", False)))
    if fields is None:
        raise UserError(verdict.refusal(what, ALLOW_HINT))
    _say_verdict(verdict, guard, what)
    return fields


def _say_verdict(verdict, guard, what: str) -> None:
    """A check that cannot run does not stop the export: the file records why, and stderr
    says how to install dlib; an allowed lookalike is said too."""
    if not verdict.checked and guard.embedder is None:  # without an index for the model, the file says so
        message(f"{what} was not checked for lookalikes: {verdict.reason}")
    elif verdict.resembles:
        message(f"writing {what} although it {verdict.summary()} (--allow-lookalike)")


def stamped(g, image, args, options, recipe=None, xmp_extra=None, faces=None, path: Path | None = None,
            guard=None) -> Written:
    """Write ``image`` to ``path`` (default ``--out``) with the provenance stamp (model card
    terms, ``--artist``) through the one checked export path
    (:func:`facestudio.provenance.guarded.export_face`), once the lookalike guard (``guard``,
    or one made for this call) has checked ``faces`` (the faces a sheet is made of; default
    the image)."""
    from facestudio.provenance import make_stamp
    from facestudio.provenance.guarded import LookalikeRefused, export_face
    stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256, artist=args.artist or "",
                       attribution=args.attribution)
    target = Path(args.out if path is None else path)
    guard = guard or export_guard(g, args)
    try:
        done = export_face(image, target, stamp, recipe, options, args.overwrite, xmp_extra, guard=guard,
                           faces=faces, allowed=bool(getattr(args, "allow_lookalike", False)), override=ALLOW_HINT)
    except LookalikeRefused as exc:
        raise UserError(str(exc)) from None
    _say_verdict(done.verdict, guard, target.name)
    return Written(list(done.paths), stamp_facts(stamp), lookalike_facts(done.lookalike))
