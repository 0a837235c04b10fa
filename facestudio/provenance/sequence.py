"""Export a sequence of frames (an interpolation strip): one sheet, an animation, or a folder
of numbered frames, every file stamped like a single face.

The path decides (:func:`strip_kind`): ``.png`` / ``.jpg`` a sheet (frames side by side,
through :func:`~.export.export_image`); ``.webp`` / ``.gif`` an endlessly looping animation
(:func:`export_animation`, forth and back by default, as the studio shows a strip); a path
ending in ``/`` or an existing folder: ``frame_0000.png``... (:func:`export_frames`, each
through :func:`~.export.encode_file`). Sizes are refused before anything is encoded; writes
are atomic (a folder of frames appears whole or not at all); nothing is replaced unless
``overwrite``; every failure is one sentence (:class:`~.export.ExportError`).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from facestudio.fileio import OutputPathError, atomic_folder, atomic_write, check_writable_target, describe_os_error
from facestudio.latent.recipe import Recipe
from facestudio.provenance.embed import ANIMATION_EXTENSIONS, encode_animation
from facestudio.provenance.export import (ExportError, ExportOptions, check_export_size, encode_file, export_image,
                                          exported_size, final_pixels)
from facestudio.provenance.terms import Stamp
from facestudio.provenance.watermark import WatermarkError
from facestudio.sheets import tile

SHEET_EXTENSIONS = (".png", ".jpg", ".jpeg")
FRAME_NAME = "frame_{:04d}.png"
FRAME_RE = re.compile(r"frame_\d{4,}\.png")
# All frames of one sequence together hold at most this many pixels (as one sheet does).
MAX_SEQUENCE_PIXELS = 1 << 27
MAX_ANIMATION_SIDE = {"webp": 16383, "gif": 65535}
FRAME_MS = 80


def strip_kind(target: str | Path) -> str:
    """``"sheet"``, ``"animation"`` or ``"frames"`` for ``target`` (a trailing ``/`` or an
    existing folder means frames); :class:`ExportError` for anything else."""
    text = str(target)
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        return "frames"
    suffix = Path(text).suffix.lower()
    if suffix in SHEET_EXTENSIONS:
        return "sheet"
    if suffix in ANIMATION_EXTENSIONS:
        return "animation"
    raise ExportError(f"cannot write {text}: end it in .png or .jpg for a sheet, .webp or .gif for an "
                      "animation, or / for a folder of numbered frames")


def existing_frames(folder: Path) -> list[Path]:
    """The numbered frames (``frame_0000.png``...) already in ``folder``."""
    try:
        return sorted(p for p in Path(folder).iterdir() if FRAME_RE.fullmatch(p.name))
    except OSError:
        return []


def check_strip(target: str | Path, count: int, width: int, height: int, options: ExportOptions,
                overwrite: bool = False) -> str:
    """Before anything is rendered: refuse ``count`` frames of ``width`` x ``height`` that
    ``target`` cannot take (too many pixels, too wide for the format, a file or frames
    already there without ``overwrite``). Returns the kind."""
    kind = strip_kind(target)
    w, h = exported_size(width, height, options)
    if count * w * h > MAX_SEQUENCE_PIXELS:
        raise ExportError(f"{count} frames of {w} x {h} pixels are {count * w * h / 1e6:.0f} megapixels; facestudio "
                          f"writes at most {MAX_SEQUENCE_PIXELS // 10**6} megapixels of frames at once, so use "
                          "fewer frames or a smaller scale")
    path = Path(target)
    if kind == "sheet":
        check_export_size(path, count * width, height, options)
        check_writable_target(path, overwrite)
    elif kind == "animation":
        fmt = ANIMATION_EXTENSIONS[path.suffix.lower()]
        if max(w, h) > MAX_ANIMATION_SIDE[fmt]:
            raise ExportError(f"cannot write {path.name}: frames of {w} x {h} pixels are past the "
                              f"{MAX_ANIMATION_SIDE[fmt]} pixels per side a {fmt.upper()} animation holds")
        check_writable_target(path, overwrite)
    elif path.exists() and not path.is_dir():
        raise ExportError(f"cannot write frames into {path}: it is a file, not a folder")
    elif path.is_dir():
        found = existing_frames(path)
        if found and not overwrite:
            raise ExportError(f"{path} already holds numbered frames ({found[0].name} …); choose another "
                              "folder or allow overwriting")
        if not os.access(path, os.W_OK):
            raise ExportError(f"cannot write into {path}: the folder is not writable")
    else:
        check_writable_target(path, overwrite)
    return kind


def export_animation(frames: Sequence[Any], path: Path, stamp: Stamp, recipe: Recipe | dict | None = None,
                     options: ExportOptions | None = None, overwrite: bool = False,
                     xmp_extra: dict[str, str] | None = None, frame_ms: int = FRAME_MS,
                     bounce: bool = True) -> list[Path]:
    """Write ``frames`` (uint8 ``[H, W, 3]`` arrays or PIL images) as an animated ``.webp``
    or ``.gif`` with the stamp, each frame ``frame_ms`` ms, forth and back when ``bounce``
    (WebP: lossless when ``options.lossless``, else ``options.quality``). Returns ``[path]``."""
    options = options or ExportOptions(lossless=True)
    path = Path(path)
    fmt = ANIMATION_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(f"cannot write {path}: an animation's extension must be .webp or .gif")
    if options.c2pa is not None or options.sidecar:
        raise ExportError(f"cannot write {path.name}: C2PA signing and sidecars are for still images")
    if not 1 <= int(frame_ms) <= 60_000:
        raise ExportError(f"a frame lasts 1 to 60000 milliseconds, not {frame_ms}")
    first = np.asarray(frames[0]) if len(frames) else None
    if first is None:
        raise ExportError(f"cannot write {path.name}: there are no frames")
    check_strip(path, len(frames), first.shape[1], first.shape[0], options, overwrite)
    try:  # every frame carries the invisible watermark, as a still image does
        images = [final_pixels(f, options, stamp.model_sha256) for f in frames]
    except WatermarkError as exc:
        raise ExportError(f"cannot write {path.name}: {exc}") from None
    if bounce and len(images) > 2:
        images += images[-2:0:-1]
    recipe_dict = recipe.to_dict() if isinstance(recipe, Recipe) else recipe
    try:
        data = encode_animation(images, fmt, stamp, recipe_dict, int(frame_ms), options.quality, options.lossless,
                                xmp_extra)
    except (ValueError, OSError) as exc:
        raise ExportError(f"cannot encode {path.name}: {exc}") from None
    try:
        with atomic_write(path, overwrite) as tmp:
            tmp.write_bytes(data)
    except OutputPathError:
        raise
    except OSError as exc:
        raise ExportError(describe_os_error(path, exc)) from None
    return [path]


def export_frames(frames: Sequence[Any], folder: Path, stamp: Stamp, recipe: Recipe | dict | None = None,
                  options: ExportOptions | None = None, overwrite: bool = False,
                  xmp_extra: dict[str, str] | None = None) -> list[Path]:
    """Write ``frames`` as ``folder/frame_0000.png``..., each stamped (``xmp_extra`` plus
    ``Frame``: "i of N"). A new folder appears whole; into an existing one the frames are
    renamed in only once all are encoded, and with ``overwrite`` the numbered frames of an
    earlier, longer sequence go. Returns the paths written."""
    options = options or ExportOptions()
    folder = Path(folder)
    if not len(frames):
        raise ExportError(f"cannot write into {folder}: there are no frames")
    first = np.asarray(frames[0])
    check_strip(str(folder) + os.sep, len(frames), first.shape[1], first.shape[0], options, overwrite)
    names = [FRAME_NAME.format(i) for i in range(len(frames))]
    blobs = [encode_file(f, folder / name, stamp, recipe, options,
                         {**(xmp_extra or {}), "Frame": f"{i + 1} of {len(frames)}"})
             for i, (f, name) in enumerate(zip(frames, names))]
    stale = [p for p in existing_frames(folder) if p.name not in set(names)] if folder.is_dir() else []
    try:
        if folder.is_dir():
            with contextlib.ExitStack() as stack:
                for name, data in zip(names, blobs):
                    stack.enter_context(atomic_write(folder / name, overwrite)).write_bytes(data)
            for p in stale:
                p.unlink(missing_ok=True)
        else:
            with atomic_folder(folder) as staging:
                for name, data in zip(names, blobs):
                    (staging / name).write_bytes(data)
    except OutputPathError:
        raise
    except OSError as exc:
        raise ExportError(describe_os_error(folder, exc)) from None
    return [folder / name for name in names]


def export_strip(frames: Sequence[Any], target: str | Path, stamp: Stamp, options: ExportOptions | None = None,
                 overwrite: bool = False, xmp_extra: dict[str, str] | None = None, frame_ms: int = FRAME_MS,
                 bounce: bool = True) -> list[Path]:
    """Write the frames ``[N, H, W, 3]`` as ``target`` says (see the module doc)."""
    kind = strip_kind(target)
    if kind == "sheet":
        first = np.asarray(frames[0])
        check_strip(target, len(frames), first.shape[1], first.shape[0], options or ExportOptions(), overwrite)
        return export_image(tile(list(frames), len(frames)), Path(target), stamp, None, options, overwrite, xmp_extra)
    if kind == "animation":
        return export_animation(frames, Path(target), stamp, None, options, overwrite, xmp_extra, frame_ms, bounce)
    return export_frames(frames, Path(target), stamp, None, options, overwrite, xmp_extra)
