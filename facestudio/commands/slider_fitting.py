"""The pipeline behind ``facestudio attributes``: measure generated and real faces, fit the
named sliders (:mod:`facestudio.latent.slider_fit`), calibrate their units on held-out faces.

Every stage keeps its results in the work folder (measured chunks of fit faces, the real
photos' percentiles), so an interrupted fit resumes where it stopped; a chunk is written
atomically and names the model it was measured on and the measures' version, so another model's
chunks, or chunks measured the old way, are never mixed in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.analysis.face_measures import MEASURES, MEASURES_VERSION
from facestudio.fileio import atomic_write
from facestudio.latent.directions import Direction, apply_edits
from facestudio.latent.recipe import retired_id
from facestudio.latent.seeds import z_from_seeds
from facestudio.latent.slider_fit import (acting_groups, conditional_direction, fit_regression, group_covariance,
                                          group_shares, layer_groups, mixed_ws, per_layer)
from facestudio.latent.slider_refine import LocalResponse, cancel_leaks, local_response, subspace_basis

FIT_SEED = 1_000_000  # fit faces draw their per-group seeds from here on, never the seeds people browse
CALIBRATE_SEED = 10_000  # held-out faces on which each slider's unit is set
CHECK_SEED = 20_000  # other held-out faces on which the benchmark judges the sliders
REFINE_SEED = 40_000  # faces along whose paths a slider's second pass measures its leaks
REFINE_FACES = 200
REFINE_COMPONENTS = 24  # principal axes of W per layer group that the second pass may step along
FIT_PSI = 0.8
CHECK_PSI = 0.7
CHUNK = 250
SPREAD_PER_P10_P90 = 2.5631  # the 10th-90th percentile range of a normal distribution, in std
# How far -2 to +2 moves a slider's measure, in real-photo spreads: the 21st to the 79th
# percentile. The full 10th-90th (2.56 spreads) kept dlib's same person in only 23-47 % of the
# faces (smile, mouth, head turn and nod, hair; 64 held-out seeds), 1.75 spreads in 61-98 %.
DEFAULT_SPAN_SPREADS = 1.6
LOGIT_CLIP = 6.0
IDENTITY = "identity"  # dlib's descriptors of the fit faces, held still by the sliders that keep the person
IDENTITY_COMPONENTS = 16  # how many of their principal components are held
BUNDLE_VERSION = 6  # 1: Age and Gender optimised through the classifier; 2: head nod read as a 2-D ratio;
# 3: head nod without the second pass (it closed open mouths); 4: the second pass cancelled the
# mouth and smile leaks but not the forehead's darkening (the hair measure moved 0.65 spreads);
# 5: Smile, Mouth open and Hair moved the light across the face, and Gender took glasses off (measures
# version 2 read neither)


@dataclass(frozen=True)
class SliderSpec:
    """One named slider: the measure it moves, the measures it may move along with it (all
    others are held still), the group it is shown in, its end-stop span (``None``:
    :data:`DEFAULT_SPAN_SPREADS` of the real photos' spread; else this many of the measure's own
    units), whether dlib's identity is held too (the sliders that must keep the person), and
    which held measures' leaks a second pass cancels where the slider is used
    (:mod:`facestudio.latent.slider_refine`), and whether that pass starts from the model's
    current slider (its first pass kept) rather than from a new first pass."""

    id: str
    name: str
    group: str
    own: str
    free: tuple[str, ...] = ()
    span: float | None = None
    positive: str = ""
    keeps_person: bool = True
    spreads: float = DEFAULT_SPAN_SPREADS  # the span in real-photo spreads, when ``span`` is None
    cancel: tuple[tuple[str, float], ...] = ()  # held measures' leaks the second pass cancels, and what share
    from_current: bool = False  # the second pass starts from the model's current slider, where it has one


SLIDERS = (
    # Smile moved the light from the image's right side of the face to its left (-1.95 spreads on
    # 200 selection faces) while no measure read it. A new first pass on today's measures keeps the
    # person on fewer faces (58-74 %, against 84 % for the shipped one, whose fit held the old 2-D
    # nod); a second pass from the shipped Smile that cancels 0.8 of the side light kept 88 %
    SliderSpec("smile", "Smile", "Expression", "smile", ("mouth_open", "eyes_open"), positive="smiling",
               cancel=(("side_light", 0.8),), from_current=True),
    SliderSpec("mouth_open", "Mouth open", "Expression", "mouth_open", (), positive="open", spreads=1.8),
    SliderSpec("eyes_open", "Eyes open", "Expression", "eyes_open", (), positive="wider open"),
    SliderSpec("yaw", "Head turn", "Pose", "yaw", (), positive="turned to the image's right"),
    # the nod's coarse layers carry the jaw: fitted with the mouth held, it still closed open mouths
    # (-0.67 spreads on 400 selection faces) and darkened the forehead, which the hair region reads
    # (-0.51); cancelling 0.4 of the one and 0.3 of the other kept the person on 80 % of those faces
    # with every leak under 0.55 (bundle version 4's 0.5 of the mouth and 0.3 of the smile: 75 %)
    SliderSpec("pitch", "Head nod", "Pose", "pitch", ("eyes_open",), positive="nodding down",
               cancel=(("mouth_open", 0.4), ("hair", 0.3))),
    SliderSpec("hair", "Hair lightness", "Hair", "hair", ("background",), positive="lighter (blond / grey)"),
    SliderSpec("side_light", "Light from the side", "Lighting", "side_light", (), positive="lit from the image's right"),
    SliderSpec("age", "Age", "Age and gender", "age", ("hair", "skin", "face_width"), span=38.0,
               positive="older", keeps_person=False),
    # fitted before glasses were measured, Gender took them off going female (-0.76 spreads); a new
    # first pass met the bars but its +2 faces looked less like women, so the second pass starts
    # from the Gender that was checked for make-up
    SliderSpec("gender", "Gender", "Age and gender", "p_female", ("hair", "face_width"), span=8.0,
               positive="more feminine", keeps_person=False, cancel=(("glasses", 0.6), ("side_light", 0.3)),
               from_current=True),
)


def _chunk_path(work: Path, sha: str, num_ws: int, index: int) -> Path:
    layout = "-".join(str(stop) for _, stop in layer_groups(num_ws))  # how the groups were mixed
    return work / f"fit-m{MEASURES_VERSION}-{sha[:12]}-g{layout}-{index:04d}.npz"


def fit_samples(g, measurer, count: int, work: Path, progress=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``count`` style-mixed fit faces of generator ``g``: their group W ``[N, 3, w_dim]`` and
    measures (name -> ``[N]``, and :data:`IDENTITY` -> ``[N, 128]``; ``measurer`` must have been
    made with ``identity=True``), read from the work folder's chunks where measured before."""
    groups = len(layer_groups(g.num_ws))
    ws_parts, measure_parts = [], []
    for index in range((count + CHUNK - 1) // CHUNK):
        path = _chunk_path(work, g.sha256, g.num_ws, index)
        n = min(CHUNK, count - index * CHUNK)
        if path.is_file():
            with np.load(path, allow_pickle=False) as z:
                if int(z["group_ws"].shape[0]) >= n:
                    ws_parts.append(z["group_ws"][:n])
                    measure_parts.append({k: z[k][:n] for k in (*MEASURES, IDENTITY)})
                    if progress:
                        progress(n)
                    continue
        first = FIT_SEED + index * CHUNK * groups
        z = z_from_seeds(range(first, first + CHUNK * groups), g.z_dim)
        group_ws = g.map(z, psi=FIT_PSI)[:, 0].reshape(CHUNK, groups, g.w_dim)
        measured = {k: [] for k in (*MEASURES, IDENTITY)}
        for start in range(0, CHUNK, 25):
            images = g.synthesize(mixed_ws(group_ws[start:start + 25], g.num_ws))
            for k, v in measurer.measure(images).items():
                measured[k].append(v)
            if progress and start < n:
                progress(min(25, n - start))
        measured = {k: np.concatenate(v) for k, v in measured.items()}
        _save_npz(path, group_ws=group_ws, **measured)
        ws_parts.append(group_ws[:n])
        measure_parts.append({k: v[:n] for k, v in measured.items()})
    return (np.concatenate(ws_parts),
            {k: np.concatenate([m[k] for m in measure_parts]) for k in (*MEASURES, IDENTITY)})


def _save_npz(path: Path, **arrays) -> None:
    import io
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    _write(path, buffer.getvalue())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, overwrite=True) as tmp:
        tmp.write_bytes(data)


