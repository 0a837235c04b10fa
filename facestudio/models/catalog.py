"""Well-known public StyleGAN2 / StyleGAN3 face models that File > Get models offers.

Every entry names where the file comes from, its licence and the credit line its images
need. ``sha256`` and ``size`` are filled in only where a published value was found and
cross-checked; ``checksum_note`` says where it came from, or that none is known. A download
of an entry without a known sha256 is never called verified: the store records the hash
it computed, marked unverified, and the dialog says so.

All NVIDIA networks here are under NVIDIA's source code licences, which allow
non-commercial research and evaluation use only; FFHQ and MetFaces images carry their own
non-commercial terms. The licence travels into every exported image's terms (see
:mod:`facestudio.models.store`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHA256_RE = re.compile(r"[0-9a-f]{64}")
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")

NGC_SG3 = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files/"
NGC_SG2 = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
ADA_CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/"

SG3_LICENSE = "NVIDIA Source Code License for StyleGAN3: non-commercial research and evaluation use only"
SG3_LICENSE_URL = "https://github.com/NVlabs/stylegan3/blob/main/LICENSE.txt"
ADA_LICENSE = ("NVIDIA Source Code License for StyleGAN2-ADA: non-commercial research and "
               "evaluation use only")
ADA_LICENSE_URL = "https://github.com/NVlabs/stylegan2-ada-pytorch/blob/main/LICENSE.txt"
NO_CHECKSUM = "no published sha256 found: the download cannot be verified"


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable model.

    id: short stable name, also its folder in the model store (``[a-z0-9-]``);
    name: what the dialog shows; architecture: ``StyleGAN2`` / ``StyleGAN3-T`` / ...;
    resolution: output side in pixels; dataset: what it was trained on;
    url: where the file is downloaded from; filename: the name it is stored under;
    size: bytes, or None when not known; sha256: lower-case hex, or None when not known;
    checksum_note: where sha256 / size came from, or why there is none;
    license_name / license_url: the model's licence; attribution: the credit line exported
    images carry; commercial_use: whether the licence allows commercial use.
    """

    id: str
    name: str
    architecture: str
    resolution: int
    dataset: str
    url: str
    filename: str
    license_name: str
    license_url: str
    attribution: str
    size: int | None = None
    sha256: str | None = None
    checksum_note: str = NO_CHECKSUM
    commercial_use: bool = False

    @property
    def verifiable(self) -> bool:
        """Whether a download can be checked against a published sha256."""
        return self.sha256 is not None

    def card_meta(self) -> dict[str, str]:
        """Model-card front matter for this model (the keys the export reads)."""
        return {
            "name": self.name,
            "license": self.license_name,
            "license_url": self.license_url,
            "attribution": self.attribution,
            "trained": "true",
            "resolution": str(self.resolution),
            "source_url": self.url,
        }


def _nvidia(id_: str, name: str, arch: str, res: int, dataset: str, url: str, sg3: bool,
            size: int | None = None, sha256: str | None = None, note: str = NO_CHECKSUM) -> CatalogEntry:
    """An NVIDIA network: ``sg3`` picks the StyleGAN3 code licence (the NGC releases), else
    the StyleGAN2-ADA one."""
    return CatalogEntry(
        id=id_, name=name, architecture=arch, resolution=res, dataset=dataset, url=url,
        filename=url.rsplit("/", 1)[-1],
        license_name=SG3_LICENSE if sg3 else ADA_LICENSE,
        license_url=SG3_LICENSE_URL if sg3 else ADA_LICENSE_URL,
        attribution=(f"Generated with NVIDIA's {arch} network trained on {dataset}; "
                     "(c) NVIDIA Corporation, non-commercial research use only."),
        size=size, sha256=sha256, checksum_note=note)


FFHQ, FFHQU = "FFHQ", "FFHQ-U (unaligned)"
METFACES = "MetFaces (portraits from the Metropolitan Museum of Art)"

