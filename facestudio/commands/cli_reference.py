"""Write ``docs/cli.md``, the command-line reference, from the parser itself, so that it
cannot drift from the commands: ``make docs`` (or ``python -m facestudio.commands.cli_reference``)
after adding or changing an option; ``tests/test_docs.py`` fails while the file is stale.

Each command's section is its ``--help`` (description, options, example) at a fixed width.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

WIDTH = 100  # columns the help is wrapped at, whatever the terminal
REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"

HEADER = """# Command-line reference

<!-- Generated from the parser by `make docs` (python -m facestudio.commands.cli_reference);
do not edit by hand: tests/test_docs.py fails when this file and the parser disagree. -->

Every command follows the same conventions: results on stdout and progress and messages on
stderr; `--json` on every command that writes files (what was written, the stamp's key facts,
the lookalike verdict); progress bars (with rate and time left) only when stderr is a terminal;
`--quiet` for neither bars nor messages; one truncation default, psi 0.7, as the studio; one
grammar for seeds (`7`, `1,5,9`, `0-63`, `0-9,20-29`, `@FILE`); and no abbreviated options
(`grid --seed 1` is refused, not read as `--seeds`). Bad input ends in one sentence on stderr
and exit status 1; usage errors exit 2.
"""


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) of every command and command group, in the order they were added."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _commands(sub, path + (name,))


def render_reference() -> str:
    """The reference's text, the help wrapped at :data:`WIDTH` columns."""
    from facestudio.commands.main import build_parser
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(WIDTH)
    try:
        parser = build_parser()
        commands = list(_commands(parser))
        parts = [HEADER, "## Commands\n"]
        parts += [f"- [`facestudio {' '.join(p)}`](#{'facestudio-' + '-'.join(p)})" for p, _ in commands]
        parts.append(f"\n## facestudio\n\n```text\n{parser.format_help().rstrip()}\n```\n")
        for path, sub in commands:
            parts.append(f"## facestudio {' '.join(path)}\n\n```text\n{sub.format_help().rstrip()}\n```\n")
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write docs/cli.md from the parser")
    ap.add_argument("--out", type=Path, default=REFERENCE)
    ap.add_argument("--check", action="store_true", help="only say whether the file is current (exit 1 when not)")
    args = ap.parse_args(argv)
    text = render_reference()
    if args.check:
        current = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out} is {'current' if current else 'stale: run make docs'}", file=sys.stderr)
        return 0 if current else 1
    from facestudio.fileio import atomic_write
    with atomic_write(args.out, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
