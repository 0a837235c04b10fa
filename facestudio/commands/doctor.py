"""``facestudio doctor``: what a bug report needs to know about this machine, one line a check.

Each check gives ``ok``, ``warn`` (works, but something is missing or optional) or ``FAIL``
(facestudio cannot work like this). The command exits 0 unless a check fails. The Qt check
starts the platform plugin in a child process, because a plugin that cannot load aborts the
process that loads it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from facestudio import __version__
from facestudio.bounded_json import dumps_strict
from facestudio.locations import is_frozen, terms_dir

OK, WARN, FAIL = "ok", "warn", "FAIL"
QT_PROBE_TIMEOUT_S = 60
QT_HINT = ("install the Debian packages listed in the Makefile (libxcb-cursor0 and friends), "
           "or run headless with QT_QPA_PLATFORM=offscreen")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``name``, ``status`` (ok / warn / FAIL) and ``detail``."""

    name: str
    status: str
    detail: str


def check_python() -> Check:
    v = sys.version_info
    text = f"{platform.python_version()} ({sys.executable}) on {platform.platform()}"
    return Check("python", OK if v >= (3, 11) else FAIL, text if v >= (3, 11) else f"{text}: needs 3.11 or newer")


def check_facestudio() -> Check:
    where = f"frozen build in {Path(sys.executable).parent}" if is_frozen() else \
        f"from {Path(__file__).resolve().parent}"
    return Check("facestudio", OK, f"{__version__}, {where}")


def check_torch() -> Check:
    try:
        import torch
    except Exception as exc:  # an import of a broken install can fail in many ways
        return Check("torch", FAIL, f"cannot import torch: {exc}")
    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only build"
    return Check("torch", OK, f"{torch.__version__} ({build})")


def check_threads() -> Check:
    import torch
    return Check("threads", OK, f"torch uses {torch.get_num_threads()} of {os.cpu_count()} CPU cores "
                 "(--threads N changes it)")


def check_bf16() -> Check:
    import torch

    from facestudio.training.loop import fast_bf16
    cpu = fast_bf16(torch.device("cpu"))
    text = "CPU has bf16 matrix units (AMX / AVX-512 BF16)" if cpu else "CPU has no bf16 matrix units"
    if torch.cuda.is_available():
        text += f"; GPU bf16: {'yes' if fast_bf16(torch.device('cuda')) else 'no'}"
    return Check("bf16", OK, text)


def check_device() -> Check:
    from facestudio.generator.device import DEVICE_ENV, device_setting, pick_device
    from facestudio.generator.errors import ModelLoadError
    setting = device_setting()
    try:
        device = pick_device(setting)
    except ModelLoadError as exc:
        return Check("device", FAIL, str(exc))
    return Check("device", OK, f"renders on {device} ({DEVICE_ENV}={setting})")


def check_gpu() -> Check:
    import torch
    from facestudio.generator.device import cuda_usable
    if cuda_usable():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return Check("gpu", OK, f"CUDA: {', '.join(names)}")
    if torch.version.cuda:
        return Check("gpu", WARN, "this torch is built for CUDA, but no usable GPU or driver was found")
    return Check("gpu", OK, "none used: the CPU build of torch renders on the CPU "
                 "(packaging/README.md says how to use an NVIDIA GPU)")


def check_libraries() -> Check:
    found, absent, broken = [], [], []  # broken: installed, but the import fails
    for module, essential in (("numpy", True), ("PIL", True), ("safetensors", True), ("PySide6", True),
                              ("pyqtgraph", True), ("c2pa", False), ("dlib", False)):
        if importlib.util.find_spec(module) is None:
            absent.append((module, essential))
            continue
        try:
            found.append(f"{module} {getattr(importlib.import_module(module), '__version__', '?')}")
        except Exception as exc:  # a broken install can fail in many ways
            broken.append((f"{module} ({type(exc).__name__}: {exc})", essential))
    text = ", ".join(found)
    failed = [m for m, essential in absent + broken if essential]
    if failed:
        return Check("libraries", FAIL, f"cannot import {'; '.join(failed)}; found {text}")
    if broken:
        return Check("libraries", WARN, f"{text}; the optional {'; '.join(m for m, _ in broken)} does not load")
    if absent:
        return Check("libraries", OK, f"{text} (optional, not installed: {', '.join(m for m, _ in absent)})")
    return Check("libraries", OK, text)


def qt_probe_command() -> list[str]:
    """How to start the Qt platform plugin in a child process."""
    if is_frozen():
        return [sys.executable, "doctor", "--qt-probe"]
    return [sys.executable, "-c", "import sys, facestudio.commands.doctor as d; sys.exit(d.qt_probe())"]


def qt_probe() -> int:
    """(In the child.) Start a QGuiApplication and print the platform plugin's name."""
    from PySide6 import QtGui
    app = QtGui.QGuiApplication([sys.argv[0] or "facestudio"])
    print(app.platformName())
    return 0


