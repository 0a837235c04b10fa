"""What the anonymizer would cost with an FFHQ-size model (StyleGAN2 config f, 1024 px) on this CPU.

``python -m tests.benchmarks.anonymize_1024 [--threads 1]`` builds the network with random
weights (no FFHQ weights are on this machine, and random weights make no faces dlib finds,
so the whole run cannot be done); it times each part of one photo's run as the bundled
model's run does it, with the same counts, and prints them and their sum as JSON:

* the projection (the start pool compared at 32 px, 16 Adam steps of 3 starts at 64 px);
* the shortlist (288 faces rendered at 16 px);
* the candidates (12 faces rendered at 1024 px, 4 times: before and after 3 rounds of sliders);
* measuring them (12 UTKFace chips enlarged to 1024 px through FaceMeasurer and the identity
  check, 4 times; measuring works at 256 px whatever the model's size);
* writing 4 stamped, watermarked 1024 px PNGs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return time.perf_counter() - start


def main() -> None:
    import torch
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from PIL import Image
    from facestudio.analysis import lookalike_guard
    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.projection import project
    from facestudio.analysis.stand_ins import SHORTLIST, SHORTLIST_SIDE, small_faces, measure_faces
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.generator.model import generator_from_network
    from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
    from facestudio.latent.seeds import z_from_seeds
    from facestudio.provenance import export_image, make_stamp
    from facestudio.provenance.export import ExportOptions
    from tests.benchmarks.anonymize import UTKFACE, adult_photos
    from tests.benchmarks.ffhq_size_model import ffhq_size_config
    g = generator_from_network(StyleGAN2Generator(ffhq_size_config(1024)).eval(), "FFHQ-size, random weights")
    classifier = load_bundled_classifier()
    measurer = FaceMeasurer(classifier)
    guard = lookalike_guard.guard_for_model(g.sha256, lookalike_guard.default_index_path())
    chips = [p for _, p in adult_photos(UTKFACE, 12)]
    big = np.stack([np.asarray(Image.fromarray(c).resize((1024, 1024), Image.LANCZOS)) for c in chips])
    ws = g.map(z_from_seeds(range(12 * SHORTLIST), g.z_dim), psi=0.7)
    parts = {
        "projection": timed(lambda: project(g, big[0], classifier)),
        "shortlist_16px": timed(lambda: small_faces(g, ws)),
        "candidates_1024px": timed(lambda: g.synthesize(ws[:12]), repeat=4),
        "measuring": timed(lambda: (measure_faces(measurer, big), guard.check_each(list(big))), repeat=4),
    }
    stamp = make_stamp({}, g.name, g.sha256)
    with tempfile.TemporaryDirectory() as folder:
        parts["writing_4"] = timed(lambda: [export_image(big[i], Path(folder) / f"{i}.png", stamp, None,
                                                         ExportOptions(), True) for i in range(4)])
    report = {"model": "StyleGAN2 config f, 1024 px, random weights", "threads": args.threads,
              "shortlist_side": SHORTLIST_SIDE, "seconds": {k: round(v, 1) for k, v in parts.items()},
              "total_seconds": round(sum(parts.values()), 1)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
