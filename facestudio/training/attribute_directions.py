"""Named sliders whose end stops span their attribute, optimised through the generator.

A linear boundary in W (InterFaceGAN, :mod:`facestudio.latent.attributes`) says which way an
attribute grows on average. On the bundled 128 px model three units of it either way took
only 20 % of faces across P(female) 0.2 / 0.8, and a unit wide enough to do more took faces
out of the model's range (blotched texture). The attribute is not one straight line in W:
each layer of W+ carries a different part of it (the 8-16 px layers the shape of the face,
the 32-64 px ones hair and eyes), and a single vector shared by all layers moves them in the
wrong proportions.

:func:`optimise_span` therefore fits one offset per layer of W+ (``[num_ws, w_dim]``: slider
``+a`` adds ``a`` times it), starting from the linear direction, by gradient descent through
the generator and the classifier, so that at the end stops (``-amount`` / ``+amount``):

* Gender: the classifier's gender log-odds of every face lies beyond ``-margin`` / ``+margin``;
* Age: the classifier's age grows by ``age_years`` between them, on average;

while the other attribute and the face tone (:func:`facestudio.latent.attributes.face_tone`)
stay where they were at 0 (their mean shift strongly, each face's more gently, because a
classifier's reading of one face is noisy), and the offset stays small in W's own metric
(whitened by W's covariance, so moving where the model's W barely varies costs most).

The faces are augmented before they are read (mirror, a shift of a few pixels), and the
offset is shared by all faces, so it cannot be a per-face adversarial trick on the
classifier; ``facestudio attributes`` checks the result on held-out seeds that took no part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.latent.attributes import centre_luma

Synthesis = Callable[[torch.Tensor], torch.Tensor]  # ws [N, num_ws, w_dim] -> images [N, 3, H, W] in [-1, 1]
Readout = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]  # images -> (gender logit [N], age years [N])
Realism = Callable[[torch.Tensor], torch.Tensor]  # images -> the discriminator's logit [N] (higher = more real)

ATTRIBUTES = ("gender", "age")
# what an end stop may shift, (on average, each face): a shift of this much costs 1
AGE_HOLD_YEARS = (1.0, 5.0)
GENDER_HOLD_LOGIT = (0.5, 2.5)
TONE_HOLD_LEVELS = (2.0, 3.0)  # each face's own: a Gender slider lightened dark faces without it
PER_FACE_WEIGHT = 0.3  # the per-face shifts weigh this much (a classifier's reading of one face is noisy)
GENDER_SOFTNESS_LOGIT = 0.5  # the gender goal's loss falls off within this of the margin
AGE_SOFTNESS_YEARS = 2.0  # the age goal's loss falls off within this many years of the target
MAX_SHIFT_PIXELS = 3  # the augmentation's largest shift, at 128 px (scaled with the image)


@dataclass(frozen=True)
class SpanGoal:
    """What the end stops should do. attribute: ``"gender"`` (+ = more feminine) or ``"age"``
    (+ = older); amount: the slider's end stop; gender_margin: the log-odds each face should
    pass at the end stops (2.0 = P(female) 0.12 / 0.88, beyond the bar of 0.2 / 0.8); age_years:
    the age the faces should gain between them on average (the bar is 30); steps, batch, lr:
    Adam's schedule; whitened_l2: the weight of the offset's size in W's metric; realism_weight:
    the weight of the discriminator's verdict, where one is given; average_share: the slider is
    the mean of the offsets over this last share of the steps (each step sees only ``batch``
    faces, so the last offset alone is one draw of that noise; 0: the last offset)."""

    attribute: str
    amount: float = 3.0
    gender_margin: float = 2.0
    age_years: float = 36.0
    steps: int = 300
    batch: int = 12
    lr: float = 0.01
    whitened_l2: float = 0.01
    realism_weight: float = 1.0
    average_share: float = 0.3
    seed: int = 0

    def __post_init__(self):
        if self.attribute not in ATTRIBUTES:
            raise ValueError(f"the attribute must be one of {', '.join(ATTRIBUTES)}, got {self.attribute!r}")
        if not (self.amount > 0 and self.steps >= 1 and self.batch >= 1 and self.lr > 0):
            raise ValueError("amount, steps, batch and lr must be positive")
        if not 0.0 <= self.average_share <= 1.0:
            raise ValueError(f"average_share must lie in [0, 1], got {self.average_share}")


def face_tone_tensor(images: torch.Tensor) -> torch.Tensor:
    """:func:`facestudio.latent.attributes.face_tone` of float images ``[N, 3, H, W]`` in
    [-1, 1], differentiably: mean luma (0-255) of the centre half."""
    return centre_luma((images.clamp(-1, 1) + 1).mul(127.5).permute(0, 2, 3, 1))


def whitening(w_samples: np.ndarray) -> torch.Tensor:
    """``[w_dim, w_dim]`` matrix ``M`` with ``x @ M`` the coordinates of ``x`` in units of W's
    spread along each principal axis (from W samples ``[N, w_dim]``)."""
    x = np.asarray(w_samples, dtype=np.float64)
    values, vectors = np.linalg.eigh(np.cov(x.T))
    return torch.from_numpy((vectors / np.sqrt(np.maximum(values, 1e-8 * values.max()))).astype(np.float32))


def _draw_augmentation(rng: np.random.RandomState, side: int) -> tuple[bool, int, int]:
    """One mirror-and-shift for a whole step: the same for the faces at 0 and at the end
    stops, so that what the classifier reads differently is the edit's doing alone."""
    reach = max(1, round(MAX_SHIFT_PIXELS * side / 128))
    dy, dx = (int(v) for v in rng.randint(-reach, reach + 1, size=2))
    return bool(rng.rand() < 0.5), dy, dx


