"""The anonymizer: from a photo's pixels to stand-ins, for the CLI and the studio alike.

:class:`Anonymizer` is made once per model (it refuses, in one sentence, a model whose
alignment is unknown, whose resolution is too small or that has no named sliders) and then
serves any number of photos: :meth:`Anonymizer.faces` finds the faces, :meth:`Anonymizer.
stand_ins` makes the stand-ins of one of them. The photo's pixels live only in memory, in
the caller's hands and in this call: nothing here writes, caches or logs them, and what
comes back (:class:`Anonymized`) holds the aligned crop only for the side-by-side, never in
a recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from facestudio.analysis.photo_faces import ALIGNMENTS, FaceFinder, PhotoFace, align, choose_face
from facestudio.analysis.stand_ins import (DEFAULT_KEEP, OPTIONAL_SLIDERS, ROUNDS, SLIDER_OF, STAND_IN_PSI,
                                           STAND_IN_SEED, Search, StandInError, find_stand_ins, kept_measures,
                                           measure_faces)
from facestudio.shown_text import shown

MIN_RESOLUTION = 64
PHOTO_NOTE = "a stand-in made from a photo; the photo is not kept"


def read_photo(path) -> np.ndarray:
    """The photo's pixels, read into memory with its size bounded before decoding
    (:func:`facestudio.analysis.identity.read_face_image`); :class:`StandInError` for an image
    that is itself a facestudio export (stamped or watermarked): it shows nobody real."""
    from facestudio.analysis.identity import read_face_image
    from facestudio.errors import FacestudioError
    from facestudio.provenance import read_provenance
    pixels = read_face_image(path)
    try:
        prov = read_provenance(path)
    except FacestudioError:
        prov = None
    if prov is not None and (prov.is_stamped or prov.watermark.found):
        made = f" with the model {shown(prov.model_name)}" if prov.model_name else ""
        raise StandInError(f"{shown(path)} is a facestudio export (a generated face{made}, "
                           f"{'stamped' if prov.is_stamped else 'watermarked'}), not a photo of a real person, so "
                           "there is nobody to replace: open it in the studio to edit it instead.")
    return pixels


def model_alignment(g) -> str:
    """How the training faces of model ``g`` were aligned: its card's ``alignment`` (one of
    :data:`ALIGNMENTS`), UTKFace's for the bundled model; :class:`StandInError` otherwise."""
    from facestudio.generator.formats.loader import bundled_model_path
    said = (g.card.meta.get("alignment", "") if g.card else "").strip().lower()
    if said:
        if said not in ALIGNMENTS:
            raise StandInError(f"the model card of {shown(g.name)} gives the alignment {shown(said)}, which "
                               f"facestudio cannot reproduce (it knows {', '.join(ALIGNMENTS)}).")
        return said
    try:
        if g.path is not None and g.path.resolve() == bundled_model_path().resolve():
            return "utkface"
    except OSError:
        pass
    raise StandInError(f"{shown(g.name)} cannot serve the anonymizer: its model card does not say how its training "
                       f"faces were aligned (add 'alignment: utkface' or 'alignment: ffhq' to it).")


def internal_references(directions: dict) -> dict[str, dict[str, float]]:
    """The real-photo spread of each internal direction's measure (the skin-tone direction's
    ITA, which the named sliders' reference does not hold), from the direction's own record."""
    return {d.meta["measure"]: {"spread": float(d.meta["real_spread"])} for d in directions.values()
            if d.meta.get("internal") and d.meta.get("measure") and d.meta.get("real_spread")}


@dataclass
class Anonymized:
    """What one photo gave: the search (the stand-ins), the photo's measures, the crop (for
    the side-by-side only) and the projection's face and pixel error."""

    search: Search
    target: dict[str, float]
    crop: np.ndarray
    projected: np.ndarray
    projection_error: float
    face: PhotoFace


