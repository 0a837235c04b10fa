"""Opening an image file whose size is bounded before a pixel is decoded.

Every reader of images someone else may have made (a photo to check for lookalikes, a folder
of photos, a library's face files) opens them with :func:`open_bounded_image`: only a
regular file (:func:`facestudio.fileio.open_regular`: a pipe or a device is refused at once),
at most ``max_bytes`` on disk, declaring at most ``max_pixels`` pixels and no side more than
``max_aspect`` times the other. Pillow's own bomb warning becomes the same refusal, so
nothing is printed raw. A refusal is :class:`ImageLimitError`, one sentence.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Iterator

from PIL import Image, UnidentifiedImageError

from facestudio.errors import FacestudioError
from facestudio.fileio import InputFileError, open_regular
from facestudio.shown_text import shown


class ImageLimitError(FacestudioError, ValueError):
    """An image file that is not read: not a regular file, too large, too many pixels, too
    long and thin, or not an image; one sentence."""


@contextlib.contextmanager
def open_bounded_image(path: str | Path, what: str, max_pixels: int, max_bytes: int,
                       max_aspect: float | None = None) -> Iterator[Image.Image]:
    """The image at ``path``, opened (not decoded) after the checks above; ``what`` names it
    in the refusal (``"the face photo"``). Decoding errors inside the block are the caller's."""
    name = shown(path)
    try:
        f = open_regular(Path(path), what)
    except InputFileError as exc:
        raise ImageLimitError(shown(exc)) from None
    except OSError as exc:
        raise ImageLimitError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size > max_bytes:
            raise ImageLimitError(f"{what} {name} is larger than the {max_bytes >> 20} MiB such an image may be, "
                                  "so it is not read")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(f)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageLimitError(f"{what} {name} declares far more pixels than such an image has, so it is "
                                  "not decoded") from None
        except (UnidentifiedImageError, SyntaxError, ValueError, EOFError, OSError) as exc:
            raise ImageLimitError(f"cannot read {what} {name}: it is not an image facestudio can open "
                                  f"({shown(exc)})") from None
        with img:
            w, h = img.size
            if w < 1 or h < 1 or w * h > max_pixels:
                raise ImageLimitError(f"{what} {name} declares {w} x {h} pixels, more than the "
                                      f"{max_pixels / 1e6:g} megapixels such an image may have, so it is not decoded")
            if max_aspect is not None and max(w, h) > max_aspect * min(w, h):
                raise ImageLimitError(f"{what} {name} is {w} x {h} pixels, more than {max_aspect:g} times longer "
                                      "than it is wide, so it is not a photo of a face and is not decoded")
            yield img