def _read(images: torch.Tensor, readout: Readout, augmentation: tuple[bool, int, int]):
    """(gender logit, age, face tone) of float faces, the classifier seeing them augmented."""
    mirror, dy, dx = augmentation
    seen = torch.roll(images.flip(-1) if mirror else images, (dy, dx), (2, 3))
    gender, age = readout(seen)
    return gender, age, face_tone_tensor(images)


def span_loss(goal: SpanGoal, low: tuple, high: tuple, base: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """(the goal's loss, the hold loss) from the readouts ``(gender logit, age, tone)`` of the
    faces at ``-amount`` (low), ``+amount`` (high) and 0 (base), each ``[N]``."""
    (g_lo, a_lo, t_lo), (g_hi, a_hi, t_hi), (g_0, a_0, t_0) = low, high, base
    if goal.attribute == "gender":
        # a face past its margin stops pulling (pushing on took faces towards caricature)
        soft = GENDER_SOFTNESS_LOGIT
        main = soft * (F.softplus((goal.gender_margin + g_lo) / soft).mean() +
                       F.softplus((goal.gender_margin - g_hi) / soft).mean())
        held = [(a_lo - a_0, AGE_HOLD_YEARS), (a_hi - a_0, AGE_HOLD_YEARS)]
    else:
        # on average, as the bar is: pushing every face to the full span took the ones that
        # barely age (infants, the elderly) out of the model's range
        main = F.softplus((goal.age_years - (a_hi - a_lo).mean()) / AGE_SOFTNESS_YEARS)
        held = [(g_lo - g_0, GENDER_HOLD_LOGIT), (g_hi - g_0, GENDER_HOLD_LOGIT)]
    held += [(t_lo - t_0, TONE_HOLD_LEVELS), (t_hi - t_0, TONE_HOLD_LEVELS)]
    hold = sum((shift.mean() / mean_unit) ** 2 + PER_FACE_WEIGHT * ((shift / face_unit) ** 2).mean()
               for shift, (mean_unit, face_unit) in held)
    return main, hold


def optimise_span(synthesis: Synthesis, readout: Readout, pool: np.ndarray, w_samples: np.ndarray,
                  init: np.ndarray, goal: SpanGoal, realism: Realism | None = None,
                  log=print) -> tuple[np.ndarray, dict]:
    """The per-layer offset ``[num_ws, w_dim]`` of one slider unit (the mean over the last
    ``goal.average_share`` of the steps), and the last step's losses.

    pool: W+ of the faces to fit on ``[N, num_ws, w_dim]`` (at the truncation the sliders
    are measured at); w_samples: untruncated W ``[M, w_dim]`` for the metric; init: the
    starting offset (a ``[w_dim]`` direction times its unit, or ``[num_ws, w_dim]``);
    realism: the model's training discriminator, if at hand: an edited face it finds less
    real than the face at 0 costs the drop in its logit (times ``goal.realism_weight``).
    """
    pool_t = torch.as_tensor(np.asarray(pool, dtype=np.float32))
    num_ws, w_dim = pool_t.shape[1:]
    start = np.broadcast_to(np.asarray(init, dtype=np.float32), (num_ws, w_dim))
    offset = torch.tensor(start, requires_grad=True)
    metric = whitening(w_samples)
    adam = torch.optim.Adam([offset], lr=goal.lr)
    rng = np.random.RandomState(goal.seed)
    batch = min(goal.batch, len(pool_t))
    averaged_steps = max(1, round(goal.steps * goal.average_share))
    averaged = torch.zeros_like(offset)
    last = {}
    for step in range(goal.steps):
        ws = pool_t[rng.choice(len(pool_t), batch, replace=False)]
        with torch.no_grad():
            unedited = synthesis(ws)
            augmentation = _draw_augmentation(rng, unedited.shape[-1])
            base = _read(unedited, readout, augmentation)
            real_0 = realism(unedited) if realism is not None else None
        faces = synthesis(torch.cat([ws - goal.amount * offset, ws + goal.amount * offset]))
        read = _read(faces, readout, augmentation)
        low, high = tuple(r[:batch] for r in read), tuple(r[batch:] for r in read)
        main, hold = span_loss(goal, low, high, base)
        size = goal.whitened_l2 * ((offset @ metric) ** 2).sum(1).mean() / w_dim
        unreal = torch.zeros(())
        if realism is not None:
            unreal = goal.realism_weight * F.relu(real_0.repeat(2) - realism(faces)).mean()
        loss = main + hold + size + unreal
        adam.zero_grad()
        loss.backward()
        adam.step()
        if step >= goal.steps - averaged_steps:
            averaged += offset.detach()
        last = {"goal": main.item(), "hold": hold.item(), "size": size.item(), "realism": unreal.item()}
        if step % 50 == 0 or step == goal.steps - 1:
            log(f"{goal.attribute}: step {step + 1}/{goal.steps}, goal loss {last['goal']:.3f}, "
                f"hold loss {last['hold']:.3f}, realism loss {last['realism']:.3f}")
    return (averaged / averaged_steps).numpy().astype(np.float32), last


def discriminator_from_checkpoint(path, resolution: int) -> Realism:
    """The discriminator of a facestudio training checkpoint for ``resolution`` px faces as a
    :data:`Realism` (frozen, float32); :class:`facestudio.training.checkpoint.CheckpointError`
    for a file that is not one, or one of another resolution."""
    from facestudio.training.checkpoint import CheckpointError, load_checkpoint
    from facestudio.training.loop import TrainSettings
    ckpt = load_checkpoint(path)
    settings = TrainSettings.of_checkpoint(ckpt)
    if settings.resolution != resolution:
        raise CheckpointError(f"it was trained at {settings.resolution} px, and this model makes {resolution} px faces")
    d = settings.discriminator()
    d.load_state_dict(ckpt["D"])
    d.alpha = 1.0
    d.eval().requires_grad_(False)
    return lambda images: d(images)[:, 0]
