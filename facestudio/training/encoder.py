"""Training the image -> w encoder (:mod:`facestudio.analysis.encoder`) on the generator's
own faces: no photo is needed, because every generated face comes with the w that made it.

Each step draws a fresh batch: z from a generator seeded by (run seed, step), mapped to w
and truncated towards the mean w by a psi drawn per face from ``[psi_min, psi_max]`` (the
studio's faces are made at 0.7; a photo's projection lies anywhere about there), rendered
with random noise (the encoder must not lean on one noise pattern), quantised to uint8 as
a photo's crop is, and reduced to the encoder's 64 px. The loss is the mean squared error
of the w, each coordinate in units of its spread over untruncated faces. Because a step's
batch depends only on the seed and the step, a resumed run sees the same faces it would
have seen without the stop.

The run folder (``runs/encoder`` by default, not in git) holds ``checkpoint.pt`` (the
network, the optimiser, the step, the settings and the model's sha256; written atomically,
read without running code) and ``train.log``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.analysis.encoder import INPUT_SIZE, FaceEncoder, encoder_metadata
from facestudio.errors import FacestudioError
from facestudio.fileio import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"
SCALE_SAMPLES = 10_000  # untruncated ws whose spread sets each coordinate's unit
HELD_OUT_STREAM = 1 << 40  # the held-out faces' seed stream, apart from every training step's
WARMUP_STEPS = 100


class EncoderTrainingError(FacestudioError):
    """The encoder's run cannot go on; one sentence."""


@dataclass
class EncoderSettings:
    """What one run trains: ``steps`` batches of ``batch`` faces, Adam(W) at ``lr`` with a
    warm-up and a cosine decay to zero, psi drawn from ``[psi_min, psi_max]``."""

    steps: int = 2000
    batch: int = 64
    lr: float = 2e-3
    psi_min: float = 0.4
    psi_max: float = 1.0
    width: int = 32
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "EncoderSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def learning_rate(s: EncoderSettings, step: int) -> float:
    """The rate of ``step`` (0-based): linear warm-up, then cosine decay to zero at ``s.steps``."""
    warm = min(1.0, (step + 1) / WARMUP_STEPS)
    return s.lr * warm * 0.5 * (1.0 + math.cos(math.pi * min(step, s.steps) / s.steps))


def quantised(images: torch.Tensor) -> torch.Tensor:
    """Float faces in about [-1, 1] as the uint8 image a crop would be, back in [-1, 1]."""
    return (images * 127.5 + 128).clamp(0, 255).floor().div(127.5).sub(1.0)


