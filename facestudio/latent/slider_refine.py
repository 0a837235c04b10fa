"""A named slider's second pass: cancel a leak that the first, global fit cannot see.

The first pass (:mod:`facestudio.latent.slider_fit`) is one linear fit over style-mixed faces at
psi 0.8, so it holds the other measures still *on average over all faces*. A slider is used on
psi-0.7 faces, at amounts up to +-2, where the generator answers differently: the head nod,
fitted with the mouth opening held, still closed open mouths by 0.66 spreads from -2 to +2
(100 held-out faces), because how wide a mouth is open is bounded below and the nod's coarse
layers carry the jaw.

This pass looks where the slider is used. On faces along the slider's own path it measures how
every measure answers small random steps in a low-dimensional subspace (the leading principal
axes of W, placed on each layer group the slider moves), pooled into one local Jacobian per measure
(:func:`local_response`), and measures the slider's leaks there directly. Then it adds to the
slider the smallest step in that subspace that cancels a chosen share of chosen leaks while
keeping the slider's own change and every other held measure's (:func:`cancel_leaks`).

Still nothing is optimised through the generator or a network: the response is a least-squares
fit to measurements, and the correction a linear solve. Only a share of a leak is cancelled:
each added step costs a little of the person (dlib's distance between the end stops), so a
slider cancels what it must to keep the leak under its bar, not everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from facestudio.latent.directions import DirectionError

Measure = Callable[[np.ndarray], dict[str, np.ndarray]]  # W+ [N, num_ws, w_dim] -> name -> [N]
PATH_AMOUNTS = (-2.0, -1.0, 1.0, 2.0)  # where along the slider the response is measured


@dataclass(frozen=True)
class LocalResponse:
    """How the measures answer steps along ``basis`` ``[K, num_ws, w_dim]`` near the slider's
    path: ``jacobian[name]`` ``[K]`` (change per unit coefficient) and its share of variance
    explained ``r2[name]``; ``leak[name]``: the measure's mean change per slider unit."""

    basis: np.ndarray
    jacobian: dict[str, np.ndarray]
    r2: dict[str, float]
    leak: dict[str, float]


def subspace_basis(w_samples: np.ndarray, step: np.ndarray, components: int,
                   groups: list[tuple[int, int]]) -> np.ndarray:
    """The first ``components`` principal axes of W (from ``w_samples`` ``[N, w_dim]``), each
    scaled to its own spread, placed once on each layer group ``(start, stop)`` of ``groups``
    that ``step`` ``[num_ws, w_dim]`` moves: ``[groups moved * components, num_ws, w_dim]``."""
    w = np.asarray(w_samples, np.float64)
    if len(w) < 2 * components:
        raise DirectionError(f"{len(w)} samples of W cannot give {components} principal axes")
    _, s, vt = np.linalg.svd(w - w.mean(axis=0), full_matrices=False)
    axes = vt[:components] * (s[:components] / np.sqrt(len(w)))[:, None]
    moved = [(a, b) for a, b in groups if np.linalg.norm(step[a:b]) > 0]
    if not moved:
        raise DirectionError("the slider moves no layer")
    basis = np.zeros((len(moved) * components, *np.shape(step)), np.float64)
    for r, (a, b) in enumerate(moved):
        basis[r * components:(r + 1) * components, a:b] = axes[:, None, :]
    return basis


def local_response(measure: Measure, base_ws: np.ndarray, step: np.ndarray, basis: np.ndarray,
                   rng: np.random.Generator, perturbations: int = 5, sigma: float = 0.6) -> LocalResponse:
    """Measure ``base_ws`` ``[N, num_ws, w_dim]`` at the slider's end stops (its leaks) and at
    one point of :data:`PATH_AMOUNTS` each, plus ``perturbations`` random steps
    ``sigma`` * N(0, 1) along ``basis`` from that point; fit each measure's change from the
    point to its perturbations by least squares over all faces together."""
    base_ws = np.asarray(base_ws, np.float32)
    n, k = len(base_ws), len(basis)
    if n * perturbations < 2 * k:
        raise DirectionError(f"{n * perturbations} perturbed faces cannot fit a response to {k} axes")
    low, high = measure(base_ws - 2.0 * step), measure(base_ws + 2.0 * step)
    leak = {name: float(np.nanmean((high[name] - low[name]) / 4.0)) for name in high}
    amounts = rng.choice(PATH_AMOUNTS, size=n)
    points = base_ws + amounts[:, None, None].astype(np.float32) * step
    coefficients = rng.normal(size=(n, perturbations, k)) * sigma
    moved = points[:, None] + np.einsum("npk,kld->npld", coefficients, basis).astype(np.float32)
    at_points = measure(points)
    perturbed = measure(moved.reshape(n * perturbations, *step.shape))
    x = coefficients.reshape(n * perturbations, k)
    jacobian, r2 = {}, {}
    for name, values in perturbed.items():
        y = (np.asarray(values, np.float64).reshape(n, perturbations) - at_points[name][:, None]).ravel()
        ok = np.isfinite(y)
        if ok.sum() < 2 * k:
            raise DirectionError(f"too few faces could be measured for {name} near the slider's path")
        coef, *_ = np.linalg.lstsq(x[ok], y[ok], rcond=None)
        jacobian[name] = coef
        r2[name] = float(1.0 - np.var(y[ok] - x[ok] @ coef) / max(np.var(y[ok]), 1e-12))
    return LocalResponse(basis=basis, jacobian=jacobian, r2=r2, leak=leak)


def cancel_leaks(step: np.ndarray, response: LocalResponse, own: str, held: list[str],
                 cancel: dict[str, float]) -> np.ndarray:
    """``step`` plus the smallest combination of ``response.basis`` that leaves the ``own``
    measure's change as it is, cancels ``cancel[name]`` (a share, 0-1) of each named held
    measure's leak, and adds no change to the other ``held`` measures."""
    unknown = set(cancel) - set(held)
    if unknown:
        raise DirectionError(f"only held measures can be cancelled, not {', '.join(sorted(unknown))}")
    rows = [own, *held]
    a = np.stack([response.jacobian[name] for name in rows])
    target = np.array([0.0] + [-cancel.get(name, 0.0) * response.leak[name] for name in held])
    gram = a @ a.T
    if np.linalg.cond(gram) > 1e8:
        raise DirectionError("the local response cannot tell these measures apart; measure more faces")
    coefficients = a.T @ np.linalg.solve(gram, target)
    return (np.asarray(step, np.float64) + np.einsum("k,kld->ld", coefficients, response.basis)).astype(np.float32)
