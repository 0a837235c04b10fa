"""Batch export: file names from a pattern, a plan checked before anything is written, the
files written as rendered images arrive, and an optional contact sheet.

Rendering is not done here (``provenance`` never runs a network): the caller renders the
recipes (the render worker in the studio, ``Renderer.render_batch`` in scripts) and hands
the images to :meth:`BatchExport.write` in any order.

Pattern fields: ``{seed}``, ``{psi}``, ``{n}`` (1-based position, ``{n:03d}`` works),
``{name}`` (the gallery name) and ``{model}``. The default pattern is ``{seed}_{psi}_{n}``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw

from facestudio.latent.recipe import Recipe
from facestudio.provenance.caption import load_font
from facestudio.provenance.export import ExportError, ExportOptions, export_image, sidecar_path
from facestudio.provenance.guarded import DEFAULT_OVERRIDE, export_face
from facestudio.provenance.terms import Stamp
from facestudio.sheets import layout_for

DEFAULT_PATTERN = "{seed}_{psi}_{n}"
PATTERN_FIELDS = ("seed", "psi", "n", "name", "model")
CONTACT_SHEET_NAME = "contact_sheet"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is usable, else ValueError with one sentence."""
    if not pattern or not pattern.strip():
        raise ValueError("the file-name pattern is empty")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError:
        raise ValueError(f"the file-name pattern {pattern!r} has an unmatched brace") from None
    unknown = [f for f in fields if f.split(".")[0].split("[")[0] not in PATTERN_FIELDS]
    if unknown:
        allowed = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
        raise ValueError(f"the file-name pattern uses {{{unknown[0]}}}; use {allowed}")
    if any("." in f or "[" in f for f in fields):
        raise ValueError("the file-name pattern may use only plain fields like {seed}")
    return pattern


def expand_pattern(pattern: str, n: int, recipe: Recipe, name: str = "") -> str:
    """One file stem: the pattern filled in and reduced to safe characters."""
    check_pattern(pattern)
    try:
        stem = pattern.format(seed=recipe.seed, psi=recipe.psi, n=n, name=name or f"face{n}",
                              model=recipe.model_name or recipe.model_sha256[:12])
    except (ValueError, TypeError) as exc:
        raise ValueError(f"the file-name pattern {pattern!r} cannot be filled in: {exc}") from None
    stem = _UNSAFE.sub("_", stem).strip("._") or f"face_{n}"
    return stem[:200]


@dataclass
class BatchPlan:
    """Where each face goes: ``paths[i]`` for ``recipes[i]``; ``existing`` lists the files
    (images or sidecars) that are already there and would be replaced."""

    recipes: list[Recipe]
    paths: list[Path]
    sheet_path: Path | None
    existing: list[Path] = field(default_factory=list)


def plan_batch(folder: Path, faces: Sequence[tuple[str, Recipe]], pattern: str = DEFAULT_PATTERN,
               extension: str = ".png", options: ExportOptions | None = None,
               contact_sheet: bool = False) -> BatchPlan:
    """Check the folder and the names before anything is rendered. ``faces``: (name, recipe)."""
    folder = Path(folder)
    options = options or ExportOptions()
    if not folder.is_dir():
        raise ExportError(f"cannot export to {folder}: the folder does not exist")
    if not faces:
        raise ExportError("there are no faces to export")
    paths = [folder / (expand_pattern(pattern, i + 1, r, name) + extension) for i, (name, r) in enumerate(faces)]
    seen: dict[Path, int] = {}
    for i, p in enumerate(paths):
        if p in seen:
            raise ExportError(f"the pattern gives faces {seen[p] + 1} and {i + 1} the same name {p.name}; "
                              "add {n} to the pattern")
        seen[p] = i
    sheet = folder / f"{CONTACT_SHEET_NAME}{extension}" if contact_sheet else None
    if sheet is not None and sheet in seen:
        raise ExportError(f"a face would be named {sheet.name}, like the contact sheet; change the pattern")
    targets = paths + ([sheet] if sheet else [])
    if options.sidecar:
        targets += [sidecar_path(p) for p in targets]
    existing = [p for p in targets if p.exists()]
    return BatchPlan([r for _, r in faces], paths, sheet, existing)


