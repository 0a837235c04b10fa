"""The StyleGAN2 training loop for small resolutions.

Non-saturating logistic loss, lazy R1 on reals every ``r1_interval`` steps, style-mixing
regularisation, an exponential moving average of G, adaptive differentiable augmentation.
Resumes from ``<run>/checkpoint.pt``; writes sample grids, checkpoints and, at the end,
the EMA generator in the native format. Stops cleanly on a time budget, a kimg target,
or Ctrl+C / SIGTERM (saving first).
"""

from __future__ import annotations

import copy
import json
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from facestudio.generator.device import cpu_has_bf16_units
from facestudio.generator.model import images_to_uint8
from facestudio.generator.networks.config import GeneratorConfig
from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
from facestudio.sheets import tile
from facestudio.training.augment import AdaptiveAugment
from facestudio.training.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from facestudio.training.data import Batches
from facestudio.training.discriminator import Discriminator


@dataclass
class TrainSettings:
    """Hyper-parameters of a run (saved in the checkpoint; a resume keeps them)."""

    resolution: int = 64
    z_dim: int = 256
    w_dim: int = 256
    mapping_layers: int = 8
    channels: dict[int, int] = field(default_factory=lambda: {4: 128, 8: 128, 16: 128, 32: 64, 64: 32})
    d_channels: dict[int, int] | None = None
    batch: int = 32
    lr: float = 0.0025
    r1_gamma: float = 0.05
    r1_interval: int = 16
    mixing_prob: float = 0.9
    ema_kimg: float = 10.0
    ema_rampup: float = 0.05
    augment_target: float = 0.6
    seed: int = 0
    precision: str = "auto"  # auto | fp32 | bf16 (autocast + channels_last)
    grown_at: int = 0  # images seen when the networks were grown to this resolution (0: never)
    fade_kimg: float = 0.0  # after growing, fade the discriminator's new input block in over this

    def fade_alpha(self, images_seen: int) -> float:
        """How far the grown discriminator's new input block has faded in (1: fully)."""
        if self.fade_kimg <= 0:
            return 1.0
        return min(max((images_seen - self.grown_at) / (self.fade_kimg * 1000), 0.0), 1.0)

    def discriminator(self) -> Discriminator:
        return Discriminator(self.resolution, self.d_channels or self.channels,
                             fade_in=self.fade_kimg > 0)

    def generator_config(self) -> GeneratorConfig:
        return GeneratorConfig(resolution=self.resolution, z_dim=self.z_dim, w_dim=self.w_dim,
                               mapping_layers=self.mapping_layers, channels=dict(self.channels))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        if self.d_channels:
            d["d_channels"] = {str(k): v for k, v in self.d_channels.items()}
        return d

    @classmethod
    def of_checkpoint(cls, ckpt: dict) -> "TrainSettings":
        """The settings a loaded training checkpoint was written with."""
        return cls.from_dict(json.loads(ckpt["settings"]))

    @classmethod
    def from_dict(cls, d: dict) -> "TrainSettings":
        d = dict(d)
        d["channels"] = {int(k): v for k, v in d["channels"].items()}
        if d.get("d_channels"):
            d["d_channels"] = {int(k): v for k, v in d["d_channels"].items()}
        return cls(**d)


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix units make mixed precision pay off here (AMX / AVX-512 BF16 on a
    CPU, any bf16-capable CUDA GPU). Measured on this project's 2-core CPU: 3x the images/s."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16_units()


def make_optimizers(G: torch.nn.Module, D: torch.nn.Module, s: TrainSettings):
    """Adam for G and D; D's lr and beta2 are corrected for lazy R1 (every ``r1_interval``)."""
    opt_G = torch.optim.Adam(G.parameters(), lr=s.lr, betas=(0.0, 0.99), eps=1e-8)
    c = s.r1_interval / (s.r1_interval + 1)
    opt_D = torch.optim.Adam(D.parameters(), lr=s.lr * c, betas=(0.0, 0.99 ** c), eps=1e-8)
    return opt_G, opt_D


