"""A visible caption drawn onto the pixels: text in a corner, on a dark band, at an opacity.

The caption survives what metadata does not (screenshots, re-encoding by websites), which is
why the export panel offers it; it is drawn after scaling so the text is crisp.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, features

CORNERS = ("bottom-right", "bottom-left", "top-right", "top-left")
DEFAULT_CAPTION = "AI-generated · not a real person"


@dataclass(frozen=True)
class Caption:
    """text: one line; corner: one of :data:`CORNERS`; opacity: 0-1 (of text and band)."""

    text: str = DEFAULT_CAPTION
    corner: str = "bottom-right"
    opacity: float = 0.8

    def __post_init__(self):
        if self.corner not in CORNERS:
            raise ValueError(f"caption corner must be one of {', '.join(CORNERS)}, got {self.corner!r}")
        if not 0.0 <= float(self.opacity) <= 1.0:
            raise ValueError(f"caption opacity must be between 0 and 1, got {self.opacity}")
        if "\n" in self.text or "\r" in self.text:
            raise ValueError("a caption must fit on one line")


def load_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if features.check("freetype2"):
        return ImageFont.load_default(size=size)
    return ImageFont.load_default()


def _fitting_font(draw: ImageDraw.ImageDraw, text: str, width: int, height: int):
    """The largest font (up to 1/14 of the height) whose text fits 90 % of the width."""
    size = max(6, height // 14)
    while True:
        font = load_font(size)
        box = draw.textbbox((0, 0), text, font=font)
        if box[2] - box[0] <= width * 0.9 or size <= 6:
            return font, box
        size = max(6, int(size * 0.85))


def draw_caption(image: Image.Image, caption: Caption | None) -> Image.Image:
    """A new RGB image with ``caption`` drawn in its corner (the same image when None or empty)."""
    if caption is None or not caption.text.strip() or caption.opacity <= 0:
        return image
    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    text = caption.text.strip()
    font, box = _fitting_font(draw, text, base.width, base.height)
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    pad = max(2, text_h // 3)
    band_w, band_h = text_w + 2 * pad, text_h + 2 * pad
    x = base.width - band_w if caption.corner.endswith("right") else 0
    y = base.height - band_h if caption.corner.startswith("bottom") else 0
    alpha = round(255 * float(caption.opacity))
    draw.rectangle([x, y, x + band_w - 1, y + band_h - 1], fill=(0, 0, 0, alpha // 2))
    draw.text((x + pad - box[0], y + pad - box[1]), text, font=font, fill=(255, 255, 255, alpha))
    return Image.alpha_composite(base, overlay).convert("RGB")