# Networks without a published checksum: (id, name, architecture, resolution, dataset,
# URL, whether the StyleGAN3 code licence applies). The id names the store folder.
_UNVERIFIED = (
    ("stylegan3-t-ffhq-1024", "StyleGAN3-T FFHQ 1024", "StyleGAN3-T", 1024, FFHQ,
     NGC_SG3 + "stylegan3-t-ffhq-1024x1024.pkl", True),
    ("stylegan3-t-ffhqu-256", "StyleGAN3-T FFHQ-U 256", "StyleGAN3-T", 256, FFHQU,
     NGC_SG3 + "stylegan3-t-ffhqu-256x256.pkl", True),
    ("stylegan3-r-ffhqu-256", "StyleGAN3-R FFHQ-U 256", "StyleGAN3-R", 256, FFHQU,
     NGC_SG3 + "stylegan3-r-ffhqu-256x256.pkl", True),
    ("stylegan3-t-metfaces-1024", "StyleGAN3-T MetFaces 1024", "StyleGAN3-T", 1024, METFACES,
     NGC_SG3 + "stylegan3-t-metfaces-1024x1024.pkl", True),
    ("stylegan2-ffhq-256", "StyleGAN2 FFHQ 256", "StyleGAN2", 256, FFHQ, NGC_SG2 + "stylegan2-ffhq-256x256.pkl", True),
    ("stylegan2-ffhq-512", "StyleGAN2 FFHQ 512", "StyleGAN2", 512, FFHQ, NGC_SG2 + "stylegan2-ffhq-512x512.pkl", True),
    ("stylegan2-ffhq-1024", "StyleGAN2 FFHQ 1024", "StyleGAN2", 1024, FFHQ,
     NGC_SG2 + "stylegan2-ffhq-1024x1024.pkl", True),
    ("stylegan2-ada-ffhq-1024", "StyleGAN2-ADA FFHQ 1024", "StyleGAN2-ADA", 1024, FFHQ, ADA_CDN + "ffhq.pkl", False),
    ("stylegan2-ada-metfaces-1024", "StyleGAN2-ADA MetFaces 1024", "StyleGAN2-ADA", 1024, METFACES,
     ADA_CDN + "metfaces.pkl", False),
)

CATALOG: tuple[CatalogEntry, ...] = (
    _nvidia("stylegan3-r-ffhq-1024", "StyleGAN3-R FFHQ 1024", "StyleGAN3-R", 1024, FFHQ,
            NGC_SG3 + "stylegan3-r-ffhq-1024x1024.pkl", sg3=True,
            size=237_040_112,
            sha256="ffe2233fa0d0329ad9f19b8bf8ea855d12210461c118ff52fbffde8d3a2b4519",
            note=("sha256 and size as recorded by three independent public users of NVIDIA's "
                  "file (a git-lfs copy, a validation report and a download script)")),
    *(_nvidia(*row[:6], sg3=row[6]) for row in _UNVERIFIED),
)


def entry(entry_id: str) -> CatalogEntry:
    """The catalog entry called ``entry_id``; KeyError with one sentence otherwise."""
    for e in CATALOG:
        if e.id == entry_id:
            return e
    raise KeyError(f"no model called {entry_id!r} in the catalog "
                   f"(known: {', '.join(e.id for e in CATALOG)})")


def check_entry(e: CatalogEntry) -> None:
    """Raise ValueError when an entry is malformed (used by the tests and by custom catalogs)."""
    if not ID_RE.fullmatch(e.id):
        raise ValueError(f"catalog id {e.id!r} must be lower-case letters, digits and dashes")
    if not e.url.startswith("https://"):
        raise ValueError(f"{e.id}: the source URL must be https")
    if e.sha256 is not None and not SHA256_RE.fullmatch(e.sha256):
        raise ValueError(f"{e.id}: sha256 must be 64 lower-case hex digits")
    if e.size is not None and e.size <= 0:
        raise ValueError(f"{e.id}: size must be a positive number of bytes")
    if not e.filename or "/" in e.filename or e.filename.startswith("."):
        raise ValueError(f"{e.id}: bad file name {e.filename!r}")
    for key, value in e.card_meta().items():
        if "\n" in value:
            raise ValueError(f"{e.id}: {key} must be one line (it goes into a model card)")
