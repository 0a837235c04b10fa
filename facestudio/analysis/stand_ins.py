"""Stand-ins: faces of people who do not exist that fill a photo's slot and are someone else.

The photo's face, aligned as the model's training faces (:mod:`.photo_faces`), is measured
with the named sliders' measures (:class:`~facestudio.analysis.face_measures.FaceMeasurer`)
and projected into W (:mod:`.projection`). A stand-in is an ordinary recipe: a seed of the
model, the studio's psi and amounts of the named sliders. Nothing of the photo is in it but
those amounts, so every slider, the mix grid and the export work on it as on any face.

How the stand-ins are found (:func:`find_stand_ins`):

1. candidates: the pool seeds whose w lies nearest the projection once most of the named
   sliders' directions are taken out of the difference (what the sliders will set anyway
   should weigh less in choosing a face than skin, lighting, hair and background; some of it
   is left in so that the sliders need not go far);
2. the sliders are set by measuring: each round renders the candidates, measures them and
   solves for the slider amounts that close the gap to the photo's measures, through the
   sliders' measured effects (each slider's own change and its side effects on the other
   measures, from the direction bundle's evidence), :data:`ROUNDS` rounds. Skin tone has a
   slider of its own where the model's bundle holds the anonymizer's skin-tone direction
   (fitted like the named sliders, on the colour layers; not shown in the dock);
3. each candidate is checked: a clean face (:mod:`.realism`: a face pushed far along the
   sliders can come out blotched), dlib's distance to the photo's face at least
   :data:`AWAY_FROM_PHOTO`, the export guard's lookalike check, and then chosen best fit first,
   each at least :data:`APART` from those already chosen.

What "kept" means is :data:`TOLERANCES` (stated in each measure's own units).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from facestudio.analysis.face_measures import srgb_to_lightness
from facestudio.analysis.identity import SAME_PERSON
from facestudio.errors import FacestudioError

AWAY_FROM_PHOTO = SAME_PERSON  # dlib's "another person"
APART = 0.25  # stand-ins at least this far from each other (dlib distance)
STAND_IN_PSI = 0.7
POOL_SIZE = 2048
ROUNDS = 3
MAX_BATCHES = 3  # batches of candidates tried before giving up on the count asked for
# batches always tried: the realism check refuses about a third of the candidates, most often
# those pushed far to keep the slot, and choosing from one batch then kept the head turn on
# only 75 % of the stand-ins of 10 photos
MIN_BATCHES = 2
MAX_AMOUNT = 2.5  # within the studio sliders' range of 3; past it faces distort
GENDER_LOGIT_LIMIT = 3.0  # a confident photo is matched to this confidence, not beyond
# On the sheet, stand-ins that the classifier put on the photo's side of 0.5 looked like the
# other sex to the eye (3 of a young man's 4): a kept gender must be as sure as the photo's,
# up to this
GENDER_SURE = 0.8
RIDGE = 0.3  # keeps the amounts small where a measure hardly needs them (large ones distort faces)

# what --keep names -> the measures it keeps
KEEP_GROUPS = {"age": ("age",), "gender": ("p_female",), "expression": ("smile", "mouth_open"),
               "pose": ("yaw", "pitch"), "skin": ("skin_tone",), "lighting": ("lighting",), "hair": ("hair",)}
DEFAULT_KEEP = ("age", "gender", "expression", "pose", "skin", "lighting")
# how far a stand-in may be from the photo and still keep a measure (own units; p_female: same side of 0.5)
TOLERANCES = {"age": 12.0, "p_female": 0.5, "smile": 0.07, "mouth_open": 0.05, "yaw": 0.15, "pitch": 5.0,
              "skin_tone": 12.0, "lighting": 10.0, "hair": 12.0}
TOLERANCE_TEXT = {"age": "within 12 years",
                  "p_female": "the same side of P(female) 0.5, at least as sure as the photo up to 0.8",
                  "smile": "within 0.07 (0.6 real-photo spreads)", "mouth_open": "within 0.05 (0.65 spreads)",
                  "yaw": "within 0.15 (0.57 spreads)", "pitch": "within 5 degrees (0.6 spreads)",
                  "skin_tone": "ITA within 12 degrees (Chardon's categories are 13-18 wide)",
                  "lighting": "the face's mean L* within 10",
                  "hair": "hair L* within 12"}
# a stand-in of the other sex, or of another age, head turn or smile, fails its slot more than one a
# little lighter: those misses count more when stand-ins are chosen
MISS_WEIGHT = {"p_female": 3.0, "age": 2.0, "yaw": 2.0, "smile": 2.0}
HELD_BACK = ("p_female",)  # a stand-in that misses these is written only when no other is found
SLIDER_OF = {"age": "age", "p_female": "gender", "smile": "smile", "mouth_open": "mouth_open", "yaw": "yaw",
             "pitch": "pitch", "hair": "hair", "skin_tone": "skin_tone"}  # measures a slider moves; lighting has none
# sliders a model may lack and still serve (skin tone is then only chosen among candidates): the
# skin-tone direction is the anonymizer's own (:mod:`facestudio.commands.skin_tone_fitting`)
OPTIONAL_SLIDERS = ("skin_tone",)
SLIDER_SHARE = 0.7  # how much of the sliders' directions is taken out of the distance to the projection
SHORTLIST = 24  # candidates looked at small for each one tried in full
SHORTLIST_SIDE = 16  # skin tone and lighting read well enough at this size to rank by
STAND_IN_SEED = 40_000_000  # where stand-in pools are drawn from (apart from browsing seeds)


class StandInError(FacestudioError):
    """Stand-ins cannot be made (a model that cannot serve, a bad --keep); one sentence."""


def parse_keep(text: str | None) -> tuple[str, ...]:
    """``--keep``: comma-separated names from :data:`KEEP_GROUPS` (default :data:`DEFAULT_KEEP`);
    ``none`` keeps nothing but the slot's lighting and skin chosen by the projection."""
    if text is None:
        return DEFAULT_KEEP
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    if names == ("none",):
        return ()
    unknown = [n for n in names if n not in KEEP_GROUPS]
    if unknown or not names:
        raise StandInError(f"--keep {text!r} names {', '.join(unknown) or 'nothing'}; choose from "
                           f"{', '.join(KEEP_GROUPS)} (or none).")
    return names


