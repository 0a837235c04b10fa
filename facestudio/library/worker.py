"""What a library worker does with one batch of seeds: render, measure, check, write.

A :class:`FaceWorker` loads the model, the attribute classifier and the lookalike guard once
(in a spawned process of the local engine, or a Ray actor) and then turns each
:class:`Task` (a fixed block of positions of the spec) into one catalogue row
(:class:`~facestudio.library.catalog.FaceRow`, whose ``status`` says whether the face was
written) per position: rendered in one batch (torch on one thread, so every worker computes the same
pixels), measured (:func:`facestudio.analysis.audit.measure_faces`, and dlib's face measures,
whose detector finds each face's box once), matched against the spec's filters, checked by the
guard when they keep it, from that box (which also gives the dlib identity embedding the
coordinator compares faces with; a face near the lookalike threshold is searched again, see
:data:`~facestudio.analysis.lookalike_guard.RECHECK_MARGIN`), and, when it passes both, written
atomically with the stamp, watermark and lookalike verdict into ``LIB/.incoming/``. The
coordinator decides the rest (near-duplicates, quotas) and moves the file into place.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facestudio.library.catalog import MEASURE_COLUMNS, FaceRow, now

INCOMING = ".incoming"
FACES = "faces"
SUFFIXES = {"png": ".png", "jpg": ".jpg", "webp": ".webp"}


# the only names face_file gives: what a catalogue row's ``file`` must be (relative, normalised, inside faces/)
FACE_FILE_RE = re.compile(rf"{FACES}/[0-9]{{3}}/seed-[0-9]{{10}}\.(?:png|jpg|webp)")


def is_face_file(name: object) -> bool:
    """Whether ``name`` (a catalogue row's ``file``) is one :func:`face_file` gives: never an
    absolute path, ``..`` or anything outside ``faces/``."""
    return isinstance(name, str) and FACE_FILE_RE.fullmatch(name) is not None


def face_file(seed: int, fmt: str) -> str:
    """A face's file, relative to LIB: ``faces/042/seed-0000001042.png`` (a thousand folders
    by the seed's last three digits, so no folder holds more than a thousandth of a library)."""
    return f"{FACES}/{seed % 1000:03d}/seed-{seed:010d}{SUFFIXES[fmt]}"


@dataclass(frozen=True)
class WorkerConfig:
    """What every worker needs, picklable: the library folder, the model file (None: the
    bundled model), the spec's canonical JSON and its sha256."""

    library: str
    model: str | None
    spec_json: str
    spec_sha256: str


@dataclass(frozen=True)
class Task:
    """A block of positions with their seeds; ``index`` numbers the block."""

    index: int
    positions: tuple[int, ...]
    seeds: tuple[int, ...]


class FaceWorker:
    """Holds the model, the classifier and the guard; :meth:`work` does one task."""

    def __init__(self, config: WorkerConfig):
        import torch
        torch.set_num_threads(1)  # the same arithmetic in every worker: the same pixels
        from facestudio.render.allocator import keep_freed_memory
        keep_freed_memory()
        from facestudio.analysis.attributes import load_bundled_classifier
        from facestudio.analysis.lookalike_guard import default_index_path, guard_for_model
        from facestudio.provenance import make_stamp
        from facestudio.provenance.export import ExportOptions
        from facestudio.render.renderer import open_renderer
        self.config = config
        self.spec = spec = json.loads(config.spec_json)
        self.renderer = open_renderer(config.model, batch_size=spec["batch"])
        g = self.renderer.generator
        if g.sha256 != spec["model_sha256"]:
            from facestudio.library.spec import LibrarySpecError
            raise LibrarySpecError(f"the worker loaded another model (sha256 {g.sha256[:12]}) than the library's "
                                   f"{spec['model_sha256'][:12]}")
        self.net = load_bundled_classifier()
        self.guard = guard_for_model(g.sha256, default_index_path())
        self.criteria = criteria_of_spec(spec)
        self.measurer = _measurer(self.net, required=bool(self.criteria.bounds))
        self.stamp = make_stamp(g.card.meta if g.card else {}, g.name, g.sha256)
        self.options = ExportOptions(format="jpeg" if spec["format"] == "jpg" else spec["format"],
                                     quality=spec["quality"], scale=spec["scale"], fast_png=True)
        self.incoming = Path(config.library) / INCOMING

    def memory_bytes(self) -> int:
        """This worker's resident memory in bytes (Linux's VmRSS; 0 elsewhere)."""
        try:
            with open("/proc/self/status") as f:
                return next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            return 0

    def work(self, task: Task) -> list[FaceRow]:
        from facestudio.analysis.audit import face_measures_and_boxes, measure_faces
        from facestudio.analysis.lookalike_guard import LookalikeVerdict, decide
        from facestudio.analysis.skin_tone import TONE_CATEGORIES
        from facestudio.latent.recipe import Recipe
        from facestudio.library.catalog import file_pixel_sha256, pixel_sha256
        from facestudio.provenance.guarded import export_face
        g, spec = self.renderer.generator, self.spec
        recipes = [Recipe(g.sha256, seed, psi=spec["psi"], model_name=g.name) for seed in task.seeds]
        images = self.renderer.render_batch(recipes, max_batch=spec["batch"])
        m, boxes = measure_faces(images, self.net), [None] * len(recipes)
        if self.measurer is not None:  # the faces the cheap filters keep, whose rows store the measures
            m, boxes = face_measures_and_boxes(m, images, self.measurer, self.criteria.matches_classified(m))
        matches = self.criteria.matches(m)
        kept = [i for i in range(len(recipes)) if matches[i]]  # only faces the filters keep are checked,
        # in one batch, from the boxes the measures found (one detector search a face)
        checked = dict(zip(kept, self.guard.check_each([images[i] for i in kept], [boxes[i] for i in kept])))
        results = []
        for i, (position, seed, recipe) in enumerate(zip(task.positions, task.seeds, recipes)):
            if matches[i]:
                verdict, embedding = checked[i]
            else:
                verdict, embedding = LookalikeVerdict(False, reason="left out by the filters"), None
            fields = decide(verdict, allowed=False)  # a library never writes a lookalike
            status = "filter" if not matches[i] else "lookalike" if fields is None else "written"
            file, sha = face_file(seed, spec["format"]), ""
            recipe_json = json.dumps(recipe.to_dict(), sort_keys=True)
            if status == "written":
                target = self.incoming / Path(file).name
                written: list = []
                export_face(images[i], target, self.stamp, recipe, self.options, overwrite=True,
                            xmp_extra={"LibrarySpec": self.config.spec_sha256}, verdict=verdict,
                            on_pixels=written.append)
                # a PNG holds the final pixels exactly; a JPEG or WebP is read back for what it holds
                sha = pixel_sha256(np.asarray(written[0])) if spec["format"] == "png" else file_pixel_sha256(target)
            measures = {k: v for k, v in m.face(i).items() if k in MEASURE_COLUMNS} if m.measures is not None else {}
            results.append(FaceRow(
                position, seed, file, recipe_json, g.sha256, sha, round(float(m.age[i]), 3),
                round(float(m.p_female[i]), 5), round(float(m.ita[i]), 3), TONE_CATEGORIES[int(m.tone[i])],
                verdict.distance, verdict.nearest,
                None if embedding is None else np.asarray(embedding, np.float32).tobytes(), now(), **measures,
                status=status))
        return results


def criteria_of_spec(spec: dict):
    """The :class:`~facestudio.analysis.selection.Criteria` a library spec (as a dict) filters by."""
    from facestudio.analysis.filters import LEGACY_CONFIDENCE, MeasureBound
    from facestudio.analysis.selection import Criteria
    return Criteria(age=tuple(spec["age"]) if spec["age"] else None, gender=spec["gender"], tone=spec["tone"],
                    confidence=float(spec.get("confidence", LEGACY_CONFIDENCE)),
                    bounds=tuple(MeasureBound.from_list(b) for b in spec.get("bounds", ())))


def _measurer(net, required: bool):
    """dlib's face measures, or None when dlib is missing and no filter needs them."""
    from facestudio.analysis.face_measures import FaceMeasurer
    from facestudio.analysis.identity import DlibMissingError
    try:
        return FaceMeasurer(net)
    except DlibMissingError:
        if required:
            raise
        return None
