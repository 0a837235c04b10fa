"""The session document and its ``.fsession`` file.

A :class:`SessionDocument` is everything the studio needs to reopen where the user left:
which model, the face being edited, the gallery, the user's own directions and free-form
UI state (dock layout, slider ranges, ...).

File format (a zip archive, written atomically):

* ``session.json`` — ``{"format": "facestudio-session", "version": 1, "model": {...},
  "recipe": <Recipe.to_dict()> | null, "gallery": [{"id", "name", "created", "recipe",
  "thumbnail": "thumbnails/<id>.png" | null}], "directions": [{"key", "id", "name",
  "shape", "layers", "scale", "source", "model_sha256", "meta"}], "ui_state": {...}}``;
* ``thumbnails/<id>.png`` — one PNG per gallery face that has a thumbnail;
* ``directions.npz`` — the direction vectors, float32, stored under their ``key``.

Loading only parses JSON and reads plain arrays (``allow_pickle=False``); it never executes
anything from the file. Every problem with a file ends in :class:`SessionError` whose
message is one sentence. What it unpacks is bounded before it is read: the number of
members and of gallery faces, each member's size by its kind, and the total (a thumbnail
member shared by many faces counts once per face), see :mod:`facestudio.archive_limits`.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facestudio import __version__
from facestudio.archive_limits import ArchiveBudget, ArchiveLimitError, check_members, check_npz, read_member
from facestudio.bounded_json import HeaderError, JsonError, document_version, loads_bounded, numpy_plain
from facestudio.errors import FacestudioError
from facestudio.fileio import atomic_write
from facestudio.latent.direction_files import MAX_ARRAY_BYTES, MAX_DIRECTIONS, direction_entry
from facestudio.latent.directions import Direction, DirectionError, check_scale
from facestudio.latent.recipe import Recipe, RecipeError, check_layers
from facestudio.session.gallery import Face, Gallery
from facestudio.timestamps import now_iso

SESSION_FORMAT = "facestudio-session"
SESSION_VERSION = 1
SESSION_SUFFIX = ".fsession"
# A gallery face takes about 0.5 KB of session.json and a 96 px PNG of at most 28 KB; a
# direction [num_ws, w_dim] float32 36 KiB at 1024 px. The bounds leave room for 10,000 faces
# and 4096 directions while keeping what a crafted file can make us unpack near 0.5 GiB.
MAX_GALLERY_FACES = 10_000
MAX_MANIFEST_BYTES = 16 << 20  # session.json: parsed into Python objects, up to ~20x larger
MAX_THUMBNAIL_BYTES = 1 << 20
MAX_DIRECTIONS_BYTES = 256 << 20
MAX_SESSION_BYTES = 512 << 20  # all members read, in all
MAX_MEMBERS = MAX_GALLERY_FACES + 16


class SessionError(FacestudioError):
    """A session file that cannot be written or read; the message is one sentence."""


@dataclass(frozen=True)
class ModelIdentity:
    """sha256: hex digest of the weight file; name: what the user sees; path: where it was
    loaded from, as a string ("" for the bundled model)."""

    sha256: str = ""
    name: str = ""
    path: str = ""


@dataclass(eq=False)
class SessionDocument:
    """model: the generator the session belongs to; recipe: the face being edited (None
    before the first render); gallery: kept faces; directions: the user's own directions
    (``source="user"``), vectors ``[w_dim]`` or ``[num_ws, w_dim]``; ui_state: any
    JSON-serialisable dict the UI wants back (tuples come back as lists)."""

    model: ModelIdentity = field(default_factory=ModelIdentity)
    recipe: Recipe | None = None
    gallery: Gallery = field(default_factory=Gallery)
    directions: list[Direction] = field(default_factory=list)
    ui_state: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------- saving

def save_session(doc: SessionDocument, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``doc`` to ``path`` atomically and return the path.

    A path problem (missing or read-only folder, existing file without ``overwrite``) raises
    :class:`facestudio.fileio.OutputPathError`; content that cannot be stored (a direction
    with NaN, state that is not JSON) or a failing disk raises :class:`SessionError`. In
    every failure no temporary file is left and an existing file at ``path`` is untouched.
    """
    path = Path(path)
    try:
        with atomic_write(path, overwrite=overwrite) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                gallery = []
                for face in doc.gallery:
                    entry = {"id": face.id, "name": face.name, "created": face.created,
                             "recipe": face.recipe.to_dict(), "thumbnail": None}
                    if face.thumbnail is not None:
                        entry["thumbnail"] = f"thumbnails/{face.id}.png"
                        zf.writestr(entry["thumbnail"], face.thumbnail, compress_type=zipfile.ZIP_STORED)
                    gallery.append(entry)
                zf.writestr("directions.npz", _directions_npz(doc.directions))
                manifest = {
                    "format": SESSION_FORMAT, "version": SESSION_VERSION,
                    "saved": now_iso(), "app": f"facestudio {__version__}",
                    "model": {"sha256": doc.model.sha256, "name": doc.model.name, "path": doc.model.path},
                    "recipe": None if doc.recipe is None else doc.recipe.to_dict(),
                    "gallery": gallery,
                    "directions": [direction_entry(i, d) for i, d in enumerate(doc.directions)],
                    "ui_state": doc.ui_state,
                }
                zf.writestr("session.json", _to_json(manifest))
    except OSError as exc:
        raise SessionError(f"could not save the session to {path}: {exc.strerror or exc}") from None
    return path