@torch.no_grad()
def generated_faces(g, rng: np.random.Generator, count: int, psi_range: tuple[float, float],
                    noise: str = "random") -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` faces of model ``g`` at the encoder's input size (float ``[N, 3, 64, 64]``,
    quantised) and their w ``[N, w_dim]``; psi drawn per face from ``psi_range``."""
    net = g.network
    z = torch.from_numpy(rng.standard_normal((count, g.z_dim)).astype(np.float32)).to(g.device)
    psi = torch.from_numpy(rng.uniform(*psi_range, size=(count, 1)).astype(np.float32)).to(g.device)
    w = net.mapping(z, None)[:, 0]
    w = net.mapping.w_avg + psi * (w - net.mapping.w_avg)
    images = net.synthesis(w[:, None].expand(-1, g.num_ws, -1), noise_mode=noise)
    return F.interpolate(quantised(images), size=(INPUT_SIZE, INPUT_SIZE), mode="area").cpu(), w.cpu()


@torch.no_grad()
def w_scale(g, seed: int) -> torch.Tensor:
    """Each w coordinate's spread (standard deviation) over untruncated faces of ``g``."""
    z = torch.from_numpy(np.random.default_rng([seed, 7]).standard_normal((SCALE_SAMPLES, g.z_dim))
                         .astype(np.float32)).to(g.device)
    return g.network.mapping(z, None)[:, 0].std(dim=0).clamp(min=1e-3).cpu()


def new_encoder(g, s: EncoderSettings) -> FaceEncoder:
    torch.manual_seed(s.seed)
    net = FaceEncoder(g.w_dim, s.width)
    net.w_avg.copy_(g.network.mapping.w_avg.detach().cpu())
    net.w_scale.copy_(w_scale(g, s.seed))
    return net


def save_state(path: Path, net: FaceEncoder, opt, step: int, s: EncoderSettings, model_sha256: str) -> None:
    data = {"net": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "opt": opt.state_dict(),
            "step": step, "settings": s.to_dict(), "model_sha256": model_sha256}
    with atomic_write(Path(path), overwrite=True) as tmp:
        torch.save(data, tmp)


def load_state(path: Path) -> dict:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        missing = {"net", "opt", "step", "settings", "model_sha256"} - set(data)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise EncoderTrainingError(f"{path} is not a readable encoder checkpoint ({type(exc).__name__}).") from None
    if missing:
        raise EncoderTrainingError(f"{path} is not an encoder checkpoint: it lacks {', '.join(sorted(missing))}.")
    return data


def start_or_resume(run: Path, g, s: EncoderSettings, log: Callable[[str], None], steps: int | None = None):
    """The network, its optimiser, the step to go on from and the run's settings: the run
    folder's checkpoint when there is one (its own settings; ``steps``, when given, is its new
    length: the cosine decay is stretched or shortened from there), a new network otherwise."""
    path = Path(run) / CHECKPOINT_NAME
    if path.is_file():
        data = load_state(path)
        if data["model_sha256"] != g.sha256:
            raise EncoderTrainingError(f"the run {run} trains an encoder for another model "
                                       f"(sha256 {str(data['model_sha256'])[:12]}...): choose another --run folder.")
        own = EncoderSettings.from_dict(data["settings"])
        if steps is not None and steps < int(data["step"]):
            raise EncoderTrainingError(f"the run {run} is already at step {int(data['step'])}, past --steps "
                                       f"{steps}: give at least that many.")
        own.steps = steps or own.steps
        net = FaceEncoder(g.w_dim, own.width)
        net.load_state_dict(data["net"])
        opt = torch.optim.AdamW(net.parameters(), lr=own.lr, weight_decay=1e-4)
        opt.load_state_dict(data["opt"])
        log(f"resuming {run} at step {int(data['step'])} of {own.steps}")
        return net, opt, int(data["step"]), own
    s = replace(s, steps=steps or s.steps)
    net = new_encoder(g, s)
    return net, torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=1e-4), 0, s


def train_encoder(run: Path, g, s: EncoderSettings, *, steps: int | None = None, minutes: float | None = None,
                  snapshot_minutes: float = 5.0, log: Callable[[str], None] = print,
                  on_step: Callable[[int, int], None] | None = None):
    """Train (or resume) the encoder of model ``g`` in the folder ``run`` until its step
    count (``steps`` when given, else a new run's ``s.steps`` or a resumed run's own) or
    ``minutes``; a checkpoint every ``snapshot_minutes`` and at the end. Returns the network,
    the step reached and the run's settings; ``on_step(step, steps)`` after each."""
    from facestudio.training.loop import fast_bf16
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    net, opt, step, s = start_or_resume(run, g, s, log, steps)
    bf16 = fast_bf16(torch.device("cpu"))
    t0 = last_save = time.time()
    running = None
    while step < s.steps:
        torch.manual_seed(s.seed * 1_000_003 + step)  # the batch's noise maps
        images, w = generated_faces(g, np.random.default_rng([s.seed, step]), s.batch, (s.psi_min, s.psi_max))
        net.train()
        for group in opt.param_groups:
            group["lr"] = learning_rate(s, step)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            predicted = net.normalised(images)
        loss = (predicted.float() - (w - net.w_avg) / net.w_scale).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if on_step:
            on_step(step, s.steps)
        if step % 100 == 0 or step == s.steps:
            log(f"step {step}/{s.steps}: w loss {running:.4f} ({time.time() - t0:.0f} s this session)")
        out_of_time = minutes is not None and time.time() - t0 > minutes * 60
        if step == s.steps or out_of_time or time.time() - last_save > snapshot_minutes * 60:
            save_state(run / CHECKPOINT_NAME, net, opt, step, s, g.sha256)
            last_save = time.time()
        if out_of_time:
            break
    return net.eval(), step, s


@torch.no_grad()
def held_out_error(net: FaceEncoder, g, s: EncoderSettings, count: int) -> dict:
    """The encoder's error on ``count`` generated faces no training step drew (their own seed
    stream, constant noise), against the mean w as the guess: the w's mean squared error
    (per coordinate, raw and in units of the spread) and the pixel error of its re-rendered
    face at the model's resolution (mean squared, images in [-1, 1])."""
    images, w = generated_faces(g, np.random.default_rng([s.seed, HELD_OUT_STREAM]), count,
                                (s.psi_min, s.psi_max), noise="const")
    net.eval()
    predicted = net(images)
    mean = net.w_avg.expand_as(w)

    def pixels(ws: torch.Tensor) -> torch.Tensor:
        return g.network.synthesis(ws[:, None].expand(-1, g.num_ws, -1).to(g.device), noise_mode="const").cpu()

    true_faces = pixels(w)
    report = {"faces": count, "psi": [s.psi_min, s.psi_max]}
    for name, guess in (("encoder", predicted), ("mean_w", mean)):
        report[name] = {"w_mse": float((guess - w).square().mean()),
                        "w_mse_in_spreads": float(((guess - w) / net.w_scale).square().mean()),
                        "pixel_mse": float(sum((pixels(guess[i:i + 64]) - true_faces[i:i + 64]).square().sum()
                                               for i in range(0, count, 64)) / true_faces.numel())}
    return report


def save_encoder(net: FaceEncoder, path: Path, model_sha256: str, overwrite: bool = False) -> None:
    """The network as float16 safetensors with the metadata :func:`~facestudio.analysis.
    encoder.load_encoder` reads (the running statistics and w's mean and spread stay float32)."""
    from safetensors.torch import save_file
    tensors = {k: (v.half() if v.is_floating_point() and not k.startswith("w_") and "running" not in k else v)
               .contiguous() for k, v in net.state_dict().items()}
    with atomic_write(Path(path), overwrite=overwrite) as tmp:
        save_file(tensors, str(tmp), metadata=encoder_metadata(net, model_sha256))
