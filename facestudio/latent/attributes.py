"""Attribute directions from labelled W samples (InterFaceGAN style) and conditional editing.

An attribute that a classifier can read off a face is, to first order, a half-space in W:
:func:`fit_linear_boundary` fits a logistic-regression hyperplane ``n . w + b = 0`` to W
samples labelled 0 / 1, and the unit normal ``n`` is the editing direction (moving along
``n`` raises the attribute's log-odds at a constant rate). :func:`fit_linear_trend` does the
same for a continuous label (age in years) with ridge regression.

Conditional editing moves along one attribute while holding others fixed by removing the
other normals' components: :func:`project_out` returns the part of ``n1`` orthogonal to
``n2, n3, ...``, so the linear scores of the conditions do not change along it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facestudio.latent.directions import Direction, DirectionError

MIN_PER_CLASS = 2
NEWTON_STEPS = 50
UNIT_TARGETS = {"age": ("age_years_per_unit", 5.0), "gender": ("gender_logit_per_unit", 1.0),
                "tone": ("tone_per_unit", 10.0)}
UNIT_TEXT = {"age_years_per_unit": "about 5 years of age (classifier)",
             "gender_logit_per_unit": "about 1 in the classifier's gender log-odds (odds x 2.7)",
             "tone_per_unit": "about 10 levels of face luma"}
RESPONSES = ("age_years_per_unit", "gender_logit_per_unit", "tone_per_unit")
MAX_CONDITION = 100.0  # a response matrix worse conditioned than this is not trusted
EXTREMES = 0.3  # the gender boundary is fitted on this share of most and least feminine faces


@dataclass(frozen=True, eq=False)
class Boundary:
    """A hyperplane in W: unit ``normal [w_dim]`` and ``offset`` with ``normal . w + offset``
    the signed distance to it (positive side = label 1). ``accuracy`` is on the fitting
    samples; ``count`` how many there were."""

    normal: np.ndarray
    offset: float
    accuracy: float
    count: int

    def distance(self, ws: np.ndarray) -> np.ndarray:
        """Signed distances ``[N]`` of W samples ``[N, w_dim]`` to the boundary."""
        return np.asarray(ws, dtype=np.float64) @ self.normal + self.offset

    def to_direction(self, id: str, name: str, num_ws: int, model_sha256: str | None = None,
                     scale: float = 1.0, meta: dict | None = None) -> Direction:
        return Direction(id=id, name=name, vector=self.normal.astype(np.float32), layers=(0, num_ws),
                         scale=scale, source="attribute", model_sha256=model_sha256,
                         meta={"accuracy": self.accuracy, "samples": self.count, **(meta or {})})


def _check_samples(ws: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(ws, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise DirectionError(f"give one label per W sample: samples {list(x.shape)}, labels {list(y.shape)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DirectionError("the W samples or their labels contain NaN or infinite values")
    return x, y


def fit_linear_boundary(ws: np.ndarray, labels: np.ndarray, l2: float = 1e-4) -> Boundary:
    """Logistic regression on W samples ``[N, w_dim]`` with labels ``[N]`` in {0, 1}.

    The weights carry an L2 penalty ``l2 * N * mean variance of W`` (the intercept none),
    which keeps separable data finite without depending on W's units. Solved by Newton's
    method (iteratively reweighted least squares) in float64.
    """
    x, y = _check_samples(ws, labels)
    if not np.isin(y, (0.0, 1.0)).all():
        raise DirectionError("boundary labels must be 0 or 1")
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise DirectionError(f"a boundary needs at least {MIN_PER_CLASS} samples on each side, "
                             f"got {n_pos} positive and {n_neg} negative")
    mean = x.mean(axis=0)
    xc = x - mean
    n, d = xc.shape
    lam = l2 * n * max(float(xc.var(axis=0).mean()), 1e-12)
    xa = np.hstack([xc, np.ones((n, 1))])
    penalty = np.full(d + 1, lam)
    penalty[-1] = 0.0
    beta = np.zeros(d + 1)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(xa @ beta, -30, 30)))
        grad = xa.T @ (p - y) + penalty * beta
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    w, b = beta[:d], beta[d]
    norm = np.linalg.norm(w)
    if not norm > 0:
        raise DirectionError("the labels do not depend on W linearly: the fitted boundary is degenerate")
    normal = w / norm
    offset = (b - w @ mean) / norm
    accuracy = float(((x @ normal + offset > 0) == (y > 0.5)).mean())
    return Boundary(normal, float(offset), accuracy, n)


def fit_linear_trend(ws: np.ndarray, values: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Ridge regression of a continuous label (e.g. age) on W: the unit direction along
    which the label grows, and the label's change per unit W distance along it."""
    x, y = _check_samples(ws, values)
    if x.shape[0] < 3 or not y.std() > 0:
        raise DirectionError("a trend needs at least three samples whose labels differ")
    xc, yc = x - x.mean(axis=0), y - y.mean()
    lam = l2 * x.shape[0] * max(float(xc.var(axis=0).mean()), 1e-12)
    w = np.linalg.solve(xc.T @ xc + lam * np.eye(x.shape[1]), xc.T @ yc)
    norm = np.linalg.norm(w)
    if not norm > 0:
        raise DirectionError("the labels do not depend on W linearly")
    return w / norm, float(norm)