def real_reference(data: Path, measurer, count: int, work: Path, progress=None) -> dict[str, dict[str, float]]:
    """The 10th, 50th and 90th percentiles of every measure over ``count`` real photos drawn
    (fixed seed) from ``data`` (UTKFace), cached in the work folder."""
    path = work / f"real-m{MEASURES_VERSION}-{count}.json"
    if path.is_file():
        return json.loads(path.read_text())
    from facestudio.training.data import iter_image_bytes, load_square
    items = list(iter_image_bytes(Path(data)))
    pick = np.random.RandomState(0).choice(len(items), size=min(count, len(items)), replace=False)
    values = {k: [] for k in MEASURES}
    for start in range(0, len(pick), 50):
        images = np.stack([load_square(items[i][1], 200) for i in pick[start:start + 50]])
        measured = measurer.measure(images)
        for k in MEASURES:
            values[k].append(measured[k])
        if progress:
            progress(len(images))
    reference = {}
    for k, parts in values.items():
        v = np.concatenate(parts)
        if k == "p_female":
            v = logit(v)
        reference[k] = percentile_row(v[np.isfinite(v)])
    _write(path, json.dumps(reference, indent=1).encode())
    return reference


def percentile_row(values: np.ndarray) -> dict[str, float]:
    """A measure's 10th, 50th and 90th percentiles over real photos, its spread (the 10th-90th
    range in standard deviations of a normal distribution) and how many photos it saw."""
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90),
            "spread": float((p90 - p10) / SPREAD_PER_P10_P90), "photos": int(len(values))}


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.clip(np.log(p / (1 - p)), -LOGIT_CLIP, LOGIT_CLIP)


