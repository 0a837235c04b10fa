"""The stock library: build specs, the SQLite catalogue, the coordinator and its engines
(local processes, Ray). No Qt; no command-line code."""
