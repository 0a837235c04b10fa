"""The on-disk cache of :class:`~facestudio.latent.discovery.Discovery`, one file per model.

Location: ``<cache folder>/directions/<sha256>.npz``, the cache folder as
:func:`facestudio.locations.cache_dir` decides (``$FACESTUDIO_CACHE`` when set, else
``~/.cache/facestudio`` on Linux).

The file is a plain ``.npz`` (read with ``allow_pickle=False``) holding the W mean and
covariance, the PCA and SeFa bases, and a JSON ``meta`` string with the cache version, the
model sha256, the W+ shape, the SeFa layer ranges and the discovery parameters. A cache
that is missing, damaged, stale (other version or parameters) or for another model is
ignored and recomputed; a cache that cannot be written is skipped. Neither ever fails the
caller: the cache only makes the second start fast. A cache whose members are too many or
would unpack to too much (a planted archive bomb) is refused before anything is unpacked,
with a logged sentence, and recomputed like a damaged one; so is a cache whose contents
cannot be right (layer ranges outside its num_ws or reversed, an empty basis, negative
variances), so that a planted or corrupted file cannot stop every start.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from facestudio.archive_limits import ArchiveLimitError, check_npz
from facestudio.bounded_json import loads_bounded
from facestudio.fileio import OutputPathError, atomic_write
from facestudio.latent.discovery import Discovery, SefaBasis, WStats
from facestudio.locations import cache_dir as cache_root

log = logging.getLogger(__name__)

CACHE_VERSION = 1
# A cache holds 5 arrays plus 2 per SeFa group; the largest is the W covariance, 2 MiB of
# float64 for w_dim 512 and 128 MiB for the largest w_dim a config may have (4096).
MAX_CACHE_MEMBERS = 256
MAX_CACHE_ARRAY_BYTES = 128 << 20
MAX_CACHE_BYTES = 512 << 20
SHA256_RE = re.compile(r"[0-9a-f]{64}")


def cache_path(model_sha256: str | None) -> Path | None:
    """Where the discovery of this model is cached; None for a model without a sha256."""
    if not isinstance(model_sha256, str) or not SHA256_RE.fullmatch(model_sha256):
        return None
    return cache_root() / "directions" / f"{model_sha256}.npz"


def save_discovery(found: Discovery, path: Path | None = None) -> Path | None:
    """Write ``found`` atomically (default: its model's cache path). Returns the path, or
    None when it has no sha256 or the folder cannot be written."""
    path = path or cache_path(found.model_sha256)
    if path is None:
        return None
    meta = {"version": CACHE_VERSION, "model_sha256": found.model_sha256, "num_ws": found.num_ws,
            "w_dim": found.w_dim, "count": found.stats.count, "params": found.params,
            "sefa_layers": {g: list(b.layers) for g, b in found.sefa.items()}}
    arrays = {"meta": np.array(json.dumps(meta)), "w_mean": found.stats.mean, "w_cov": found.stats.cov,
              "pca_vectors": found.pca_vectors, "pca_variances": found.pca_variances}
    for group, basis in found.sefa.items():
        arrays[f"sefa_{group}_vectors"] = basis.vectors
        arrays[f"sefa_{group}_eigenvalues"] = basis.eigenvalues
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, overwrite=True) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return path
    except (OSError, OutputPathError):
        return None


def load_discovery(model_sha256: str | None, params: dict, path: Path | None = None) -> Discovery | None:
    """The cached discovery of this model made with ``params``, or None (missing, damaged,
    stale, for another model)."""
    path = path or cache_path(model_sha256)
    if path is None or not path.is_file():
        return None
    try:
        check_npz(path, f"the directions cache {path}", MAX_CACHE_MEMBERS, MAX_CACHE_ARRAY_BYTES,
                  MAX_CACHE_BYTES)
    except ArchiveLimitError as exc:
        log.warning("Ignoring the directions cache and recomputing it: %s.", exc)
        return None
    except Exception:  # not a readable zip archive: damaged, recompute
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = loads_bounded(str(arrays["meta"]), "the directions cache's meta")
        if (meta.get("version") != CACHE_VERSION or meta.get("model_sha256") != model_sha256
                or meta.get("params") != json.loads(json.dumps(params))):
            return None
        num_ws, w_dim = int(meta["num_ws"]), int(meta["w_dim"])
        stats = WStats(arrays["w_mean"], arrays["w_cov"], int(meta["count"]))
        sefa = {g: SefaBasis(tuple(int(i) for i in rows), arrays[f"sefa_{g}_vectors"],
                             arrays[f"sefa_{g}_eigenvalues"])
                for g, rows in meta["sefa_layers"].items()}
        found = Discovery(model_sha256, num_ws, w_dim, stats, arrays["pca_vectors"], arrays["pca_variances"],
                          sefa, meta["params"])
    except Exception:  # a damaged or foreign file: recompute rather than fail the start
        return None
    problem = _inconsistency(found)
    if problem:
        log.warning("Ignoring the directions cache %s and recomputing it: %s.", path, problem)
        return None
    return found


def _inconsistency(found: Discovery) -> str | None:
    """What makes a cached discovery unusable (so that making its directions would fail, or
    give NaN scales), or None. Such a file is recomputed like a damaged one, never trusted."""
    w_dim, num_ws = found.w_dim, found.num_ws
    if w_dim < 1 or num_ws < 1:
        return f"its W+ shape {num_ws} x {w_dim} is empty"
    if found.stats.mean.shape != (w_dim,) or found.stats.cov.shape != (w_dim, w_dim):
        return "its W statistics do not match its w_dim"
    bases = {"PCA": (found.pca_vectors, found.pca_variances)}
    bases.update({f"SeFa {g}": (b.vectors, b.eigenvalues) for g, b in found.sefa.items()})
    for name, (vectors, values) in bases.items():
        if (vectors.ndim != 2 or vectors.shape[0] < 1 or vectors.shape[1] != w_dim
                or values.shape != vectors.shape[:1]):
            return f"its {name} basis has shape {list(vectors.shape)} with {list(values.shape)} values"
    values = [found.stats.mean, found.stats.cov] + [a for pair in bases.values() for a in pair]
    if not all(a.dtype.kind == "f" and np.isfinite(a).all() for a in values):
        return "it holds NaN, infinite or non-numeric values"
    if any((spread < 0).any() for _, spread in bases.values()):
        return "it holds negative variances or eigenvalues"
    if any(not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3) for vectors, _ in bases.values()):
        return "its basis vectors are not unit vectors"
    for group, basis in found.sefa.items():
        if len(basis.layers) != 2 or not 0 <= basis.layers[0] < basis.layers[1] <= num_ws:
            return f"the SeFa {group} layers {list(basis.layers)} are not a range within its {num_ws} ws rows"
    return None
