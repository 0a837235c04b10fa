"""The model library: well-known public face models, downloaded safely into the user's store.

* :mod:`.catalog` — the models File > Get models offers (source, size, sha256, licence);
* :mod:`.download` — resumable, cancellable downloads verified before use;
* :mod:`.store` — the user's model folder, each model with its card and licence.

Standard library and :mod:`facestudio.fileio` only: no Qt, no torch.
"""

from facestudio.models.catalog import CATALOG, CatalogEntry, entry
from facestudio.models.download import ChecksumError, DownloadCancelled, DownloadError, Downloaded, download
from facestudio.models.store import InstalledModel, ModelStore, models_root

__all__ = [
    "CATALOG", "CatalogEntry", "ChecksumError", "DownloadCancelled", "DownloadError", "Downloaded",
    "InstalledModel", "ModelStore", "download", "entry", "models_root",
]
