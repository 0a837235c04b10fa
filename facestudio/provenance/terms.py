"""What an exported file says about itself: the :class:`Stamp` and the terms templates.

A stamp gathers the facts every exported file carries: the AI-generated disclosure (fixed,
it cannot be switched off), the artist, the attribution line, the licence and the terms of
use, and the model's identity. Its defaults come from the model card's front matter
(``name``, ``license``, ``license_url``, ``attribution``); the user may change the artist and
the attribution and add text to the terms, never remove the disclosure.

Templates live in ``resources/terms/*.txt`` (``title: ...``, ``---``, then the text with
``{attribution}``, ``{license}``, ``{license_url}`` and ``{model}`` placeholders).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from facestudio import __version__
from facestudio.locations import terms_dir
from facestudio.timestamps import now_iso

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
AI_DISCLOSURE = "AI-generated image: the person shown does not exist."
TOOL_NAME = f"facestudio {__version__}"
TERMS_FOLDER = terms_dir()
DEFAULT_TEMPLATE = "non-commercial"
RESEARCH_TEMPLATE = "non-commercial-research"
PLACEHOLDERS = ("attribution", "license", "license_url", "model")

# used only when resources/ cannot be found (see facestudio.locations)
_FALLBACK_TEXT = ("Terms of use: non-commercial use only. Credit \"{attribution}\" wherever the image "
                  "is shown. Do not use this image to impersonate a real person or to deceive anyone "
                  "about who or what it shows. Do not use it in identity documents, or to pass an "
                  "identity check. Model licence: {license} ({license_url}).")


@dataclass(frozen=True)
class TermsTemplate:
    """One terms template: ``id`` (file stem), ``title`` (for menus), ``text`` (with placeholders)."""

    id: str
    title: str
    text: str

    def fill(self, values: dict[str, str]) -> str:
        """The text with the known placeholders replaced (other braces are left alone)."""
        text = self.text
        for key in PLACEHOLDERS:
            text = text.replace("{" + key + "}", values.get(key) or "unknown")
        return text


def parse_template(template_id: str, text: str) -> TermsTemplate:
    head, sep, body = text.partition("\n---\n")
    title = template_id
    if sep:
        for line in head.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "title" and value.strip():
                title = value.strip()
    else:
        body = text
    return TermsTemplate(template_id, title, " ".join(body.split()))


def load_templates(folder: Path = TERMS_FOLDER) -> dict[str, TermsTemplate]:
    """All templates in ``folder`` by id (the default one first); never empty."""
    found: dict[str, TermsTemplate] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.txt")):
            try:
                found[path.stem] = parse_template(path.stem, path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
    if DEFAULT_TEMPLATE not in found:
        found[DEFAULT_TEMPLATE] = TermsTemplate(DEFAULT_TEMPLATE, "Non-commercial use, attribution required",
                                                _FALLBACK_TEXT)
    return {DEFAULT_TEMPLATE: found.pop(DEFAULT_TEMPLATE), **found}


def default_template_id(card_meta: dict[str, str], templates: dict[str, TermsTemplate]) -> str:
    """The research-only template when the model's licence says research, else the default."""
    licence = (card_meta.get("license") or "").lower()
    if "research" in licence and RESEARCH_TEMPLATE in templates:
        return RESEARCH_TEMPLATE
    return DEFAULT_TEMPLATE


@dataclass(frozen=True)
class Stamp:
    """The provenance facts written into a file.

    artist: who made the picture (``dc:creator``, EXIF Artist; may be empty);
    attribution: the credit line (``cc:attributionName``, ``photoshop:Credit``);
    license_name / license_url: the model's licence (``cc:license``, ``xmpRights:WebStatement``);
    terms: the full terms of use (``dc:rights``, ``xmpRights:UsageTerms``, EXIF Copyright);
    model_name / model_sha256: the model's identity; note: the user's extra description;
    created: ISO 8601 time of the export.
    """

    terms: str
    artist: str = ""
    attribution: str = ""
    license_name: str = ""
    license_url: str = ""
    model_name: str = ""
    model_sha256: str = ""
    note: str = ""
    created: str = field(default_factory=now_iso)

    source_type = DIGITAL_SOURCE_TYPE
    disclosure = AI_DISCLOSURE
    creator_tool = TOOL_NAME

    @property
    def model_line(self) -> str:
        """``name (sha256 abc...)``, or what is known of it."""
        sha = f"sha256 {self.model_sha256}" if self.model_sha256 else ""
        if self.model_name and sha:
            return f"{self.model_name} ({sha})"
        return self.model_name or sha or "an unknown model"

    @property
    def description(self) -> str:
        """The disclosure, what made the image, then the user's note: always starts with the disclosure."""
        text = f"{AI_DISCLOSURE} Made with {TOOL_NAME} from the model {self.model_line}."
        return f"{text} {self.note.strip()}" if self.note.strip() else text

    def with_changes(self, **changes) -> "Stamp":
        return replace(self, **changes)


def make_stamp(card_meta: dict[str, str] | None, model_name: str = "", model_sha256: str = "",
               artist: str = "", attribution: str | None = None, template_id: str | None = None,
               additional_terms: str = "", note: str = "",
               templates: dict[str, TermsTemplate] | None = None) -> Stamp:
    """A stamp with the card's defaults; ``attribution`` None keeps the card's line, and
    ``additional_terms`` is appended to the template's text."""
    meta = dict(card_meta or {})
    templates = templates or load_templates()
    template = templates.get(template_id or default_template_id(meta, templates)) or templates[DEFAULT_TEMPLATE]
    name = model_name or meta.get("name", "")
    if attribution is None or not attribution.strip():
        attribution = meta.get("attribution") or f"Made with facestudio and the model {name or 'unknown'}"
    values = {"attribution": attribution.strip(), "license": meta.get("license", ""),
              "license_url": meta.get("license_url", ""), "model": name}
    terms = template.fill(values)
    if additional_terms.strip():
        terms = f"{terms} {' '.join(additional_terms.split())}"
    return Stamp(terms=terms, artist=artist.strip(), attribution=attribution.strip(),
                 license_name=meta.get("license", ""), license_url=meta.get("license_url", ""),
                 model_name=name, model_sha256=model_sha256, note=note.strip())
