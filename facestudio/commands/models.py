"""The model commands: ``info`` describes a model, ``convert`` writes it in the native format."""

from __future__ import annotations

from pathlib import Path

from facestudio.bounded_json import dumps_strict
from facestudio.commands.arguments import json_arg
from facestudio.commands.output import load_model, result


def cmd_info(args) -> int:
    g = load_model(args.model)
    info = g.describe()
    if args.json:
        print(dumps_strict(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for k, v in info.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}:{b}" for a, b in v.items())
        print(f"{k:<{width}}  {v}")
    return 0


def cmd_convert(args) -> int:
    from facestudio.generator.formats.native import write_native
    g = load_model(args.input)
    card = g.card.to_text() if g.card else None
    write_native(args.output, g.config, g.network.state_dict(), card_text=card, overwrite=args.overwrite,
                 source={"file": Path(args.input).name, "sha256": g.sha256,
                         "format": g.meta.get("format")})
    result(args, f"wrote {args.output} (facestudio native format)",
           {"written": [str(args.output)], "format": "native", "source": str(args.input), "sha256": g.sha256,
            "model": g.name})
    return 0


def add_parsers(sub) -> None:
    """Register ``info`` and ``convert`` on the main parser's subparsers."""
    sp = sub.add_parser("info", help="describe a model")
    sp.add_argument("model", nargs="?", default=None)
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser("convert", help="convert a weight file to the native format")
    sp.add_argument("input")
    sp.add_argument("output", type=Path)
    sp.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    json_arg(sp, "what was written and the source's sha256")
    sp.set_defaults(func=cmd_convert)
