"""Keeping freed memory: on for the studio and the command line, off where asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys
from facestudio.render import allocator
print(allocator.keep_freed_memory(), allocator.keep_freed_memory())
"""


def run(env_value: str | None) -> str:
    import os
    env = {k: v for k, v in os.environ.items() if k != "FACESTUDIO_KEEP_FREED_MEMORY"}
    if env_value is not None:
        env["FACESTUDIO_KEEP_FREED_MEMORY"] = env_value
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.slow
def test_glibc_keeps_freed_memory_unless_told_not_to():
    assert run(None) == "True True"  # applied once, and asking again says the same
    assert run("0") == "False False"
