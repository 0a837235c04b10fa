"""Direction files: import ``.npy`` vectors and bases, import / export native bundles.

``.npy`` (read with ``allow_pickle=False``), last axis = w_dim:

* ``(w_dim,)`` or ``(1, w_dim)``: one direction for all layers (InterFaceGAN boundaries);
* ``(num_ws, w_dim)`` or ``(1, num_ws, w_dim)``: one per-layer direction, when the rows are
  not mutually orthogonal (GANSpace per-layer edits);
* ``(k, w_dim)`` otherwise: a basis of ``k`` whole-W directions (PCA components).

Vectors are normalised (per row for a per-layer direction, keeping the rows' relative
weights); their ``scale`` is 1 until the caller sets it from W statistics
(``Discovery.with_std_scale``), because a bare file cannot know this model's spread.

Z-space files are refused. InterFaceGAN names its W boundaries ``*_w_boundary.npy`` and its
Z boundaries ``*_boundary.npy``; a ``z`` / ``w`` / ``wp`` token in the file or folder name
decides, and an unmarked ``*_boundary`` file is taken to be in Z. A Z boundary is a
hyperplane of the Gaussian input; the mapping network is non-linear, so it is not a fixed
direction in W (it bends differently at every point), and mapping it would need its model,
which such files never belong to here. ``space="w"`` overrides the guess.

Native bundle (``.npz``): ``manifest`` = JSON ``{"format": "facestudio-directions",
"version": 1, "w_dim", "num_ws", "model_sha256", "directions": [{"key", "id", "name",
"layers", "scale", "source", "model_sha256", "meta"}]}`` and one float32 array per key.

Every problem raises :class:`DirectionError` whose message is one sentence. A file holds at
most :data:`MAX_DIRECTIONS` directions, and an archive's members and ``.npy`` headers are
bounded before anything is unpacked (:mod:`facestudio.archive_limits`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facestudio.archive_limits import ArchiveLimitError, check_npz, npy_header, npy_nbytes
from facestudio.bounded_json import HeaderError, JsonError, document_version, loads_bounded, numpy_plain
from facestudio.fileio import OutputPathError, atomic_write, describe_os_error
from facestudio.latent.directions import Direction, DirectionError, check_model_sha256, check_scale

from facestudio.latent.recipe import RecipeError, check_layers

BUNDLE_FORMAT = "facestudio-directions"
BUNDLE_VERSION = 1
ORTHOGONAL_TOLERANCE = 1e-4
MAX_FILE_BYTES = 256 << 20  # on disk, and unpacked in all for a bundle
# Discovery keeps 64 PCA and SeFa directions and a basis has at most w_dim (512) useful rows;
# 4096 leaves room for any real collection, not for a 200,000-entry bundle.
MAX_DIRECTIONS = 4096
MAX_ARRAY_BYTES = 64 << 20  # one vector: [num_ws, w_dim] float32 is 36 KiB for a 1024 px model


@dataclass
class ImportResult:
    """directions: what the file holds, ready for this model (w_dim / num_ws checked);
    other_model: the sha256 a bundle was made for when that is not this model (the caller
    asks the user, then :func:`adopt`s or drops them); notes: facts worth telling."""

    directions: list[Direction]
    other_model: str | None = None
    notes: list[str] = field(default_factory=list)


def latent_space_of(path: str | Path) -> str | None:
    """``"z"``, ``"w"`` or None (unknown) from the file's and its folder's names."""
    path = Path(path)

    def marked(part: str) -> str | None:
        tokens = set(re.split(r"[^a-z0-9+]+", part.lower()))
        if tokens & {"z", "zspace"}:
            return "z"
        if tokens & {"w", "wp", "w+", "wplus", "wspace"}:
            return "w"
        return None

    if marked(path.stem):
        return marked(path.stem)
    if path.stem.lower().endswith("_boundary"):
        return "z"  # InterFaceGAN marks only its W boundaries ("_w_boundary")
    return marked(path.parent.name)


def pretty_name(stem: str) -> str:
    """``boundary_Male`` -> ``Male``; ``stylegan_ffhq_age_w_boundary`` -> ``stylegan ffhq age w``."""
    text = re.sub(r"(^boundary[_-]|[_-]boundary$)", "", stem, flags=re.I)
    return re.sub(r"[_-]+", " ", text).strip() or stem


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:32] or "direction"


# ---------------------------------------------------------------------------------- import

def read_directions(path: str | Path, w_dim: int, num_ws: int, model_sha256: str | None = None,
                    space: str | None = None, layout: str | None = None) -> ImportResult:
    """Read a ``.npy`` or a native ``.npz`` bundle for a model with this W+ shape.

    space: ``"w"`` to accept a file whose name says Z (None = trust the name);
    layout: ``"per-layer"`` or ``"basis"`` to settle a ``(num_ws, w_dim)`` file (None = guess).
    """
    path = Path(path)
    if not path.is_file():
        raise DirectionError(f"there is no direction file at {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DirectionError(f"{path.name} is too large to be a direction file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_bundle(path, w_dim, num_ws, model_sha256)
    if suffix != ".npy":
        raise DirectionError(f"{path.name} is not a direction file: use .npy vectors or a facestudio .npz bundle")
    return _read_npy(path, w_dim, num_ws, model_sha256, space, layout)


def _load_array(path: Path) -> np.ndarray:
    try:
        with path.open("rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise DirectionError(f"{path.name} is not a readable .npy array (it lacks the .npy header)")
            f.seek(0)
            shape, dtype = npy_header(f, path.name)
        if npy_nbytes(shape, dtype) > MAX_FILE_BYTES or math.prod(shape[:-1]) > MAX_DIRECTIONS:
            raise DirectionError(f"{path.name} declares an array of shape {list(shape)}, more than the "
                                 f"{MAX_DIRECTIONS} directions of at most {MAX_FILE_BYTES >> 20} MiB "
                                 f"facestudio imports from one file")
        return np.load(path, allow_pickle=False)
    except DirectionError:
        raise
    except ArchiveLimitError as exc:
        raise DirectionError(str(exc)) from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DirectionError(f"{path.name} holds Python objects rather than numbers; facestudio "
                                 f"does not unpickle direction files") from None
        raise DirectionError(f"{path.name} is not a readable .npy array ({exc})") from None
    except OSError as exc:
        raise DirectionError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    except Exception as exc:
        raise DirectionError(f"{path.name} is not a readable .npy array ({exc})") from None


def _read_npy(path: Path, w_dim: int, num_ws: int, model_sha256: str | None, space: str | None,
              layout: str | None) -> ImportResult:
    arr = _load_array(path)
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        raise DirectionError(f"{path.name} holds {getattr(arr, 'dtype', type(arr))} values, not real numbers")
    shape = list(arr.shape)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise DirectionError(f"{path.name} has shape {shape}; a direction file must be (w_dim,), "
                             f"(1, w_dim), (num_ws, w_dim) or a basis (k, w_dim)")
    if (space or latent_space_of(path)) == "z":
        raise DirectionError(f"{path.name} is a Z-space boundary (InterFaceGAN names W boundaries "
                             f"*_w_boundary.npy); Z directions do not carry over to W through the "
                             f"non-linear mapping network, so it cannot be imported")
    if arr.shape[-1] != w_dim:
        raise DirectionError(f"{path.name} holds vectors of length {arr.shape[-1]}, but this model's "
                             f"W has {w_dim} dimensions; it was made for another model")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise DirectionError(f"{path.name} contains NaN or infinite values")
    name = pretty_name(path.stem)
    base = {"source": "imported", "model_sha256": model_sha256}
    meta = {"file": path.name, "shape": shape}
    if arr.ndim == 1 or arr.shape[0] == 1:
        return ImportResult([_whole_w(arr.reshape(-1), f"imp-{_slug(path.stem)}", name, num_ws, meta, path, base)])
    norms = np.linalg.norm(arr, axis=1)
    kind = layout or _guess_layout(arr, norms, num_ws)
    if kind == "per-layer":
        if arr.shape[0] != num_ws:
            raise DirectionError(f"{path.name} has {arr.shape[0]} layer rows but this model has {num_ws}")
        if not norms.max() > 0:
            raise DirectionError(f"{path.name} is a zero vector and would not move anything")
        moving = np.flatnonzero(norms > 0)
        d = Direction(id=f"imp-{_slug(path.stem)}", name=name, vector=(arr / norms.max()).astype(np.float32),
                      layers=(int(moving[0]), int(moving[-1]) + 1), meta={**meta, "layout": "per-layer"}, **base)
        return ImportResult([d], notes=[f"{path.name}: one per-layer direction"])
    if kind != "basis":
        raise DirectionError(f"unknown layout {layout!r}: use 'per-layer' or 'basis'")
    zero = np.flatnonzero(norms == 0)
    if len(zero):
        raise DirectionError(f"row {zero[0]} of {path.name} is a zero vector and would not move anything")
    out = [_whole_w(v, f"imp-{_slug(path.stem)}-{i}", f"{name} {i + 1}", num_ws,
                    {**meta, "layout": "basis", "row": i}, path, base) for i, v in enumerate(arr)]
    return ImportResult(out, notes=[f"{path.name}: a basis of {len(out)} directions"])


def _guess_layout(arr: np.ndarray, norms: np.ndarray, num_ws: int) -> str:
    if arr.shape[0] != num_ws:
        return "basis"
    if (norms == 0).any():
        return "per-layer"
    unit = arr / norms[:, None]
    gram = unit @ unit.T
    orthogonal = np.abs(gram - np.eye(len(gram))).max() < ORTHOGONAL_TOLERANCE
    return "basis" if orthogonal else "per-layer"


def _whole_w(v: np.ndarray, id: str, name: str, num_ws: int, meta: dict, path: Path, base: dict) -> Direction:
    norm = np.linalg.norm(v)
    if not norm > 0:
        raise DirectionError(f"{path.name} is a zero vector and would not move anything")
    return Direction(id=id, name=name, vector=(v / norm).astype(np.float32), layers=(0, num_ws), meta=meta, **base)


def _read_bundle(path: Path, w_dim: int, num_ws: int, model_sha256: str | None) -> ImportResult:
    try:
        check_npz(path, path.name, MAX_DIRECTIONS + 1, MAX_ARRAY_BYTES, MAX_FILE_BYTES)
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ArchiveLimitError as exc:
        raise DirectionError(str(exc)) from None
    except OSError as exc:
        raise DirectionError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    except Exception:
        raise DirectionError(f"{path.name} is not a readable .npz archive of plain arrays") from None
    if "manifest" not in arrays:
        raise DirectionError(f"{path.name} is an .npz without a facestudio manifest, so its directions "
                             f"have no names or layer ranges; export it as .npy vectors instead")
    try:
        manifest = loads_bounded(str(arrays["manifest"]), f"the manifest of {path.name}")
    except JsonError as exc:
        raise DirectionError(str(exc)) from None
    try:
        document_version(manifest, BUNDLE_FORMAT, BUNDLE_VERSION, "direction bundle")
    except HeaderError as exc:
        raise DirectionError(f"{path.name} {exc}") from None
    entries = manifest.get("directions")
    if not isinstance(entries, list) or not entries:
        raise DirectionError(f"{path.name} holds no directions")
    if len(entries) > MAX_DIRECTIONS:
        raise DirectionError(f"{path.name} lists {len(entries):,} directions, more than the "
                             f"{MAX_DIRECTIONS} facestudio imports from one file")
    out, foreign = [], None
    for n, e in enumerate(entries, start=1):
        try:
            vector = arrays[e["key"]]
            if vector.dtype.kind != "f":
                raise TypeError(f"its vector has type {vector.dtype}")
            what = f"direction {n} in {path.name}"
            d = Direction(id=str(e["id"]), name=str(e["name"]), vector=vector,
                          layers=check_layers(e["layers"], what), scale=check_scale(e.get("scale", 1.0), what),
                          source=str(e.get("source", "imported")),
                          model_sha256=check_model_sha256(e.get("model_sha256"), what),
                          meta=dict(e.get("meta") or {}))
        except (DirectionError, RecipeError) as exc:  # the checks name the file, Direction does not
            raise DirectionError(str(exc) if path.name in str(exc) else f"{path.name}: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:  # int(inf), float(10**400)
            raise DirectionError(f"direction {n} in {path.name} is malformed ({exc})") from None
        if d.w_dim != w_dim:
            raise DirectionError(f"{path.name} holds directions of w_dim {d.w_dim}, but this model's W "
                                 f"has {w_dim} dimensions; it was made for another model")
        try:
            d.check_fits(num_ws, w_dim)
        except DirectionError as exc:
            raise DirectionError(f"{path.name}: {exc}") from None
        if model_sha256 and d.model_sha256 and d.model_sha256 != model_sha256:
            foreign = d.model_sha256
        out.append(d)
    if len({d.id for d in out}) != len(out):
        raise DirectionError(f"{path.name} uses a direction id twice")
    return ImportResult(out, other_model=foreign)


def adopt(directions: list[Direction], model_sha256: str | None) -> list[Direction]:
    """Directions from another model, re-labelled for this one (the user chose to use them);
    the original model is kept in ``meta["made_for"]``."""
    out = []
    for d in directions:
        meta = dict(d.meta)
        if d.model_sha256 and d.model_sha256 != model_sha256:
            meta["made_for"] = d.model_sha256
        out.append(Direction(id=d.id, name=d.name, vector=d.vector, layers=d.layers, scale=d.scale,
                             source=d.source, model_sha256=model_sha256, meta=meta))
    return out


# ---------------------------------------------------------------------------------- export

def _write_atomic(path: Path, write, overwrite: bool) -> Path:
    """``write(binary file)`` into ``path`` through :func:`facestudio.fileio.atomic_write`;
    :class:`DirectionError` with one sentence when it cannot be written."""
    path = Path(path)
    try:
        with atomic_write(path, overwrite) as tmp, open(tmp, "wb") as f:
            write(f)
    except OutputPathError as exc:
        raise DirectionError(str(exc)) from None
    except OSError as exc:
        raise DirectionError(describe_os_error(path, exc)) from None
    return path


def write_bundle(directions: list[Direction], path: str | Path, overwrite: bool = False) -> Path:
    """Save directions with their names, layer ranges, scales and model as a native ``.npz``."""
    if not directions:
        raise DirectionError("there are no directions to export")
    if len({d.w_dim for d in directions}) > 1:
        raise DirectionError("the directions to export disagree on w_dim")
    arrays, entries = {}, []
    for i, d in enumerate(directions):
        arrays[f"d{i}"] = np.asarray(d.vector, dtype=np.float32)
        entries.append(direction_entry(i, d))
    shas = {d.model_sha256 for d in directions}
    manifest = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "w_dim": directions[0].w_dim,
                "num_ws": max(d.layers[1] for d in directions),
                "model_sha256": shas.pop() if len(shas) == 1 else None, "directions": entries}
    try:
        arrays["manifest"] = np.array(json.dumps(manifest, allow_nan=False, default=numpy_plain))
    except (TypeError, ValueError) as exc:
        raise DirectionError(f"a direction's metadata cannot be stored ({exc})") from None
    return _write_atomic(Path(path), lambda f: np.savez(f, **arrays), overwrite)


def direction_entry(index: int, d: Direction) -> dict[str, Any]:
    """How a direction is listed beside its vector (stored under ``key``): the one layout of
    a direction bundle's manifest and a session's ``session.json``."""
    return {"key": f"d{index}", "id": d.id, "name": d.name, "shape": list(d.vector.shape),
            "layers": list(d.layers), "scale": float(d.scale), "source": d.source,
            "model_sha256": d.model_sha256, "meta": d.meta}


def write_npy(directions: list[Direction], path: str | Path, overwrite: bool = False) -> Path:
    """One direction as ``(1, w_dim)`` (whole W, InterFaceGAN's shape) or ``(num_ws, w_dim)``
    (per layer); several whole-W directions as a basis ``(k, w_dim)``. Unit vectors: the
    scale, names and layer ranges need a bundle."""
    if not directions:
        raise DirectionError("there are no directions to export")
    if len(directions) == 1:
        v = np.asarray(directions[0].vector, dtype=np.float32)
        arr = v[None] if v.ndim == 1 else v
    else:
        if any(d.vector.ndim != 1 for d in directions) or len({d.w_dim for d in directions}) > 1:
            raise DirectionError("an .npy holds one per-layer direction or several whole-W directions "
                                 "of one w_dim; export these as an .npz bundle")
        arr = np.stack([d.vector for d in directions]).astype(np.float32)
    return _write_atomic(Path(path), lambda f: np.save(f, arr), overwrite)


def write_directions(directions: list[Direction], path: str | Path, overwrite: bool = False) -> Path:
    """``.npz`` -> bundle, ``.npy`` -> vectors; other extensions are refused."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npz":
        return write_bundle(directions, path, overwrite)
    if suffix == ".npy":
        return write_npy(directions, path, overwrite)
    raise DirectionError(f"cannot write {path}: the extension must be .npz (bundle) or .npy (vectors)")
