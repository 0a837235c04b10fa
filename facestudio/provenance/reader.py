"""Read back what an exported file says: provenance, terms and the recipe.

The XMP packet is the primary source; PNG text chunks and EXIF fill gaps; a sidecar
``FILE.json`` supplies the recipe when the image has none (e.g. after a tool stripped the
XMP). Used by ``facestudio inspect`` and by dropping an image onto the studio.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from facestudio.bounded_json import JsonError, loads_bounded
from facestudio.errors import FacestudioError
from facestudio.fileio import InputFileError, read_limited
from facestudio.latent.recipe import Recipe
from facestudio.provenance.c2pa_sign import read_manifest
from facestudio.provenance.embed import (
    PNG_XMP_KEY,
    TAG_ARTIST,
    TAG_COPYRIGHT,
    TAG_EXIF_IFD,
    TAG_IMAGE_DESCRIPTION,
    TAG_SOFTWARE,
    TAG_USER_COMMENT,
)
from facestudio.provenance.export import sidecar_path
from facestudio.provenance.gif_xmp import find_xmp
from facestudio.provenance.watermark import WatermarkResult, detect
from facestudio.provenance.xmp import XmpError, parse_xmp


LOOKALIKE_PREFIX = "facestudio:Lookalike"  # facestudio:LookalikeCheck, ...Distance, ... (export guard)
# A sidecar is the stamp and one recipe, a few KB; 1 MiB leaves room for any real one.
MAX_SIDECAR_BYTES = 1 << 20


class ProvenanceReadError(FacestudioError, ValueError):
    """The file cannot be read as an image; the message is one sentence."""


@dataclass
class Provenance:
    """What a file says. Every field is None when the file does not say it."""

    path: Path
    format: str
    size: tuple[int, int]
    source_type: str | None = None
    description: str | None = None
    creator: str | None = None
    terms: str | None = None
    license_name: str | None = None
    license_url: str | None = None
    attribution: str | None = None
    creator_tool: str | None = None
    created: str | None = None
    model_name: str | None = None
    model_sha256: str | None = None
    recipe: dict[str, Any] | None = None
    recipe_source: str | None = None     # "xmp" or "sidecar"
    xmp: dict[str, str] = field(default_factory=dict)
    exif: dict[str, str] = field(default_factory=dict)
    png_text: dict[str, str] = field(default_factory=dict)
    c2pa: dict[str, Any] | None = None
    watermark: WatermarkResult = field(default_factory=lambda: WatermarkResult(False))
    watermark_stamp: str | None = None  # what the stamp says of the mark (e.g. a file too small for it)
    pixels: Any = field(default=None, repr=False)  # uint8 RGB [H, W, 3] when read_provenance(keep_pixels=True)
    lookalike: dict[str, str] = field(default_factory=dict)  # the export's lookalike check, as stamped
    problems: list[str] = field(default_factory=list)

    @property
    def is_stamped(self) -> bool:
        return bool(self.source_type or self.recipe or self.xmp)

    def to_recipe(self) -> Recipe | None:
        """The recipe as a :class:`Recipe`, None when the file has none. Raises ValueError
        for a recipe facestudio cannot understand."""
        return None if self.recipe is None else Recipe.from_dict(self.recipe)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path), "format": self.format, "size": list(self.size),
            "digital_source_type": self.source_type, "description": self.description,
            "creator": self.creator, "terms": self.terms, "license": self.license_name,
            "license_url": self.license_url, "attribution": self.attribution,
            "creator_tool": self.creator_tool, "created": self.created,
            "model": {"name": self.model_name, "sha256": self.model_sha256},
            "recipe": self.recipe, "recipe_source": self.recipe_source,
            "c2pa": self.c2pa, "watermark": {**self.watermark.as_dict(), "stamp_says": self.watermark_stamp}, "lookalike": self.lookalike or None,
            "exif": self.exif, "png_text": self.png_text, "problems": self.problems,
        }


def _exif_text(value: Any) -> str:
    """EXIF strings as Pillow gives them (Latin-1 decoded bytes) -> the UTF-8 text we wrote."""
    if isinstance(value, bytes):
        if value.startswith(b"UNICODE\0"):
            body = value[8:]
            encoding = "utf-16-le" if body[:1] != b"\0" and body[1:2] == b"\0" else "utf-16-be"
            return body.decode(encoding, errors="replace").rstrip("\0")
        if value.startswith((b"ASCII\0\0\0", b"\0" * 8)):
            return value[8:].decode("utf-8", errors="replace").rstrip("\0")
        return value.decode("utf-8", errors="replace").rstrip("\0")
    text = str(value).rstrip("\0")
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _read_exif(img: Image.Image) -> dict[str, str]:
    exif = img.getexif()
    out = {}
    for name, tag in (("Artist", TAG_ARTIST), ("Copyright", TAG_COPYRIGHT),
                      ("ImageDescription", TAG_IMAGE_DESCRIPTION), ("Software", TAG_SOFTWARE)):
        if tag in exif:
            out[name] = _exif_text(exif[tag])
    comment = exif.get_ifd(TAG_EXIF_IFD).get(TAG_USER_COMMENT)
    if comment is not None:
        out["UserComment"] = _exif_text(comment)
    return out


def _xmp_bytes(img: Image.Image) -> bytes | str | None:
    return img.info.get(PNG_XMP_KEY) or img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")


def _read_sidecar(path: Path, problems: list[str]) -> dict[str, Any] | None:
    side = sidecar_path(path)
    if not side.is_file():
        return None
    try:
        doc = loads_bounded(read_limited(side, MAX_SIDECAR_BYTES, "the sidecar"), f"the sidecar {side.name}")
    except OSError:
        problems.append(f"the sidecar {side.name} is not readable JSON")
        return None
    except (JsonError, InputFileError) as exc:
        problems.append(str(exc))
        return None
    return doc if isinstance(doc, dict) else None


def _xmp_recipe(text: str, problems: list[str]) -> dict[str, Any] | None:
    """The recipe JSON object of the XMP packet, or None (with a problem noted)."""
    try:
        doc = loads_bounded(text, "the recipe in the XMP packet")
    except JsonError as exc:
        problems.append(str(exc))
        return None
    if not isinstance(doc, dict):
        problems.append(f"the recipe in the XMP packet is not a JSON object but a {type(doc).__name__}")
        return None
    return doc


def read_provenance(path: Path, keep_pixels: bool = False) -> Provenance:
    """Everything ``path`` says about itself. Raises :class:`ProvenanceReadError` for a file
    that is missing or not an image PNG / JPEG / WebP (or another format Pillow knows).
    keep_pixels: also keep the decoded pixels (``Provenance.pixels``), decoded once for the
    watermark and the caller (``library verify`` hashes them)."""
    path = Path(path)
    if not path.is_file():
        raise ProvenanceReadError(f"cannot read {path}: there is no such file")
    try:
        with Image.open(path) as img:
            fmt, size = img.format or "unknown", img.size
            xmp_raw = _xmp_bytes(img)
            if fmt == "GIF":  # Pillow skips a GIF's XMP block
                with open(path, "rb") as f:
                    xmp_raw = find_xmp(f)
            exif = _read_exif(img) if fmt in ("JPEG", "WEBP", "PNG") else {}
            png_text = {k: str(v) for k, v in getattr(img, "text", {}).items() if k != PNG_XMP_KEY} \
                if fmt == "PNG" else {}
            pixels = None
            try:  # in the pixels: there after every metadata is stripped
                if keep_pixels:
                    pixels = np.asarray(img.convert("RGB"))
                watermark = detect(img if pixels is None else pixels)
            except OSError as exc:  # e.g. truncated pixel data: the metadata is still worth reporting
                watermark = WatermarkResult(False, reason=f"the pixels cannot be decoded ({exc})")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ProvenanceReadError(f"cannot read {path}: it is not an image facestudio can open ({exc})") from None
    except Image.DecompressionBombError:
        raise ProvenanceReadError(f"cannot read {path}: it declares more than {2 * Image.MAX_IMAGE_PIXELS} "
                                  "pixels, far more than any face image, so it is not opened") from None
    prov = Provenance(path, fmt, size, exif=exif, png_text=png_text, watermark=watermark, pixels=pixels)
    if xmp_raw:
        try:
            prov.xmp = parse_xmp(xmp_raw)
        except XmpError as exc:
            prov.problems.append(str(exc))
    x = prov.xmp
    prov.source_type = x.get("Iptc4xmpExt:DigitalSourceType")
    prov.description = x.get("dc:description") or png_text.get("Description") or exif.get("ImageDescription")
    prov.creator = x.get("dc:creator") or png_text.get("Author") or exif.get("Artist")
    prov.terms = x.get("xmpRights:UsageTerms") or x.get("dc:rights") or png_text.get("Copyright") \
        or exif.get("Copyright")
    prov.license_name = x.get("facestudio:License")
    prov.license_url = x.get("cc:license") or x.get("xmpRights:WebStatement")
    prov.attribution = x.get("cc:attributionName") or x.get("photoshop:Credit")
    prov.creator_tool = x.get("xmp:CreatorTool") or png_text.get("Software") or exif.get("Software")
    prov.created = x.get("xmp:CreateDate")
    prov.model_name = x.get("facestudio:ModelName")
    prov.model_sha256 = x.get("facestudio:ModelSHA256")
    prov.watermark_stamp = x.get("facestudio:Watermark")
    prov.lookalike = {k[len(LOOKALIKE_PREFIX):]: v for k, v in x.items() if k.startswith(LOOKALIKE_PREFIX)}
    if x.get("facestudio:Recipe"):
        prov.recipe = _xmp_recipe(x["facestudio:Recipe"], prov.problems)
        prov.recipe_source = "xmp" if prov.recipe is not None else None
    if prov.recipe is None:
        side = _read_sidecar(path, prov.problems)
        if side and isinstance(side.get("recipe"), dict):
            prov.recipe, prov.recipe_source = side["recipe"], "sidecar"
            p = side.get("provenance") if isinstance(side.get("provenance"), dict) else {}
            p = {k: v for k, v in p.items() if isinstance(v, str)}  # a crafted sidecar may hold anything
            prov.source_type = prov.source_type or p.get("digital_source_type")
            prov.creator = prov.creator or p.get("creator") or None
            prov.terms = prov.terms or p.get("terms")
            prov.license_url = prov.license_url or p.get("license_url")
            prov.license_name = prov.license_name or p.get("license")
            prov.attribution = prov.attribution or p.get("attribution")
    if prov.recipe is not None and not prov.model_sha256:
        model = prov.recipe.get("model") if isinstance(prov.recipe.get("model"), dict) else {}
        prov.model_sha256, prov.model_name = model.get("sha256"), prov.model_name or model.get("name")
    prov.c2pa = read_manifest(path)
    return prov


def format_report(prov: Provenance) -> str:
    """The human-readable report ``facestudio inspect`` prints."""
    ai = prov.source_type and prov.source_type.rstrip("/").endswith("trainedAlgorithmicMedia")
    source = f"{prov.source_type} (AI-generated)" if ai else prov.source_type
    model = None
    if prov.model_name or prov.model_sha256:
        model = f"{prov.model_name or 'unnamed'} (sha256 {prov.model_sha256 or 'unknown'})"
    licence = " ".join(p for p in (prov.license_name, f"<{prov.license_url}>" if prov.license_url else None) if p)
    c2pa = None
    if prov.c2pa is not None:
        signer = (prov.c2pa["manifest"].get("signature_info") or {}).get("common_name") or "unknown signer"
        c2pa = f"present, signed by {signer}; validation: {prov.c2pa.get('validation_state')}"
    rows = [
        ("file", f"{prov.path} ({prov.format}, {prov.size[0]}x{prov.size[1]})"),
        ("source type", source or "not stated"),
        ("description", prov.description),
        ("creator", prov.creator),
        ("terms", prov.terms),
        ("licence", licence or None),
        ("attribution", prov.attribution),
        ("made with", prov.creator_tool),
        ("created", prov.created),
        ("model", model),
        ("C2PA", c2pa),
        ("watermark", prov.watermark.describe()),
        ("mark stamp", prov.watermark_stamp),
        ("lookalike", prov.lookalike.get("Check")),
        ("recipe", json.dumps(prov.recipe, sort_keys=True) if prov.recipe is not None else "none"),
    ]
    if prov.recipe_source == "sidecar":
        rows.append(("recipe from", sidecar_path(prov.path).name))
    if prov.lookalike.get("Override"):
        rows.append(("lookalike", prov.lookalike["Override"]))
    rows += [("problem", p) for p in prov.problems]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows if v)
