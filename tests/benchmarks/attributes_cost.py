"""What ``facestudio attributes`` costs per face, for the bundled model and for a 1024 px
FFHQ-size network (random weights, from :mod:`tests.benchmarks.ffhq_size_model`), on this
machine's CPU, and the whole fit's time extrapolated from the faces it renders and measures.

    python -m tests.benchmarks.attributes_cost [--threads 2] [--faces 8]

A random network's faces are not faces, so its measuring time is taken from the bundled model's
faces after they are enlarged to 1024 px (the measures run at 256 px whatever the model's size:
only the resize grows).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def per_face(fn, faces: int) -> float:
    fn(1)  # warm up
    start = time.perf_counter()
    fn(faces)
    return (time.perf_counter() - start) / faces


def main() -> None:
    import torch
    from PIL import Image
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faces", type=int, default=8)
    parser.add_argument("--samples", type=int, default=8000, help="fit faces, as the command's default")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.commands.slider_fitting import REFINE_FACES, SLIDERS
    from facestudio.generator import load_generator
    from facestudio.generator.model import generator_from_network
    from facestudio.generator.networks.stylegan2 import StyleGAN2Generator
    from tests.benchmarks.ffhq_size_model import ffhq_size_config
    plain, with_identity = FaceMeasurer(), FaceMeasurer(identity=True)
    small = load_generator(None)
    torch.manual_seed(0)
    big = generator_from_network(StyleGAN2Generator(ffhq_size_config(1024)).eval())
    faces128 = small.synthesize(small.map(np.random.RandomState(0).randn(args.faces, small.z_dim), psi=0.7))
    faces1024 = np.stack([np.asarray(Image.fromarray(f).resize((1024, 1024), Image.LANCZOS)) for f in faces128])
    rows = []
    for name, g, faces in (("bundled 128 px", small, faces128), ("FFHQ-size 1024 px", big, faces1024)):
        render = per_face(lambda n: g.synthesize(g.map(np.random.randn(n, g.z_dim), psi=0.7)), args.faces)
        measure = per_face(lambda n: plain.measure(faces[:n]), args.faces)
        identity = per_face(lambda n: with_identity.measure(faces[:n]), args.faces)
        # fit faces are rendered and measured with identity; calibration renders 8 sliders x 3 rounds
        # x 2 end stops x 32 faces and measures them; the judging renders and measures 8 x 3 x 64
        # (plus dlib's identity of 8 x 2 x 64, taken at the identity-measure cost)
        fit = args.samples * (render + identity)
        calibrate = len(SLIDERS) * 3 * 2 * 32 * (render + measure)
        judge = len(SLIDERS) * 64 * (3 * render + 3 * measure + 2 * identity)
        # a slider with a second pass (Head nod) measures REFINE_FACES faces at its end stops, on
        # its path and at 5 steps around each, then has its unit set again
        refine = sum(bool(s.cancel) for s in SLIDERS) * (REFINE_FACES * 8 + 3 * 2 * 32) * (render + measure)
        rows.append((name, render, measure, identity, fit + calibrate + judge + refine))
    print(f"{args.threads} threads, {args.faces} faces per timing, {args.samples} fit faces")
    print(f"{'model':<20} {'render':>9} {'measure':>9} {'+identity':>10} {'whole fit':>10}")
    for name, render, measure, identity, total in rows:
        print(f"{name:<20} {1000 * render:7.0f} ms {1000 * measure:7.0f} ms {1000 * identity:8.0f} ms {total / 3600:8.1f} h")


if __name__ == "__main__":
    main()
