"""The gallery: faces the user kept, in the order they were kept.

:class:`Gallery` is a plain-Python model in the napari style: it owns an ordered list of
immutable :class:`Face` records and announces every change through ``gallery.events``.
Qt widgets subscribe with ``gallery.events.connect(callback)``; nothing here imports Qt.

Events are ``(kind, payload)`` pairs:

* ``("added", face)`` — a new :class:`Face` was appended;
* ``("removed", face_id)`` — the face with this id is gone;
* ``("renamed", face)`` — the face now carries a new name (``face`` is the new record);
* ``("reset", None)`` — the whole content was replaced (e.g. a session was loaded).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Iterator

from facestudio.latent.recipe import Recipe
from facestudio.timestamps import now_iso

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_NAME = re.compile(r"Face (\d+)")
FACE_ID = re.compile(r"[0-9a-f]{32}")

Callback = Callable[[str, object], None]


class EventEmitter:
    """A tiny observer: callbacks connected here are called, in order, by :meth:`emit`.

    An exception raised by a callback propagates to the code that changed the model, so a
    broken subscriber is noticed rather than silently skipped.
    """

    def __init__(self):
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        """Subscribe ``callback(kind, payload)``; returns it so this works as a decorator."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        """Unsubscribe ``callback``; unknown callbacks are ignored."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, kind: str, payload: object = None) -> None:
        for callback in list(self._callbacks):
            callback(kind, payload)


@dataclass(frozen=True)
class Face:
    """One kept face. id: uuid4 hex (32 lowercase hex digits), stable across sessions;
    name: what the gallery shows; recipe: how to render it; thumbnail: PNG bytes or None;
    created: when it was kept, ISO 8601 UTC."""

    id: str
    name: str
    recipe: Recipe
    thumbnail: bytes | None = None
    created: str = field(default_factory=now_iso)

    def __post_init__(self):
        if not isinstance(self.id, str) or not FACE_ID.fullmatch(self.id):
            raise ValueError(f"a face id must be 32 lowercase hex digits, got {self.id!r}")
        object.__setattr__(self, "name", check_name(self.name))
        if not isinstance(self.recipe, Recipe):
            raise ValueError(f"a face needs a Recipe, got {type(self.recipe).__name__}")
        if self.thumbnail is not None:
            if not isinstance(self.thumbnail, (bytes, bytearray)) or not self.thumbnail.startswith(PNG_SIGNATURE):
                raise ValueError(f"the thumbnail of face {self.name!r} is not PNG data")
            object.__setattr__(self, "thumbnail", bytes(self.thumbnail))
        if not isinstance(self.created, str):
            raise ValueError(f"the creation time of face {self.name!r} must be an ISO 8601 string")


def check_name(name: object) -> str:
    """``name`` stripped of surrounding blanks; ValueError if it is not a non-empty one-line str."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a face name must be a non-empty text")
    name = name.strip()
    if "\n" in name or "\r" in name:
        raise ValueError("a face name must fit on one line")
    return name


class Gallery:
    """An ordered collection of :class:`Face` keyed by id, emitting events on change."""

    def __init__(self, faces: Iterable[Face] = ()):
        self.events = EventEmitter()
        self._faces: dict[str, Face] = {}
        self._fill(faces)

    def add(self, recipe: Recipe, name: str | None = None, thumbnail: bytes | None = None) -> Face:
        """Append a new face for ``recipe`` and return it; the name defaults to "Face N"."""
        face = Face(id=uuid.uuid4().hex, name=self._next_default_name() if name is None else name,
                    recipe=recipe, thumbnail=thumbnail)
        self._faces[face.id] = face
        self.events.emit("added", face)
        return face

    def remove(self, face_id: str) -> None:
        """Remove the face with ``face_id``; KeyError if there is none."""
        self.get(face_id)
        del self._faces[face_id]
        self.events.emit("removed", face_id)

    def rename(self, face_id: str, name: str) -> Face:
        """Give the face a new name (kept in place) and return the new record."""
        face = replace(self.get(face_id), name=name)
        self._faces[face_id] = face
        self.events.emit("renamed", face)
        return face

    def get(self, face_id: str) -> Face:
        """The face with ``face_id``; KeyError with a readable message if there is none."""
        try:
            return self._faces[face_id]
        except KeyError:
            raise KeyError(f"no face with id {face_id!r} in the gallery") from None

    def reset(self, faces: Iterable[Face] = ()) -> None:
        """Replace the whole content with ``faces`` (kept in their order)."""
        self._fill(faces)
        self.events.emit("reset", None)

    @property
    def faces(self) -> tuple[Face, ...]:
        """All faces, in gallery order."""
        return tuple(self._faces.values())

    def __len__(self) -> int:
        return len(self._faces)

    def __iter__(self) -> Iterator[Face]:
        return iter(self.faces)

    def __contains__(self, face_id: object) -> bool:
        return face_id in self._faces

    def _fill(self, faces: Iterable[Face]) -> None:
        faces = list(faces)
        by_id: dict[str, Face] = {}
        for face in faces:
            if not isinstance(face, Face):
                raise ValueError(f"a gallery holds Face records, got {type(face).__name__}")
            if face.id in by_id:
                raise ValueError(f"the face id {face.id} appears twice")
            by_id[face.id] = face
        self._faces = by_id

    def _next_default_name(self) -> str:
        """"Face N": N is the face's position, or one past the highest "Face N" already in use."""
        numbers = [int(m.group(1)) for f in self._faces.values() if (m := DEFAULT_NAME.fullmatch(f.name))]
        return f"Face {max([len(self._faces), *numbers]) + 1}"
