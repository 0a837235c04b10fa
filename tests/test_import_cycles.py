"""No import cycles in the package (DESIGN.md: "There are no import cycles").

Every module of ``facestudio`` is parsed (not imported) and every import in it counts, the
ones inside functions too: a lazy import that hides a cycle is still a cycle. Relative
imports are resolved, and ``from pkg import name`` points at the module ``pkg.name`` when
there is one, else at ``pkg`` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "facestudio"


def module_names(package_dir: Path) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file under ``package_dir``."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``module`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(_known(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base.pop()
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else _known(source, modules))
    found.discard(None)
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    modules = module_names(package_dir)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, and self-imports (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def described(found: list[list[str]]) -> str:
    return "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_walker_sees_relative_lazy_and_from_package_imports(tmp_path):
    package = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .sub import b\n",  # relative, `from package import module`
        "pkg/sub/__init__.py": "from pkg.sub.c import thing\n",
        "pkg/sub/b.py": "def f():\n    from ..sub import c\n",  # lazy, two levels up
        "pkg/sub/c.py": "import pkg.a as a\nthing = 1\n",
        "pkg/d.py": "from . import d\n",  # a module importing itself
        "pkg/e.py": "from pkg.sub import thing\nimport os\n",  # a name of the package
    })
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert graph["pkg.e"] == {"pkg.sub"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.sub.c"], ["pkg.d"]]


def test_the_walker_finds_no_cycle_in_a_tree(tmp_path):
    package = _write(tmp_path, {"pkg/__init__.py": "from pkg import a\n",
                                "pkg/a.py": "from pkg.b import x\n", "pkg/b.py": "x = 1\n"})
    assert cycles(import_graph(package)) == []


def test_the_package_has_no_import_cycle():
    found = cycles(import_graph(PACKAGE_DIR))
    assert not found, described(found)


def test_nothing_below_the_command_line_imports_it():
    """DESIGN.md: ``commands`` sits on top of everything and nothing imports it."""
    importers = sorted(name for name, targets in import_graph(PACKAGE_DIR).items()
                       if not name.startswith(("facestudio.commands", "facestudio.__main__"))
                       and any(t.startswith("facestudio.commands") for t in targets))
    assert not importers, f"modules below the command line import it: {importers}"