def contact_sheet(images: Sequence[Any], labels: Sequence[str], columns: int | None = None,
                  cell: int = 160) -> Image.Image:
    """A grid of ``images`` (uint8 arrays or PIL images), each ``cell`` px wide with its label
    beneath, on a dark background."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    font = load_font(max(9, cell // 12))
    thumbs = [np.asarray((image if isinstance(image, Image.Image) else Image.fromarray(image))
                         .convert("RGB").resize((cell, cell), Image.Resampling.LANCZOS)) for image in images]
    layout = layout_for(thumbs, columns or None, gap=6, below=max(12, cell // 8), margin=6)
    sheet = Image.fromarray(layout.paint(thumbs, background=(24, 24, 24)))
    draw = ImageDraw.Draw(sheet)
    for i, label in enumerate(labels[:len(thumbs)]):
        y, x = layout.origin(i)
        draw.text((x + 2, y + cell + 1), label, font=font, fill=(220, 220, 220))
    return sheet


class BatchExport:
    """Writes a planned batch as images arrive. ``write(i, image)`` exports face ``i``;
    ``finish()`` writes the contact sheet (when planned) and returns every path written."""

    def __init__(self, plan: BatchPlan, stamp_for, options: ExportOptions, overwrite: bool = False):
        """stamp_for: recipe -> :class:`Stamp` (the artist and terms are the same for all)."""
        self.plan = plan
        self.stamp_for = stamp_for
        self.options = options
        self.overwrite = overwrite
        self.written: list[Path] = []
        self.left_out: list[int] = []  # faces not written (e.g. refused by the lookalike guard)
        self._thumbs: dict[int, Any] = {}

    @property
    def total(self) -> int:
        return len(self.plan.paths)

    @property
    def done(self) -> int:
        return len(self._thumbs) + len(self.left_out)

    def write(self, index: int, image: Any, verdict=None, allowed: bool = False,
              override: str = DEFAULT_OVERRIDE) -> Path:
        """Write face ``index`` through the one checked export path
        (:func:`~facestudio.provenance.guarded.export_face`) with its lookalike ``verdict``
        (None: checked here by the model's default guard); raises
        :class:`~facestudio.provenance.guarded.LookalikeRefused` for a lookalike not ``allowed``."""
        recipe = self.plan.recipes[index]
        path = self.plan.paths[index]
        self.written += export_face(image, path, self.stamp_for(recipe), recipe, self.options, self.overwrite,
                                    verdict=verdict, allowed=allowed, override=override).paths
        self._thumbs[index] = image
        return path

    def leave_out(self, index: int) -> None:
        """Face ``index`` is not written (nor shown on the contact sheet)."""
        self.left_out.append(index)

    def finish(self) -> list[Path]:
        if self.plan.sheet_path is not None and self._thumbs:
            order = sorted(self._thumbs)
            labels = [f"{self.plan.paths[i].stem}" for i in order]
            sheet = contact_sheet([self._thumbs[i] for i in order], labels)
            first: Stamp = self.stamp_for(self.plan.recipes[order[0]])
            sheet_stamp = first.with_changes(note=f"A contact sheet of {len(order)} faces; each face's "
                                                  "recipe is in its own file.")
            sheet_options = ExportOptions(quality=self.options.quality, lossless=self.options.lossless,
                                          caption=self.options.caption, sidecar=False, c2pa=self.options.c2pa)
            self.written += export_image(sheet, self.plan.sheet_path, sheet_stamp, None, sheet_options,
                                         self.overwrite, xmp_extra={"ContactSheetOf": ", ".join(
                                             p.name for p in self.plan.paths)})
        return list(self.written)
