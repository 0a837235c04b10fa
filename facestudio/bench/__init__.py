"""``facestudio bench``: how fast a model renders, previews, re-renders and follows a drag.

:mod:`.plan` sizes a run to a time budget, :mod:`.measure` measures, :mod:`.report` words
every line. A package of its own above ``render/``: the renderer does not carry its
command-line tool.
"""
