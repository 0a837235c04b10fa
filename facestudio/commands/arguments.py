"""What the commands share on the way in: the options several commands take (model, latent,
export, ``--json``, ``--quiet``), the readers of their list-valued arguments (layers, seeds)
and :func:`finish_parser`, which gives every command the same conventions.

Conventions: one truncation default (:data:`DEFAULT_PSI`, as the studio), one grammar for
seeds (:func:`parse_seeds`), no abbreviated options (``grid --seed 1`` is refused, not read
as ``--seeds``), and a description and an example in every command's help
(:mod:`facestudio.commands.help_text`).

Every reader turns text it cannot use into a :class:`UserError`, one sentence for the user.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

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
DEFAULT_PSI = 0.7  # the studio's truncation; every command that truncates starts from it
SEEDS_GRAMMAR = ("7, 1,5,9, 0-63 or 0-9,20-29 (ranges inclusive); @FILE reads them from a file "
                 "(commas or lines, # comments)")
MAX_SEEDS_FILE_BYTES = 64 << 20
MAX_LAYER_LIST = 1 << 16  # layer numbers one list may name, repeats included (a model has at most 32)
HELP_WIDTH = 78  # a command's description is wrapped here (argparse keeps its paragraphs as written)


class UserError(FacestudioError):
    """A problem with what the user asked for; the message is shown as it is."""


def model_arg(sp: argparse.ArgumentParser, required: bool = False) -> None:
    sp.add_argument("--model", default=None, required=required,
                    help="weight file or native model folder (default: the bundled model)")


def latent_args(sp: argparse.ArgumentParser) -> None:
    """Where in the latent space a face comes from: truncation, noise, class."""
    psi_arg(sp)
    sp.add_argument("--cutoff", type=int, default=None, help="truncate only the first K layers")
    sp.add_argument("--noise", choices=("const", "random", "none"), default="const")
    sp.add_argument("--class", dest="class_idx", type=int, default=None,
                    help="class index for conditional models")


def psi_arg(sp: argparse.ArgumentParser, default: float | None = DEFAULT_PSI, note: str = "") -> None:
    """``--psi``: the truncation psi, 0.7 unless a command says otherwise."""
    shown = f"default {default:g}, as the studio" if default is not None else "no default"
    sp.add_argument("--psi", type=float, default=default,
                    help=f"truncation psi: 1 the whole variety, lower more typical faces ({shown}){note}")


def seeds_arg(sp: argparse.ArgumentParser, flag: str = "--seeds", what: str = "seeds", **kwargs) -> None:
    """A list of seeds in the one grammar (:func:`parse_seeds`)."""
    default = f" (default {kwargs['default']})" if kwargs.get("default") is not None else ""
    sp.add_argument(flag, metavar="SEEDS", help=f"{what}: {SEEDS_GRAMMAR}{default}", **kwargs)


def json_arg(sp: argparse.ArgumentParser, what: str = "what was written, the stamp and the lookalike check") -> None:
    sp.add_argument("--json", action="store_true", help=f"print one JSON object on stdout: {what}")


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
    """``"0-3"`` / ``"4,5,6"`` / ``"8-"`` -> sorted layer indices within ``[0, num_ws)``, in
    the one number-list grammar (:func:`facestudio.number_lists.layer_grammar`)."""
    from facestudio.number_lists import NumberListError, layer_grammar
    try:
        return sorted(set(layer_grammar(num_ws).parse(text, MAX_LAYER_LIST)))
    except NumberListError as exc:
        raise UserError(str(exc)) from None


def parse_seeds(text: str, what: str = "seeds", limit: int = MAX_SHEET_FACES,
                limit_note: str = "the most one sheet holds") -> list[int]:
    """The one seeds grammar: ``"7"``, ``"1,5,9"``, ``"0-63"``, ``"0-9,20-29"`` (inclusive
    ranges) or ``"@FILE"`` (the same, separated by commas or lines, ``#`` comments) -> the
    seeds in order. Refuses, before building anything, more than ``limit`` seeds, reversed
    ranges and seeds outside 0 to :data:`~facestudio.latent.seeds.MAX_SEED`."""
    from facestudio.latent.seeds import seed_grammar
    from facestudio.number_lists import NumberListError
    source = text.strip()
    if source.startswith("@"):
        source = _seeds_file_text(Path(source[1:]), what)
    try:
        return seed_grammar(what).parse(source, limit, limit_note)
    except NumberListError as exc:
        raise UserError(str(exc)) from None


def _seeds_file_text(path: Path, what: str) -> str:
    """A seeds file's text without its comments, lines joined by commas, read at most
    :data:`MAX_SEEDS_FILE_BYTES`."""
    from facestudio.fileio import read_limited
    try:
        text = read_limited(path, MAX_SEEDS_FILE_BYTES, f"the {what} file").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the {what} file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return ",".join(line.split("#", 1)[0] for line in text.splitlines())


def finish_parser(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every command under it the conventions: no abbreviated options,
    ``--quiet`` after the command too, and a description and an example in its help."""
    from facestudio.commands.help_text import describe
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                path = f"{sub.prog.split(' ', 1)[1]}" if " " in sub.prog else name
                description, example = describe(path, helps.get(name) or "")
                sub.description = "\n\n".join(textwrap.fill(par, HELP_WIDTH) for par in description.split("\n\n"))
                sub.epilog = f"example:\n  {example}"
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
                if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    quiet_arg(sub, default=argparse.SUPPRESS)
                finish_parser(sub)


def quiet_arg(parser: argparse.ArgumentParser, default=False) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="no progress bars and no messages on stderr (errors are still said)")