def in_spreads(measures: dict[str, np.ndarray], reference: dict) -> dict[str, np.ndarray]:
    """Every measure in units of its real-photo spread, centred on the real median
    (P(female) through its log-odds)."""
    out = {}
    for k in MEASURES:
        v = measures[k]
        v = logit(v) if k == "p_female" else np.asarray(v, np.float64)
        out[k] = (v - reference[k]["p50"]) / reference[k]["spread"]
    return out


def fit_sliders(group_ws: np.ndarray, measures: dict[str, np.ndarray], reference: dict, num_ws: int,
                specs=SLIDERS) -> tuple[dict[str, np.ndarray], dict]:
    """Each slider's W+ step ``[num_ws, w_dim]`` that moves its own measure one real-photo
    spread (by the linear fit) with the held measures still (and, for a slider that keeps the
    person, the first :data:`IDENTITY_COMPONENTS` principal components of dlib's descriptor),
    and facts about the fit."""
    features = group_ws.reshape(len(group_ws), -1).astype(np.float64)
    mean = features.mean(axis=0)
    targets = in_spreads({k: measures[k] for k in MEASURES}, reference)
    regressions = {k: fit_regression(features, targets[k], mean) for k in MEASURES}
    identity = [fit_regression(features, score, mean) for score in identity_scores(measures.get(IDENTITY))]
    covariance = group_covariance(group_ws)
    steps = {}
    facts = {"r2": {k: r.r2 for k, r in regressions.items()}, "samples": int(len(group_ws)),
             "identity_r2": [r.r2 for r in identity]}
    for spec in specs:
        held = [k for k in MEASURES if k != spec.own and k not in spec.free]
        rows = [regressions[k].jacobian for k in held]
        groups = acting_groups(conditional_direction(regressions[spec.own].jacobian, rows, covariance), covariance)
        if spec.keeps_person:
            rows += [r.jacobian for r in identity]
        step = conditional_direction(regressions[spec.own].jacobian, rows, covariance, groups)
        steps[spec.id] = per_layer(step, num_ws)
        facts[spec.id] = {"group_shares": dict(zip(("coarse", "middle", "fine"), group_shares(step, covariance))),
                          "held": held + (["identity"] if spec.keeps_person and identity else [])}
    return steps, facts


