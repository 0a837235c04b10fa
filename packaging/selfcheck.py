"""Check a built facestudio (``make dist`` runs it): ``python packaging/selfcheck.py dist/facestudio``.

Runs the built program headless (``QT_QPA_PLATFORM=offscreen``) with its own settings, data
and cache folders in a temporary folder: ``--version``, ``doctor``, ``render`` + ``inspect``
on the bundled model (stamp, watermark and lookalike verdict), and the window's ``gui --screenshot`` self-check, whose picture must
exist, be window-sized and show more than a blank window. Exit status 0 when all pass;
otherwise one line saying what failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIN_SIZE = (800, 500)  # the studio window is 1280 x 820 by default
MIN_BYTES = 20_000
MIN_COLOURS = 500
MIN_STD = 12.0


class CheckFailed(Exception):
    pass


def check_screenshot(path: Path) -> str:
    """Raise CheckFailed unless ``path`` is a PNG of a window with real content; describe it."""
    from PIL import Image, ImageStat

    if not path.is_file():
        raise CheckFailed(f"no screenshot was written to {path}")
    if path.stat().st_size < MIN_BYTES:
        raise CheckFailed(f"the screenshot {path} has only {path.stat().st_size} bytes")
    with Image.open(path) as img:
        if img.format != "PNG":
            raise CheckFailed(f"the screenshot is {img.format}, not PNG")
        rgb = img.convert("RGB")
    if rgb.width < MIN_SIZE[0] or rgb.height < MIN_SIZE[1]:
        raise CheckFailed(f"the screenshot is {rgb.width} x {rgb.height}, smaller than a studio window")
    colours = len(rgb.getcolors(maxcolors=1 << 20) or [])
    std = sum(ImageStat.Stat(rgb).stddev) / 3
    if colours < MIN_COLOURS or std < MIN_STD:
        raise CheckFailed(f"the screenshot looks blank ({colours} colours, contrast {std:.1f})")
    return f"{rgb.width} x {rgb.height} px, {colours} colours, contrast {std:.1f}"


def run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"{' '.join(cmd[1:])} did not finish within {timeout:.0f} s") from None
    print(f"  {' '.join(cmd[1:])}: exit {done.returncode} in {time.monotonic() - start:.1f} s")
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise CheckFailed(f"{' '.join(cmd[1:])} failed with exit status {done.returncode}: {' | '.join(tail)}")
    return done


def selfcheck(app_dir: Path, keep: Path | None = None, timeout: float = 300) -> None:
    exe = app_dir / ("facestudio.exe" if sys.platform == "win32" else "facestudio")
    if not exe.is_file():
        raise CheckFailed(f"{exe} does not exist: build it first (make dist)")
    with tempfile.TemporaryDirectory(prefix="facestudio-selfcheck-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FACESTUDIO_", "XDG_")) and k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                   XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
                   XDG_RUNTIME_DIR=str(home / "runtime"))
        (home / "runtime").mkdir(mode=0o700)
        version = run([str(exe), "--version"], env, 60).stdout.strip()
        if not version.startswith("facestudio "):
            raise CheckFailed(f"--version printed {version!r}")
        print(run([str(exe), "doctor"], env, 120).stdout)
        face = home / "face.png"
        run([str(exe), "render", "--seed", "42", "--psi", "0.7", "--out", str(face)], env, timeout)
        report = run([str(exe), "inspect", str(face)], env, 60).stdout
        if "AI-generated" not in report:
            raise CheckFailed("the rendered face carries no AI-generated disclosure")
        if "found: made by facestudio" not in report:  # facestudio's own watermark (numpy)
            raise CheckFailed("the rendered face carries no invisible watermark")
        lookalike = next((line for line in report.splitlines() if line.startswith("lookalike")), "")
        if "no resemblance (training photos" not in lookalike:  # the build carries dlib, its models and the index
            raise CheckFailed(f"the rendered face was not checked against the training photos ({lookalike.strip()!r})")
        encoder = home / "encoder"  # a torch optimiser runs (it imports torch's compiler and sympy)
        encoder.mkdir()
        run([str(exe), "train-encoder", "--tiny", "--steps", "2", "--run", str(encoder / "run"),
             "--out-dir", str(encoder)], env, timeout)
        if not (encoder / "encoder.safetensors").is_file():
            raise CheckFailed("train-encoder --tiny wrote no encoder")
        shot = home / "screenshot.png"
        run([str(exe), "gui", "--screenshot", str(shot)], env, timeout)
        print(f"  screenshot: {check_screenshot(shot)}")
        if keep is not None:
            shutil.copyfile(shot, keep)
            print(f"  kept the screenshot as {keep}")
    print(f"{version}: the built app passed its self-check")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("app_dir", type=Path, help="the one-folder build, e.g. dist/facestudio")
    p.add_argument("--keep-screenshot", type=Path, default=None, help="copy the screenshot here")
    p.add_argument("--timeout", type=float, default=300, help="seconds for each command (default 300)")
    args = p.parse_args(argv)
    try:
        selfcheck(args.app_dir, args.keep_screenshot, args.timeout)
    except CheckFailed as exc:
        print(f"selfcheck: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