def project_out(primary: np.ndarray, *conditions: np.ndarray) -> np.ndarray:
    """``primary`` with the span of ``conditions`` removed, renormalised; works per row for
    ``[num_ws, w_dim]`` vectors (a ``[w_dim]`` condition applies to every row).

    Moving along the result leaves ``c . w`` unchanged for every condition ``c``.
    """
    p = np.asarray(primary, dtype=np.float64)
    rows = p[None] if p.ndim == 1 else p.copy()
    conds = [np.broadcast_to(np.asarray(c, dtype=np.float64), rows.shape) for c in conditions]
    out = np.zeros_like(rows)
    for r in range(rows.shape[0]):
        v = rows[r]
        if not np.abs(v).max() > 0:
            continue
        if conds:
            q, s, _ = np.linalg.svd(np.stack([c[r] for c in conds], axis=1), full_matrices=False)
            q = q[:, s > 1e-10 * max(s.max(), 1e-300)]
            v = v - q @ (q.T @ v)
        norm = np.linalg.norm(v)
        if norm < 1e-6 * np.linalg.norm(rows[r]):
            raise DirectionError("the direction lies (almost) in the span of the attributes held "
                                 "fixed, so nothing is left to move along")
        out[r] = v / norm
    return out[0] if p.ndim == 1 else out


def conditional_direction(primary: Direction, *conditions: Direction) -> Direction:
    """A new direction: ``primary`` moving with every condition's attribute held fixed.

    Its scale stays the primary's (rescale with ``Discovery.with_std_scale`` if wanted).
    """
    if not conditions:
        return primary
    for c in conditions:
        if c.w_dim != primary.w_dim:
            raise DirectionError(f"{c.name!r} has w_dim {c.w_dim}, {primary.name!r} has {primary.w_dim}")
        if c.vector.ndim == 2 and (primary.vector.ndim == 1 or c.vector.shape != primary.vector.shape):
            raise DirectionError(f"cannot hold the per-layer direction {c.name!r} fixed while moving "
                                 f"along {primary.name!r}")
    vector = project_out(primary.vector, *(c.vector for c in conditions))
    names = ", ".join(c.name for c in conditions)
    return Direction(id=f"{primary.id}|fixed:{'+'.join(c.id for c in conditions)}",
                     name=f"{primary.name} ({names} fixed)", vector=vector, layers=primary.layers,
                     scale=primary.scale, source=primary.source, model_sha256=primary.model_sha256,
                     meta={**primary.meta, "conditioned_on": [c.id for c in conditions]})


# --- the named Age and Gender directions (facestudio attributes) ---------------------------

@dataclass
class Labelled:
    """W samples ``[N, w_dim]``, the classifier's ages (years) and p(female) ``[N]``, and
    each face's tone ``[N]`` (:func:`face_tone`)."""

    ws: np.ndarray
    ages: np.ndarray
    p_female: np.ndarray
    tone: np.ndarray


def face_tone(images: np.ndarray) -> np.ndarray:
    """Mean luma (0-255, Rec. 601) of the centre half of each uint8 face ``[N, H, W, 3]``:
    mostly skin and lighting. Held fixed by the named directions, because the data ties
    age and gender to skin tone and lighting, and a slider named Age should not lighten
    or darken a person's skin."""
    return centre_luma(np.asarray(images).astype(np.float64))