class Anonymizer:
    """Everything the anonymizer needs for model ``g``, loaded once. ``guard`` is the export
    guard (:func:`facestudio.analysis.lookalike_guard.guard_for_model`) the stand-ins are
    checked with; it must be able to measure faces (dlib installed)."""

    def __init__(self, g, guard, keep: tuple[str, ...] = DEFAULT_KEEP):
        from facestudio.analysis.face_measures import FaceMeasurer
        from facestudio.analysis.filters import FilterError, read_reference
        from facestudio.render.model_directions import model_directions
        from facestudio.render.renderer import Renderer
        if g.resolution < MIN_RESOLUTION:
            raise StandInError(f"{shown(g.name)} makes {g.resolution} px faces, too small to keep a photo's age, "
                               f"expression and pose (the anonymizer needs {MIN_RESOLUTION} px or more).")
        self.alignment = model_alignment(g)
        # the named sliders and the anonymizer's own (internal) ones; not the retired
        self.directions = {d.id: d for d in model_directions(g) if not d.meta.get("retired")}
        missing = sorted({SLIDER_OF[m] for m in kept_measures(keep) if m in SLIDER_OF}
                         - set(self.directions) - set(OPTIONAL_SLIDERS))
        if missing:
            raise StandInError(f"{shown(g.name)} cannot serve the anonymizer: it has no named slider for "
                               f"{', '.join(missing)} to keep the photo's attributes with (facestudio attributes fits them).")
        try:
            self.reference = read_reference()
        except FilterError as exc:
            raise StandInError(str(exc)) from None
        self.reference.update(internal_references(self.directions))
        if guard.embedder is None:
            raise StandInError(f"the anonymizer cannot measure who a face is: {guard.reason}.")
        self.g, self.guard, self.keep = g, guard, keep
        from facestudio.analysis.attributes import load_bundled_classifier
        from facestudio.analysis.encoder import EncoderFileError, encoder_for
        self.classifier = load_bundled_classifier()
        try:
            self.encoder = encoder_for(g)  # None for a model it was not trained for: the pool starts alone
        except EncoderFileError as exc:
            raise StandInError(str(exc)) from None
        self.measurer = FaceMeasurer(self.classifier)
        self.finder = FaceFinder(self.measurer)
        self.renderer = Renderer(g, directions=self.directions)
        from facestudio.analysis.realism import realism_for
        self.realism = realism_for(g, STAND_IN_PSI, list(self.directions.values()))

    def faces(self, pixels: np.ndarray) -> list[PhotoFace]:
        return self.finder.faces(pixels)

    def steps(self) -> int:
        """How many progress steps :meth:`stand_ins` reports at most (projection, then rounds)."""
        from facestudio.analysis.projection import projection_steps
        from facestudio.analysis.stand_ins import MAX_BATCHES
        return projection_steps(self.encoder) + MAX_BATCHES * (ROUNDS + 1)

    def stand_ins(self, pixels: np.ndarray, count: int, face_index: int | None = None, first_seed: int | None = None,
                  what: str = "the photo", progress: Callable[[int], None] | None = None) -> Anonymized:
        """``count`` stand-ins for the face ``face_index`` (1-based, left to right; None: the
        only one) of ``pixels`` (uint8 ``[H, W, 3]``); :class:`~facestudio.analysis.photo_faces.
        PhotoFaceError` for the refusals of :func:`choose_face`."""
        from facestudio.analysis.projection import project
        face = choose_face(self.faces(pixels), face_index, what)
        crop = align(pixels, face, self.alignment, self.g.resolution)
        identity = self.guard.embedder.measure(align(pixels, face, self.alignment, max(200, self.g.resolution)))
        if not identity.found:
            identity = self.guard.embedder.measure(pixels)
        if not identity.found:
            raise StandInError(f"dlib cannot tell who the face in {what} is, so no stand-in could be shown to be "
                               "someone else.")
        measured = measure_faces(self.measurer, crop[None])
        target = {k: float(v[0]) for k, v in measured.items() if np.ndim(v) == 1}
        lost = [m for m in kept_measures(self.keep) if not np.isfinite(target.get(m, np.nan))]
        if lost:
            raise StandInError(f"the face in {what} cannot be measured once aligned ({', '.join(lost)}), so its "
                               "attributes could not be kept.")
        projection = project(self.g, crop, self.classifier, progress=progress, encoder=self.encoder)
        if first_seed is None:
            first_seed = STAND_IN_SEED + int(np.random.default_rng().integers(0, 1 << 24))
        search = find_stand_ins(self.g, self.renderer, self.measurer, self.guard, identity.embedding, target,
                                projection.w, self.directions, self.reference, count, self.keep, first_seed,
                                progress=progress, realism=self.realism)
        return Anonymized(search, target, crop, projection.face, projection.pixel_error, face)

