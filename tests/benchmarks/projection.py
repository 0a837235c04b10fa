"""How well the anonymizer's projection recovers a face whose w is known, with and without the encoder.

``python -m tests.benchmarks.projection [--faces 24] [--psi 0.7] [--photos 0] [--encoder
weights/encoder.safetensors] [--threads 1]`` renders ``--faces`` faces of the bundled model from seeds that neither the
encoder's training (its own seed streams) nor the studio's browsing uses, at truncation
``--psi``, and projects each with :func:`facestudio.analysis.projection.project` in several
settings: the optimisation alone from the pool (what the anonymizer did before the encoder),
the encoder's w alone, and the encoder's w followed by a few steps. For each it prints, as
one JSON object, the medians over the faces of

* the w error: mean squared error per coordinate, in units of each coordinate's spread over
  untruncated faces (the encoder's ``w_scale``), next to the model's mean w as the guess;
* the pixel error of the projected face against the true one at 128 px (mean squared,
  images in [-1, 1]);
* dlib's distance between the projected face and the true one (0.6 and over: "another
  person"), and the CPU seconds a projection takes (one torch thread by default; CPU time,
  which other work on the machine does not inflate as it does the wall time).

Generated faces are the encoder's own kind of input; a photo is harder. ``--photos N`` projects
the aligned faces of N adult UTKFace photos (those of ``tests.benchmarks.anonymize``, the
model's own training photos, which flatters it) instead, where no true w is known: only the
pixel error and dlib's distance to the photo's crop are reported.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HELD_OUT_SEED = 9_000_000  # apart from the studio's seeds, the projection pool's and the encoder's streams
SETTINGS = (("pool, 3 starts x 16 steps (no encoder)", False, 3, 16), ("encoder alone", True, 1, 0),
            ("encoder, 1 start x 4 steps", True, 1, 4), ("encoder, 1 start x 8 steps", True, 1, 8),
            ("encoder, 1 start x 16 steps", True, 1, 16), ("encoder + pool, 3 starts x 8 steps", True, 3, 8))


def photo_crops(g, classifier, count: int) -> np.ndarray:
    """The aligned faces ``[N, R, R, 3]`` of ``count`` adult UTKFace photos, as the anonymizer cuts them."""
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.photo_faces import FaceFinder, align, choose_face
    from tests.benchmarks.anonymize import UTKFACE, adult_photos
    finder = FaceFinder(FaceMeasurer(classifier))
    return np.stack([align(pixels, choose_face(finder.faces(pixels), None, name), "utkface", g.resolution)
                     for name, pixels in adult_photos(UTKFACE, count)])


def main() -> None:
    import torch
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=24)
    parser.add_argument("--psi", type=float, default=0.7)
    parser.add_argument("--encoder", type=Path, default=None, help="default: the bundled weights/encoder.safetensors")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--photos", type=int, default=0, help="project UTKFace photos instead of generated faces")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from facestudio.analysis.attributes import load_bundled_classifier
    from facestudio.analysis.encoder import encoder_for
    from facestudio.analysis.identity import IdentityEmbedder
    from facestudio.analysis.projection import project
    from facestudio.generator import load_generator
    from facestudio.latent.seeds import z_from_seeds
    g = load_generator()
    encoder = encoder_for(g, args.encoder)
    if encoder is None:
        raise SystemExit("no encoder trained for the bundled model: run facestudio train-encoder first")
    classifier = load_bundled_classifier()
    embedder = IdentityEmbedder()
    if args.photos:
        faces, true_w = photo_crops(g, classifier, args.photos), None
    else:
        ws = g.map(z_from_seeds(range(HELD_OUT_SEED, HELD_OUT_SEED + args.faces), g.z_dim), psi=args.psi)
        true_w, faces = ws[:, 0], g.synthesize(ws)
    true_ids = [m.embedding for m in embedder.measure_many(list(faces))]
    scale = encoder.w_scale.numpy()

    def w_error(w: np.ndarray, i: int) -> float:
        if true_w is None:
            return float("nan")
        return float((((w - true_w[i]) / scale) ** 2).mean())

    def pixel_error(face: np.ndarray, i: int) -> float:
        return float((((face.astype(np.float32) - faces[i].astype(np.float32)) / 127.5) ** 2).mean())

    def identity_distance(face: np.ndarray, i: int) -> float:
        found = embedder.measure(face)
        if found.embedding is None or true_ids[i] is None:
            return float("nan")
        return float(np.linalg.norm(found.embedding - true_ids[i]))

    mean_w = encoder.w_avg.numpy()
    mean_face = g.synthesize(np.repeat(mean_w[None, None], g.num_ws, axis=1))[0]
    report = {"faces": len(faces), "what": "UTKFace photos" if args.photos else f"generated faces at psi {args.psi}",
              "threads": args.threads,
              "mean w": {"w_error": round(float(np.median([w_error(mean_w, i) for i in range(len(faces))])), 4)
                         if true_w is not None else None,
                         "pixel_error": round(float(np.median([pixel_error(mean_face, i)
                                                               for i in range(len(faces))])), 4)}}
    for name, with_encoder, starts, steps in SETTINGS:
        rows = []
        for i, face in enumerate(faces):
            t = time.process_time()
            p = project(g, face, classifier, steps=steps, starts=starts, encoder=encoder if with_encoder else None)
            seconds = time.process_time() - t
            rows.append((w_error(p.w, i), pixel_error(p.face, i), identity_distance(p.face, i), seconds))
        r = np.asarray(rows)
        report[name] = {"w_error": round(float(np.nanmedian(r[:, 0])), 4) if true_w is not None else None,
                        "pixel_error": round(float(np.median(r[:, 1])), 4),
                        "dlib_distance": round(float(np.nanmedian(r[:, 2])), 3),
                        "dlib_same_person_share": round(float(np.mean(r[:, 2] < 0.6)), 3),
                        "cpu_seconds": round(float(np.median(r[:, 3])), 3)}
        print(name, report[name], flush=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
