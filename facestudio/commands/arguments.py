"""What the commands share on the way in: the options several commands take (model, latent,
export) and the readers of their list-valued arguments (layers, seeds).

Every reader turns text it cannot use into a :class:`UserError`, one sentence for the user.
"""

from __future__ import annotations

import argparse

from facestudio.errors import FacestudioError

EXIT_USAGE = 2
EXIT_FAILED = 1
# A grid or mix sheet holds at most this many faces: checked before anything is allocated.
MAX_SHEET_FACES = 4096
MAX_EXPORT_SCALE = 8
SCALE_HELP = ("the file's size: 'mark' (default) Lanczos-upscales by the smallest whole factor that makes the "
              "image 512 x 512 pixels, large enough for the invisible watermark to survive resizing and "
              "cropping (x4 for a 128 px model); 1 writes the model's own pixels (a file under 256 x 256 "
              "carries no watermark and says so in its stamp); 2 to 8 Lanczos-upscale by that factor")


class UserError(FacestudioError):
    """A problem with what the user asked for; the message is shown as it is."""


def model_arg(sp: argparse.ArgumentParser, required: bool = False) -> None:
    sp.add_argument("--model", default=None, required=required,
                    help="weight file or native model folder (default: the bundled model)")


def latent_args(sp: argparse.ArgumentParser) -> None:
    """Where in the latent space a face comes from: truncation, noise, class."""
    sp.add_argument("--psi", type=float, default=1.0, help="truncation psi (default 1.0)")
    sp.add_argument("--cutoff", type=int, default=None, help="truncate only the first K layers")
    sp.add_argument("--noise", choices=("const", "random", "none"), default="const")
    sp.add_argument("--class", dest="class_idx", type=int, default=None,
                    help="class index for conditional models")


def export_args(sp: argparse.ArgumentParser) -> None:
    """How an image is written: overwriting, the stamp's names, quality and scale."""
    sp.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    sp.add_argument("--artist", default="", help="creator stamped into the file (dc:creator, EXIF Artist)")
    sp.add_argument("--attribution", default=None, help="credit line (default: the model card's)")
    sp.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality 1-100 (default 95)")
    scale_arg(sp)
    sp.add_argument("--allow-lookalike", action="store_true",
                    help="write a face even when it resembles a training photo (or one of --against); "
                         "the verdict is recorded in the file")
    sp.add_argument("--against", default=None, metavar="DIR",
                    help="also refuse faces that resemble a photo in DIR (people who must not appear)")


def export_scale(text: str) -> int | None:
    """``--scale``: ``"mark"`` -> None (large enough for the watermark), ``"1"``-``"8"`` -> the
    factor; anything else is a :class:`UserError` (``main`` converts it before any work)."""
    if text.strip().lower() == "mark":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_EXPORT_SCALE:
        raise UserError(f"--scale {text!r} is not a size: use mark or a whole number from 1 to {MAX_EXPORT_SCALE}")
    return value


def scale_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--scale", default="mark", metavar="{mark,1-8}", help=SCALE_HELP)


def parse_layer_list(text: str, num_ws: int) -> list[int]:
    """``"0-3"`` / ``"4,5,6"`` / ``"8-"`` -> sorted layer indices within ``[0, num_ws)``."""
    layers: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            a, dash, b = part.partition("-")
            lo = int(a) if a else 0
            hi = (int(b) if b else num_ws - 1) if dash else lo
            if a and b and lo > hi:
                raise UserError(f"layers {part!r} are reversed: write the lower layer first, as in {hi}-{lo}")
            if not 0 <= lo <= hi < num_ws:  # checked before the range is built, however large
                raise UserError(f"layers {text!r} are outside this model's 0-{num_ws - 1}")
            layers.update(range(lo, hi + 1))
    except ValueError:
        raise UserError(f"cannot read layer list {text!r}: use forms like 0-3, 4,5,6 or 8-") from None
    if not layers:
        raise UserError(f"layers {text!r} name no layer of this model's 0-{num_ws - 1}")
    return sorted(layers)


def parse_int_list(text: str, what: str, limit: int = MAX_SHEET_FACES) -> list[int]:
    """``"1,2,10-15"`` -> the listed ints, refusing more than ``limit`` before building them."""
    out: list[int] = []
    for part in text.split(","):
        try:
            if "-" in part.strip()[1:]:
                a, _, b = part.strip().partition("-")
                span = range(int(a), int(b) + 1)
            else:
                span = range(int(part), int(part) + 1) if part.strip() else range(0)
        except ValueError:
            raise UserError(f"cannot read {what} {text!r}: use forms like 1,2,3 or 10-15") from None
        if len(out) + len(span) > limit:
            raise UserError(f"the {what} {text!r} name more than {limit} faces, the most one sheet holds")
        out.extend(span)
    return out
