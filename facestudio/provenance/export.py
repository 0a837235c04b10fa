"""Export one image: crop, upscale, caption, encode with the stamp, sign (C2PA), write.

:func:`export_image` is the single way facestudio writes a face to disk (the CLI's ``render``,
the export panel, batch export). Writes are atomic (temporary file in the target folder,
then a rename), an existing file is never replaced unless ``overwrite`` is true, and an
unwritable folder or a full disk ends in :class:`ExportError` with one sentence; nothing
half-written is left behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from facestudio.errors import InvalidValueError
from facestudio.fileio import OutputPathError, atomic_write, check_writable_target, describe_os_error
from facestudio.latent.recipe import Recipe
from facestudio.provenance.c2pa_sign import C2paSigning, C2paSigningError, sign_bytes
from facestudio.provenance.caption import Caption, draw_caption
from facestudio.provenance.embed import MIME_TYPES, encode, format_of
from facestudio.provenance.terms import Stamp
from facestudio.provenance.watermark import WatermarkError, mark_note, upscale_factor
from facestudio.provenance.watermark import embed as embed_watermark

CROPS = ("none", "square", "tight")
TIGHT_CROP = 0.8
MAX_SCALE = 8
SCALE_FOR_MARK = None  # ExportOptions.scale: the smallest whole factor that makes the image large enough for the mark
WATERMARK_XMP = "Watermark"  # the facestudio: XMP property that says what the file's pixels carry
SIDECAR_SUFFIX = ".json"
# The widest / tallest image each encoder writes (libjpeg's limit is 65500, WebP's 16383; a
# PNG is bounded by the sheet and export pixel limits long before its format's 2^31 - 1).
MAX_SIDE = {"jpeg": 65500, "webp": 16383, "png": (1 << 31) - 1}


class ExportError(OutputPathError):
    """An export that cannot be done; the message is one sentence for the user."""


@dataclass(frozen=True)
class ExportOptions:
    """format: "png", "jpeg" or "webp" (None: from the file extension); quality: 1-100 for
    JPEG / lossy WebP; lossless: WebP only; scale: integer Lanczos upscale factor (1 = the
    model's own pixels), or :data:`SCALE_FOR_MARK` (None, the default): the smallest whole
    factor that makes the image large enough for the invisible watermark (512 x 512 pixels);
    crop: "none", "square" (centred largest square) or "tight" (centred square, 80 % of the
    side); caption: a visible caption or None; sidecar: also write ``FILE.json`` with the
    stamp and recipe; c2pa: sign a C2PA manifest with this certificate, or None; png_level:
    the zlib level of a PNG (0-9); fast_png: write a PNG with facestudio's fast writer
    (:mod:`.png_writer`, what the stock library writes) instead of Pillow's."""

    format: str | None = None
    quality: int = 95
    lossless: bool = False
    scale: int | None = SCALE_FOR_MARK
    crop: str = "none"
    caption: Caption | None = None
    sidecar: bool = False
    c2pa: C2paSigning | None = None
    png_level: int = 6  # zlib level of a PNG: 6 Pillow's default
    fast_png: bool = False

    def __post_init__(self):
        if self.crop not in CROPS:
            raise InvalidValueError(f"crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if self.scale is not SCALE_FOR_MARK and (isinstance(self.scale, bool) or not isinstance(self.scale, int)
                                                 or not 1 <= self.scale <= MAX_SCALE):
            raise InvalidValueError(f"the scale must be a whole number from 1 to {MAX_SCALE}, got {self.scale!r}")
        if not 1 <= int(self.quality) <= 100:
            raise InvalidValueError(f"quality must be between 1 and 100, got {self.quality}")
        if not 0 <= int(self.png_level) <= 9:
            raise InvalidValueError(f"the PNG compression level must be between 0 and 9, got {self.png_level}")


def sidecar_path(path: Path) -> Path:
    """``face.png`` -> ``face.png.json``."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def resolve_format(path: Path, options: ExportOptions) -> str:
    by_extension = format_of(Path(path).suffix)
    if by_extension is None:
        raise ExportError(f"cannot write {path}: the extension must be .png, .jpg or .webp (.jpeg works too)")
    if options.format is not None and options.format != by_extension:
        raise ExportError(f"cannot write {path}: the extension does not match the format {options.format.upper()}")
    return by_extension


def cropped_size(width: int, height: int, crop: str) -> tuple[int, int]:
    """The size of an image of ``width`` x ``height`` after the crop ``crop``."""
    if crop == "none":
        return width, height
    side = min(width, height)
    side = max(1, round(side * TIGHT_CROP)) if crop == "tight" else side
    return side, side


def scale_factor(width: int, height: int, options: ExportOptions) -> int:
    """The whole factor an image of ``width`` x ``height`` (cropped) is upscaled by: the
    options' own, or for :data:`SCALE_FOR_MARK` the smallest that reaches 512 x 512 pixels."""
    return upscale_factor(width, height) if options.scale is SCALE_FOR_MARK else options.scale


def exported_size(width: int, height: int, options: ExportOptions) -> tuple[int, int]:
    """The ``(width, height)`` of the file written for an image of this size: :func:`prepare`'s
    crop, then its upscale."""
    width, height = cropped_size(width, height, options.crop)
    factor = scale_factor(width, height, options)
    return width * factor, height * factor


def check_export_size(path: Path, width: int, height: int, options: ExportOptions) -> None:
    """Refuse, before anything is rendered, an image of ``width`` x ``height`` whose export to
    ``path`` (with the crop and upscale of ``options``) its format cannot hold."""
    fmt = resolve_format(path, options)
    w, h = exported_size(width, height, options)
    if max(w, h) > MAX_SIDE[fmt]:
        factor = scale_factor(*cropped_size(width, height, options.crop), options)
        upscaled = f" (upscaled {factor} times)" if factor > 1 else ""
        raise ExportError(f"cannot write {Path(path).name}: an image of {w} x {h} pixels{upscaled} is past "
                          f"the {MAX_SIDE[fmt]} pixels per side a {fmt.upper()} file holds; make it smaller "
                          f"or write a .png")


def prepare(image: Any, options: ExportOptions) -> Image.Image:
    """The pixels as exported: ``image`` (uint8 ``[H, W, 3]`` array or PIL image) cropped,
    upscaled with Lanczos (:func:`scale_factor`), then captioned."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    img = img.convert("RGB")
    if options.crop != "none":
        side = min(img.size)
        if options.crop == "tight":
            side = max(1, round(side * TIGHT_CROP))
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    factor = scale_factor(img.width, img.height, options)
    if factor > 1:
        img = img.resize((img.width * factor, img.height * factor), Image.Resampling.LANCZOS)
    return draw_caption(img, options.caption)


def final_pixels(image: Any, options: ExportOptions, model_sha256: str) -> Image.Image:
    """The pixels a file holds: :func:`prepare`'s, with the invisible watermark of the model
    ``model_sha256`` (:mod:`.watermark`; an image too small for it carries none, or a weak one:
    :func:`watermark_stamp` says which)."""
    return embed_watermark(prepare(image, options), model_sha256)


def watermark_stamp(width: int, height: int) -> str:
    """What the stamp says of the watermark of a file of ``width`` x ``height`` pixels."""
    return mark_note(width, height) or "facestudio invisible watermark 2 (survives resizing and cropping)"


def sidecar_document(stamp: Stamp, recipe: dict[str, Any] | None, file_name: str) -> dict[str, Any]:
    return {
        "facestudio_sidecar": 1,
        "file": file_name,
        "provenance": {
            "digital_source_type": stamp.source_type, "disclosure": stamp.disclosure,
            "description": stamp.description, "creator": stamp.artist, "attribution": stamp.attribution,
            "terms": stamp.terms, "license": stamp.license_name, "license_url": stamp.license_url,
            "creator_tool": stamp.creator_tool, "created": stamp.created,
            "model": {"name": stamp.model_name, "sha256": stamp.model_sha256},
        },
        "recipe": recipe,
    }


def encode_file(image: Any, path: Path, stamp: Stamp, recipe: Recipe | dict | None,
                options: ExportOptions, xmp_extra: dict[str, str] | None = None,
                on_pixels: Callable[[Image.Image], None] | None = None) -> bytes:
    """The bytes :func:`export_image` would write to ``path`` (no disk access); ``on_pixels``
    is given the final pixels (what a PNG holds exactly) before they are encoded."""
    fmt = resolve_format(path, options)
    recipe_dict = recipe.to_dict() if isinstance(recipe, Recipe) else recipe
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    check_export_size(path, img.width, img.height, options)
    try:  # the invisible watermark goes into the final pixels, then the stamp around them
        pixels = final_pixels(img, options, stamp.model_sha256)
    except WatermarkError as exc:
        raise ExportError(f"cannot write {Path(path).name}: {exc}") from None
    if on_pixels is not None:
        on_pixels(pixels)
    xmp_extra = {**(xmp_extra or {}), WATERMARK_XMP: watermark_stamp(*pixels.size)}
    try:
        data = encode(pixels, fmt, stamp, recipe_dict, options.quality, options.lossless, xmp_extra,
                      png_level=options.png_level, fast_png=options.fast_png)
    except (ValueError, OSError) as exc:  # e.g. a JPEG XMP packet over 64 KiB
        raise ExportError(f"cannot encode {Path(path).name}: {exc}") from None
    if options.c2pa is not None:
        try:
            data = sign_bytes(data, MIME_TYPES[fmt], options.c2pa, stamp, Path(path).name, recipe_dict)
        except C2paSigningError as exc:
            raise ExportError(str(exc)) from None
    return data


def export_image(image: Any, path: Path, stamp: Stamp, recipe: Recipe | dict | None = None,
                 options: ExportOptions | None = None, overwrite: bool = False,
                 xmp_extra: dict[str, str] | None = None,
                 on_pixels: Callable[[Image.Image], None] | None = None) -> list[Path]:
    """Write ``image`` to ``path`` with the stamp (and the sidecar when asked); returns the
    paths written. Raises :class:`ExportError` (one sentence) and leaves no partial file."""
    options = options or ExportOptions()
    path = Path(path)
    side = sidecar_path(path) if options.sidecar else None
    check_writable_target(path, overwrite)
    if side is not None:
        check_writable_target(side, overwrite)
    data = encode_file(image, path, stamp, recipe, options, xmp_extra, on_pixels)
    recipe_dict = recipe.to_dict() if isinstance(recipe, Recipe) else recipe
    try:
        with atomic_write(path, overwrite) as tmp:
            tmp.write_bytes(data)
            if side is not None:
                text = json.dumps(sidecar_document(stamp, recipe_dict, path.name), indent=2, ensure_ascii=False)
                with atomic_write(side, overwrite) as side_tmp:
                    side_tmp.write_text(text + "\n", encoding="utf-8")
    except OutputPathError:
        raise
    except OSError as exc:
        raise ExportError(describe_os_error(path, exc)) from None
    return [path] + ([side] if side is not None else [])
