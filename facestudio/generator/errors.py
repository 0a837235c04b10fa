"""Errors the generator package raises for bad model files; each message is one clear sentence."""

from facestudio.errors import FacestudioError


class ModelLoadError(FacestudioError):
    """A weight file is missing, truncated, of an unknown format, hostile, or inconsistent.

    The message is a single sentence fit to show a user (CLI stderr or a dialog).
    """


class UnsafePickleError(ModelLoadError):
    """A pickle asked for something outside the allow-list; nothing from it was executed."""
