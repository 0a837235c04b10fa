"""Where resources and the bundled model are found: source tree, wheel data, PyInstaller build."""

import sys
from pathlib import Path

from facestudio import locations
from facestudio.provenance.terms import load_templates

ROOT = Path(locations.__file__).resolve().parents[1]


def make_layout(root):
    (root / "resources" / "terms").mkdir(parents=True)
    (root / "resources" / "terms" / "non-commercial.txt").write_text("title: Frozen terms\n---\nFrozen text.\n")
    (root / "resources" / "facestudio.svg").write_text("<svg/>")
    (root / "weights").mkdir()
    (root / "weights" / "model.safetensors").write_bytes(b"x")
    return root


def test_source_tree():
    assert locations.resources_dir() == ROOT / "resources"
    assert locations.terms_dir() == ROOT / "resources" / "terms"
    assert locations.icon_path().is_file()
    assert locations.bundled_weights_dir() == ROOT / "weights"
    assert not locations.is_frozen()


def test_a_pyinstaller_build_uses_its_bundle(monkeypatch, tmp_path):
    bundle = make_layout(tmp_path / "_internal")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert locations.is_frozen()
    assert locations.resources_dir() == bundle / "resources"
    assert locations.bundled_weights_dir() == bundle / "weights"
    assert load_templates(locations.terms_dir())["non-commercial"].title == "Frozen terms"


def test_a_wheel_install_uses_the_shared_data(monkeypatch, tmp_path):
    share = make_layout(tmp_path / "prefix" / "share" / "facestudio")
    monkeypatch.setattr(locations, "_roots", lambda: [tmp_path / "no-source-tree", share])
    assert locations.resources_dir() == share / "resources"
    assert locations.bundled_weights_dir() == share / "weights"


def test_nothing_found_names_the_first_place(monkeypatch, tmp_path):
    monkeypatch.setattr(locations, "_roots", lambda: [tmp_path / "a", tmp_path / "b"])
    assert locations.resources_dir() == tmp_path / "a" / "resources"
    assert load_templates(locations.terms_dir())  # the built-in text stands in


def test_roots_include_the_install_prefix():
    assert any(r.parts[-2:] == ("share", "facestudio") for r in locations._roots())
