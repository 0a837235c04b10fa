"""``facestudio train``: the command's options; the work (run folders, resume, growing,
evaluation, export, the loop) is :mod:`facestudio.training.command`'s."""

from __future__ import annotations

from facestudio.training.command import add_train_arguments


def cmd_train(args) -> int:
    from facestudio.training.command import run_train
    return run_train(args)


def add_parser(sub) -> None:
    sp = sub.add_parser("train", help="train a generator (the bundled model's recipe)")
    add_train_arguments(sp)
    sp.set_defaults(func=cmd_train)
