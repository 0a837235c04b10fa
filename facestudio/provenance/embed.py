"""Encode an image with its provenance: XMP in every format, EXIF for JPEG / WebP, text
chunks for PNG. Everything happens in memory; the caller writes the bytes atomically.

* PNG: ``iTXt`` "XML:com.adobe.xmp" (uncompressed) and the text chunks Author, Copyright,
  Description, Software, Disclaimer, Source (``tEXt``, or ``iTXt`` when not Latin-1).
* JPEG / WebP: the XMP packet through Pillow's ``xmp=``, and EXIF Artist, Copyright,
  ImageDescription, Software (UTF-8, as exiftool writes them) and UserComment (Unicode).
* Animations (:func:`encode_animation`): WebP as above; GIF the XMP application extension
  (:mod:`.gif_xmp`) and a comment with the description.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from facestudio.errors import InvalidValueError
from facestudio.provenance.gif_xmp import insert_xmp
from facestudio.provenance.png_writer import encode_rgb_png
from facestudio.provenance.terms import Stamp
from facestudio.provenance.xmp import build_xmp, clean_text

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
ANIMATION_EXTENSIONS = {".webp": "webp", ".gif": "gif"}
PNG_XMP_KEY = "XML:com.adobe.xmp"

# EXIF tag numbers (TIFF / Exif 2.32)
TAG_IMAGE_DESCRIPTION = 0x010E
TAG_SOFTWARE = 0x0131
TAG_ARTIST = 0x013B
TAG_COPYRIGHT = 0x8298
TAG_EXIF_IFD = 0x8769
TAG_USER_COMMENT = 0x9286
EXIF_UNICODE_PREFIX = b"UNICODE\0"


def format_of(path_suffix: str) -> str | None:
    """``".jpg"`` -> ``"jpeg"``; None for an extension facestudio does not write."""
    return EXTENSIONS.get(path_suffix.lower())


def png_text(stamp: Stamp) -> dict[str, str]:
    """The PNG text chunks (keyword -> text)."""
    chunks = {
        "Author": stamp.artist,
        "Copyright": stamp.terms,
        "Description": stamp.description,
        "Software": stamp.creator_tool,
        "Disclaimer": stamp.disclosure,
        "Source": f"facestudio model {stamp.model_line}",
        "Creation Time": stamp.created,
    }
    return {k: clean_text(v) for k, v in chunks.items() if v}


def user_comment(stamp: Stamp) -> str:
    """EXIF UserComment: the disclosure, attribution and licence in one paragraph."""
    credit = stamp.attribution.rstrip()
    credit = f"Credit: {credit}" + ("" if credit.endswith(".") else ".") if credit else ""
    licence = f"Licence: {stamp.license_name} {stamp.license_url}".rstrip()
    parts = [stamp.disclosure, credit, licence if stamp.license_name or stamp.license_url else ""]
    return " ".join(p for p in parts if p)


def build_exif(stamp: Stamp) -> Image.Exif:
    exif = Image.Exif()

    def utf8(text: str) -> bytes:
        return clean_text(text).encode("utf-8")

    exif[TAG_IMAGE_DESCRIPTION] = utf8(stamp.description)
    exif[TAG_SOFTWARE] = utf8(stamp.creator_tool)
    if stamp.artist:
        exif[TAG_ARTIST] = utf8(stamp.artist)
    exif[TAG_COPYRIGHT] = utf8(stamp.terms)
    exif.get_ifd(TAG_EXIF_IFD)[TAG_USER_COMMENT] = EXIF_UNICODE_PREFIX + user_comment(stamp).encode("utf-16-be")
    return exif


def encode(image: Image.Image, fmt: str, stamp: Stamp, recipe: dict[str, Any] | None = None,
           quality: int = 95, lossless: bool = False, xmp_extra: dict[str, str] | None = None,
           png_level: int = 6, fast_png: bool = False) -> bytes:
    """``image`` (RGB) encoded as ``fmt`` ("png", "jpeg", "webp") with the whole stamp.

    quality: 1-100 for JPEG and lossy WebP; lossless: WebP only; png_level: zlib level 0-9;
    fast_png: write the PNG with :mod:`.png_writer` (one filter, ISA-L; png_level unused).
    """
    if fmt not in FORMATS:
        raise InvalidValueError(f"cannot write the format {fmt!r}: use png, jpeg or webp")
    if not 1 <= int(quality) <= 100:
        raise InvalidValueError(f"quality must be between 1 and 100, got {quality}")
    xmp = build_xmp(stamp, recipe, xmp_extra)
    buffer = io.BytesIO()
    image = image.convert("RGB")
    if fmt == "png":
        info = PngInfo()
        info.add_itxt(PNG_XMP_KEY, xmp.decode("utf-8"), lang="", tkey="", zip=False)
        for key, value in png_text(stamp).items():
            info.add_text(key, value)  # Pillow falls back to iTXt for non-Latin-1 text
        if fast_png:
            return encode_rgb_png(np.asarray(image), [(kind, data) for kind, data, *_ in info.chunks])
        image.save(buffer, format="PNG", pnginfo=info, compress_level=int(png_level))
    elif fmt == "jpeg":
        image.save(buffer, format="JPEG", quality=int(quality), exif=build_exif(stamp).tobytes(), xmp=xmp)
    else:
        image.save(buffer, format="WEBP", quality=int(quality), lossless=bool(lossless),
                   exif=build_exif(stamp).tobytes(), xmp=xmp)
    return buffer.getvalue()


def encode_animation(frames: list[Image.Image], fmt: str, stamp: Stamp, recipe: dict[str, Any] | None = None,
                     frame_ms: int = 80, quality: int = 95, lossless: bool = True,
                     xmp_extra: dict[str, str] | None = None) -> bytes:
    """``frames`` (RGB, equal sizes) as an endlessly looping animation, ``fmt`` "webp" or
    "gif", each ``frame_ms`` milliseconds, with the whole stamp (quality / lossless: WebP)."""
    if fmt not in ANIMATION_EXTENSIONS.values():
        raise InvalidValueError(f"cannot write an animation as {fmt!r}: use webp or gif")
    if not frames:
        raise InvalidValueError("an animation needs at least one frame")
    xmp = build_xmp(stamp, recipe, xmp_extra)
    frames = [f.convert("RGB") for f in frames]
    buffer = io.BytesIO()
    common = dict(save_all=True, append_images=frames[1:], duration=int(frame_ms), loop=0)
    if fmt == "webp":
        frames[0].save(buffer, format="WEBP", quality=int(quality), lossless=bool(lossless),
                       exif=build_exif(stamp).tobytes(), xmp=xmp, **common)
        return buffer.getvalue()
    frames[0].save(buffer, format="GIF", comment=clean_text(stamp.description).encode("utf-8"), **common)
    return insert_xmp(buffer.getvalue(), xmp)
