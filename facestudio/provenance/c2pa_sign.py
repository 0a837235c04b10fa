"""Optional C2PA manifest, signed with a certificate the user supplies.

Needs the optional extra ``pip install 'facestudio[c2pa]'`` (the ``c2pa-python`` package). The
manifest is applied last, to the fully stamped bytes, with thumbnails off and nothing fetched
from the network (no timestamp authority unless the user names one). It records a
``c2pa.created`` action with the IPTC digital source type ``trainedAlgorithmicMedia`` and
facestudio as the software agent, the artist and licence, and the recipe.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facestudio.errors import FacestudioError
from facestudio.provenance.terms import Stamp

ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
INSTALL_HINT = "pip install 'facestudio[c2pa]'"
SETTINGS = {
    "builder": {"thumbnail": {"enabled": False}},
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}


class C2paSigningError(FacestudioError, ValueError):
    """C2PA signing was asked for but cannot be done; the message is one sentence."""


@dataclass(frozen=True)
class C2paSigning:
    """cert_chain: PEM file with the signing certificate first, then its issuers;
    private_key: PEM file with the matching private key; algorithm: one of :data:`ALGORITHMS`;
    tsa_url: a timestamp authority URL, or None to stay offline."""

    cert_chain: Path
    private_key: Path
    algorithm: str = "es256"
    tsa_url: str | None = None


def c2pa_available() -> bool:
    """True when the optional c2pa-python package is installed (found without loading its
    native library; a library that then fails to load is reported when signing)."""
    import importlib.util
    return importlib.util.find_spec("c2pa") is not None


def _read_pem(path: Path, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise C2paSigningError(f"cannot read the C2PA {what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN" not in data:
        raise C2paSigningError(f"the C2PA {what} {path} is not a PEM file")
    return data


def manifest_definition(stamp: Stamp, title: str, recipe: dict[str, Any] | None) -> dict[str, Any]:
    """The manifest: who made it with what, that it is AI-generated, its licence, its recipe."""
    name, _, version = stamp.creator_tool.partition(" ")
    action = {"action": "c2pa.created", "digitalSourceType": stamp.source_type,
              "softwareAgent": {"name": name, "version": version},
              "description": stamp.description}
    work: dict[str, Any] = {"@context": "https://schema.org", "@type": "CreativeWork",
                            "copyrightNotice": stamp.terms}
    if stamp.artist:
        work["author"] = [{"@type": "Person", "name": stamp.artist}]
    if stamp.license_url:
        work["license"] = stamp.license_url
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions", "data": {"actions": [action]}},
        {"label": "stds.schema-org.CreativeWork", "data": work},
    ]
    if recipe is not None:  # as JSON text: c2pa's CBOR turns small integer lists into byte strings
        assertions.append({"label": "app.facestudio.recipe",
                           "data": {"recipe_json": json.dumps(recipe, sort_keys=True)}})
    return {"claim_generator_info": [{"name": name, "version": version}], "title": title,
            "assertions": assertions}


def sign_bytes(data: bytes, mime_type: str, signing: C2paSigning, stamp: Stamp, title: str,
               recipe: dict[str, Any] | None = None) -> bytes:
    """``data`` (an encoded image of ``mime_type``) with a signed C2PA manifest embedded."""
    try:
        import c2pa
    except Exception:
        raise C2paSigningError(f"C2PA signing needs the optional c2pa-python package: {INSTALL_HINT}") from None
    algorithm = signing.algorithm.lower()
    if algorithm not in ALGORITHMS:
        raise C2paSigningError(f"the C2PA signing algorithm must be one of {', '.join(ALGORITHMS)}, "
                               f"got {signing.algorithm!r}")
    chain = _read_pem(signing.cert_chain, "certificate")
    key = _read_pem(signing.private_key, "private key")
    try:
        info = c2pa.C2paSignerInfo(algorithm, chain, key, signing.tsa_url)
        signer = c2pa.Signer.from_info(info)
        context = c2pa.Context(c2pa.Settings.from_dict(SETTINGS))
        builder = c2pa.Builder(manifest_definition(stamp, title, recipe), context)
        out = io.BytesIO()
        builder.sign(signer, mime_type, io.BytesIO(data), out)
        return out.getvalue()
    except c2pa.C2paError as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise C2paSigningError(f"C2PA signing failed: {detail}") from None


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The active C2PA manifest of ``path`` with its validation state, or None when there is
    none (when c2pa-python is not installed, a manifest is reported as present, not checked)."""
    try:
        if b"c2pa" not in Path(path).read_bytes():  # every embedded manifest store has this label
            return None
    except OSError:
        return None
    try:
        import c2pa
    except Exception:
        return {"manifest": {}, "validation_state": f"not checked ({INSTALL_HINT} to check it)"}
    try:
        reader = c2pa.Reader(str(path))
        manifest = reader.get_active_manifest() or {}
        return {"manifest": manifest, "validation_state": reader.get_validation_state()}
    except Exception:  # no manifest, or one c2pa cannot parse
        return None
