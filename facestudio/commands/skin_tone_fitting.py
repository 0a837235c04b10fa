"""A skin-tone direction for the anonymizer, fitted like the named sliders (:mod:`.slider_fitting`).

No named slider moves skin tone, so a stand-in could only keep a photo's skin tone by being
chosen among candidates. This fits one: a W+ step that moves the skin's Individual Typology
Angle (ITA, :mod:`facestudio.analysis.skin_tone`) and holds everything else still.

* **Measured, not optimised through a network.** The fit faces are the named sliders' own
  (the style-mixed faces of :func:`.slider_fitting.fit_samples`, whose measures and dlib
  descriptors are in the work folder's chunks); they are rendered again to read their ITA and
  the colour of their background and hair (CIELAB b*, the yellow-blue axis that ITA shares),
  which the chunks do not hold.
* **Held still:** every named-slider measure but the cheeks' lightness (which is part of skin
  tone): the face's geometry, age, P(female), the hair's and the background's L*; plus the
  background's and the hair's b* (so that the step cannot tint the whole picture) and the
  first principal components of dlib's descriptor (so that it keeps the person).
* **Restricted to the layers that carry colour:** the middle and fine groups at most (the
  coarse layers carry pose and the face's shape), and of those the ones where the unheld
  step acts (:func:`facestudio.latent.slider_fit.acting_groups`).
* **Unit:** set on held-out faces at psi 0.7 so that -2 to +2 moves ITA by
  :data:`SPAN_SPREADS` of its spread over real photos (the same rule as the named sliders).

``python -m facestudio.commands.skin_tone_fitting --work runs/named --out weights/directions.npz
--overwrite`` adds the direction (id :data:`SKIN_TONE_ID`, marked ``internal``: the dock does not show it,
recipes that use it still render) to the model's bundle, leaving every other entry as it was,
and prints the fit's facts and its evidence on held-out faces as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from facestudio.analysis.face_measures import MEASURES
from facestudio.analysis.skin_tone import skin_ita, srgb_to_lab
from facestudio.commands.slider_fitting import (CALIBRATE_SEED, CHECK_PSI, CHECK_SEED, DEFAULT_SPAN_SPREADS,
                                                IDENTITY, fit_samples, identity_scores, in_spreads,
                                                percentile_row, same_person)
from facestudio.latent.directions import Direction
from facestudio.latent.seeds import z_from_seeds
from facestudio.latent.slider_fit import (acting_groups, conditional_direction, fit_regression, group_covariance,
                                          group_shares, mixed_ws, per_layer)

SKIN_TONE_ID = "skin_tone"
ITA = "ita"
MEASURE = "skin_tone"  # what the anonymizer calls ITA (:func:`facestudio.analysis.stand_ins.unslid_measures`)
COLOURS = ("background_b", "hair_b")  # the b* of the background and of the hair, held still
SPAN_SPREADS = DEFAULT_SPAN_SPREADS
COLOUR_GROUPS = (1, 2)  # middle, fine: the layers the step may move
FREE = ("skin",)  # the cheeks' L*: part of skin tone, not held


def colour_measures(images: np.ndarray) -> dict[str, np.ndarray]:
    """ITA of the skin and the b* of the background (the top corners) and of the hair (the
    band above the brows, between the corners) of aligned faces ``[N, H, W, 3]``."""
    images = np.asarray(images)
    side = images.shape[1]
    corner = max(2, side // 10)
    band = images[:, :max(2, side // 8), corner:side - corner]
    corners = np.concatenate([images[:, :corner, :corner], images[:, :corner, -corner:]], axis=2)
    return {ITA: skin_ita(images),
            "background_b": srgb_to_lab(corners)[..., 2].reshape(len(images), -1).mean(axis=1),
            "hair_b": srgb_to_lab(band)[..., 2].reshape(len(images), -1).mean(axis=1)}


def real_colour_reference(data: Path, count: int, resolution: int) -> dict[str, dict[str, float]]:
    """The 10th, 50th and 90th percentiles and spread of :func:`colour_measures` over ``count``
    real photos drawn (fixed seed) from ``data``, at the model's resolution."""
    from facestudio.training.data import iter_image_bytes, load_square
    items = list(iter_image_bytes(Path(data)))
    pick = np.random.RandomState(1).choice(len(items), size=min(count, len(items)), replace=False)
    parts = [colour_measures(np.stack([load_square(items[i][1], resolution) for i in pick[s:s + 200]]))
             for s in range(0, len(pick), 200)]
    return {k: percentile_row(np.concatenate([p[k] for p in parts])) for k in parts[0]}


