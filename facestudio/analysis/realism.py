"""Is a generated face clean? A check that refuses blotched, smeared faces, calibrated on unedited ones.

A stand-in's sliders are sometimes pushed far to keep a photo's slot, and some such faces
come out blotched (red mottled skin, dark smears). dlib's detector score does not single them
out, and no discriminator is shipped. This check asks how far a face is from what the model
makes when nothing is edited:

* **The reference:** :data:`CALIBRATION_FACES` faces of the model at the stand-ins' psi, a
  third of them unedited and the rest moved along one pose or expression slider within
  :data:`CLEAN_AMOUNT` (the range where the sliders were seen to leave faces clean), the middle
  of each (:data:`REGION`, where the skin is) at :data:`SIDE` pixels; their mean and first
  :data:`COMPONENTS` principal components in pixel space.
* **The score:** the root-mean-square of what those components cannot explain in a face
  (its residual; a face the model makes unedited is explained well, a pattern it never
  makes unedited, such as a blotch or a smear, is not).
* **The bar:** the :data:`REFUSE_PERCENTILE` th percentile of the score over other such
  faces (held out from the fit): a face scoring above it is less like the model's own faces
  than all but the most unusual few of them, and is refused.

It is a novelty measure in pixels, not a judge of beauty: an unusual but clean face can fail
it (a candidate is then replaced by another), and it was set on the model's own faces, never
on the stand-ins it is judged by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

SIDE = 32
REGION = (0.18, 0.82)  # rows and columns of the aligned face that are compared (the skin, eyes and mouth)
COMPONENTS = 150
CALIBRATION_FACES = 4000  # fitted on the first FIT_SHARE of them, the bar set on the others
FIT_SHARE = 0.75
REFUSE_PERCENTILE = 90.0
# faces moved along one named slider within this range are clean (issue 36's sheets were
# looked at for blotched or cracked skin within +-1.5): a turned head or a broad smile is
# unusual among unedited faces but not a flaw, and a reference of unedited faces alone
# refused a quarter of the head turns the stand-ins need
CLEAN_AMOUNT = 1.5
UNEDITED_EVERY = 3  # every third calibration face is left unedited
# only the sliders that move the face's shape (pose, expression) widen the reference: age,
# gender, hair and skin change texture and colour, where blotches live (with age in it, the old
# sheet's red, mottled old man scored under the bar)
GEOMETRIC_GROUPS = ("Expression", "Pose")
REALISM_SEED = 60_000_000  # unedited faces drawn from here on (apart from browsing and stand-in seeds)
FORMAT = "facestudio-realism"
REALISM_FILE = "realism.npz"


def face_vectors(images: np.ndarray) -> np.ndarray:
    """The compared pixels of aligned uint8 faces ``[N, H, W, 3]``: the :data:`REGION` of
    each at :data:`SIDE` pixels, float64 in 0-1, ``[N, D]``."""
    images = np.asarray(images)
    a, b = int(REGION[0] * SIDE), int(REGION[1] * SIDE)
    small = np.stack([np.asarray(Image.fromarray(im).resize((SIDE, SIDE), Image.BILINEAR)) for im in images])
    return small[:, a:b, a:b].reshape(len(images), -1).astype(np.float64) / 255.0


@dataclass(frozen=True)
class RealismCheck:
    """The reference of one model: the mean ``[D]`` and components ``[K, D]`` of its unedited
    faces, and the bar a face's score must not pass."""

    mean: np.ndarray
    components: np.ndarray
    bar: float
    model_sha256: str

    def scores(self, images: np.ndarray) -> np.ndarray:
        """Each face's residual (RMS, 0-1 pixel units) ``[N]``; larger is less like the model's unedited faces."""
        return self.scores_of_vectors(face_vectors(images))

    def scores_of_vectors(self, vectors: np.ndarray) -> np.ndarray:
        x = np.asarray(vectors, np.float64) - self.mean
        c = self.components.astype(np.float64)
        residual = x - (x @ c.T) @ c
        return np.sqrt((residual ** 2).mean(axis=1))

    def passes(self, images: np.ndarray) -> np.ndarray:
        """bool ``[N]``: whether each face scores at or under the bar."""
        return self.scores(images) <= self.bar


