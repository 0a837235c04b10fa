"""Multi-scale sliced Wasserstein distance (SWD) on Laplacian-pyramid patches.

As in the progressive-GAN work (Karras et al. 2018): build a Laplacian pyramid of each
image down to 16 px, take random 7x7 neighbourhoods at every level, normalise each level's
descriptors per channel, and compare the real and generated descriptor sets by the
sliced Wasserstein distance (mean over random unit projections of the distance between
the sorted projections). Reported per level (x1e3, finest first) and averaged. Lower is
better; real-vs-real (two disjoint real sets) gives the floor.
"""

from __future__ import annotations

import numpy as np
import torch

from facestudio.generator.networks.ops import downsample2d, make_filter, upsample2d

_GAUSS = make_filter((1, 4, 6, 4, 1))


def _pyr_down(x: torch.Tensor) -> torch.Tensor:
    return downsample2d(x, _GAUSS)


def _pyr_up(x: torch.Tensor) -> torch.Tensor:
    return upsample2d(x, _GAUSS)


def laplacian_pyramid(x: torch.Tensor, min_res: int = 16) -> list[torch.Tensor]:
    """Band-pass levels, finest first; the last level is the low-pass residual at ``min_res``."""
    levels = []
    while x.shape[-1] > min_res:
        down = _pyr_down(x)
        levels.append(x - _pyr_up(down))
        x = down
    levels.append(x)
    return levels


def _patches(level: torch.Tensor, per_image: int, rng: np.random.Generator, size: int = 7) -> torch.Tensor:
    n, c, h, w = level.shape
    ys = torch.from_numpy(rng.integers(0, h - size + 1, (n, per_image)))
    xs = torch.from_numpy(rng.integers(0, w - size + 1, (n, per_image)))
    offs = torch.arange(size)
    rows = (ys[..., None] + offs)[..., :, None].expand(n, per_image, size, size)
    cols = (xs[..., None] + offs)[..., None, :].expand(n, per_image, size, size)
    idx_n = torch.arange(n)[:, None, None, None].expand_as(rows)
    p = level.permute(0, 2, 3, 1)[idx_n, rows, cols]  # [n, per, s, s, c]
    return p.reshape(n * per_image, -1)


def _normalise(desc: torch.Tensor, channels: int) -> torch.Tensor:
    d = desc.reshape(desc.shape[0], -1, channels)
    d = (d - d.mean(dim=(0, 1), keepdim=True)) / (d.std(dim=(0, 1), keepdim=True) + 1e-8)
    return d.reshape(desc.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: int = 512, repeats: int = 4,
                       seed: int = 0) -> float:
    """SWD between two descriptor sets ``[M, D]`` (same M). Sorting is done in numpy,
    which is many times faster than torch's CPU sort for this shape."""
    rng = np.random.default_rng(seed)
    a_np, b_np = a.numpy(), b.numpy()
    total = 0.0
    for _ in range(repeats):
        proj = rng.standard_normal((a_np.shape[1], directions)).astype(np.float32)
        proj /= np.linalg.norm(proj, axis=0, keepdims=True)
        pa = np.sort((a_np @ proj).T, axis=1)
        pb = np.sort((b_np @ proj).T, axis=1)
        total += float(np.abs(pa - pb).mean())
    return total / repeats