def colours_in_spreads(colours: dict[str, np.ndarray], colour_reference: dict) -> dict[str, np.ndarray]:
    """:func:`colour_measures` in units of their real-photo spread, centred on the real median."""
    return {k: (np.asarray(v, np.float64) - colour_reference[k]["p50"]) / colour_reference[k]["spread"]
            for k, v in colours.items()}


def fit_step(group_ws: np.ndarray, measures: dict[str, np.ndarray], colours: dict[str, np.ndarray],
             reference: dict, colour_reference: dict) -> tuple[np.ndarray, dict]:
    """The step ``[groups * w_dim]`` that moves ITA one real-photo spread (by the linear fit)
    with the held measures still, in the colour groups only, and facts about the fit."""
    features = group_ws.reshape(len(group_ws), -1).astype(np.float64)
    mean = features.mean(axis=0)
    targets = in_spreads({k: measures[k] for k in MEASURES}, reference)
    targets.update(colours_in_spreads(colours, colour_reference))
    regressions = {k: fit_regression(features, v, mean) for k, v in targets.items()}
    held = [k for k in (*MEASURES, *COLOURS) if k not in FREE]
    rows = [regressions[k].jacobian for k in held]
    covariance = group_covariance(group_ws)
    own = regressions[ITA].jacobian
    unheld_groups = acting_groups(conditional_direction(own, rows, covariance), covariance)
    groups = [g for g in unheld_groups if g in COLOUR_GROUPS] or list(COLOUR_GROUPS)
    identity = [fit_regression(features, score, mean) for score in identity_scores(measures.get(IDENTITY))]
    rows += [r.jacobian for r in identity]
    step = conditional_direction(own, _reachable(rows, own, covariance, groups), covariance, groups)
    facts = {"r2": {k: round(r.r2, 3) for k, r in regressions.items()}, "samples": int(len(group_ws)),
             "groups": [("coarse", "middle", "fine")[g] for g in groups],
             "group_shares": [round(s, 3) for s in group_shares(step, covariance)],
             "held": held + ["identity"] * bool(identity)}
    return step, facts


def _reachable(rows: list[np.ndarray], own: np.ndarray, covariance: np.ndarray, groups: list[int]) -> list[np.ndarray]:
    """The held rows a step in ``groups`` can move: one that lives in other layers (a measure
    of the coarse layers alone), which such a step moves less than a hundredth as readily as
    ITA (in W's metric), stays still by itself, and holding it would leave the system singular."""
    block = covariance.shape[0] // 3
    keep = np.zeros(covariance.shape[0], bool)
    for g in groups:
        keep[g * block:(g + 1) * block] = True

    def reach(row):
        r = np.where(keep, row, 0.0)
        return float(r @ covariance @ r)
    least = 1e-4 * max(reach(own), 1e-300)
    return [r for r in rows if reach(r) > least]


def _edited(g, base: np.ndarray, vector: np.ndarray, scale: float, amount: float) -> np.ndarray:
    return g.synthesize(base + amount * scale * vector[None])


def calibrate_scale(g, vector: np.ndarray, colour_reference: dict, count: int = 48, rounds: int = 3) -> tuple[float, list]:
    """The W distance of one unit along ``vector`` (W+ ``[num_ws, w_dim]``, largest row 1) that
    makes -2 to +2 move ITA by :data:`SPAN_SPREADS` real-photo spreads on held-out faces."""
    base = g.map(z_from_seeds(range(CALIBRATE_SEED, CALIBRATE_SEED + count), g.z_dim), psi=CHECK_PSI)
    target = SPAN_SPREADS * colour_reference[ITA]["spread"]
    scale, history = 1.0, []
    for _ in range(rounds):
        moved = float(np.mean(skin_ita(_edited(g, base, vector, scale, 2.0))
                              - skin_ita(_edited(g, base, vector, scale, -2.0))))
        history.append({"scale": scale, "moved_degrees": moved})
        if not np.isfinite(moved) or moved <= 0:
            break
        scale *= float(np.clip(target / moved, 0.25, 4.0))
    best = min((h for h in history if h["moved_degrees"] > 0), key=lambda h: abs(h["moved_degrees"] - target),
               default=history[-1])
    return best["scale"], history


def skin_tone_direction(g, vector: np.ndarray, scale: float, real_spread: float, evidence: dict | None = None) -> Direction:
    """The fitted step as an internal :class:`Direction` of ``g`` (the dock does not show it),
    with ITA's spread over real photos (degrees), which sets what one unit means."""
    meta = {"group": "Anonymizer", "measure": MEASURE, "positive": "lighter skin (higher ITA)", "internal": True,
            "unit": f"-2 to +2 moves ITA {SPAN_SPREADS} real-photo spreads", "real_spread": real_spread}
    if evidence is not None:
        meta["evidence"] = evidence
    return Direction(id=SKIN_TONE_ID, name="Skin tone", vector=vector, layers=(0, g.num_ws), scale=float(scale),
                     source="attribute", model_sha256=g.sha256, meta=meta)