def kept_measures(keep: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(m for group in keep for m in KEEP_GROUPS[group])


def face_lightness(images: np.ndarray) -> np.ndarray:
    """The mean L* of the middle of aligned faces ``[N, H, W, 3]`` (rows and columns 0.2-0.8):
    how light the picture of the face is."""
    h, w = images.shape[1:3]
    middle = images[:, int(0.2 * h):int(0.8 * h), int(0.2 * w):int(0.8 * w)]
    return srgb_to_lightness(middle).reshape(len(images), -1).mean(axis=1).astype(np.float64)


def measure_faces(measurer, images: np.ndarray) -> dict[str, np.ndarray]:
    """The named sliders' measures of ``images`` plus ``lighting`` (:func:`face_lightness`)
    and ``skin_tone`` (ITA, :func:`facestudio.analysis.skin_tone.skin_ita`)."""
    measured = measurer.measure(images)
    measured.update(unslid_measures(np.asarray(images)))
    return measured


def unslid_measures(images: np.ndarray) -> dict[str, np.ndarray]:
    """The kept measures no slider moves, which the choice of faces must keep: skin tone
    (ITA) and lighting; cheap enough for a pool of small renders."""
    from facestudio.analysis.skin_tone import skin_ita
    return {"skin_tone": skin_ita(images), "lighting": face_lightness(images)}


def _logit(p):
    p = np.clip(np.asarray(p, np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def gap(target: dict[str, float], measured: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The photo's measure minus the faces' (P(female) in log-odds, the photo's capped)."""
    if name == "p_female":
        goal = float(np.clip(_logit(target[name]), -GENDER_LOGIT_LIMIT, GENDER_LOGIT_LIMIT))
        return goal - _logit(measured[name])
    return target[name] - np.asarray(measured[name], np.float64)


def kept(target: dict[str, float], measured: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Per face, whether it keeps the photo's ``name`` within :data:`TOLERANCES`."""
    if name == "p_female":  # the same side, as sure of it as the photo is (up to GENDER_SURE)
        p, goal = np.asarray(measured[name], np.float64), float(target[name])
        sure = min(GENDER_SURE, max(goal, 1.0 - goal))
        return p >= sure if goal >= 0.5 else p <= 1.0 - sure
    return np.abs(target[name] - np.asarray(measured[name], np.float64)) <= TOLERANCES[name]


def slider_effects(directions: dict, reference: dict, measures: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """The matrix ``[measures, sliders]`` of how far one unit of each named slider moves each
    kept measure (own units; P(female) in log-odds), from the bundle's evidence (its
    change from -2 to +2 on held-out faces in real-photo spreads), and the sliders' ids."""
    sliders = [SLIDER_OF[m] for m in measures if m in SLIDER_OF and SLIDER_OF[m] in directions]
    effects = np.zeros((len(measures), len(sliders)))
    for j, slider in enumerate(sliders):
        evidence = directions[slider].meta.get("evidence") or {}
        own = directions[slider].meta.get("measure")
        for i, m in enumerate(measures):
            if m not in reference:
                continue
            spreads = evidence.get("own_spreads") if m == own else (evidence.get("leakage") or {}).get(m, 0.0)
            effects[i, j] = float(spreads or 0.0) / 4.0 * reference[m]["spread"]
    return effects, sliders


@dataclass
class StandIn:
    """One stand-in: its recipe, face, measures, dlib distance to the photo, and which kept
    measures it holds within tolerance."""

    recipe: object
    face: np.ndarray
    measures: dict[str, float]
    distance: float
    kept: dict[str, bool]
    verdict: object = None
    embedding: np.ndarray | None = None

    @property
    def keeps_all(self) -> bool:
        return all(self.kept.values())


@dataclass
class Search:
    """What a search found and what it cost: the chosen stand-ins, how many candidates were
    tried and why the others were left out."""

    stand_ins: list[StandIn] = field(default_factory=list)
    tried: int = 0
    too_close: int = 0
    lookalikes: int = 0
    not_found: int = 0
    unclean: int = 0  # refused by the realism check (blotched, smeared)


def removed_directions(g, directions: dict, sliders: list[str]) -> np.ndarray:
    """An orthonormal basis ``[K, w_dim]`` of the named sliders' directions (averaged over layers)."""
    rows = [np.asarray(directions[s].vector, np.float64).reshape(g.num_ws, g.w_dim).mean(axis=0)
            for s in sliders if s in directions]
    if not rows:
        return np.zeros((0, g.w_dim))
    q, _ = np.linalg.qr(np.stack(rows).T)
    return q.T


def nearest_seeds(g, w_target: np.ndarray, directions: dict, first_seed: int, count: int,
                  skip: int = 0, target: dict | None = None, measures: tuple[str, ...] = ()) -> list[int]:
    """``count`` pool seeds (``first_seed`` on, :data:`POOL_SIZE` of them) near ``w_target``
    with most of the named sliders' directions taken out, after the ``skip`` nearest
    shortlists. With the photo's ``target`` measures, a shortlist :data:`SHORTLIST` times
    longer is rendered small (:data:`SHORTLIST_SIDE` px) and the faces whose skin tone and
    lighting are off by more than their tolerances go last."""
    from facestudio.latent.seeds import z_from_seeds
    seeds = np.arange(first_seed, first_seed + POOL_SIZE)
    ws = g.map(z_from_seeds(seeds.tolist(), g.z_dim), psi=STAND_IN_PSI)
    flat = ws[:, 0].astype(np.float64)
    basis = removed_directions(g, directions, list(SLIDER_OF.values()))
    diff = flat - w_target[None].astype(np.float64)
    diff -= SLIDER_SHARE * (diff @ basis.T) @ basis
    order = np.argsort(np.linalg.norm(diff, axis=1))
    unslid = [m for m in measures if m in ("skin_tone", "lighting")]
    if target is None or not unslid:
        return [int(s) for s in seeds[order[skip:skip + count]]]
    shortlist = order[skip * SHORTLIST:(skip + count) * SHORTLIST]
    small = small_faces(g, ws[shortlist])
    measured = unslid_measures(small)
    misses = sum(np.abs(target[m] - measured[m]) / TOLERANCES[m] for m in unslid)
    ranked = shortlist[np.argsort(np.maximum(misses, 0.5) + np.arange(len(shortlist)) / (4.0 * len(shortlist)),
                                  kind="stable")]
    return [int(s) for s in seeds[ranked[:count]]]


def small_faces(g, ws: np.ndarray) -> np.ndarray:
    """uint8 faces ``[N, S, S, 3]`` of ``ws`` at :data:`SHORTLIST_SIDE` pixels (a "skip"
    generator stops there; see :func:`facestudio.analysis.projection.synthesis_at`)."""
    import torch
    from facestudio.analysis.projection import synthesis_at
    from facestudio.generator.model import images_to_uint8
    with torch.no_grad():
        images = synthesis_at(g, g.ws_tensor(ws), min(SHORTLIST_SIDE, g.resolution))
    return images_to_uint8(images)


def set_sliders(g, renderer, measurer, seeds: list[int], target: dict[str, float], measures: tuple[str, ...],
                directions: dict, reference: dict, rounds: int = ROUNDS,
                progress: Callable[[int], None] | None = None):
    """The recipes of ``seeds`` with the named sliders set, round by round, to close the gap
    between their measures and the photo's; their faces and measures at the end."""
    from facestudio.latent.recipe import Edit, Recipe
    effects, sliders = slider_effects(directions, reference, measures)
    amounts = np.zeros((len(seeds), len(sliders)))
    recipes = faces = measured = None
    for round_ in range(rounds + 1):
        recipes = [Recipe(g.sha256, seed, psi=STAND_IN_PSI, model_name=g.name,
                          edits=tuple(Edit(s, round(float(a), 3), directions[s].layers)
                                      for s, a in zip(sliders, row) if abs(a) >= 1e-3))
                   for seed, row in zip(seeds, amounts)]
        faces = renderer.render_ws_batch(np.stack([renderer.ws_for(r) for r in recipes]))
        measured = measure_faces(measurer, faces)
        if progress:
            progress(1)
        if round_ == rounds or not sliders:
            break
        for i in range(len(seeds)):
            rows = [k for k, m in enumerate(measures) if np.isfinite(measured[m][i]) and effects[k].any()]
            if not rows:
                continue
            residual = np.array([gap(target, measured, measures[k])[i] for k in rows])
            scale = np.array([TOLERANCES[measures[k]] for k in rows])  # each gap weighed by its tolerance
            a = effects[rows] / scale[:, None]
            step = np.linalg.solve(a.T @ a + RIDGE * np.eye(len(sliders)), a.T @ (residual / scale))
            amounts[i] = np.clip(amounts[i] + step, -MAX_AMOUNT, MAX_AMOUNT)
    return recipes, faces, measured


def fit_score(stand_in_kept: dict[str, bool], target: dict, measures_row: dict, names: tuple[str, ...],
              recipe=None) -> float:
    """Lower is better: measures out of tolerance first, then the summed gaps in tolerances,
    plus a cost for slider amounts past 1.5 (the faces far along a slider are its least natural)."""
    missed = sum(MISS_WEIGHT.get(m, 1.0) for m, v in stand_in_kept.items() if not v)
    total = sum(max(abs(e.amount) - 1.5, 0.0) ** 2 for e in (recipe.edits if recipe is not None else ()))
    for m in names:
        g = abs(gap(target, {m: np.array([measures_row[m]])}, m)[0])
        total += g / (2.0 if m == "p_female" else TOLERANCES[m])
    return missed * 100.0 + total


def find_stand_ins(g, renderer, measurer, guard, photo_identity: np.ndarray, target: dict[str, float],
                   w_target: np.ndarray, directions: dict, reference: dict, count: int, keep: tuple[str, ...],
                   first_seed: int, progress: Callable[[int], None] | None = None, realism=None) -> Search:
    """Up to ``count`` stand-ins (fewer only when :data:`MAX_BATCHES` batches of candidates
    held no more that are clean (by ``realism``, a :class:`~.realism.RealismCheck`, when
    given), another person, no lookalike and apart from each other). One that misses a
    measure of :data:`HELD_BACK` (the other sex) waits until the last batch has been tried,
    and is taken only when nothing better is left."""
    measures = kept_measures(keep)
    search = Search()
    batch = max(8, 3 * count)
    waiting, pool = [], []
    for index in range(MAX_BATCHES):
        seeds = nearest_seeds(g, w_target, directions, first_seed, batch, index * batch, target, measures)
        recipes, faces, measured = set_sliders(g, renderer, measurer, seeds, target, measures, directions,
                                               reference, progress=progress)
        search.tried += len(seeds)
        clean = realism.passes(faces) if realism is not None else np.ones(len(faces), bool)
        candidates = []
        for i, (verdict, embedding) in enumerate(guard.check_each(list(faces))):
            if not clean[i]:
                search.unclean += 1
                continue
            if embedding is None or not np.isfinite(measured["yaw"][i]):
                search.not_found += 1
                continue
            distance = float(np.linalg.norm(embedding - photo_identity))
            if distance < AWAY_FROM_PHOTO:
                search.too_close += 1
                continue
            if verdict.resembles:
                search.lookalikes += 1
                continue
            row = {k: float(v[i]) for k, v in measured.items() if k != "identity" and np.ndim(v) == 1}
            held = {m: bool(kept(target, measured, m)[i]) for m in measures}
            stand_in = StandIn(recipes[i], faces[i], row, distance, held, verdict, embedding)
            score = fit_score(held, target, row, measures, recipes[i])
            (waiting if any(not held.get(m, True) for m in HELD_BACK) else candidates).append((score, stand_in))
        pool += candidates
        if index + 1 < MIN_BATCHES:
            continue
        search.stand_ins = []
        _choose(search, pool, count)  # the best of every batch so far
        if len(search.stand_ins) >= count:
            break
    _choose(search, waiting, count)
    return search


def _choose(search: Search, candidates: list, count: int) -> None:
    """Add the best-scoring ``candidates`` (score, stand-in) that are :data:`APART` from
    those already chosen, until there are ``count``."""
    for _, stand_in in sorted(candidates, key=lambda c: c[0]):
        if len(search.stand_ins) >= count:
            return
        if all(np.linalg.norm(stand_in.embedding - other.embedding) >= APART for other in search.stand_ins):
            search.stand_ins.append(stand_in)


