"""The root of facestudio's own errors. Standard library only, so every package may import it.

A :class:`FacestudioError` is a problem with the input (a file, an option, a recipe) that the
user can fix; its message is one sentence meant for them. The command line shows it as it is;
anything else that escapes a command is a bug, reported as an internal error.
"""

from __future__ import annotations


class FacestudioError(Exception):
    """Bad input, described in one sentence for the user; every project error derives from it."""