def judge(g, measurer, identity, direction: Direction, reference: dict, colour_reference: dict,
          count: int = 64) -> dict:
    """Issue 36's evidence for the direction on ``count`` held-out faces (seeds from
    :data:`CHECK_SEED`, psi 0.7): ITA's change from -2 to +2 in real-photo spreads and the
    share of faces that move that way; every other measure's change in its spreads; the
    share of faces whose -2 and +2 ends are the same person by dlib."""
    base = g.map(z_from_seeds(range(CHECK_SEED, CHECK_SEED + count), g.z_dim), psi=CHECK_PSI)
    vector = direction.offset(1.0, direction.layers, g.num_ws) / direction.scale
    faces = {a: _edited(g, base, vector, direction.scale, a) for a in (-2.0, 2.0)}
    ends = {}
    for a, images in faces.items():
        ends[a] = {**in_spreads(measurer.measure(images), reference),
                   **colours_in_spreads(colour_measures(images), colour_reference)}
    change = {k: ends[2.0][k] - ends[-2.0][k] for k in ends[2.0]}
    person = same_person(identity, faces[-2.0], faces[2.0])
    return {"own_spreads": round(float(np.nanmean(change[ITA])), 3),
            "own_share": round(float(np.mean(change[ITA] > 0)), 3),
            "leakage": {k: round(float(np.nanmean(v)), 3) for k, v in change.items() if k != ITA},
            **{k: round(v, 3) for k, v in person.items()}, "faces": count}


def main(argv: list[str] | None = None) -> None:
    import torch
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.filters import read_reference
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.generator import load_generator
    from facestudio.latent.direction_files import write_directions
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="the named sliders' work folder (measured chunks)")
    parser.add_argument("--out", type=Path, default=None, help="the bundle to write (default: none, report only)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out when it exists (the model's own bundle)")
    parser.add_argument("--faces", type=int, default=5000)
    parser.add_argument("--real", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/utkface/UTKFace.tar"))
    args = parser.parse_args(argv)
    if args.out is not None:  # the output checked before an hour of fitting, not after it
        from facestudio.fileio import OutputPathError, check_writable_target
        try:
            check_writable_target(args.out, overwrite=args.overwrite)
        except OutputPathError as exc:
            parser.error(f"{exc}" + ("" if args.overwrite or not args.out.exists() else " (add --overwrite to replace it)"))
    torch.set_num_threads(1)
    g = load_generator()
    measurer = FaceMeasurer(identity=True)
    reference = read_reference()
    group_ws, measures = fit_samples(g, measurer, args.faces, args.work)
    colours = {k: [] for k in (ITA, *COLOURS)}
    for start in range(0, len(group_ws), 250):
        for k, v in colour_measures(g.synthesize(mixed_ws(group_ws[start:start + 250], g.num_ws))).items():
            colours[k].append(v)
    colours = {k: np.concatenate(v) for k, v in colours.items()}
    colour_reference = real_colour_reference(args.data, args.real, g.resolution)
    step, facts = fit_step(group_ws, measures, colours, reference, colour_reference)
    vector = per_layer(step, g.num_ws)
    vector = vector / float(np.linalg.norm(vector, axis=1).max())
    scale, history = calibrate_scale(g, vector, colour_reference)
    spread = colour_reference[ITA]["spread"]
    direction = skin_tone_direction(g, vector, scale, spread)
    evidence = judge(g, FaceMeasurer(), IdentityEmbedder(), direction, reference, colour_reference)
    direction = skin_tone_direction(g, vector, scale, spread, evidence)
    print(json.dumps({"fit": facts, "calibration": history, "evidence": evidence,
                      "real_photos": colour_reference}, indent=1))
    if args.out is not None:
        write_directions(_bundle_entries(g) + [direction], args.out, overwrite=args.overwrite)


def _bundle_entries(g) -> list[Direction]:
    """The bundle's own entries (retired ones as stored, not their aliases), the skin tone's left out."""
    from facestudio.latent.direction_files import read_directions
    from facestudio.render.model_directions import bundle_path_for
    found = read_directions(bundle_path_for(g.path), g.w_dim, g.num_ws, model_sha256=g.sha256)
    return [d for d in found.directions if d.id != SKIN_TONE_ID]


if __name__ == "__main__":
    main()