def images_to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 ``[N, H, W, 3]`` -> float ``[N, 3, H, W]`` in [-1, 1]."""
    return torch.from_numpy(np.array(images, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 127.5 - 1


def swd(real: np.ndarray, fake: np.ndarray, patches_per_image: int = 64, seed: int = 0,
        chunk: int = 256) -> dict[str, float]:
    """SWD (x1e3) per pyramid level and their mean, for uint8 image sets of equal size."""
    if len(real) != len(fake):
        raise ValueError("SWD needs equally many real and generated images")
    rng = np.random.default_rng(seed)
    descs_r: list[list[torch.Tensor]] = []
    descs_f: list[list[torch.Tensor]] = []
    for store, imgs in ((descs_r, real), (descs_f, fake)):
        for start in range(0, len(imgs), chunk):
            pyr = laplacian_pyramid(images_to_float(imgs[start:start + chunk]))
            for i, level in enumerate(pyr):
                if len(store) <= i:
                    store.append([])
                store[i].append(_patches(level, patches_per_image, rng))
    out = {}
    for i, (lr, lf) in enumerate(zip(descs_r, descs_f)):
        a = _normalise(torch.cat(lr), 3)
        b = _normalise(torch.cat(lf), 3)
        res = real.shape[1] >> i
        out[f"swd_{res}px"] = sliced_wasserstein(a, b, seed=seed + i) * 1e3
    out["swd_mean"] = float(np.mean([v for k, v in out.items()]))
    return out


def unit_pixel_vectors(images: np.ndarray, size: int = 64, chunk: int = 2048) -> torch.Tensor:
    """uint8 faces -> ``[N, 3 * size * size]`` pixel vectors (area-resized to ``size``), each
    minus its mean and scaled to unit length, so distances ignore overall brightness and
    contrast."""
    out = []
    for start in range(0, len(images), chunk):
        x = images_to_float(images[start:start + chunk])
        if x.shape[-1] != size:
            x = torch.nn.functional.interpolate(x, size=(size, size), mode="area")
        x = x.flatten(1)
        x = x - x.mean(dim=1, keepdim=True)
        out.append(x / x.norm(dim=1, keepdim=True).clamp_min(1e-8))
    return torch.cat(out)


def nearest_distances(queries: torch.Tensor, references: torch.Tensor, exclude_self: bool = False,
                      chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each unit query to its nearest unit reference, and its index.
    ``exclude_self``: queries are the first ``len(queries)`` references (and, when there are
    twice as many references, their mirrors follow): a query's own photo and mirror don't count."""
    n = len(queries)
    dist, index = np.empty(n, np.float32), np.empty(n, np.int64)
    for start in range(0, n, chunk):
        sim = queries[start:start + chunk] @ references.T
        if exclude_self:
            rows = torch.arange(sim.shape[0])
            for offset in range(0, references.shape[0], n):
                sim[rows, rows + start + offset] = -2.0
        idx = sim.argmax(dim=1)
        # 2 - 2 cos in float32 loses the small distances (a copy comes out at ~1e-3): measure
        # the chosen pair again as a difference, in float64
        diff = queries[start:start + chunk].double() - references[idx].double()
        dist[start:start + len(idx)] = diff.norm(dim=1).numpy()
        index[start:start + len(idx)] = idx.numpy()
    return dist, index


DUPLICATE_DISTANCE = 1e-3  # unit pixel vectors this close are the same photo (JPEG noise)


def memorisation(generated: np.ndarray, training: np.ndarray, size: int = 64,
                 percentile: float = 1.0) -> dict:
    """How many generated faces sit closer to a training photo (or its mirror: training
    mirrors at random) than the training photos sit to each other.

    The threshold is the ``percentile``-th percentile of every training photo's distance to
    its nearest other training photo; ``share_below`` is the share of generated faces whose
    nearest training photo is closer than that.
    """
    train = unit_pixel_vectors(training, size)
    # Mean and length don't change under a mirror, so the mirrored photos' vectors are the
    # photos' vectors flipped.
    mirrored = train.view(-1, 3, size, size).flip(-1).flatten(1)
    refs = torch.cat([train, mirrored])
    train_nn, _ = nearest_distances(train, refs, exclude_self=True)
    # UTKFace holds exact and mirrored duplicates (over 1 % of its photos): left in, they put
    # the percentile at 0 and the measure says nothing. A photo's duplicates don't count.
    duplicate = train_nn < DUPLICATE_DISTANCE
    threshold = float(np.percentile(train_nn[~duplicate], percentile)) if (~duplicate).any() else 0.0
    gen_nn, gen_idx = nearest_distances(unit_pixel_vectors(generated, size), refs)
    below = gen_nn < threshold
    return {"generated": len(generated), "training": len(training), "size": size,
            "percentile": percentile, "threshold": threshold,
            "training_duplicates": int(duplicate.sum()),
            "count_below": int(below.sum()), "share_below": float(below.mean()),
            "generated_nn_median": float(np.median(gen_nn)),
            "training_nn_median": float(np.median(train_nn)),
            "closest": [(int(i), int(gen_idx[i] % len(training)), float(gen_nn[i]))
                        for i in np.argsort(gen_nn)[:8]]}