def check_qt() -> Check:
    forced = os.environ.get("QT_QPA_PLATFORM")
    if (sys.platform.startswith("linux") and not forced
            and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))):
        return Check("qt", WARN, "no display (DISPLAY and WAYLAND_DISPLAY are unset): the studio window needs "
                     "one; the command line works, and QT_QPA_PLATFORM=offscreen runs the window headless")
    try:
        done = subprocess.run(qt_probe_command(), capture_output=True, text=True, timeout=QT_PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("qt", FAIL, f"the Qt platform plugin did not start: {exc}")
    name = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not name:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        qpa = [line.partition(": ")[2] for line in lines if line.startswith("qt.qpa")]
        why = qpa[0] if qpa else lines[-1] if lines else f"exit status {done.returncode}"
        return Check("qt", FAIL, f"the Qt platform plugin does not start ({why}): {QT_HINT}")
    import PySide6
    return Check("qt", OK, f"PySide6 {PySide6.__version__}, platform plugin {name!r}"
                 + (f" (QT_QPA_PLATFORM={forced})" if forced else ""))


def _writable(path: Path) -> bool:
    """Whether ``path`` can be created or written: the nearest existing ancestor decides."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


def check_folders() -> Check:
    from facestudio.locations import cache_dir, config_dir, data_dir, models_dir
    folders = {"data": data_dir(), "models": models_dir(), "cache": cache_dir(), "settings": config_dir(),
               "temp": Path(tempfile.gettempdir())}
    bad = [f"{k} {p}" for k, p in folders.items() if not _writable(p)]
    text = "; ".join(f"{k} {p}" for k, p in folders.items())
    if bad:
        return Check("folders", WARN, f"not writable: {', '.join(bad)}")
    return Check("folders", OK, f"writable: {text}")


def check_bundled_model() -> Check:
    from facestudio.generator.formats.loader import bundled_model_path
    path = bundled_model_path()
    weights = path / "model.safetensors" if path.is_dir() else path
    if not weights.is_file():
        return Check("model", FAIL, f"the bundled model is missing: {weights} does not exist")
    return Check("model", OK, f"bundled model {path} ({weights.stat().st_size / 2**20:.1f} MiB)")


def check_resources() -> Check:
    folder = terms_dir()
    found = sorted(p.stem for p in folder.glob("*.txt")) if folder.is_dir() else []
    if not found:
        return Check("resources", WARN, f"no terms templates in {folder}: exports use the built-in text")
    return Check("resources", OK, f"terms templates {', '.join(found)} in {folder}")


def check_exiftool() -> Check:
    exe = shutil.which("exiftool")
    if not exe:
        return Check("exiftool", WARN, "not found (optional: `exiftool -G1 face.jpg` shows an export's stamp)")
    try:
        version = subprocess.run([exe, "-ver"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = "?"
    return Check("exiftool", OK, f"{exe} {version}")


CHECKS: tuple[Callable[[], Check], ...] = (
    check_python, check_facestudio, check_torch, check_threads, check_bf16, check_device, check_gpu,
    check_libraries, check_qt, check_folders, check_bundled_model, check_resources, check_exiftool,
)
NEEDS_TORCH = {check_threads, check_bf16, check_device, check_gpu}


def run_checks(checks: tuple[Callable[[], Check], ...] | None = None) -> list[Check]:
    """Every check (default :data:`CHECKS`), in order; one that raises is a FAIL with its message."""
    results: list[Check] = []
    torch_ok = True
    for check in checks if checks is not None else CHECKS:
        name = check.__name__.removeprefix("check_")
        if check in NEEDS_TORCH and not torch_ok:
            results.append(Check(name, FAIL, "skipped: torch cannot be imported"))
            continue
        try:
            result = check()
        except Exception as exc:
            result = Check(name, FAIL, f"the check itself failed: {type(exc).__name__}: {exc}")
        if check is check_torch and result.status == FAIL:
            torch_ok = False
        results.append(result)
    return results


def format_checks(results: list[Check]) -> str:
    width = max(len(r.name) for r in results)
    lines = [f"{r.status:<4}  {r.name:<{width}}  {r.detail}" for r in results]
    failed = sum(r.status == FAIL for r in results)
    warned = sum(r.status == WARN for r in results)
    lines.append(f"{failed} failed, {warned} warnings, {len(results) - failed - warned} ok")
    return "\n".join(lines)


def doctor(as_json: bool = False) -> int:
    """Print the report; 0 unless an essential check failed."""
    results = run_checks()
    print(dumps_strict([asdict(r) for r in results], indent=2) if as_json else format_checks(results))
    return 1 if any(r.status == FAIL for r in results) else 0


def cmd_doctor(args) -> int:
    return qt_probe() if args.qt_probe else doctor(as_json=args.json)


def add_parser(sub) -> None:
    sp = sub.add_parser("doctor", help="check this machine for bug reports (Python, torch, GPU, Qt, folders)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    sp.set_defaults(func=cmd_doctor)