def centre_luma(images):
    """:func:`face_tone` of float faces ``[N, H, W, 3]`` in 0-255, numpy or torch alike
    (only slicing and arithmetic, so a torch tensor keeps its gradient)."""
    h, w = images.shape[1:3]
    centre = images[:, h // 4: h - h // 4, w // 4: w - w // 4]
    return (0.299 * centre[..., 0] + 0.587 * centre[..., 1] + 0.114 * centre[..., 2]).mean((1, 2))


def fit_directions(lab: Labelled, num_ws: int, model_sha256: str) -> tuple[list[Direction], dict]:
    """The fitted directions with W-std scales: InterFaceGAN's single-attribute ones
    (``age-raw``, ``gender-raw``), the face-tone trend (``tone``) and InterFaceGAN's
    conditional ones (``age-projected``, ``gender-projected``: the others' normals projected
    out), plus facts about the fit. Each spans all ``num_ws`` layers of the model whose
    sha256 is ``model_sha256``."""
    # InterFaceGAN's choice: the clearest faces on each side, ranked by score (a threshold
    # at p = 0.5 would depend on the classifier's calibration on generated faces)
    order = np.argsort(lab.p_female)
    k = max(2, int(len(order) * EXTREMES))
    sure = np.concatenate([order[:k], order[-k:]])
    boundary = fit_linear_boundary(lab.ws[sure], np.r_[np.zeros(k), np.ones(k)])
    age_dir, years_per_w = fit_linear_trend(lab.ws, lab.ages)
    tone_dir, _ = fit_linear_trend(lab.ws, lab.tone)
    facts = {"samples": int(len(lab.ws)), "gender_samples": int(len(sure)),
             "gender_boundary_accuracy": boundary.accuracy,
             "female_share": float((lab.p_female > 0.5).mean()),
             "age_mean": float(lab.ages.mean()), "age_std": float(lab.ages.std()),
             "age_years_per_w_unit": years_per_w,
             "cosine_age_gender": float(abs(age_dir @ boundary.normal)),
             "cosine_age_tone": float(abs(age_dir @ tone_dir)),
             "cosine_gender_tone": float(abs(boundary.normal @ tone_dir))}

    def make(id, name, vector, meta):
        scale = float(np.std(lab.ws.astype(np.float64) @ vector))
        return Direction(id=id, name=name, vector=vector.astype(np.float32), layers=(0, num_ws),
                         scale=scale, source="attribute", model_sha256=model_sha256, meta=meta)

    dirs = [make("age-raw", "Age (single)", age_dir, {"positive": "older"}),
            make("gender-raw", "Gender (single)", boundary.normal, {"positive": "more feminine"}),
            make("tone", "Face tone", tone_dir, {"positive": "lighter"}),
            make("age-projected", "Age (projected)", project_out(age_dir, boundary.normal, tone_dir),
                 {"positive": "older", "conditioned_on": ["gender", "tone"]}),
            make("gender-projected", "Gender (projected)", project_out(boundary.normal, age_dir, tone_dir),
                 {"positive": "more feminine", "conditioned_on": ["age", "tone"]})]
    return dirs, facts


def decorrelate(bases: list[Direction], responses: list[dict], targets: dict[str, tuple[float, float, float]],
                num_ws: int, model_sha256: str) -> dict[str, Direction] | None:
    """Named directions whose *measured* side effects vanish, to first order.

    ``bases`` are the age, gender and tone directions, ``responses`` their measurements
    (:func:`measure`): column j of ``R`` says how far one unit of base j moves (age years,
    gender log-odds, tone levels). For each target response ``t`` (say 5 years, 0, 0), the
    W step ``sum_j c_j scale_j v_j`` with ``R c = t`` moves the wanted attribute and, as far
    as the responses add up linearly, nothing else. Projecting normals out (InterFaceGAN)
    holds the *linear fits* fixed; on a model whose attributes bend away from those fits
    this holds what the classifier actually sees. None if ``R`` is too ill-conditioned.
    """
    r = np.array([[m[k] for m in responses] for k in RESPONSES])
    if not np.isfinite(r).all() or np.linalg.cond(r) > MAX_CONDITION:
        return None
    out = {}
    for id, (name, positive, conditions, target) in targets.items():
        c = np.linalg.solve(r, np.asarray(target, dtype=np.float64))
        step = sum(cj * b.scale * b.vector.astype(np.float64) for cj, b in zip(c, bases))
        key = UNIT_TARGETS[id][0]
        out[id] = Direction(id=id, name=name, vector=step / np.linalg.norm(step), layers=(0, num_ws),
                            scale=float(np.linalg.norm(step)), source="attribute", model_sha256=model_sha256,
                            meta={"positive": positive, "conditioned_on": conditions, "unit": UNIT_TEXT[key],
                                  "method": "measured responses solved for zero side effects"})
    return out


SHIPPED = {"age": ("Age", "older", ["gender", "tone"], (5.0, 0.0, 0.0)),
           "gender": ("Gender", "more feminine", ["age", "tone"], (0.0, 1.0, 0.0))}
