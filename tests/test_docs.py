"""The README and docs/: the README stays a first screen, every relative link resolves, and
the command-line reference is the parser's own help (regenerate it with `make docs`)."""

import re
from pathlib import Path

import pytest

from facestudio.commands import cli_reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "packaging" / "README.md", *DOCS]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchors_of(page: Path) -> set[str]:
    """GitHub's anchors for the headings of ``page``: lower case, punctuation dropped, spaces to -."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+\s+(.*)$", text, re.M)}


def links_of(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    for link in links_of(page):
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name} links to {link}, which does not exist"
        assert ROOT in path.parents or path == ROOT, f"{page.name} links outside the repository: {link}"
        if anchor and path.suffix == ".md":
            assert anchor in anchors_of(path), f"{page.name} links to {link}: no such heading"


def test_the_pages_link_to_each_other():
    assert sum(len(links_of(p)) for p in PAGES) > 40
    readme = links_of(ROOT / "README.md")
    for doc in ("docs/user-guide.md", "docs/cli.md", "docs/api.md", "docs/architecture.md",
                "docs/formats-and-provenance.md", "docs/benchmarks.md", "LICENSE"):
        assert doc in readme


def test_the_architecture_names_every_package():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.name for p in (ROOT / "facestudio").iterdir() if (p / "__init__.py").is_file())
    assert [p for p in packages if f"`{p}/`" not in text] == []


def test_the_readme_is_a_first_screen():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200
    head = "\n".join(lines[:25])
    assert "make run" in head and "make test" in head
    first_section_end = next(i for i, line in enumerate(lines) if i > 0 and line.startswith("## "))
    assert first_section_end < 80
    assert "docs/screenshot.png" in "\n".join(lines[:first_section_end])
    assert any("facestudio render" in line for line in lines[:80])


def test_the_cli_reference_is_current():
    text = cli_reference.render_reference()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == text, \
        "docs/cli.md is stale: run `make docs` and commit it"
    for command in ("render", "grid", "library build", "find", "doctor"):
        assert f"## facestudio {command}\n" in text


def test_the_reference_check_fails_when_stale(tmp_path, capsys):
    stale = tmp_path / "cli.md"
    stale.write_text(cli_reference.render_reference().replace("--psi PSI", "--psi X", 1), encoding="utf-8")
    assert cli_reference.main(["--out", str(stale), "--check"]) == 1
    assert cli_reference.main(["--out", str(stale)]) == 0
    assert cli_reference.main(["--out", str(stale), "--check"]) == 0
