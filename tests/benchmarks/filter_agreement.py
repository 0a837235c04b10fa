"""What the attribute filters cost and whether what they return holds up, on the bundled model.

``python -m tests.benchmarks.filter_agreement [--faces 256] [--work runs/named]`` renders the
first ``--faces`` seeds at psi 0.7 and prints:

* the cost per face of the classifier (age, P(female)), the skin patches (ITA) and dlib's face
  measures (detector and 68 landmarks at 256 px, regions in CIELAB);
* for ``--gender female`` at the old rule (P(female) > 0.5) and at the default confidence 0.9:
  the first 8 faces kept, and their P(female) by an estimator the filter does not use (the
  grey, eyes-hidden classifier of :mod:`tests.benchmarks.gender_check`, read from the work
  folder when it is there);
* for each attribute filter side: how many of the seeds pass (1 in how many), so a user knows
  what ``find`` will cost, and the side's bound.

Needs ``weights/measures.json`` or ``--reference`` (the real photos' percentiles).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import torch
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=256)
    parser.add_argument("--work", default="runs/named")
    parser.add_argument("--reference", default=None, help="the real photos' percentiles (default weights/measures.json)")
    args = parser.parse_args()
    from facestudio.analysis.attributes import load_bundled_classifier, predict
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.filters import FILTERS, gender_passes, read_reference, resolve
    from facestudio.analysis.skin_tone import skin_ita
    from facestudio.commands.output import load_model
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.render.renderer import Renderer
    reference = read_reference(Path(args.reference) if args.reference else None)
    g, net = load_model(None), load_bundled_classifier()
    measurer = FaceMeasurer(net)
    renderer = Renderer(g)
    images = np.concatenate([renderer.render_ws_batch(g.map(z_from_seeds(range(s, min(s + 64, args.faces)), g.z_dim),
                                                                psi=0.7)) for s in range(0, args.faces, 64)])
    n = len(images)
    t0 = time.perf_counter()
    ages, p_female = predict(net, images)
    t1 = time.perf_counter()
    skin_ita(images)
    t2 = time.perf_counter()
    measures = measurer.measure(images)
    t3 = time.perf_counter()
    print(f"{n} faces of {g.name} at psi 0.7, {g.resolution} px, 1 thread")
    print(f"  classifier {1000 * (t1 - t0) / n:.2f} ms/face, ITA {1000 * (t2 - t1) / n:.2f} ms/face, "
          f"dlib measures {1000 * (t3 - t2) / n:.1f} ms/face (includes the classifier again); "
          f"dlib found a face in {int(np.isfinite(measures['yaw']).sum())} of {n}")
    check = None
    path = Path(args.work) / "gender-check.safetensors"
    if path.is_file():
        from facestudio.analysis.attributes import load_classifier
        from tests.benchmarks.gender_check import p_female as blind_p_female
        check = load_classifier(path)
    for confidence in (0.5, 0.9):
        kept = np.flatnonzero(gender_passes(p_female, "female", confidence))[:8]
        line = f"  --gender female at {confidence}: seeds {kept.tolist()}, P(female) by the classifier " \
               f"{p_female[kept].mean():.2f}"
        if check is not None:
            independent = blind_p_female(check, images[kept])
            line += f", by the grey eyes-hidden estimator {independent.mean():.2f} (min {independent.min():.2f})"
        print(line)
    for f in FILTERS:
        for side in f.sides:
            bound = resolve(f.key, side, reference=reference)
            passed = int(bound.passes(measures[f.measure]).sum())
            lo = "-inf" if bound.low is None else f"{bound.low:.3g}"
            hi = "inf" if bound.high is None else f"{bound.high:.3g}"
            rate = f"1 in {n / passed:.1f}" if passed else "none"
            print(f"  --{f.key.replace('_', '-')} {side:<5} [{lo}, {hi}]: {passed} of {n} seeds ({rate})")


if __name__ == "__main__":
    main()
