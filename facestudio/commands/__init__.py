"""The command line: the parser and composition root (:mod:`.main`), the shared argument and
output helpers, and one module per family of commands. Nothing in the package imports this
one; only ``facestudio/__main__.py``, the packaged app and the tests do."""
