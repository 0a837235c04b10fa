"""Builders for session tests: small PNG thumbnails and a document with something in every part."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from PIL import Image

from facestudio.latent.directions import Direction
from facestudio.latent.recipe import Mix, Recipe
from facestudio.session.document import ModelIdentity, SessionDocument
from facestudio.session.gallery import Gallery

SHA = "ab" * 32
NUM_WS, W_DIM = 8, 32


def png_bytes(colour: tuple[int, int, int]) -> bytes:
    """A 4x4 PNG filled with ``colour``."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def user_directions() -> list[Direction]:
    """One [w_dim] and one per-layer [num_ws, w_dim] user direction."""
    rng = np.random.default_rng(0)
    flat = rng.standard_normal(W_DIM).astype(np.float32)
    per_layer = rng.standard_normal((NUM_WS, W_DIM)).astype(np.float32)
    return [
        Direction(id="user-smile", name="Smile", vector=flat / np.linalg.norm(flat), layers=(0, 8),
                  scale=2.5, source="user", model_sha256=SHA, meta={"note": "from 12 samples", "k": 3}),
        Direction(id="user-age", name="Age", vector=per_layer, layers=(2, 6), scale=0.75,
                  source="user", model_sha256=None, meta={}),
    ]


def make_document() -> SessionDocument:
    """A session with an edited, mixed recipe, three faces with thumbnails and two directions."""
    recipe = (Recipe(model_sha256=SHA, seed=42, psi=0.5, cutoff=4, model_name="Test faces")
              .with_edit("user-smile", 1.5, (0, 8)).with_edit("user-age", -0.25, (2, 6))
              .replace(mix=Mix(seed=7, layers=(4, 8))))
    gallery = Gallery()
    gallery.add(recipe, thumbnail=png_bytes((255, 0, 0)))
    gallery.add(recipe.replace(seed=43, edits=()), name="Kept", thumbnail=png_bytes((0, 255, 0)))
    third = gallery.add(recipe.replace(seed=44, noise="none", class_idx=2), thumbnail=png_bytes((0, 0, 255)))
    gallery.rename(third.id, "Renamed ünïcode")
    return SessionDocument(
        model=ModelIdentity(sha256=SHA, name="Test faces", path="/models/test faces"),
        recipe=recipe, gallery=gallery, directions=user_directions(),
        ui_state={"dock": {"left": [1, 2]}, "zoom": 1.25, "open": True, "label": None})


def assert_same_document(a: SessionDocument, b: SessionDocument) -> None:
    assert a.model == b.model
    assert a.recipe == b.recipe
    assert a.gallery.faces == b.gallery.faces
    assert a.ui_state == b.ui_state
    assert len(a.directions) == len(b.directions)
    for x, y in zip(a.directions, b.directions):
        assert (x.id, x.name, x.layers, x.scale, x.source, x.model_sha256, x.meta) == \
               (y.id, y.name, y.layers, y.scale, y.source, y.model_sha256, y.meta)
        assert x.vector.dtype == y.vector.dtype == np.float32
        np.testing.assert_array_equal(x.vector, y.vector)


def rewrite(src, dst, manifest=None, drop=(), extra=None):
    """Copy the session ``src`` to ``dst`` with a new session.json (a dict, or the text as
    it is), members dropped, and ``extra(zf)`` adding more."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename not in drop and info.filename != "session.json":
                zout.writestr(info, zin.read(info))
        if not isinstance(manifest, str):
            manifest = json.dumps(manifest or json.loads(zin.read("session.json")))
        zout.writestr("session.json", manifest)
        if extra:
            extra(zout)
    return dst


def manifest_of(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("session.json"))