def identity_scores(descriptors: np.ndarray | None) -> list[np.ndarray]:
    """The first :data:`IDENTITY_COMPONENTS` principal-component scores ``[N]`` of dlib's
    descriptors ``[N, 128]`` (NaN where none), each in units of its own spread."""
    if descriptors is None:
        return []
    d = np.asarray(descriptors, np.float64)
    ok = np.isfinite(d).all(axis=1)
    if ok.sum() < 2 * IDENTITY_COMPONENTS:
        return []
    centred = d[ok] - d[ok].mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    scores = np.full((len(d), IDENTITY_COMPONENTS), np.nan)
    scores[ok] = centred @ vt[:IDENTITY_COMPONENTS].T / (s[:IDENTITY_COMPONENTS] / np.sqrt(ok.sum()))
    return list(scores.T)


def span_target(spec: SliderSpec, reference: dict) -> float:
    """How far the slider's own measure should move from -2 to +2, in its own units."""
    if spec.span is not None:
        return spec.span
    return spec.spreads * reference[spec.own]["spread"]


def own_change(spec: SliderSpec, before: dict, after: dict) -> np.ndarray:
    """Per face, the change of the slider's own measure (P(female) through its log-odds)."""
    if spec.own == "p_female":
        return logit(after["p_female"]) - logit(before["p_female"])
    return np.asarray(after[spec.own], np.float64) - np.asarray(before[spec.own], np.float64)


def edited_faces(g, base_ws: np.ndarray, direction: Direction, amount: float) -> np.ndarray:
    table = {direction.id: direction}
    ws = np.stack([apply_edits(w, [(direction.id, amount, direction.layers)], table) for w in base_ws])
    return g.synthesize(ws)


def calibrate(g, measurer, spec: SliderSpec, step: np.ndarray, reference: dict, count: int = 48,
              rounds: int = 3, per_unit: bool = False) -> tuple[Direction, dict]:
    """The slider as a :class:`Direction` whose unit is set on held-out faces at psi 0.7 so
    that -2 to +2 moves its own measure by :func:`span_target` on average. ``step`` moves the
    own measure one spread by the linear fit, or (``per_unit``) one slider unit already."""
    norm = float(np.linalg.norm(step, axis=1).max())
    base = g.map(z_from_seeds(range(CALIBRATE_SEED, CALIBRATE_SEED + count), g.z_dim), psi=CHECK_PSI)
    target = span_target(spec, reference)
    spread = reference[spec.own]["spread"]
    scale = norm if per_unit else norm * target / (4.0 * spread)  # the first guess, corrected below
    history = []
    for _ in range(rounds):
        d = _direction(spec, step / norm, scale, g)
        low, high = (measurer.measure(edited_faces(g, base, d, a)) for a in (-2.0, 2.0))
        moved = float(np.nanmean(own_change(spec, low, high)))
        history.append({"scale": scale, "moved": moved})
        if not np.isfinite(moved) or moved <= 0:
            break
        scale *= float(np.clip(target / moved, 0.5, 2.0))
    # the measured unit closest to the target (past some size a step stops adding: keep the
    # one that reached furthest rather than an unmeasured guess)
    measured = [h for h in history if np.isfinite(h["moved"])] or history
    best = min(measured, key=lambda h: abs(h["moved"] - target))
    return _direction(spec, step / norm, best["scale"], g), {"target": target, "rounds": history}


def refine(g, measurer, spec: SliderSpec, direction: Direction, reference: dict, w_samples: np.ndarray,
           count: int = REFINE_FACES) -> tuple[np.ndarray, LocalResponse]:
    """The calibrated slider's per-unit step after its second pass: the share ``spec.cancel``
    names of each held measure's leak cancelled, as measured on ``count`` faces at psi 0.7 along
    its path (:mod:`facestudio.latent.slider_refine`; ``w_samples`` ``[N, w_dim]`` give W's
    principal axes), and the local response it was worked out from."""
    unit = direction.vector * direction.scale
    basis = subspace_basis(w_samples, unit, REFINE_COMPONENTS, layer_groups(g.num_ws))
    base = g.map(z_from_seeds(range(REFINE_SEED, REFINE_SEED + count), g.z_dim), psi=CHECK_PSI)

    def measure(ws: np.ndarray) -> dict[str, np.ndarray]:
        parts = [measurer.measure(g.synthesize(ws[i:i + 25])) for i in range(0, len(ws), 25)]
        return in_spreads({k: np.concatenate([p[k] for p in parts]) for k in MEASURES}, reference)

    response = local_response(measure, base, unit, basis, np.random.default_rng(0))
    held = [k for k in MEASURES if k != spec.own and k not in spec.free]
    return cancel_leaks(unit, response, spec.own, held, dict(spec.cancel)), response


