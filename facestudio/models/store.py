"""The user's model store: downloaded models, each in its own folder with its licence.

Layout: ``<models root>/<catalog id>/`` holds the weight file (the catalog's file name), a
``MODEL_CARD.md`` and ``facestudio-model.json``. The card carries the catalog's licence,
licence URL and attribution as front matter, the same keys as the bundled model's card;
the loader reads the card beside any weight file (``generator.formats.model_card.read_card_beside``),
so a downloaded model's licence reaches the export terms without any further wiring. The
JSON record keeps where the file came from, its sha256 and whether that was verified
against a published value.

The models root is ``<data folder>/models`` (:func:`facestudio.locations.models_dir`:
``$FACESTUDIO_DATA/models`` when set, else ``~/.local/share/facestudio/models`` on Linux).
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from facestudio import __version__
from facestudio.fileio import atomic_write
from facestudio.locations import models_dir as models_root
from facestudio.models.catalog import CatalogEntry
from facestudio.models.download import Downloaded, Progress, download, part_path

CARD_FILE = "MODEL_CARD.md"  # the name generator.formats.model_card reads beside a weight file
RECORD_FILE = "facestudio-model.json"


@dataclass(frozen=True)
class InstalledModel:
    """A model in the store: its ``folder``, its weight file ``path`` and its ``record``."""

    id: str
    folder: Path
    path: Path
    record: dict = field(default_factory=dict)

    name = property(lambda self: self.record.get("name") or self.id)
    license = property(lambda self: self.record.get("license", ""))
    sha256 = property(lambda self: self.record.get("sha256", ""))
    verified = property(lambda self: bool(self.record.get("verified")))


class ModelStore:
    """The models under ``root`` (default :func:`models_root`)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else models_root()

    def folder(self, entry: CatalogEntry) -> Path:
        return self.root / entry.id

    def weights_path(self, entry: CatalogEntry) -> Path:
        return self.folder(entry) / entry.filename

    def partial_bytes(self, entry: CatalogEntry) -> int:
        """Bytes of an unfinished download kept for resuming (0 when none)."""
        part = part_path(self.weights_path(entry))
        return part.stat().st_size if part.is_file() else 0

    def installed(self, entry_id: str) -> InstalledModel | None:
        """The installed model ``entry_id``, or None when it is missing or incomplete."""
        folder = self.root / entry_id
        try:
            record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("filename"), str):
            return None
        path = folder / Path(record["filename"]).name
        if not path.is_file():
            return None
        return InstalledModel(entry_id, folder, path, record)

    def installed_models(self) -> list[InstalledModel]:
        """Every complete model in the store, by id."""
        if not self.root.is_dir():
            return []
        found = (self.installed(p.name) for p in sorted(self.root.iterdir()) if p.is_dir())
        return [m for m in found if m is not None]

    def install(self, entry: CatalogEntry, progress: Progress | None = None,
                cancel: threading.Event | None = None, **download_options) -> InstalledModel:
        """Download ``entry`` (resuming a kept partial file), check it, and write its card and
        record. Raises :class:`~facestudio.models.download.DownloadError` with one sentence."""
        result = download(entry.url, self.weights_path(entry), sha256=entry.sha256, size=entry.size,
                          progress=progress, cancel=cancel, **download_options)
        self.write_metadata(entry, result)
        installed = self.installed(entry.id)
        assert installed is not None
        return installed

    def write_metadata(self, entry: CatalogEntry, result: Downloaded) -> None:
        """The model card (licence for the export) and the JSON record beside the file."""
        folder = self.folder(entry)
        with atomic_write(folder / CARD_FILE, overwrite=True) as tmp:
            tmp.write_text(card_text(entry, result), encoding="utf-8")
        record = {
            "id": entry.id, "name": entry.name, "filename": entry.filename, "source_url": entry.url,
            "size": result.size, "sha256": result.sha256, "verified": result.verified,
            "checksum_note": entry.checksum_note, "license": entry.license_name,
            "license_url": entry.license_url, "attribution": entry.attribution,
            "architecture": entry.architecture, "resolution": entry.resolution,
            "installed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "facestudio_version": __version__,
        }
        with atomic_write(folder / RECORD_FILE, overwrite=True) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    def remove(self, entry_id: str) -> None:
        """Delete a model's folder (its weights, card, record and any partial download)."""
        folder = self.root / entry_id
        if folder.parent == self.root and folder.is_dir():
            shutil.rmtree(folder)


def card_text(entry: CatalogEntry, result: Downloaded) -> str:
    """``MODEL_CARD.md`` for a downloaded model: front matter the export reads, then prose."""
    meta = entry.card_meta()
    meta["sha256"] = result.sha256
    meta["sha256_verified"] = "true" if result.verified else "false"
    head = "".join(f"{k}: {v}\n" for k, v in meta.items())
    check = ("matches the published sha256" if result.verified
             else "could not be checked against a published sha256 (none is known)")
    body = (f"# {entry.name}\n\n"
            f"Downloaded by facestudio from <{entry.url}>.\n\n"
            f"- Architecture: {entry.architecture}, {entry.resolution} x {entry.resolution} px, "
            f"trained on {entry.dataset}.\n"
            f"- Licence: {entry.license_name} (<{entry.license_url}>). "
            f"{'Commercial use is allowed.' if entry.commercial_use else 'No commercial use.'}\n"
            f"- Credit line for images: {entry.attribution}\n"
            f"- File: {entry.filename}, {result.size:,} bytes, sha256 {result.sha256}; the file {check}.\n")
    return f"---\n{head}---\n{body}"
