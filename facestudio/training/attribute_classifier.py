"""A small age / gender classifier for faces, trained on UTKFace's file-name labels.

It labels generated faces so that attribute directions can be fitted in W
(``facestudio attributes``), and it ships as ``weights/attributes.safetensors`` for the
audit and ``find`` (its inference, the network and the file format read live in
:mod:`facestudio.analysis.attributes`; this module holds only the training).

UTKFace names its files ``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`` (age 0-116; gender 0 male,
1 female). The network reads 64x64 RGB (other sizes are resized), and has two heads: a
gender logit (positive = female) and ``log(1 + age)`` regression, which treats a 5-year
error at 10 as worse than at 60, as a person would.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.analysis.attributes import AttributeNet, predict, to_input
from facestudio.errors import FacestudioError
from facestudio.training.loop import fast_bf16

_LABEL = re.compile(r"^(\d+)_([01])_")


class LabelError(FacestudioError, ValueError):
    """Labels cannot be read from the data; the message is one sentence."""


def parse_utkface_labels(names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ages ``[N]`` float32 (years), genders ``[N]`` int64 (1 = female) and a mask ``[N]``
    of names that carry both labels (a malformed name is masked out, not guessed)."""
    ages = np.zeros(len(names), dtype=np.float32)
    genders = np.zeros(len(names), dtype=np.int64)
    ok = np.zeros(len(names), dtype=bool)
    for i, name in enumerate(names):
        m = _LABEL.match(Path(name).name)
        if m and 0 <= int(m.group(1)) <= 120:
            ages[i], genders[i], ok[i] = int(m.group(1)), int(m.group(2)), True
    if ok.sum() == 0:
        raise LabelError("no image name carries UTKFace labels (AGE_GENDER_RACE_...): "
                         "cannot train an age / gender classifier on this data")
    return ages, genders, ok


@dataclass
class ClassifierReport:
    """Held-out quality: gender accuracy, age mean absolute error in years, sizes."""

    gender_accuracy: float
    age_mae: float
    train_count: int
    val_count: int
    epochs: int
    seconds: float

    def line(self) -> str:
        return (f"classifier on {self.val_count} held-out faces: gender accuracy "
                f"{100 * self.gender_accuracy:.1f} %, age error {self.age_mae:.1f} years "
                f"(trained on {self.train_count}, {self.epochs} epochs, {self.seconds:.0f} s)")


def _loss(out: torch.Tensor, gender: torch.Tensor, log_age: torch.Tensor) -> torch.Tensor:
    return (F.binary_cross_entropy_with_logits(out[:, 0], gender.float())
            + F.smooth_l1_loss(out[:, 1], log_age, beta=0.1) * 4.0)


def held_out_split(n: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices ``(held_out, train)`` of ``n`` faces: a seeded random ``val_fraction``
    (at least one face) is held out. The same arguments always give the same split, so the
    error report can be recomputed on exactly the faces training never saw."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).numpy()
    n_val = max(1, int(round(n * val_fraction)))
    return np.sort(order[:n_val]), np.sort(order[n_val:])


def train_classifier(images: np.ndarray, ages: np.ndarray, genders: np.ndarray, *,
                     epochs: int = 5, batch: int = 128, val_fraction: float = 0.1, seed: int = 0,
                     log: Callable[[str], None] = print) -> tuple[AttributeNet, ClassifierReport]:
    """Train on uint8 faces ``[N, H, W, 3]`` with their labels; a seeded random
    ``val_fraction`` is held out (:func:`held_out_split`) and reported. Horizontal flips augment (a mirrored face
    keeps its age and gender). Prediction runs in float32."""
    n = len(images)
    if n < 10 or len(ages) != n or len(genders) != n:
        raise LabelError(f"need at least 10 labelled faces with one label each, got {n}")
    val, tr = held_out_split(n, val_fraction, seed)
    gen = torch.Generator().manual_seed(seed + 1)  # shuffles and flips
    net = AttributeNet()
    bf16 = fast_bf16(torch.device("cpu"))  # mixed precision where the CPU has bf16 units (3x here)
    if bf16:
        net.to(memory_format=torch.channels_last)
    with torch.no_grad():  # start the age head at the data's mean: no long walk from 0
        net.head[1].bias[1] = float(np.log1p(ages[tr]).mean())
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = epochs * math.ceil(len(tr) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    log_ages = torch.from_numpy(np.log1p(ages).astype(np.float32))
    gender_t = torch.from_numpy(genders.astype(np.int64))
    t0 = time.time()
    for epoch in range(epochs):
        net.train()
        perm = tr[torch.randperm(len(tr), generator=gen).numpy()]
        total = 0.0
        for start in range(0, len(perm), batch):
            idx = np.sort(perm[start:start + batch])
            x = to_input(images[idx])
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = net(x.contiguous(memory_format=torch.channels_last) if bf16 else x)
            loss = _loss(out.float(), gender_t[idx], log_ages[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        log(f"classifier epoch {epoch + 1}/{epochs}: loss {total / len(perm):.4f} ({time.time() - t0:.0f} s)")
    age_pred, p_female = predict(net, images[np.sort(val)])
    vs = np.sort(val)
    report = ClassifierReport(
        gender_accuracy=float(((p_female > 0.5) == (genders[vs] == 1)).mean()),
        age_mae=float(np.abs(age_pred - ages[vs]).mean()),
        train_count=len(tr), val_count=len(val), epochs=epochs, seconds=time.time() - t0)
    return net, report


def save_classifier(net: AttributeNet, path: Path) -> None:
    from safetensors.torch import save_file

    from facestudio.fileio import atomic_write
    with atomic_write(Path(path), overwrite=True) as tmp:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))

