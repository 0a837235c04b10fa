"""``facestudio train-encoder``: train the image -> w encoder that starts the anonymizer's
projection, on the model's own generated faces, and write it with its held-out error.

The run folder (``runs/encoder`` by default) keeps the training state, so a stopped run
(``--minutes``, Ctrl+C after a checkpoint, a crash) goes on where it stopped when the
command is run again. When the run has done all its steps, the command measures the
encoder on held-out generated faces and writes two files into ``--out-dir`` (``weights/``
for the bundled one), each atomically: ``encoder.safetensors`` and ``encoder.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from facestudio.commands.arguments import UserError, json_arg, model_arg
from facestudio.commands.output import result
from facestudio.commands.progress import bar, note

MAX_STEPS = 1_000_000
MAX_BATCH = 1024
MAX_HELD_OUT = 10_000


def cmd_train_encoder(args) -> int:
    from facestudio.analysis.encoder import REPORT_NAME, WEIGHTS_NAME
    from facestudio.commands.output import load_model
    from facestudio.fileio import atomic_write, check_writable_target
    from facestudio.training.encoder import EncoderSettings, held_out_error, save_encoder, train_encoder
    if args.steps is not None and not 1 <= args.steps <= MAX_STEPS:
        raise UserError(f"--steps must be between 1 and {MAX_STEPS}")
    if not 1 <= args.batch <= MAX_BATCH:
        raise UserError(f"--batch must be between 1 and {MAX_BATCH}")
    if not 1 <= args.held_out <= MAX_HELD_OUT:
        raise UserError(f"--held-out must be between 1 and {MAX_HELD_OUT}")
    if args.minutes is not None and not args.minutes > 0:
        raise UserError("--minutes must be more than 0")
    out = Path(args.out_dir)
    weights_path, report_path = out / WEIGHTS_NAME, out / REPORT_NAME
    for path in (weights_path, report_path):  # refused now, not after an hour of training
        check_writable_target(path, overwrite=args.overwrite)
    g = load_model(args.model)
    settings = EncoderSettings(batch=args.batch, width=8 if args.tiny else 32)
    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        note(line)
        with (run / "train.log").open("a") as f:
            f.write(line + "\n")

    t0 = time.time()
    with bar(args.steps or settings.steps, "train-encoder", unit="step") as progress:
        def on_step(step: int, steps: int) -> None:
            if progress.total != steps:
                progress.total = steps
            progress.update(step - progress.n)
        net, step, settings = train_encoder(run, g, settings, steps=args.steps, minutes=args.minutes, log=log,
                                            on_step=on_step)
    if step < settings.steps:
        result(args, f"stopped at step {step} of {settings.steps}; run the command again to go on",
               {"run": str(run), "step": step, "steps": settings.steps, "written": []})
        return 0
    report = {"what": "the image -> w encoder's error on generated faces that training never drew, against "
                      "the mean w as the guess: w mean squared error per coordinate (raw and in units of each "
                      "coordinate's spread) and the re-rendered face's pixel mean squared error (images in [-1, 1])",
              **held_out_error(net, g, settings, args.held_out),
              "training": {**settings.to_dict(), "faces_seen": settings.steps * settings.batch,
                           "seconds_this_session": round(time.time() - t0, 1)},
              "model": {"name": g.name, "sha256": g.sha256}}
    save_encoder(net, weights_path, g.sha256, overwrite=args.overwrite)
    with atomic_write(report_path, overwrite=args.overwrite) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    enc, mean = report["encoder"], report["mean_w"]
    note(f"held-out: w error {enc['w_mse_in_spreads']:.3f} spreads^2 (mean w {mean['w_mse_in_spreads']:.3f}), "
         f"pixel error {enc['pixel_mse']:.4f} (mean face {mean['pixel_mse']:.4f})")
    result(args, f"wrote {weights_path} and {report_path}",
           {"written": [str(weights_path), str(report_path)], **report})
    return 0


def add_parser(sub) -> None:
    sp = sub.add_parser("train-encoder", help="train the anonymizer's image -> w encoder on the model's own "
                                              "generated faces (resumable) and write its held-out error")
    model_arg(sp)
    sp.add_argument("--run", default="runs/encoder", help="run folder: checkpoint and log (resumes when it "
                                                          "holds a checkpoint; default runs/encoder)")
    sp.add_argument("--steps", type=int, default=None, help="training steps in all (default: 2000 for a new run, "
                                                            "a resumed run's own; a resumed run takes a new count)")
    sp.add_argument("--batch", type=int, default=64, help="generated faces a step (default 64)")
    sp.add_argument("--minutes", type=float, default=None, help="stop after this many minutes (resumable)")
    sp.add_argument("--held-out", type=int, default=512, help="generated faces the error is measured on")
    sp.add_argument("--tiny", action="store_true", help="a very small network (tests and smoke runs)")
    sp.add_argument("--out-dir", default="weights", help="where encoder.safetensors and encoder.json go")
    sp.add_argument("--overwrite", action="store_true")
    json_arg(sp, "the files written and the held-out error report")
    sp.set_defaults(func=cmd_train_encoder)
