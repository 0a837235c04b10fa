"""Where facestudio's files are: what ships beside its code (``resources/``, ``weights/``) and
the user's data, cache and settings folders. The one place that decides them.

The user's folders (:func:`data_dir`, :func:`cache_dir`, :func:`config_dir`) are the
platform's (``platformdirs``: ``~/.local/share/facestudio``, ``~/.cache/facestudio`` and
``~/.config/facestudio`` on Linux, honouring the XDG variables), unless ``FACESTUDIO_DATA``
or ``FACESTUDIO_CACHE`` name another folder. The data folder holds the studio's autosave,
the internal-error log, downloaded models (``models/``) and folder indexes; the cache holds
what can be recomputed (the directions cache). None is created here.

What ships with the code, three layouts, tried in this order:

* a PyInstaller build: both folders lie in the bundle (``sys._MEIPASS``);
* a source checkout or an editable install: both lie in the repository, beside the package;
* a wheel install: both are installed as data files under ``<prefix>/share/facestudio/``
  (``pyproject.toml``'s ``[tool.setuptools.data-files]``), for a ``--user`` install under
  the user base.

Standard library and ``platformdirs`` only, so that every package (and the CLI before torch
is imported) may use it.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

import platformdirs

APP_ID = "io.github.facestudio.FaceStudio"  # desktop entry / AppStream id
SHARE_NAME = "facestudio"  # <prefix>/share/facestudio/{resources,weights}
DATA_ENV = "FACESTUDIO_DATA"  # another data folder (models, autosave, logs)
CACHE_ENV = "FACESTUDIO_CACHE"  # another cache folder


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


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """facestudio's data folder: ``$FACESTUDIO_DATA``, else the platform's user data folder
    for facestudio (``$XDG_DATA_HOME/facestudio``, ``~/.local/share/facestudio``)."""
    return _from_env(DATA_ENV) or Path(platformdirs.user_data_dir(SHARE_NAME, appauthor=False))


def cache_dir() -> Path:
    """facestudio's cache folder: ``$FACESTUDIO_CACHE``, else the platform's user cache folder
    (``$XDG_CACHE_HOME/facestudio``, ``~/.cache/facestudio``)."""
    return _from_env(CACHE_ENV) or Path(platformdirs.user_cache_dir(SHARE_NAME, appauthor=False))


def config_dir() -> Path:
    """The folder of the studio's settings (Qt's ``QSettings`` for organisation and
    application ``facestudio`` write ``facestudio.conf`` there on Linux)."""
    return Path(platformdirs.user_config_dir(SHARE_NAME, appauthor=False))


def models_dir() -> Path:
    """Where downloaded models are kept: ``<data>/models``."""
    return data_dir() / "models"
