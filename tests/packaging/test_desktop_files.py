"""The desktop entry, the AppStream metainfo, the icon and the PyInstaller spec; the wheel's
data files; and the self-check that ``make dist`` runs on the built app."""

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from configparser import ConfigParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facestudio.locations import APP_ID

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
MIME = PACKAGING / f"{APP_ID}.mime.xml"
SESSION_TYPE = "application/x-facestudio-session"
SPEC = PACKAGING / "facestudio.spec"
ICON = ROOT / "resources" / "facestudio.svg"


def run_validator(tool: str, *args: str) -> subprocess.CompletedProcess:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: the Makefile's system-packages install it)")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)


def test_desktop_entry_validates():
    done = run_validator("desktop-file-validate", str(DESKTOP))
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_metainfo_validates():
    done = run_validator("appstreamcli", "validate", "--no-net", str(METAINFO))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_session_type_builds_a_mime_database(tmp_path):
    """shared-mime-info's own compiler accepts the file and maps *.fsession to the type (it
    exits 0 even on a file it cannot parse, so what it wrote and said is checked)."""
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(MIME, packages / MIME.name)
    if shutil.which("update-mime-database") is None:
        pytest.skip("update-mime-database is not installed (Debian: shared-mime-info, in the Makefile's list)")
    done = subprocess.run(["update-mime-database", str(tmp_path / "mime")], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path),
                                           "XDG_DATA_DIRS": "/usr/share"})
    said = done.stdout + done.stderr
    assert done.returncode == 0 and not re.search(r"(?i)fail|error|warn", said), said
    globs = (tmp_path / "mime" / "globs2").read_text().splitlines()
    assert f"50:{SESSION_TYPE}:*.fsession" in globs
    assert f"{SESSION_TYPE} application/zip" in (tmp_path / "mime" / "subclasses").read_text().splitlines()
    assert (tmp_path / "mime" / "application" / "x-facestudio-session.xml").is_file()


def test_the_session_type_is_declared_once_with_comment_glob_and_zip_parent():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(MIME).getroot()
    assert root.tag == "{http://www.freedesktop.org/standards/shared-mime-info}mime-info"
    (kind,) = root.findall("m:mime-type", ns)
    assert kind.get("type") == SESSION_TYPE
    assert kind.findtext("m:comment", namespaces=ns)
    assert [g.get("pattern") for g in kind.findall("m:glob", ns)] == ["*.fsession"]
    assert [p.get("type") for p in kind.findall("m:sub-class-of", ns)] == ["application/zip"]
    from facestudio.session.document import SESSION_SUFFIX
    assert SESSION_SUFFIX == ".fsession"


def test_desktop_entry_metainfo_and_icon_agree():
    entry = ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP, encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"] == "facestudio %f" and desktop["Terminal"] == "false"  # one file, as gui FILE
    assert desktop["TryExec"] == "facestudio"  # a program name: GLib hides entries whose TryExec is not found
    assert SESSION_TYPE in desktop["MimeType"].split(";")
    assert desktop["Icon"] == ICON.stem
    meta = ET.parse(METAINFO).getroot()
    assert meta.findtext("id") == APP_ID
    assert meta.findtext("launchable") == DESKTOP.name
    assert meta.findtext("provides/binary") == "facestudio"
    assert meta.findtext("provides/mediatype") == SESSION_TYPE
    assert meta.findtext("url[@type='homepage']").startswith("https://")
    shots = meta.findall("screenshots/screenshot")
    assert shots and sum(s.get("type") == "default" for s in shots) == 1
    for shot in shots:
        assert shot.findtext("caption")
        url = shot.findtext("image")
        local = ROOT / url.split("/main/", 1)[1]  # the published copy of a file in this repository
        assert url.startswith("https://") and local.is_file(), url
        with Image.open(local) as im:
            image = shot.find("image")
            assert (int(image.get("width")), int(image.get("height"))) == im.size
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta.find("releases/release").get("version") == project["project"]["version"]
    data_files = project["tool"]["setuptools"]["data-files"]
    assert data_files["share/applications"] == [f"packaging/{DESKTOP.name}"]
    assert data_files["share/metainfo"] == [f"packaging/{METAINFO.name}"]
    assert data_files["share/mime/packages"] == [f"packaging/{MIME.name}"]
    assert data_files["share/icons/hicolor/scalable/apps"] == [f"resources/{ICON.name}"]


