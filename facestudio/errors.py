"""The root of facestudio's own errors. Standard library only, so every package may import it.

A :class:`FacestudioError` is a problem with the input (a file, an option, a recipe) that the
user can fix; its message is one sentence meant for them. The command line shows it as it is;
anything else that escapes a command is a bug, reported as an internal error.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from facestudio.locations import data_dir


class FacestudioError(Exception):
    """Bad input, described in one sentence for the user; every project error derives from it."""


class InvalidValueError(FacestudioError, ValueError):
    """A value given to facestudio (a seed, a class index, an export option) that it cannot
    use; for the packages that have no error class of their own for it."""


# --- the internal-error log: what a bug left behind, for its report -------------------------

INTERNAL_ERROR_LOG = "internal-errors.log"
_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s")


def internal_error_handler(path: Path) -> logging.Handler:
    """A logging handler that appends entries (with tracebacks) to the internal-error log
    ``path``, in the one format every writer of that log uses."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(_FORMAT)
    return handler


def record_internal_error(exc: BaseException, where: str, folder: Path | None = None) -> Path:
    """Append ``exc`` and its traceback, as a bug in ``where``, to :data:`INTERNAL_ERROR_LOG`
    in ``folder`` (default: the data folder, :func:`facestudio.locations.data_dir`), or in
    the temporary folder when that one cannot be written. Returns the file written."""
    record = logging.LogRecord("facestudio.internal", logging.ERROR, __file__, 0, "internal error in %s",
                               (where,), (type(exc), exc, exc.__traceback__))
    entry = _FORMAT.format(record) + "\n"
    last: OSError | None = None
    for base in (Path(folder) if folder is not None else data_dir(), Path(tempfile.gettempdir())):
        path = base / INTERNAL_ERROR_LOG
        try:
            base.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as f:
                f.write(entry)
            return path
        except OSError as error:
            last = error
    raise last
