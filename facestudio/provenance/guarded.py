"""The one way a face leaves facestudio: checked for lookalikes, then stamped and written.

:func:`export_face` is what the command line, the studio, the stock library and the public
Python API (:mod:`facestudio.api`) write faces with. Before a byte is written, the faces
the file shows are compared with real photos (:mod:`facestudio.analysis.lookalike_guard`);
the one policy :func:`~facestudio.analysis.lookalike_guard.decide` refuses a face that
resembles one (:class:`LookalikeRefused`) unless the caller allows it, and otherwise the
verdict goes into the file's XMP beside the provenance stamp and the invisible watermark of
:func:`~facestudio.provenance.export.export_image`. A caller that has checked the faces
already (the studio on its measuring thread, the library in batches) passes its verdict;
anyone else passes a guard, or gets the default guard of the stamp's model.

Imports the lookalike guard (and through it dlib) only when a face is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from facestudio.provenance import export
from facestudio.provenance.export import ExportError, ExportOptions
from facestudio.provenance.terms import Stamp

if TYPE_CHECKING:
    from facestudio.analysis.lookalike_guard import LookalikeGuard, LookalikeVerdict
    from facestudio.latent.recipe import Recipe

DEFAULT_OVERRIDE = "allow lookalikes to write it anyway"


class LookalikeRefused(ExportError):
    """The face resembles a real photo and writing such faces was not allowed; one sentence.
    ``verdict`` is the check that refused it."""

    def __init__(self, sentence: str, verdict: "LookalikeVerdict"):
        super().__init__(sentence)
        self.verdict = verdict


@dataclass(frozen=True)
class CheckedExport:
    """What :func:`export_face` wrote: the files, the check's XMP properties and its verdict."""

    paths: list[Path]
    lookalike: dict[str, str]
    verdict: "LookalikeVerdict"


def default_guard(model_sha256: str) -> "LookalikeGuard":
    """The guard of a model: the bundled training-set index when it was built for the model
    (:func:`~facestudio.analysis.lookalike_guard.guard_for_model`)."""
    from facestudio.analysis.lookalike_guard import default_index_path, guard_for_model
    return guard_for_model(model_sha256, default_index_path())


def export_face(image: Any, path: Path, stamp: Stamp, recipe: "Recipe | dict | None" = None,
                options: ExportOptions | None = None, overwrite: bool = False,
                xmp_extra: dict[str, str] | None = None, *, guard: "LookalikeGuard | None" = None,
                verdict: "LookalikeVerdict | None" = None, faces: Sequence[Any] | None = None,
                allowed: bool = False, override: str = DEFAULT_OVERRIDE,
                on_pixels: Callable[[Any], None] | None = None) -> CheckedExport:
    """Check ``faces`` (default: ``image`` itself; a sheet passes the faces it is made of)
    for lookalikes, then write ``image`` to ``path`` with the stamp and the verdict.

    ``verdict``: the check already made (nothing is measured again); else ``guard`` checks
    (default: :func:`default_guard` of ``stamp.model_sha256``). Raises
    :class:`LookalikeRefused` (naming ``override``, how the caller's user allows it) when a
    face resembles a real photo and ``allowed`` is False, and
    :class:`~facestudio.provenance.export.ExportError` when the file cannot be written;
    either way nothing is written.
    """
    from facestudio.analysis.lookalike_guard import decide
    if verdict is None:
        guard = guard if guard is not None else default_guard(stamp.model_sha256)
        verdict = guard.check([image] if faces is None else list(faces))
    fields = decide(verdict, allowed)
    if fields is None:
        raise LookalikeRefused(verdict.refusal(Path(path).name, override), verdict)
    paths = export.export_image(image, path, stamp, recipe, options, overwrite, {**(xmp_extra or {}), **fields},
                         on_pixels)
    return CheckedExport(paths, fields, verdict)
