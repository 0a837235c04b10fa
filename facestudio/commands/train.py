"""``facestudio train``: the command's options. The work (run folders, resume, growing,
evaluation, export, the training loop) is :mod:`facestudio.training.run`'s, usable without
the command line; only the parsing lives here, with the rest of the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "utkface" / "UTKFace.tar"


def add_train_arguments(sp: argparse.ArgumentParser) -> None:
    """The options of ``facestudio train`` (see :func:`facestudio.training.run.run_train`)."""
    sp.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="folder or tar of training images (default: ../shared/data/utkface/UTKFace.tar)")
    sp.add_argument("--run", type=Path, default=None,
                    help="run folder: checkpoint, samples, log (resumes when it holds a checkpoint; "
                         "default runs/faces<resolution>)")
    sp.add_argument("--resume-from", type=Path, default=None,
                    help="a checkpoint to start from when the run folder has none yet "
                         "(e.g. the bundled model's last checkpoint, see weights/MODEL_CARD.md)")
    sp.add_argument("--grow-from", type=Path, default=None,
                    help="start an empty run folder from this checkpoint grown by one block to "
                         "--resolution (e.g. the 64 px model's checkpoint, --resolution 128)")
    sp.add_argument("--grow-channels", type=int, default=None,
                    help="with --grow-from: feature maps of the new block (default: the old last block's)")
    sp.add_argument("--fade-kimg", type=float, default=20.0,
                    help="with --grow-from: fade the discriminator's new input block in over this "
                         "many thousand images (0: no fade)")
    sp.add_argument("--r1-gamma", type=float, default=None,
                    help="with --grow-from: R1 weight of the grown run (default: 4x the old one)")
    sp.add_argument("--resolution", type=int, default=None,
                    help="training resolution (default 64, or the run's own when it resumes)")
    sp.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    sp.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                    help="compute precision of a new run (auto: bf16 where the hardware has bf16 "
                         "units); a resumed run keeps its own unless given")
    sp.add_argument("--pack-data", type=Path, default=None,
                    help="write the decoded, resized training images as a compact tar of JPEGs "
                         "(small enough to carry to a GPU machine) and stop")
    sp.add_argument("--batch", type=int, default=None, help="minibatch size (default 32)")
    sp.add_argument("--kimg", type=float, default=None, help="stop at this many thousand images seen in total")
    sp.add_argument("--minutes", type=float, default=None, help="stop after this many minutes")
    sp.add_argument("--snapshot-minutes", type=float, default=10.0)
    sp.add_argument("--sample-kimg", type=float, default=20.0)
    sp.add_argument("--cache", type=Path, default=Path("data-cache"), help="decoded-data cache folder")
    sp.add_argument("--tiny", action="store_true", help="a very small network (tests and smoke runs)")
    sp.add_argument("--eval", action="store_true",
                    help="print the SWD metric of the run's checkpoint (or --untrained / --real-vs-real)")
    sp.add_argument("--untrained", action="store_true", help="with --eval: a freshly initialised generator")
    sp.add_argument("--real-vs-real", action="store_true", help="with --eval: two disjoint real sets (the floor)")
    sp.add_argument("--eval-images", type=int, default=4096)
    sp.add_argument("--memorisation", type=int, default=None, metavar="N",
                    help="with --eval: also the share of N generated faces (10000 in the model card) whose "
                         "nearest training photo is closer than the training set's own 1st-percentile "
                         "nearest-neighbour distance")
    sp.add_argument("--export", type=Path, default=None,
                    help="write the run's EMA generator as a native model folder and stop")
    sp.add_argument("--card", type=Path, default=None, help="model card to put into the export")
    sp.add_argument("--overwrite", action="store_true")


def cmd_train(args) -> int:
    from facestudio.commands.progress import bar
    from facestudio.training.run import run_train
    total = int(args.kimg * 1000) if args.kimg else None  # --minutes alone: the rate, no end
    with bar(total, "train", unit="img", unit_scale=True) as progress:
        def on_step(images_seen: int) -> None:
            if progress.n == 0 and images_seen:  # a resumed run starts where it stopped
                progress.n = progress.last_print_n = images_seen
            progress.update(images_seen - progress.n)
        return run_train(args, on_step=on_step)


def add_parser(sub) -> None:
    sp = sub.add_parser("train", help="train a generator (the bundled model's recipe)")
    add_train_arguments(sp)
    sp.set_defaults(func=cmd_train)