def second_pass_start(spec: SliderSpec, directions: list[Direction]) -> tuple[Direction, str] | None:
    """For a slider whose second pass starts from the model's own (``spec.from_current``): that
    direction among the model's ``directions`` (retired aliases included) and the id it is kept
    under in the new bundle. A current slider that an earlier run made this way starts from what
    that run started from (its ``refined_from``), so running again gives the same slider. None
    when a first pass is to be fitted (no second pass, or the model has no such slider)."""
    if not (spec.from_current and spec.cancel):
        return None
    by_id = {d.id: d for d in directions}
    current = by_id.get(spec.id)
    if current is None or current.meta.get("retired"):
        return None
    origin = current.meta.get("refined_from")
    if isinstance(origin, str) and origin in by_id:
        return by_id[origin], origin
    return current, retired_id(spec.id, int(current.meta.get("bundle_version", 1)))


def _direction(spec: SliderSpec, vector: np.ndarray, scale: float, g) -> Direction:
    return Direction(id=spec.id, name=spec.name, vector=vector, layers=(0, g.num_ws), scale=float(scale),
                     source="attribute", model_sha256=g.sha256,
                     meta={"group": spec.group, "measure": spec.own, "positive": spec.positive,
                           "bundle_version": BUNDLE_VERSION})


JUDGED = (-2.0, 0.0, 2.0)  # the amounts at which a slider is judged


def evaluate(g, measurer, directions: list[Direction], reference: dict, specs=SLIDERS, count: int = 64,
             first_seed: int = CHECK_SEED, identity=None, extra=None, progress=None) -> dict:
    """Each slider judged on ``count`` held-out faces at psi 0.7 (seeds from ``first_seed``):
    its own measure's mean change from -2 to +2 in real-photo spreads and the share of faces
    that move its way; every other measure's mean change in its spreads (the leakage); with an
    ``identity`` embedder, dlib's distance between the -2 and +2 faces; with ``extra`` (name ->
    function of images), those readings at -2, 0 and +2 too."""
    by_id = {s.id: s for s in specs}
    base = g.map(z_from_seeds(range(first_seed, first_seed + count), g.z_dim), psi=CHECK_PSI)
    report = {}
    for d in directions:
        spec = by_id[d.id]
        faces = {a: edited_faces(g, base, d, a) for a in JUDGED}
        raw = {a: measurer.measure(faces[a]) for a in JUDGED}
        measured = {a: in_spreads(raw[a], reference) for a in raw}
        low, high = measured[-2.0], measured[2.0]
        change = {k: high[k] - low[k] for k in MEASURES}
        own = change[spec.own]
        row = {"own_spreads": float(np.nanmean(own)), "own_share": float(np.mean(own > 0)),
               "leakage": {k: float(np.nanmean(v)) for k, v in change.items() if k != spec.own},
               "found_share": float(np.mean([np.isfinite(measured[a]["yaw"]).mean() for a in measured]))}
        if spec.own in ("age", "p_female"):
            row["age_years"] = float(np.mean(raw[2.0]["age"] - raw[-2.0]["age"]))
            row["p_female_change"] = float(np.mean(raw[2.0]["p_female"] - raw[-2.0]["p_female"]))
        if identity is not None:
            row.update(same_person(identity, faces[-2.0], faces[2.0]))
        for name, fn in (extra or {}).items():
            row[name] = [float(np.nanmean(fn(faces[a]))) for a in JUDGED]
        report[d.id] = row
        if progress:
            progress(1)
    return report


def same_person(identity, lows: np.ndarray, highs: np.ndarray) -> dict[str, float]:
    """dlib's distance between each face's two end stops: its median, and the share of faces
    under :data:`~facestudio.analysis.identity.SAME_PERSON` (a face dlib does not find counts as
    another person)."""
    from facestudio.analysis.identity import SAME_PERSON
    distances = []
    for lo, hi in zip(lows, highs):
        a, b = identity.measure(lo), identity.measure(hi)
        distances.append(float(np.linalg.norm(a.embedding - b.embedding)) if a.found and b.found else np.nan)
    distances = np.asarray(distances)
    return {"identity_median": float(np.nanmedian(distances)),
            "same_person_share": float(np.mean(distances < SAME_PERSON))}