def _directions_npz(directions: list[Direction]) -> bytes:
    """The vectors as an ``.npz`` (keys ``d0``, ``d1``, ...), checked finite and unique."""
    arrays, seen = {}, set()
    for i, d in enumerate(directions):
        if not isinstance(d, Direction):
            raise SessionError(f"session directions must be Direction objects, got {type(d).__name__}")
        if d.id in seen:
            raise SessionError(f"the direction id {d.id!r} appears twice in the session")
        seen.add(d.id)
        vector = np.asarray(d.vector)
        if vector.dtype.kind != "f" or vector.ndim not in (1, 2) or not np.isfinite(vector).all():
            raise SessionError(f"direction {d.name!r} cannot be saved: its vector must be finite "
                               f"numbers of shape [w_dim] or [num_ws, w_dim]")
        arrays[f"d{i}"] = vector.astype(np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _to_json(manifest: dict[str, Any]) -> str:
    try:
        return json.dumps(manifest, indent=1, allow_nan=False, default=numpy_plain)
    except (TypeError, ValueError) as exc:
        raise SessionError(f"the session cannot be saved: the UI state or a direction's "
                           f"metadata holds a value JSON cannot store ({exc})") from None


# --------------------------------------------------------------------------------- loading

def load_session(path: str | Path) -> SessionDocument:
    """Read a ``.fsession`` file; any problem raises :class:`SessionError` (one sentence)."""
    path = Path(path)
    if not path.exists():
        raise SessionError(f"there is no session file at {path}")
    if path.is_dir():
        raise SessionError(f"{path} is a folder, not a session file")
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_archive(zf, path)
    except SessionError:
        raise
    except (zipfile.BadZipFile, EOFError):
        raise SessionError(f"{path} is not a facestudio session file (it is not a readable zip archive)") from None
    except OSError as exc:
        raise SessionError(f"could not read the session file {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # zlib errors on corrupt members, etc.
        raise SessionError(f"the session file {path} is damaged ({_one_line(exc)})") from None


def _read_archive(zf: zipfile.ZipFile, path: Path) -> SessionDocument:
    def fail(reason: str) -> SessionError:
        return SessionError(f"cannot open the session {path.name}: {_one_line(reason)}")

    try:
        check_members(zf, "the archive", MAX_MEMBERS)
    except ArchiveLimitError as exc:
        raise fail(str(exc)) from None
    budget = ArchiveBudget("the session", MAX_SESSION_BYTES)
    raw = _read_member(zf, "session.json", fail, budget, MAX_MANIFEST_BYTES)
    try:
        manifest = loads_bounded(raw, "session.json")
    except JsonError as exc:
        raise fail(str(exc)) from None
    try:
        document_version(manifest, SESSION_FORMAT, SESSION_VERSION, "session")
    except HeaderError as exc:
        raise fail(f"it {exc}") from None

    model = manifest.get("model") or {}
    if not isinstance(model, dict) or not all(isinstance(model.get(k, ""), str) for k in ("sha256", "name", "path")):
        raise fail("the model entry is malformed")
    ui_state = manifest.get("ui_state", {})
    if not isinstance(ui_state, dict):
        raise fail("the UI state is not a mapping")
    recipe_dict = manifest.get("recipe")
    recipe = None if recipe_dict is None else _recipe(recipe_dict, "the current recipe", fail)
    return SessionDocument(
        model=ModelIdentity(model.get("sha256", ""), model.get("name", ""), model.get("path", "")),
        recipe=recipe,
        gallery=Gallery(_faces(zf, manifest.get("gallery", []), fail, budget)),
        directions=_directions(zf, manifest.get("directions", []), fail, budget),
        ui_state=ui_state,
    )


def _read_member(zf: zipfile.ZipFile, name: str, fail, budget: ArchiveBudget, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise fail(f"the archive has no {name}") from None
    try:
        return read_member(zf, info, budget, limit)
    except ArchiveLimitError as exc:
        raise fail(str(exc)) from None


def _recipe(d: object, what: str, fail) -> Recipe:
    try:
        if not isinstance(d, dict):
            raise ValueError("it is not a mapping")
        return Recipe.from_dict(d)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise fail(f"{what} is malformed ({exc})") from None


def _faces(zf: zipfile.ZipFile, entries: object, fail, budget: ArchiveBudget) -> list[Face]:
    if not isinstance(entries, list):
        raise fail("the gallery is not a list")
    if len(entries) > MAX_GALLERY_FACES:
        raise fail(f"its gallery holds {len(entries):,} faces, more than the {MAX_GALLERY_FACES:,} "
                   f"facestudio opens")
    faces, seen = [], set()
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise fail(f"gallery face {n} is not a mapping")
        recipe = _recipe(entry.get("recipe"), f"the recipe of gallery face {n}", fail)
        thumbnail = entry.get("thumbnail")
        if thumbnail is not None:
            if not isinstance(thumbnail, str):
                raise fail(f"the thumbnail entry of gallery face {n} is malformed")
            thumbnail = _read_member(zf, thumbnail, fail, budget, MAX_THUMBNAIL_BYTES)
        try:
            face = Face(id=entry.get("id"), name=entry.get("name"), recipe=recipe,
                        thumbnail=thumbnail, created=entry.get("created", ""))
        except ValueError as exc:
            raise fail(f"gallery face {n} is malformed ({exc})") from None
        if face.id in seen:
            raise fail(f"gallery face {n} repeats the id {face.id}")
        seen.add(face.id)
        faces.append(face)
    return faces


def _directions(zf: zipfile.ZipFile, entries: object, fail, budget: ArchiveBudget) -> list[Direction]:
    if not isinstance(entries, list):
        raise fail("the direction list is malformed")
    if not entries:
        return []
    if len(entries) > MAX_DIRECTIONS:
        raise fail(f"it lists {len(entries):,} directions, more than the {MAX_DIRECTIONS} facestudio opens")
    raw = io.BytesIO(_read_member(zf, "directions.npz", fail, budget, MAX_DIRECTIONS_BYTES))
    try:
        check_npz(raw, "directions.npz", MAX_DIRECTIONS, MAX_ARRAY_BYTES, MAX_DIRECTIONS_BYTES)
        raw.seek(0)
        with np.load(raw, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except ArchiveLimitError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # a damaged or pickled npz: never unpickle, just refuse
        raise fail(f"directions.npz cannot be read ({exc})") from None

    directions, seen, w_dims = [], set(), set()
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise fail(f"direction {n} is malformed")
        label = repr(entry.get("name", entry.get("id", n)))
        vector = arrays.get(entry["key"])
        if vector is None:
            raise fail(f"the vector of direction {label} is missing from directions.npz")
        if vector.dtype.kind != "f" or list(vector.shape) != entry.get("shape"):
            raise fail(f"direction {label} has the wrong shape or type {vector.dtype}{list(vector.shape)}")
        try:
            direction = Direction(
                id=_str(entry["id"]), name=_str(entry["name"]), vector=vector,
                layers=check_layers(entry["layers"], f"direction {label}"),
                scale=check_scale(entry.get("scale", 1.0), f"direction {label}"),
                source=entry.get("source", "user"), model_sha256=_optional_str(entry.get("model_sha256")),
                meta=_mapping(entry.get("meta", {})))
        except (DirectionError, RecipeError) as exc:
            raise fail(str(exc)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise fail(f"direction {label} is malformed ({exc})") from None
        if direction.id in seen:
            raise fail(f"the direction id {direction.id!r} appears twice")
        seen.add(direction.id)
        w_dims.add(direction.w_dim)
        directions.append(direction)
    if len(w_dims) > 1:
        raise fail(f"the directions disagree on w_dim ({sorted(w_dims)})")
    return directions


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _mapping(value: object) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"meta must be a mapping, got {type(value).__name__}")
    return value


def _one_line(message: object) -> str:
    """Collapse whitespace so a message embedded in a SessionError stays one line."""
    return " ".join(str(message).split())
