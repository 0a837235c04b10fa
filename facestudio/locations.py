"""Where facestudio finds the files that ship beside its code: ``resources/`` and ``weights/``.

Three layouts, tried in this order:

* a PyInstaller build: both folders lie in the bundle (``sys._MEIPASS``);
* a source checkout or an editable install: both lie in the repository, beside the package;
* a wheel install: both are installed as data files under ``<prefix>/share/facestudio/``
  (``pyproject.toml``'s ``[tool.setuptools.data-files]``), for a ``--user`` install under
  the user base.

Standard library only, so that every package (and the CLI before torch is imported) may use it.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

APP_ID = "io.github.facestudio.FaceStudio"  # desktop entry / AppStream id
SHARE_NAME = "facestudio"  # <prefix>/share/facestudio/{resources,weights}


def is_frozen() -> bool:
    """True inside a PyInstaller build."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def _roots() -> list[Path]:
    """Folders that may hold ``resources/`` and ``weights/``, most specific first."""
    roots: list[Path] = []
    if is_frozen():
        roots.append(Path(sys._MEIPASS))
    roots.append(Path(__file__).resolve().parents[1])  # the source tree
    for data in (sysconfig.get_path("data"), getattr(site, "USER_BASE", None)):
        if data:
            roots.append(Path(data) / "share" / SHARE_NAME)
    return roots


def _find(name: str, marker: str | None = None) -> Path:
    """The first ``<root>/<name>`` that exists (and holds ``marker`` when given); when none
    does, the source-tree path, so that error messages name where it was expected."""
    roots = _roots()
    for root in roots:
        folder = root / name
        if folder.is_dir() and (marker is None or (folder / marker).exists()):
            return folder
    return roots[0] / name


def resources_dir() -> Path:
    """The ``resources/`` folder (terms templates, the application icon)."""
    return _find("resources", "terms")


def terms_dir() -> Path:
    """The terms templates, ``resources/terms/``."""
    return resources_dir() / "terms"


def icon_path() -> Path:
    """The SVG application icon."""
    return resources_dir() / "facestudio.svg"


def bundled_weights_dir() -> Path:
    """The bundled model's folder, ``weights/`` (native format: safetensors, config, card)."""
    return _find("weights", "model.safetensors")


def data_dir() -> Path:
    """facestudio's own data folder (autosave, the internal-error log), not created here: the
    folder Qt's ``AppDataLocation`` names for the studio (organisation and application
    ``facestudio``), found without Qt so that the command line uses the same one."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / SHARE_NAME / SHARE_NAME
