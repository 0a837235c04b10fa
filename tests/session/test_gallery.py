"""Gallery: order, default names, events, and refusing bad faces."""

from __future__ import annotations

import pytest

from facestudio.latent.recipe import Recipe
from facestudio.session.gallery import Face, Gallery
from tests.session.builders import SHA, png_bytes


def recipe(seed: int = 1) -> Recipe:
    return Recipe(model_sha256=SHA, seed=seed)


def test_add_keeps_order_and_names_faces():
    gallery = Gallery()
    faces = [gallery.add(recipe(s)) for s in (1, 2, 3)]
    assert [f.name for f in gallery] == ["Face 1", "Face 2", "Face 3"]
    assert list(gallery) == faces and len(gallery) == 3
    assert all(len(f.id) == 32 for f in faces) and len({f.id for f in faces}) == 3
    assert gallery.get(faces[1].id) is faces[1] and faces[1].id in gallery
    assert faces[0].created.endswith("+00:00")


def test_default_names_never_repeat_after_removal():
    gallery = Gallery()
    first, _, _ = (gallery.add(recipe(s)) for s in (1, 2, 3))
    gallery.remove(first.id)
    assert gallery.add(recipe(4)).name == "Face 4"
    assert gallery.add(recipe(5), name="  Mine ").name == "Mine"


def test_events_fire_for_every_change():
    gallery, seen = Gallery(), []
    gallery.events.connect(lambda kind, payload: seen.append((kind, payload)))
    face = gallery.add(recipe(), thumbnail=png_bytes((1, 2, 3)))
    renamed = gallery.rename(face.id, "Anna")
    gallery.remove(face.id)
    gallery.reset([renamed])
    assert seen == [("added", face), ("renamed", renamed), ("removed", face.id), ("reset", None)]
    assert renamed.id == face.id and renamed.thumbnail == face.thumbnail and gallery.faces == (renamed,)


def test_rename_keeps_position_and_disconnect_stops_events():
    gallery, seen = Gallery(), []
    a, b = gallery.add(recipe(1)), gallery.add(recipe(2))
    callback = gallery.events.connect(lambda kind, payload: seen.append(kind))
    gallery.rename(a.id, "First")
    gallery.events.disconnect(callback)
    gallery.rename(b.id, "Second")
    assert [f.name for f in gallery] == ["First", "Second"] and seen == ["renamed"]


def test_bad_input_is_refused():
    gallery = Gallery()
    face = gallery.add(recipe())
    with pytest.raises(KeyError, match="no face"):
        gallery.remove("0" * 32)
    with pytest.raises(ValueError, match="non-empty"):
        gallery.rename(face.id, "   ")
    with pytest.raises(ValueError, match="PNG"):
        gallery.add(recipe(), thumbnail=b"GIF89a")
    with pytest.raises(ValueError, match="Recipe"):
        gallery.add({"seed": 1})
    with pytest.raises(ValueError, match="twice"):
        Gallery([face, face])
    with pytest.raises(ValueError, match="hex"):
        Face(id="../evil", name="x", recipe=recipe())
    assert len(gallery) == 1