def test_icon_is_a_square_svg():
    svg = ET.parse(ICON).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    x, y, w, h = (float(v) for v in svg.get("viewBox").split())
    assert (x, y) == (0, 0) and w == h >= 48


def test_spec_bundles_the_model_and_the_resources():
    text = SPEC.read_text()
    compile(text, str(SPEC), "exec")
    assert re.search(r'ROOT / "weights"\), "weights"', text)
    assert re.search(r'ROOT / "resources"\), "resources"', text)
    assert 'collect_submodules("facestudio")' in text and "facestudio_app.py" in text
    assert (ROOT / "weights" / "model.safetensors").is_file()
    assert (PACKAGING / "facestudio_app.py").is_file()
    makefile = (ROOT / "Makefile").read_text()
    assert "packaging/facestudio.spec" in makefile and "packaging/selfcheck.py dist/facestudio" in makefile
    assert "make dist" in (ROOT / ".ci" / "run").read_text()


def load_selfcheck():
    spec = importlib.util.spec_from_file_location("selfcheck", PACKAGING / "selfcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_selfcheck_tells_a_window_from_a_blank_picture(tmp_path):
    selfcheck = load_selfcheck()
    rng = np.random.default_rng(0)
    window = np.full((820, 1280, 3), 40, np.uint8)
    window[100:612, 300:812] = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)  # a "face"
    Image.fromarray(window).save(tmp_path / "window.png")
    assert "1280 x 820" in selfcheck.check_screenshot(tmp_path / "window.png")
    Image.fromarray(np.full((820, 1280, 3), 40, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(selfcheck.CheckFailed, match="bytes|blank"):
        selfcheck.check_screenshot(tmp_path / "blank.png")
    Image.fromarray(window[100:400, 300:600]).save(tmp_path / "small.png")
    with pytest.raises(selfcheck.CheckFailed, match="smaller than a studio window"):
        selfcheck.check_screenshot(tmp_path / "small.png")
    with pytest.raises(selfcheck.CheckFailed, match="no screenshot"):
        selfcheck.check_screenshot(tmp_path / "missing.png")
    assert selfcheck.main([str(tmp_path / "no-build")]) == 1


@pytest.mark.slow
def test_a_wheel_carries_the_resources_the_model_and_the_desktop_files(tmp_path):
    """Built offline from a copy of the sources, so the checkout is left alone."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "facestudio", src / "facestudio", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("resources", "weights"):
        shutil.copytree(ROOT / folder, src / folder)
    (src / "packaging").mkdir()
    for path in (DESKTOP, METAINFO, MIME, ROOT / "pyproject.toml", ROOT / "README.md"):
        shutil.copy(path, src / ("packaging" if path.parent == PACKAGING else "") / path.name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "wheel").glob("facestudio-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/data/")[0] + "/data/" for n in names if "/data/" in n)
    for want in ("share/facestudio/resources/terms/non-commercial.txt",
                 "share/facestudio/resources/terms/non-commercial-research.txt",
                 "share/facestudio/resources/facestudio.svg", "share/facestudio/weights/model.safetensors",
                 "share/facestudio/weights/config.json", "share/facestudio/weights/MODEL_CARD.md",
                 f"share/applications/{DESKTOP.name}", f"share/metainfo/{METAINFO.name}",
                 f"share/mime/packages/{MIME.name}",
                 "share/icons/hicolor/scalable/apps/facestudio.svg"):
        assert data + want in names, want
    assert "facestudio/models/download.py" in names and "facestudio/locations.py" in names
