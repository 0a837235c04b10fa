"""Measure the lookalike threshold (not a test; run with nice, it takes minutes).

    python tests/benchmarks/lookalike_threshold.py [--photos 500] [--transformed 200] [--generated 100]

On a sample of UTKFace photos (``../shared/data/utkface/UTKFace.tar``, extracted to a
temporary folder; nothing is kept) it measures:

* the speed of indexing, per photo;
* for ``--transformed`` of them, the distance from a mirrored, JPEG-q75, 5 %-cropped copy to
  its original (all should be found again), and whether the copy's nearest photo in the
  index is its original;
* the distance from each photo to the nearest *other* photo of the sample (different photos,
  mostly different people), and the distribution over all pairs;
* on ``--generated`` faces of the bundled model at psi 0.7 (seeds 0..N-1, rendered by the
  Renderer), the distance to the nearest sample photo and the rate below the thresholds.

It prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TAR = ROOT.parent / "shared" / "data" / "utkface" / "UTKFace.tar"


def transformed(pixels: np.ndarray) -> np.ndarray:
    """Mirrored, 5 % cropped (from the top-left), saved as JPEG quality 75 and decoded."""
    img = ImageOps.mirror(Image.fromarray(pixels))
    w, h = img.size
    img = img.crop((round(0.05 * w), round(0.05 * h), w, h))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def extract_sample(folder: Path, count: int) -> list[Path]:
    with tarfile.open(TAR) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".jpg")),
                         key=lambda m: m.name)
        step = max(1, len(members) // count)
        chosen = members[::step][:count]
        for m in chosen:
            m.name = Path(m.name).name
            tar.extract(m, folder, filter="data")
    return sorted(folder.iterdir())


def pct(values, qs=(0, 1, 5, 50, 95, 99, 100)) -> dict:
    v = np.asarray(values, np.float64)
    return {f"p{q}": round(float(np.percentile(v, q)), 4) for q in qs} if len(v) else {}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=500)
    ap.add_argument("--transformed", type=int, default=200)
    ap.add_argument("--generated", type=int, default=100)
    ap.add_argument("--psi", type=float, default=0.7)
    a = ap.parse_args()

    from facestudio.analysis.identity import SAME_PERSON, IdentityEmbedder
    from facestudio.analysis.lookalike import DEFAULT_THRESHOLD, build_index
    out: dict = {}
    embedder = IdentityEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        files = extract_sample(Path(tmp), a.photos)
        t0 = time.perf_counter()
        index, report = build_index(tmp, embedder, "UTKFace sample")
        per_photo = (time.perf_counter() - t0) / len(files)
        out["index"] = {"photos": len(files), "indexed": report.indexed, "no_face": report.no_face,
                        "unreadable": report.unreadable, "s_per_photo": round(per_photo, 4),
                        "estimated_full_23705_min": round(per_photo * 23705 / 60, 1)}
        by_name = {n: i for i, n in enumerate(index.names)}
        emb = index.embeddings.astype(np.float32)
        via = {"detector": 0, "whole image": 0, None: 0}
        d_same, found_self, nearest_is_self = [], 0, 0
        for p in files[: a.transformed]:
            if p.name not in by_name:
                continue
            m = embedder.measure(transformed(np.asarray(Image.open(p).convert("RGB"))))
            via[m.face_box] += 1
            if not m.found:
                continue
            found_self += 1
            d_same.append(float(np.linalg.norm(m.embedding - emb[by_name[p.name]])))
            nearest_is_self += index.nearest(m.embedding).name == p.name
        out["transformed"] = {"measured": len(d_same), "face_box": {str(k): v for k, v in via.items()},
                              "distance_to_original": pct(d_same), "nearest_is_original": nearest_is_self}
        d2 = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(d2, np.inf)
        nearest_other = np.sqrt(d2.min(1))
        pairs = np.sqrt(d2[np.triu_indices(len(emb), 1)])
        out["different_photos"] = {"nearest_other": pct(nearest_other), "all_pairs": pct(pairs),
                                   "pairs_below_0.6": round(float((pairs < SAME_PERSON).mean()), 5)}

        if a.generated:
            from facestudio.generator import load_generator
            from facestudio.latent.recipe import Recipe
            from facestudio.render.renderer import Renderer
            g = load_generator(None)
            r = Renderer(g)
            gen, none = [], 0
            for seed in range(a.generated):
                m = embedder.measure(r.render(Recipe(g.sha256, seed, psi=a.psi)))
                if m.found:
                    gen.append(index.nearest(m.embedding).distance)
                else:
                    none += 1
            out["generated"] = {"faces": a.generated, "psi": a.psi, "resolution": g.resolution,
                                "no_face": none, "nearest_distance": pct(gen)}
            for t in sorted({DEFAULT_THRESHOLD, SAME_PERSON, 0.35, 0.4, 0.45, 0.5}):
                out["generated"][f"rate_below_{t}"] = round(float(np.mean(np.array(gen) < t)), 4) if gen else None
        for t in sorted({DEFAULT_THRESHOLD, SAME_PERSON, 0.35, 0.4, 0.45, 0.5}):
            out.setdefault("thresholds", {})[str(t)] = {
                "transformed_found": round(float(np.mean(np.array(d_same) < t)), 4) if d_same else None,
                "different_photos_flagged": round(float(np.mean(nearest_other < t)), 4)}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
