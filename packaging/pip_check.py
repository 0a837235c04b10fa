"""What ``pip install .`` gives a newcomer, checked: build the wheel from this tree, install it
with its declared dependencies only (no extras, nothing by hand; ``constraints.txt`` keeps
torch on its CPU build) into a new virtual environment, then render a face with the installed
``facestudio`` and read the file back: it must carry the provenance stamp and the invisible
watermark. ``make pip-check`` runs it; exit status 0 when all of that holds.

Usage: ``python packaging/pip_check.py [--python python3.11] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kw)


def check(work: Path, python: str) -> dict:
    """Build, install and exercise the wheel in ``work``; the facts seen (raises on failure)."""
    wheels, venv, home = work / "wheels", work / "venv", work / "home"
    home.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ROOT])
    (wheel,) = wheels.glob("facestudio-*.whl")
    run([python, "-m", "venv", venv])
    pip, facestudio = venv / "bin" / "pip", venv / "bin" / "facestudio"
    run([pip, "install", "-q", "-c", ROOT / "constraints.txt", wheel])
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "FACESTUDIO_DATA": str(home / "data"), "FACESTUDIO_CACHE": str(home / "cache")}
    face = work / "face.png"
    rendered = json.loads(run([facestudio, "render", "--seed", "42", "--out", face, "--json"], cwd=work, env=env,
                              capture_output=True).stdout)
    read = json.loads(run([facestudio, "inspect", face, "--json"], cwd=work, env=env, capture_output=True).stdout)
    facts = {"wheel": wheel.name, "written": rendered["written"], "model": rendered["stamp"]["model"],
             "digital_source_type": read.get("digital_source_type"), "model_sha256": read.get("model"),
             "watermark_found": bool(read.get("watermark", {}).get("found"))}
    if not facts["watermark_found"]:
        raise SystemExit(f"pip check: {face} carries no readable watermark: {json.dumps(read.get('watermark'))}")
    if not str(read.get("digital_source_type", "")).endswith("trainedAlgorithmicMedia"):
        raise SystemExit(f"pip check: {face} does not say it is AI-generated")
    if (read.get("recipe") or {}).get("seed") != 42:
        raise SystemExit("pip check: the rendered face does not carry its recipe")
    return facts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--python", default="python3", help="the interpreter of the new environment (3.11)")
    ap.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it (default: a temporary folder)")
    args = ap.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="facestudio-pip-"))
    try:
        facts = check(work, args.python)
    except subprocess.CalledProcessError as exc:
        print(f"pip check: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode})\n{exc.stderr or ''}",
              file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
