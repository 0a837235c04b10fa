"""Model cards: a Markdown file whose front matter carries machine-readable metadata.

The front matter is a block of ``key: value`` lines between two ``---`` lines at the top
of ``MODEL_CARD.md``. The export stamps licence and attribution from it, so the keys
below are a contract: ``name``, ``license``, ``license_url``, ``attribution``, ``terms``,
``trained`` (true / partial / false), ``resolution``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from facestudio.fileio import InputFileError, read_limited
from facestudio.generator.errors import ModelLoadError

CARD_FILE = "MODEL_CARD.md"
MAX_CARD_BYTES = 1 << 20  # the bundled card is about 3 KB


@dataclass
class ModelCard:
    """Parsed card: ``meta`` holds the front matter, ``body`` the Markdown text after it."""

    meta: dict[str, str] = field(default_factory=dict)
    body: str = ""

    @property
    def license(self) -> str | None:
        return self.meta.get("license")

    @property
    def license_url(self) -> str | None:
        return self.meta.get("license_url")

    @property
    def attribution(self) -> str | None:
        return self.meta.get("attribution")

    def to_text(self) -> str:
        head = "".join(f"{k}: {v}\n" for k, v in self.meta.items())
        return f"---\n{head}---\n{self.body}"


def parse_card(text: str) -> ModelCard:
    """Parse card text; a card without front matter has empty ``meta``."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return ModelCard({}, text)
    meta: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return ModelCard(meta, "".join(lines[i + 1:]))
        if ":" in line:
            key, _, value = line.partition(":")
            meta[key.strip()] = value.strip()
    return ModelCard({}, text)  # unterminated front matter: treat it all as body


def read_card_beside(path: Path) -> ModelCard | None:
    """The card in ``path`` (a folder) or beside ``path`` (a file), if there is one.

    A card that is larger than :data:`MAX_CARD_BYTES`, not a regular file, unreadable or not
    UTF-8 raises :class:`~facestudio.generator.errors.ModelLoadError` (one sentence): its
    licence and attribution are stamped into every export, so it is never skipped silently.
    """
    folder = path if path.is_dir() else path.parent
    card = folder / CARD_FILE
    if not card.exists():
        return None
    try:
        return parse_card(read_limited(card, MAX_CARD_BYTES, "the model card").decode("utf-8"))
    except InputFileError as exc:
        raise ModelLoadError(str(exc)) from None
    except UnicodeDecodeError:
        raise ModelLoadError(f"the model card {card} is not UTF-8 text") from None
    except OSError as exc:
        raise ModelLoadError(f"the model card {card} cannot be read ({exc.strerror or exc})") from None
