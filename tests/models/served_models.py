"""A small NVIDIA-style network pickle served by the local server, with its catalog entry."""

from __future__ import annotations

import hashlib
from pathlib import Path

from facestudio.models.catalog import CatalogEntry
from tests.conftest import randomised_network, small_config
from tests.generator.nvidia_fixtures import write_nvidia_style_pickle
from tests.models.local_server import LocalServer

LICENSE = "Example Licence: non-commercial research use only"
LICENSE_URL = "https://example.org/licence"
ATTRIBUTION = "Test net by the facestudio tests"


def serve_test_net(server: LocalServer, folder: Path, path: str = "/net.pkl") -> tuple[CatalogEntry, bytes]:
    """Write a 32 px network pickle into ``folder``, serve it at ``path`` and describe it."""
    pkl = write_nvidia_style_pickle(randomised_network(small_config()), Path(folder) / "served-net.pkl")
    data = pkl.read_bytes()
    server.files[path] = data
    entry = CatalogEntry(id="test-net", name="Test net 32", architecture="StyleGAN2", resolution=32,
                         dataset="noise", url=server.url(path), filename="net.pkl",
                         license_name=LICENSE, license_url=LICENSE_URL, attribution=ATTRIBUTION,
                         size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                         checksum_note="computed by the test")
    return entry, data
