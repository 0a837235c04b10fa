"""The command line: the composition root of facestudio.

Bad input ends in one sentence on stderr and exit status 1: a :class:`FacestudioError` (every
project error derives from it) as its message, an :class:`OSError` as what failed on which
file; usage errors exit 2, as argparse does. Anything else is a bug: one line saying so and
naming the internal-error log that holds the traceback, exit status 70 (EX_SOFTWARE).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from facestudio import __version__
from facestudio.commands import (anonymize, attributes, audit, bench, classifier, directions, doctor, encoder,
                                 find, gui, images, interpolate, library, lookalike, models, train)
from facestudio.commands.arguments import EXIT_FAILED, UserError, export_scale, finish_parser, quiet_arg
from facestudio.commands.gui import cmd_gui
from facestudio.errors import FacestudioError, record_internal_error

EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: a bug, not the input


THREADS_PER_CORE = 4  # --threads at most this many times the machine's cores


def check_threads(n: int | None) -> None:
    """Refuse (:class:`UserError`) ``--threads`` outside 1 to the cores times
    :data:`THREADS_PER_CORE` (torch crashes on a hundred thousand), before torch is loaded."""
    most = (os.cpu_count() or 1) * THREADS_PER_CORE
    if n is not None and not 1 <= n <= most:
        raise UserError(f"--threads {n} is outside 1 to {most} ({THREADS_PER_CORE} per CPU core of this machine)")


def _threads(n: int | None, uses_torch: bool = True) -> None:
    """Set torch's intra-op threads once: all cores but one by default (one is for the GUI);
    and keep freed feature maps for the next render (:mod:`facestudio.render.allocator`).
    A command that never runs torch (``uses_torch=False``) skips both: torch's load is about a
    second, and ``library verify``'s threads measured slower in the allocator's single arena."""
    check_threads(n)
    if not uses_torch:
        return
    import torch

    from facestudio.render.allocator import keep_freed_memory
    keep_freed_memory()
    cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, n if n else cores - 1 if cores > 2 else cores))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facestudio", description="Design faces of people who do not exist.\nWithout "
                                "a command, opens the studio; facestudio FILE opens FILE in it.",
                                epilog="example:\n  facestudio render --seed 42 --out face.png",
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("--version", action="version", version=f"facestudio {__version__}")
    quiet_arg(p)
    p.add_argument("--threads", type=int, default=None, help="intra-op threads (default: cores - 1)")
    p.add_argument("--device", dest="render_device", default=None, help="where the generator runs: auto "
                   "(a CUDA GPU when present, the default), cpu or cuda; sets FACESTUDIO_DEVICE")
    sub = p.add_subparsers(dest="command")
    images.add_parsers(sub)
    anonymize.add_parser(sub)
    interpolate.add_parser(sub)
    models.add_parsers(sub)
    directions.add_parsers(sub)
    attributes.add_parser(sub)
    classifier.add_parser(sub)
    encoder.add_parser(sub)
    lookalike.add_parsers(sub)
    audit.add_parsers(sub)
    find.add_parser(sub)
    library.add_parsers(sub)
    bench.add_parser(sub)
    train.add_parser(sub)
    doctor.add_parser(sub)
    gui.add_parser(sub)
    finish_parser(p)
    return p


# the options before the command that take a value, as build_parser defines them
_GLOBAL_OPTIONS_WITH_VALUE = ("--threads", "--device")


def _with_gui_for_a_bare_path(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``argv`` with ``gui`` inserted before its first positional argument when that is not
    a command name: ``facestudio [OPTIONS] FILE`` opens FILE in the studio, as a file
    manager's double-click does. Command names win (``facestudio gui render`` opens a file
    named render)."""
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return argv[:i] + ["gui"] + argv[i:] if i + 1 < len(argv) else argv
        if arg in _GLOBAL_OPTIONS_WITH_VALUE:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return argv if arg in commands else argv[:i] + ["gui"] + argv[i:]
    return argv


def _os_error_sentence(exc: OSError) -> str:
    """One sentence for an operating-system error that reached the top: what failed, on which file."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot use {exc.filename}: {reason}" if exc.filename else reason


def _internal_error(exc: Exception, command: str) -> int:
    """Report a bug: one line naming the log that holds the traceback (the traceback itself
    when no log can be written)."""
    try:
        path = record_internal_error(exc, f"facestudio {command}")
    except OSError:
        print("facestudio: internal error: please report it; the details follow", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
    else:
        print(f"facestudio: internal error: please report it; the details are in {path}", file=sys.stderr)
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_with_gui_for_a_bare_path(list(sys.argv[1:] if argv is None else argv), parser))
    if args.command is None:
        args.func, args.model, args.screenshot, args.file = cmd_gui, None, None, None
    from facestudio.commands.progress import set_quiet
    set_quiet(args.quiet)
    if args.render_device:  # for this process and what it starts (train has its own --device)
        os.environ["FACESTUDIO_DEVICE"] = args.render_device
    try:
        if getattr(args, "psi", None) is not None:  # every command that truncates, before any work
            from facestudio.latent.recipe import check_psi
            check_psi(args.psi)
        if isinstance(getattr(args, "scale", None), str):  # an export's --scale: mark or a factor
            args.scale = export_scale(args.scale)
        _threads(args.threads, getattr(args, "uses_torch", True))
        return args.func(args)
    except FacestudioError as exc:
        print(f"facestudio: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"facestudio: {_os_error_sentence(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("facestudio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: everything the input can cause is a FacestudioError or an OSError
        return _internal_error(exc, args.command or "gui")
