"""``facestudio gui``: open the studio window (``facestudio FILE`` is short for it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from facestudio.commands.arguments import EXIT_USAGE, model_arg


def cmd_gui(args) -> int:
    from facestudio.fileio import check_writable_target
    if args.file is not None and not os.path.lexists(args.file):
        print(f"facestudio: {args.file} is neither a file nor a facestudio command "
              "(see facestudio --help)", file=sys.stderr)
        return EXIT_USAGE
    if args.screenshot is not None:
        check_writable_target(args.screenshot, overwrite=True)
    from facestudio.ui.app import run_gui
    return run_gui(args.model, args.screenshot, args.file)


def add_parser(sub) -> None:
    sp = sub.add_parser("gui", help="open the studio window (facestudio FILE is short for facestudio gui FILE)")
    model_arg(sp)
    sp.add_argument("--screenshot", type=Path, default=None)
    sp.add_argument("file", nargs="?", default=None, help="a model, a session (.fsession) or an exported "
                    "image whose recipe to reopen, as a file manager opens it")
    sp.set_defaults(func=cmd_gui)
