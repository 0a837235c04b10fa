"""What ``facestudio train`` does: train, resume, grow, evaluate (SWD) and export the bundled
model. The options are parsed by :mod:`facestudio.commands.train`; ``args`` here is the
namespace it fills in."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import torch

from facestudio.generator.device import pick_device
from facestudio.generator.errors import ModelLoadError
from facestudio.generator.formats.native import write_native
from facestudio.generator.model import generator_from_network
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.training.checkpoint import CHECKPOINT_NAME, load_checkpoint
from facestudio.training.data import DatasetError, load_dataset, pack_images
from facestudio.training.loop import TrainSettings, train
from facestudio.training.metrics import memorisation, swd


def _settings(args) -> TrainSettings:
    s = TrainSettings(resolution=args.resolution)
    if args.tiny:
        s.z_dim = s.w_dim = 32
        s.mapping_layers = 2
        s.channels = {r: 16 for r in s.channels} | {4: 32}
    s.channels = {2 ** i: s.channels.get(2 ** i, 32) for i in range(2, int(np.log2(s.resolution)) + 1)}
    if args.batch:
        s.batch = args.batch
    return s


def _require_checkpoint(run: Path) -> dict:
    path = run / CHECKPOINT_NAME
    if not path.is_file():
        raise DatasetError(f"no checkpoint in {run}: train first or point --run at a run folder")
    return load_checkpoint(path)


def _ema_generator(run: Path):
    ckpt = _require_checkpoint(run)
    settings = TrainSettings.of_checkpoint(ckpt)
    net = StyleGAN2Generator(settings.generator_config())
    net.load_state_dict(ckpt["G_ema"])
    return net.eval().requires_grad_(False), settings, ckpt


def generate_images(net, n: int, psi: float = 1.0, seed: int = 123, batch: int = 64) -> np.ndarray:
    """n uint8 faces from random z (a fixed seed so evaluations are repeatable)."""
    g = generator_from_network(net)
    rng = np.random.RandomState(seed)
    out = []
    for start in range(0, n, batch):
        z = rng.randn(min(batch, n - start), g.z_dim)
        out.append(g.synthesize(g.map(z, psi=psi), noise="random"))
    return np.concatenate(out)


def evaluate(args, log=print) -> dict[str, float]:
    images, _ = load_dataset(args.data, args.resolution, args.cache, log=log)
    n = min(args.eval_images, len(images) // 2)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    real = np.asarray(images[np.sort(order[:n])])
    if args.real_vs_real:
        other = np.asarray(images[np.sort(order[n:2 * n])])
        label = "real vs real"
    elif args.untrained:
        torch.manual_seed(0)
        net = StyleGAN2Generator(_settings(args).generator_config()).eval()
        other = generate_images(net, n)
        label = "untrained generator"
    else:
        net, _, ckpt = _ema_generator(args.run)
        other = generate_images(net, n)
        label = f"{args.run} at {int(ckpt['images_seen']) / 1000:.0f} kimg"
    t = time.time()
    result = swd(real, other)
    log(f"SWD x1e3 ({label}, {n} images, {time.time() - t:.0f}s): " +
        "  ".join(f"{k[4:]} {v:.2f}" for k, v in result.items()))
    if args.memorisation and not args.real_vs_real:
        generated = generate_images(net, args.memorisation, seed=456)
        memo = memorisation(generated, np.asarray(images))
        log(f"memorisation ({label}): {memo['count_below']} of {memo['generated']} generated faces "
            f"({100 * memo['share_below']:.2f} %) are closer to a training photo than the training "
            f"set's 1st-percentile nearest-neighbour distance {memo['threshold']:.4f} (its "
            f"{memo['training_duplicates']} duplicated photos left out) "
            f"(median nearest distance: generated {memo['generated_nn_median']:.4f}, "
            f"training {memo['training_nn_median']:.4f}); closest (face, photo, distance): "
            + ", ".join(f"({g}, {r}, {d:.4f})" for g, r, d in memo["closest"][:4]))
        result["memorisation"] = memo
    return result


def export(args, log=print) -> Path:
    net, settings, ckpt = _ema_generator(args.run)
    card = args.card.read_text(encoding="utf-8") if args.card else None
    folder = write_native(args.export, settings.generator_config(), net.state_dict(), card_text=card,
                          overwrite=args.overwrite,
                          source={"trained_by": "facestudio train", "images_seen": int(ckpt["images_seen"]),
                                  "settings": settings.to_dict()})
    log(f"exported the EMA generator ({int(ckpt['images_seen']) / 1000:.0f} kimg) to {folder}")
    return folder


def seed_run_folder(run: Path, resume_from: Path | None) -> None:
    """Copy ``resume_from`` into an empty run folder so training continues from it."""
    if resume_from is None or (run / CHECKPOINT_NAME).is_file():
        return
    if not Path(resume_from).is_file():
        raise DatasetError(f"cannot resume from {resume_from}: the file does not exist")
    load_checkpoint(resume_from)  # refuse a damaged or foreign file before copying it
    shutil.copyfile(resume_from, run / CHECKPOINT_NAME)


def resolve_run(args) -> None:
    """Fill in ``args.run`` and ``args.resolution``: a run folder that holds a checkpoint, or
    the ``--resume-from`` checkpoint it is seeded with, trains at its own resolution; a new
    run at the one asked for (default 64)."""
    if args.grow_from is not None and args.resume_from is not None:
        raise DatasetError("use either --grow-from or --resume-from, not both")
    own_ckpt = None
    if args.run is not None and (args.run / CHECKPOINT_NAME).is_file():
        own_ckpt = args.run / CHECKPOINT_NAME
    elif args.resume_from is not None and Path(args.resume_from).is_file():
        own_ckpt = Path(args.resume_from)
    if own_ckpt is not None:
        own = TrainSettings.of_checkpoint(load_checkpoint(own_ckpt)).resolution
        if args.resolution not in (None, own):
            raise DatasetError(f"{own_ckpt} trains at {own} px, not {args.resolution} px: "
                               f"leave out --resolution or choose another --run folder")
        args.resolution = own
    elif args.grow_from is not None and args.resolution is None:
        raise DatasetError("--grow-from needs the --resolution to grow to (e.g. --resolution 128)")
    args.resolution = args.resolution or 64
    if args.run is None:
        args.run = Path(f"runs/faces{args.resolution}")


def seed_grown_run(args, log=print) -> None:
    """Grow ``--grow-from`` into an empty run folder (a folder with a checkpoint resumes)."""
    target = args.run / CHECKPOINT_NAME
    if args.grow_from is None or target.is_file():
        return
    if not Path(args.grow_from).is_file():
        raise DatasetError(f"cannot grow from {args.grow_from}: the file does not exist")
    from facestudio.training.grow import grow_checkpoint
    s = grow_checkpoint(load_checkpoint(args.grow_from), args.resolution, target,
                        channels=args.grow_channels, fade_kimg=args.fade_kimg, r1_gamma=args.r1_gamma)
    log(f"grew {args.grow_from} to {s.resolution} px at {s.grown_at / 1000:.1f} kimg: new block "
        f"{s.channels[s.resolution]} channels, R1 gamma {s.r1_gamma:g}, "
        f"discriminator fade-in over {s.fade_kimg:g} kimg")


def run_train(args, on_step=None) -> int:
    """``facestudio train``'s work; ``on_step(images seen)`` after every training step."""
    resolve_run(args)
    if args.pack_data:
        images, names = load_dataset(args.data, args.resolution, args.cache)
        pack_images(images, names, args.pack_data, overwrite=args.overwrite)
        print(f"wrote {args.pack_data} ({len(images)} images, {args.pack_data.stat().st_size / 2**20:.1f} MiB)")
        return 0
    if args.export:
        export(args)
        return 0
    if args.eval:
        evaluate(args)
        return 0
    images, _ = load_dataset(args.data, args.resolution, args.cache)
    log_file = args.run / "train.log"
    args.run.mkdir(parents=True, exist_ok=True)
    seed_run_folder(args.run, args.resume_from)

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        with log_file.open("a") as f:
            f.write(line + "\n")

    seed_grown_run(args, log=log)

    try:
        device = str(pick_device(args.device, named="--device"))
    except ModelLoadError as exc:
        raise DatasetError(str(exc)) from None
    log(f"training on {len(images)} images at {args.resolution} px on {device}, run folder {args.run}")
    train(args.run, images, _settings(args), kimg=args.kimg, minutes=args.minutes,
          snapshot_minutes=args.snapshot_minutes, sample_kimg=args.sample_kimg, log=log, device=device,
          precision=args.precision, on_step=on_step)
    return 0