def fit_realism(g, psi: float, directions: list | None = None, count: int = CALIBRATION_FACES,
                first_seed: int = REALISM_SEED, batch: int = 250) -> RealismCheck:
    """The check for generator ``g``, from ``count`` faces at ``psi``: with ``directions``
    (the named sliders), all but every :data:`UNEDITED_EVERY` th moved along one of those of
    :data:`GEOMETRIC_GROUPS` (in turn) by an amount drawn within :data:`CLEAN_AMOUNT`, so that
    a turned head or a broad smile counts as a face the model makes."""
    from facestudio.latent.seeds import z_from_seeds
    rng = np.random.default_rng(first_seed)
    directions = [d for d in directions or [] if d.meta.get("group") in GEOMETRIC_GROUPS]
    vectors = []
    for start in range(0, count, batch):
        seeds = range(first_seed + start, first_seed + min(count, start + batch))
        ws = g.map(z_from_seeds(seeds, g.z_dim), psi=psi)
        for i, seed in enumerate(seeds):
            if directions and (seed - first_seed) % UNEDITED_EVERY:
                d = directions[(seed - first_seed) % len(directions)]
                ws[i] = ws[i] + d.offset(float(rng.uniform(-CLEAN_AMOUNT, CLEAN_AMOUNT)), d.layers, ws.shape[1])
        vectors.append(face_vectors(g.synthesize(ws)))
    x = np.concatenate(vectors)
    fit = int(FIT_SHARE * len(x))
    mean = x[:fit].mean(axis=0)
    _, _, vt = np.linalg.svd(x[:fit] - mean, full_matrices=False)
    check = RealismCheck(mean, vt[:COMPONENTS].astype(np.float32), 0.0, g.sha256)
    bar = float(np.percentile(check.scores_of_vectors(x[fit:]), REFUSE_PERCENTILE))
    return RealismCheck(mean.astype(np.float32), check.components, bar, g.sha256)


def save_realism(check: RealismCheck, path) -> None:
    """Write the check as an ``.npz`` (components in float16: a few hundred KB), atomically."""
    import io
    from facestudio.fileio import atomic_write
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(FORMAT), mean=check.mean.astype(np.float32),
             components=check.components.astype(np.float16), bar=np.array(check.bar),
             model_sha256=np.array(check.model_sha256), side=np.array(SIDE), region=np.array(REGION))
    with atomic_write(path, overwrite=True) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_realism(path, model_sha256: str) -> RealismCheck | None:
    """The check stored at ``path`` for the model ``model_sha256``; None when there is none,
    it was made for other weights or another layout, or it cannot be read."""
    from pathlib import Path
    path = Path(path)
    dims = (int(REGION[1] * SIDE) - int(REGION[0] * SIDE)) ** 2 * 3
    if not path.is_file() or path.stat().st_size > 64 * dims * 1000:  # bounded before reading
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if (str(z["format"]) != FORMAT or str(z["model_sha256"]) != model_sha256 or int(z["side"]) != SIDE
                    or tuple(z["region"].tolist()) != REGION):
                return None
            mean, components, bar = z["mean"], z["components"], float(z["bar"])
    except (OSError, ValueError, KeyError):
        return None
    if mean.shape != (dims,) or components.ndim != 2 or components.shape[1] != dims or not np.isfinite(bar):
        return None
    if not (np.isfinite(mean).all() and np.isfinite(components.astype(np.float32)).all()):
        return None
    return RealismCheck(mean.astype(np.float32), components.astype(np.float32), bar, model_sha256)


def realism_for(g, psi: float, directions: list | None = None, count: int = CALIBRATION_FACES) -> RealismCheck:
    """The check of generator ``g`` (whose named sliders are ``directions``): the one shipped
    with the bundled model (``weights/realism.npz``) when it was made for these weights, else
    one fitted before for the same weights, psi and sliders (in the cache folder), else fitted
    now and cached (:data:`CALIBRATION_FACES` faces: about a minute for a 128 px model on 2
    cores, far longer for a 1024 px one, so it is not fitted again at every run)."""
    from facestudio.locations import bundled_weights_dir
    found = load_realism(bundled_weights_dir() / REALISM_FILE, g.sha256)
    if found is not None:
        return found
    cached = _cache_path(g.sha256, psi, directions, count)
    found = load_realism(cached, g.sha256)
    if found is None:
        found = fit_realism(g, psi, directions, count=count)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            save_realism(found, cached)
        except OSError:
            pass  # an unwritable cache folder costs the next run the fit, nothing else
    return found


def _cache_path(model_sha256: str, psi: float, directions: list | None, count: int):
    """Where a check fitted in memory is kept: named by everything the fit depends on."""
    import hashlib
    from facestudio.locations import cache_dir
    key = hashlib.sha256(f"{FORMAT} {model_sha256} {psi!r} {count} {SIDE} {REGION} {COMPONENTS} "
                         f"{REFUSE_PERCENTILE} {CLEAN_AMOUNT} {UNEDITED_EVERY}".encode())
    for d in directions or []:
        if d.meta.get("group") in GEOMETRIC_GROUPS:
            key.update(f"{d.id} {d.scale!r} {tuple(d.layers)}".encode())
            key.update(np.ascontiguousarray(d.vector, np.float32).tobytes())
    return cache_dir() / "realism" / f"{key.hexdigest()[:32]}.npz"
