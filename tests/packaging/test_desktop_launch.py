"""The desktop entry launches the studio the way a desktop does: ``gio launch`` (GLib, as
GNOME's and other GLib-based menus) on a virtual X screen, with ``facestudio`` found on PATH.

The ``facestudio`` on PATH here is a shim that runs this checkout's studio with
``--screenshot``, so that it quits once it shows its first face; everything else is the
entry as shipped: GLib checks ``TryExec`` and runs ``Exec``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from facestudio.locations import APP_ID

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "packaging" / f"{APP_ID}.desktop"

needs_tools = pytest.mark.skipif(not (shutil.which("gio") and shutil.which("xvfb-run")),
                                 reason="gio and xvfb-run are needed (Debian: libglib2.0-bin, xvfb)")


def shim(folder: Path, shot: Path) -> Path:
    """``folder/facestudio``: records its arguments and runs the studio, which screenshots and quits."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "facestudio"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    program.write_text(f"""#!/bin/sh
echo "$@" > "{folder / 'argv.txt'}"
exec env PYTHONPATH="{path}" QT_QPA_PLATFORM=xcb "{sys.executable}" -m facestudio gui --screenshot "{shot}" "$@"
""")
    program.chmod(0o755)
    return program


def launch(entry: Path, tmp_path: Path, *files: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "FACESTUDIO_DATA": str(tmp_path / "data"),
           "FACESTUDIO_CACHE": os.environ.get("FACESTUDIO_CACHE", str(tmp_path / "cache"))}
    wait = f'for i in $(seq 1 150); do [ -s "{tmp_path / "shot.png"}" ] && exit 0; sleep 1; done; exit 9'
    return subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "sh", "-c",
                           f'gio launch "{entry}" {" ".join(files)} && {wait}'],
                          capture_output=True, text=True, timeout=200, env=env)


@needs_tools
@pytest.mark.slow
def test_gio_launches_the_studio_from_the_desktop_entry(tmp_path):
    shot = tmp_path / "shot.png"
    shim(tmp_path / "bin", shot)
    done = launch(DESKTOP, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "bin" / "argv.txt").read_text().strip() == ""  # %f without a file: no argument
    with Image.open(shot) as im:
        assert im.width >= 1000 and im.height >= 600  # the studio's window, with its first face


@needs_tools
def test_gio_refuses_an_entry_whose_try_exec_is_a_command_line(tmp_path):
    """What the entry used to say: GLib looks for a program called "facestudio %f" and gives up."""
    shim(tmp_path / "bin", tmp_path / "shot.png")
    broken = tmp_path / DESKTOP.name
    broken.write_text(DESKTOP.read_text().replace("TryExec=facestudio\n", "TryExec=facestudio %f\n"))
    done = launch(broken, tmp_path)
    assert done.returncode != 0 and "Unable to load application information" in done.stderr
    assert not (tmp_path / "bin" / "argv.txt").exists()
