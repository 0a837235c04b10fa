"""A photo's aligned face projected into a model's W: the latent whose face is closest to it.

:func:`project` takes the encoder's w of the photo (:mod:`.encoder`, trained by facestudio
on the model's own faces) when the model has one. By default that guess is the projection
(:data:`ENCODER_STEPS` = 0): on 50 UTKFace photos the stand-ins chosen near it kept the
photo's measures as often as, or more often than, after 4 or 16 steps of the optimisation
below, in less time. A model without an encoder starts from the faces of its own that look
most like the photo (a small pool of seeds rendered once, compared at 32 px). The
optimisation moves a single w (the same on every layer: W, not W+) with Adam, from several
starts at once, against

* the pixels: mean squared error at 64 px (a "skip" generator is run only up to its 64 px
  block, several times cheaper than a whole 128 px face with its gradients) and at 32 px (the low frequencies:
  pose, lighting, skin tone and background weigh as much as the details), and
* the measured attributes: the bundled attribute classifier's age (in log years) and
  gender logit of the face, held to the photo's.

The best start wins. The photo's identity is not a target: the anonymizer wants the slot
the face fills, not the person. The result stays in memory; nothing here writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from facestudio.analysis.attributes import gender_logit_and_age, to_input

POOL_SEED = 5_000_000  # the start pool's seeds, apart from the seeds people browse
POOL = 48  # faces rendered to choose the starts from
STARTS = 3  # starts optimised together, without an encoder
STEPS = 16
ENCODER_STARTS = 1  # with an encoder: its w, and the pool's nearest faces after it
ENCODER_STEPS = 0  # the encoder's guess as it is (measured against 4 and 16: docs/anonymize.md)
LEARNING_RATE = 0.04
LOW_SIDE = 32
AGE_WEIGHT = 0.05  # per (log years)^2
GENDER_WEIGHT = 0.002  # per logit^2
POOL_PSI = 0.7
OPTIMISE_SIDE = 64  # the optimisation compares at this size (the classifier's own); larger models stop early


@dataclass(frozen=True)
class Projection:
    """The photo's face in the model: w ``[w_dim]`` (float32), its face (uint8 ``[R, R, 3]``)
    and the pixel error (mean squared, images in [-1, 1]) at which it stopped."""

    w: np.ndarray
    face: np.ndarray
    pixel_error: float


def synthesis_at(g, ws: torch.Tensor, side: int) -> torch.Tensor:
    """The model's image of ``ws`` at ``side`` pixels, with gradients: a StyleGAN2 "skip"
    network stops after its ``side`` block (its image there is the coarse part of the full
    one, at a fraction of the cost); any other is run whole and reduced."""
    synthesis = g.network.synthesis
    if getattr(g.config, "architecture", None) == "skip" and hasattr(synthesis, "blocks") \
            and side in synthesis.block_resolutions and side < g.resolution:
        x = img = None
        for block, w, res in zip(synthesis.blocks(), synthesis.block_ws(ws), synthesis.block_resolutions):
            x, img = block(x, img, w, "const", channels_last=False)
            if res == side:
                return img
    images = synthesis(ws, noise_mode="const")
    return images if images.shape[-1] == side else F.interpolate(images, size=(side, side), mode="area")


def _low(images: torch.Tensor) -> torch.Tensor:
    return F.interpolate(images, size=(LOW_SIDE, LOW_SIDE), mode="area")


def _attributes(classifier, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logit, age = gender_logit_and_age(classifier(images))
    return logit, torch.log1p(age.clamp(min=0.0))


def starting_ws(g, target: torch.Tensor, count: int = STARTS, pool: int = POOL) -> np.ndarray:
    """The ws ``[count, w_dim]`` of the pool faces closest to ``target`` at 32 px."""
    from facestudio.latent.seeds import z_from_seeds
    ws = g.map(z_from_seeds(range(POOL_SEED, POOL_SEED + pool), g.z_dim), psi=POOL_PSI)
    with torch.no_grad():
        faces = synthesis_at(g, g.ws_tensor(ws), min(LOW_SIDE, g.resolution))  # only as far as compared
        error = (_low(faces) - _low(target)).square().mean(dim=(1, 2, 3))
    best = torch.argsort(error)[:count].numpy()
    return ws[best, 0]


def projection_steps(encoder) -> int:
    """How many optimisation steps :func:`project` takes by default (with or without ``encoder``)."""
    return ENCODER_STEPS if encoder is not None else STEPS


def first_ws(g, face: np.ndarray, target: torch.Tensor, starts: int, encoder=None) -> np.ndarray:
    """The ``starts`` ws ``[starts, w_dim]`` the optimisation begins from: the encoder's w of
    ``face`` first (when there is an encoder), then the pool faces nearest ``target``."""
    if encoder is None:
        return starting_ws(g, target, starts)
    from facestudio.analysis.encoder import encode
    encoded = encode(encoder, face[None])
    if starts <= 1:
        return encoded
    return np.concatenate([encoded, starting_ws(g, target, starts - 1)])


def project(g, face: np.ndarray, classifier, steps: int | None = None, starts: int | None = None,
            progress: Callable[[int], None] | None = None, encoder=None) -> Projection:
    """The w of model ``g`` whose face is closest to ``face`` (uint8 ``[R, R, 3]`` at the
    model's resolution, aligned as its training faces); ``progress(1)`` after each step.
    ``encoder``: the model's :class:`~facestudio.analysis.encoder.FaceEncoder`, whose w of
    the face starts the optimisation alone by default (:data:`ENCODER_STARTS`, :data:`ENCODER_STEPS`:
    no pool is rendered); None starts from the pool alone (:data:`STARTS`, :data:`STEPS`)."""
    steps = projection_steps(encoder) if steps is None else steps
    starts = (ENCODER_STARTS if encoder is not None else STARTS) if starts is None else starts
    full = to_input(face[None]).to(g.device)
    side = min(g.resolution, OPTIMISE_SIDE)
    target = F.interpolate(full, size=(side, side), mode="area") if side < g.resolution else full
    classifier.eval()
    with torch.no_grad():
        target_logit, target_age = _attributes(classifier, target)
    w = torch.tensor(first_ws(g, face, target, starts, encoder), device=g.device, requires_grad=steps > 0)
    # no optimiser when there is nothing to optimise: building one imports torch's compiler
    # (about a second, and more modules for the desktop build to carry)
    optimiser = torch.optim.Adam([w], lr=LEARNING_RATE) if steps > 0 else None
    for parameter in classifier.parameters():
        parameter.requires_grad_(False)
    losses = None
    for _ in range(steps):
        images = synthesis_at(g, w[:, None].expand(-1, g.num_ws, -1), side)
        logit, age = _attributes(classifier, images)
        losses = ((images - target).square().mean(dim=(1, 2, 3))
                  + (_low(images) - _low(target)).square().mean(dim=(1, 2, 3))
                  + AGE_WEIGHT * (age - target_age).square() + GENDER_WEIGHT * (logit - target_logit).square())
        optimiser.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimiser.step()
        if progress:
            progress(1)
    best = int(torch.argmin(losses.detach())) if losses is not None else 0
    w_best = w.detach()[best].cpu().numpy().astype(np.float32)
    ws = np.repeat(w_best[None, None], g.num_ws, axis=1)
    rendered = g.synthesize(ws)[0]
    error = float(((rendered.astype(np.float32) - face.astype(np.float32)) / 127.5).__pow__(2).mean())
    return Projection(w_best, rendered, error)
