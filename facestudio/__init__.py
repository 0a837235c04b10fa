"""facestudio: a desktop studio for designing faces of people who do not exist.

The public Python API (documented in ``docs/api.md``)::

    import facestudio
    model = facestudio.load_model()            # the bundled model, or load_model(path)
    recipe = model.recipe(seed=42, psi=0.7).edit("age", 1.5)
    pixels = model.render(recipe)              # uint8 [H, W, 3]
    model.export(recipe, "face.png", artist="Ann")

``import facestudio`` stays light: torch and the networks are imported on first use of a
name below (:func:`__getattr__`), so the command line and the studio start as before.
Type checkers read the names' types from ``__init__.pyi`` (the package ships ``py.typed``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "load_model": "facestudio.api",
    "Model": "facestudio.api",
    "FaceRecipe": "facestudio.api",
    "Recipe": "facestudio.latent.recipe",
    "Direction": "facestudio.latent.directions",
    "ExportOptions": "facestudio.provenance.export",
    "LookalikeRefused": "facestudio.provenance.guarded",
    "FacestudioError": "facestudio.errors",
    "read_provenance": "facestudio.provenance.reader",
}

__all__ = ["Direction", "ExportOptions", "FaceRecipe", "FacestudioError", "LookalikeRefused", "Model", "Recipe",
           "__version__", "load_model", "read_provenance"]

def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'facestudio' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later uses skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
