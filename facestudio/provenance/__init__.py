"""Provenance: what every exported file says about itself, and reading it back.

* :mod:`.terms` — the :class:`Stamp` (disclosure, artist, attribution, licence, terms, model)
  and the terms templates in ``resources/terms``;
* :mod:`.xmp`, :mod:`.embed` — the XMP packet, EXIF and PNG text, encoded in memory;
* :mod:`.caption` — the optional visible caption;
* :mod:`.export` — :func:`export_image`, the one atomic way a face is written;
* :mod:`.sequence` — strips of frames: one sheet, an animated WebP / GIF
  (:func:`~.sequence.export_animation`) or numbered frames, every file stamped;
* :mod:`.gif_xmp` — the XMP block of a GIF, which Pillow neither writes nor reads;
* :mod:`.batch` — file-name patterns, batch plans and contact sheets;
* :mod:`.reader` — :func:`read_provenance` for ``facestudio inspect`` and drag-and-drop;
* :mod:`.c2pa_sign` — the optional C2PA manifest (``pip install 'facestudio[c2pa]'``).

Imports only the session package, Pillow and the standard library (and c2pa when asked).
"""

from facestudio.provenance.caption import CORNERS, Caption
from facestudio.provenance.export import ExportError, ExportOptions, export_image, sidecar_path
from facestudio.provenance.reader import Provenance, ProvenanceReadError, format_report, read_provenance
from facestudio.provenance.terms import AI_DISCLOSURE, DIGITAL_SOURCE_TYPE, Stamp, load_templates, make_stamp

__all__ = [
    "AI_DISCLOSURE", "CORNERS", "Caption", "DIGITAL_SOURCE_TYPE", "ExportError", "ExportOptions",
    "Provenance", "ProvenanceReadError", "Stamp", "export_image", "format_report", "load_templates",
    "make_stamp", "read_provenance", "sidecar_path",
]