class Trainer:
    """Owns the networks, optimisers and counters of one run folder."""

    def __init__(self, run_dir: Path, settings: TrainSettings, log: Callable[[str], None] = print,
                 device: str = "cpu", precision: str | None = None):
        self.run_dir = Path(run_dir)
        self.device = torch.device(device)
        self.log = log
        self.settings = settings
        self.images_seen = 0
        self.steps = 0
        self.started_from = None
        ckpt_path = self.run_dir / CHECKPOINT_NAME
        ckpt = load_checkpoint(ckpt_path) if ckpt_path.is_file() else None
        if ckpt is not None:
            self.settings = TrainSettings.of_checkpoint(ckpt)
        if precision is not None:  # precision changes how we compute, not what the run is
            self.settings.precision = precision
        s = self.settings
        torch.manual_seed(s.seed + (ckpt["steps"] if ckpt else 0))
        self.G = StyleGAN2Generator(s.generator_config()).train().to(self.device)
        self.D = s.discriminator().train().to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_G, self.opt_D = make_optimizers(self.G, self.D, s)
        self.augment = AdaptiveAugment(target=s.augment_target)
        if s.precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, got {s.precision!r}")
        self.bf16 = s.precision == "bf16" or (s.precision == "auto" and fast_bf16(self.device))
        if self.bf16:  # bf16 kernels want NHWC; parameters stay float32 (autocast casts per op)
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
            self.G_ema.to(memory_format=torch.channels_last)
        if ckpt is not None:
            self.G.load_state_dict(ckpt["G"])
            self.G_ema.load_state_dict(ckpt["G_ema"])
            self.D.load_state_dict(ckpt["D"])
            self.opt_G.load_state_dict(ckpt["opt_G"])
            self.opt_D.load_state_dict(ckpt["opt_D"])
            self.augment.load_state_dict(ckpt["augment"])
            self.images_seen = int(ckpt["images_seen"])
            self.steps = int(ckpt["steps"])
            self.started_from = self.images_seen
            self.log(f"resumed from {ckpt_path} at {self.images_seen / 1000:.1f} kimg")
        self.last = {}

    # --- one step -----------------------------------------------------------------
    def _latents(self, n: int) -> torch.Tensor:
        s = self.settings
        z = torch.randn(n, s.z_dim, device=self.device)
        ws = self.G.mapping(z, update_w_avg=True)
        if s.mixing_prob > 0 and torch.rand(()) < s.mixing_prob:
            cutoff = int(torch.randint(1, ws.shape[1], ()))
            ws2 = self.G.mapping(torch.randn(n, s.z_dim, device=self.device))
            ws = torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)
        return ws

    def _mixed(self):
        """bf16 autocast for the forward passes when enabled; losses are taken in float32."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def step(self, real: torch.Tensor) -> None:
        s = self.settings
        real = real.to(self.device, non_blocking=True)
        if self.bf16:
            real = real.contiguous(memory_format=torch.channels_last)
        n = real.shape[0]
        self.D.alpha = s.fade_alpha(self.images_seen)
        # Generator: fakes with graph, D frozen.
        self.D.requires_grad_(False)
        with self._mixed():
            fake = self.G.synthesis(self._latents(n), noise_mode="random")
            fake_logits_g = self.D(self.augment(fake))
        loss_g = F.softplus(-fake_logits_g.float()).mean()
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_G.step()
        # Discriminator on the same fakes (detached) and reals.
        self.D.requires_grad_(True)
        with self._mixed():
            fake_logits = self.D(self.augment(fake.detach())).float()
            real_logits = self.D(self.augment(real)).float()
        self.augment.record(real_logits)
        loss_d = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        r1 = None
        if self.steps % s.r1_interval == 0:
            real_r = real.detach().requires_grad_(True)
            with self._mixed():
                logits = self.D(self.augment(real_r)).float()
            (grad,) = torch.autograd.grad(logits.sum(), real_r, create_graph=True)
            r1 = grad.float().square().sum(dim=[1, 2, 3]).mean()
            (r1 * (s.r1_gamma / 2) * s.r1_interval).backward()
        self.opt_D.step()
        # EMA of G.
        ema_nimg = s.ema_kimg * 1000
        if s.ema_rampup:
            ema_nimg = min(ema_nimg, (self.images_seen + n) * s.ema_rampup)
        beta = 0.5 ** (n / max(ema_nimg, 1e-8))
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.lerp_(p, 1 - beta)
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)
        self.steps += 1
        self.images_seen += n
        if self.steps % 4 == 0:
            self.augment.update(4 * n)
        self.last = {"loss_G": loss_g.item(), "loss_D": loss_d.item(),
                     **({"r1": r1.item()} if r1 is not None else {})}

    # --- outputs ------------------------------------------------------------------
    def save(self) -> Path:
        path = self.run_dir / CHECKPOINT_NAME
        save_checkpoint(path, G=self.G, G_ema=self.G_ema, D=self.D, opt_G=self.opt_G,
                        opt_D=self.opt_D,
                        extra={"augment": self.augment.state_dict(), "images_seen": self.images_seen,
                               "steps": self.steps, "settings": json.dumps(self.settings.to_dict())})
        return path

    def sample_grid(self, path: Path, seeds=range(32), psi: float = 0.7, cols: int = 8) -> Path:
        """A grid of G_ema faces for fixed seeds (reference seed convention)."""
        z = np.concatenate([np.random.RandomState(s).randn(1, self.settings.z_dim) for s in seeds])
        with torch.inference_mode():
            ws = self.G_ema.mapping(torch.from_numpy(z).float().to(self.device), psi=psi)
            imgs = images_to_uint8(self.G_ema.synthesis(ws, noise_mode="const").cpu())
        save_grid(imgs, path, cols)
        return path


def save_grid(images: np.ndarray, path: Path, cols: int) -> None:
    """uint8 ``[N, H, W, 3]`` -> one PNG with ``cols`` columns."""
    Image.fromarray(tile(images, cols)).save(path)


def train(run_dir: Path, images: np.ndarray, settings: TrainSettings, *, kimg: float | None = None,
          minutes: float | None = None, snapshot_minutes: float = 10.0, sample_kimg: float = 20.0,
          log: Callable[[str], None] = print, progress_seconds: float = 30.0,
          device: str = "cpu", precision: str | None = None,
          on_step: Callable[[int], None] | None = None) -> Trainer:
    """Train until ``kimg`` thousand images in total have been seen, or ``minutes`` pass;
    ``on_step(images seen)`` after every step (the command line's progress bar).

    Saves a checkpoint every ``snapshot_minutes`` and at the end, a sample grid every
    ``sample_kimg``; SIGINT/SIGTERM stop after the current step and save.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(run_dir, settings, log, device=device, precision=precision)
    log(f"compute: {trainer.device.type}, {'bf16 autocast + channels_last' if trainer.bf16 else 'float32'}")
    s = trainer.settings
    if images.shape[1] != s.resolution:
        raise ValueError(f"the data is {images.shape[1]} px but the run trains at {s.resolution} px")
    batches = Batches(images, s.batch, seed=s.seed + trainer.steps)
    stop = {"flag": False}

    def request_stop(signum, frame):
        stop["flag"] = True
        log("stopping after this step ...")

    old_handlers = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    t0 = last_log = last_snap = time.time()
    seen0 = trainer.images_seen
    next_sample = (trainer.images_seen // int(sample_kimg * 1000) + 1) * int(sample_kimg * 1000)
    try:
        while not stop["flag"]:
            if kimg is not None and trainer.images_seen >= kimg * 1000:
                break
            if minutes is not None and time.time() - t0 >= minutes * 60:
                break
            trainer.step(batches.next())
            if on_step is not None:
                on_step(trainer.images_seen)
            now = time.time()
            if now - last_log >= progress_seconds:
                rate = (trainer.images_seen - seen0) / (now - t0)
                left = ""
                if kimg is not None:
                    left = f"  left {format_duration((kimg * 1000 - trainer.images_seen) / max(rate, 1e-9))}"
                losses = "  ".join(f"{k} {v:.3f}" for k, v in trainer.last.items())
                fade = f"  fade {trainer.D.alpha:.2f}" if trainer.D.alpha < 1 else ""
                log(f"kimg {trainer.images_seen / 1000:8.1f}  {rate:5.1f} img/s  {losses}  "
                    f"aug p {trainer.augment.p:.3f}{fade}{left}")
                last_log = now
            if trainer.images_seen >= next_sample:
                grid = trainer.sample_grid(run_dir / f"samples-{trainer.images_seen / 1000:07.1f}kimg.png")
                log(f"wrote {grid.name}")
                next_sample += int(sample_kimg * 1000)
            if now - last_snap >= snapshot_minutes * 60:
                trainer.save()
                last_snap = now
    finally:
        trainer.save()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        log(f"saved {run_dir / CHECKPOINT_NAME} at {trainer.images_seen / 1000:.1f} kimg")
    return trainer


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
