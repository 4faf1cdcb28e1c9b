"""Guard-rail: backend/ never imports QGIS or Qt, so it runs headless on servers."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_ROOTS = {
    "qgis",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "sip",
    "processing",
    "sounding_qgis",
}


def forbidden_imports(source: str, filename: str) -> list[str]:
    """Every import statement in ``source`` whose top-level module is forbidden."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in {
            "import_module",
            "__import__",
        }:
            names = [
                a.value
                for a in node.args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if root in FORBIDDEN_ROOTS or root.startswith("Qt"):
                found.append(f"{filename}:{node.lineno}: imports {name}")
    return found


BACKEND_MODULES = sorted((ROOT / "backend").rglob("*.py"))


def test_backend_has_modules():
    assert len(BACKEND_MODULES) >= 5


@pytest.mark.parametrize("path", BACKEND_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_backend_module_imports_no_qgis_or_qt(path: Path):
    assert forbidden_imports(path.read_text(encoding="utf-8"), str(path)) == []


@pytest.mark.parametrize(
    "source",
    [
        "import qgis.core",
        "from qgis.PyQt.QtCore import QObject",
        "from PyQt5 import QtWidgets",
        "import importlib\nimportlib.import_module('qgis.core')",
        "def f():\n    from PyQt6.QtCore import Qt\n",
    ],
)
def test_guard_rail_catches_forbidden_imports(source: str):
    assert forbidden_imports(source, "example.py")


# --------------------------------------------------------------------------- import circles
# A module that imports another, which imports it back (directly or through others),
# has no clear layer: neither can be read, tested or changed without the other.
# Every import counts, also those inside functions (they only defer the circle).

PACKAGES = ("backend", "sounding_qgis")

#: import circles that exist today and have an owner; each entry is a pair of modules
#: whose imports of each other are not counted. Remove an entry when its circle is gone.
ALLOWED_CIRCLES: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    """``backend/demo/report.py`` → ``backend.demo.report``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name."""
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported_modules(
    source: str, module: str, is_package: bool, known: set[str]
) -> list[tuple[str, int]]:
    """``(module, line)`` of every project module that ``source`` imports, anywhere in it.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module,
    else ``pkg``; relative imports are resolved against ``module``.
    """

    def deepest_known(name: str) -> str | None:
        parts = name.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        return ".".join(parts) or None

    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append(submodule if submodule in known else base)
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in {"import_module", "__import__"}:
            targets = [
                a.value
                for a in node.args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        for target in targets:
            resolved = deepest_known(target)
            if resolved is not None and resolved != module:
                found.append((resolved, node.lineno))
    return found


def import_graph(
    sources: dict[str, tuple[str, bool]],
) -> dict[str, dict[str, int]]:
    """``{module: {imported module: first line}}`` over ``{module: (source, is_package)}``.

    A submodule is not linked to its parent package: Python runs the package's
    ``__init__`` first, but that is how packages work, not a circle in the code.
    """
    known = set(sources)
    graph: dict[str, dict[str, int]] = {}
    for module, (source, is_package) in sources.items():
        edges: dict[str, int] = {}
        for target, line in imported_modules(source, module, is_package, known):
            edges.setdefault(target, line)
        graph[module] = edges
    return graph


def import_circles(
    graph: dict[str, dict[str, int]], allowed: set[frozenset[str]] = frozenset()
) -> list[list[str]]:
    """One circle (``[a, b, ..., a]``) per group of modules that import each other.

    Edges between the two modules of an ``allowed`` pair are left out first.
    """
    edges = {
        module: sorted(t for t in targets if frozenset({module, t}) not in allowed)
        for module, targets in graph.items()
    }
    # Tarjan's strongly connected components, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in edges:
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    circles = []
    for group in sorted(groups):
        # the shortest way from the group's first module back to itself, inside the group
        start, members = group[0], set(group)
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            following = []
            for node in frontier:
                for child in edges[node]:
                    if child in members and child not in previous:
                        previous[child] = node
                        following.append(child)
            frontier = following
        path = [start]
        while len(path) == 1 or path[-1] != start:
            path.append(previous[path[-1]])
        circles.append(path[::-1])
    return circles


def project_import_graph() -> dict[str, dict[str, int]]:
    """The import graph of every module of the packages."""
    return import_graph(
        {
            name: (path.read_text(encoding="utf-8"), path.name == "__init__.py")
            for name, path in project_modules().items()
        }
    )


def describe_circle(circle: list[str], graph: dict[str, dict[str, int]]) -> str:
    """``a (line 12) → b (line 40) → a``: each step with the line of its import."""
    steps = [f"{a} (line {graph[a][b]})" for a, b in itertools.pairwise(circle)]
    return " → ".join(steps + [circle[-1]])


def test_no_import_circles():
    graph = project_import_graph()
    circles = import_circles(graph, ALLOWED_CIRCLES)
    assert not circles, "import circles:\n" + "\n".join(describe_circle(c, graph) for c in circles)


def test_allowed_circles_still_exist():
    """An allowed circle that is gone must leave the allow-list, so it cannot come back."""
    graph = project_import_graph()
    gone = [
        sorted(pair)
        for pair in ALLOWED_CIRCLES
        if not import_circles({m: graph.get(m, {}) for m in pair})
    ]
    assert not gone, f"no longer circles, remove them from ALLOWED_CIRCLES: {gone}"


def _graph_of(files: dict[str, str]) -> dict[str, dict[str, int]]:
    return import_graph(
        {
            module_name(ROOT / path): (source, path.endswith("__init__.py"))
            for path, source in files.items()
        }
    )


def test_circle_guard_finds_a_function_level_circle():
    graph = _graph_of(
        {
            "backend/demo/a.py": "from backend.demo.b import B\n",
            "backend/demo/b.py": "def f():\n    from backend.demo import a\n",
            "backend/demo/__init__.py": "",
        }
    )
    assert import_circles(graph) == [["backend.demo.a", "backend.demo.b", "backend.demo.a"]]
    assert "(line 2)" in describe_circle(import_circles(graph)[0], graph)


def test_circle_guard_finds_a_long_relative_circle():
    graph = _graph_of(
        {
            "sounding_qgis/__init__.py": "",
            "sounding_qgis/a.py": "from .b import x\n",
            "sounding_qgis/b.py": "from . import c\n",
            "sounding_qgis/c.py": "import sounding_qgis.a\n",
        }
    )
    assert import_circles(graph) == [
        ["sounding_qgis.a", "sounding_qgis.b", "sounding_qgis.c", "sounding_qgis.a"]
    ]


def test_circle_guard_ignores_one_way_imports_and_allowed_pairs():
    graph = _graph_of(
        {
            "backend/__init__.py": "",
            "backend/x.py": "import backend.y\nfrom backend import z\n",
            "backend/y.py": "from backend.z import thing\n",
            "backend/z.py": "import numpy\n",
        }
    )
    assert import_circles(graph) == []
    circle = _graph_of({"backend/x.py": "import backend.y\n", "backend/y.py": "import backend.x\n"})
    assert import_circles(circle) == [["backend.x", "backend.y", "backend.x"]]
    assert import_circles(circle, {frozenset({"backend.x", "backend.y"})}) == []


# --------------------------------------------------------------------------- long files
# A file much longer than this holds more than one concept: split it by concept
# (see docs/modules.md), not into arbitrary parts.

MAX_LINES = 800

#: files over MAX_LINES today, each with why it may be for now. Remove an entry
#: once its file is split; the test fails when a listed file is short again.
LONG_FILES_ALLOWED: dict[str, str] = {}


def _line_counts() -> dict[str, int]:
    return {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def test_no_file_is_over_the_line_limit():
    long = {
        path: lines
        for path, lines in _line_counts().items()
        if lines > MAX_LINES and path not in LONG_FILES_ALLOWED
    }
    assert not long, f"over {MAX_LINES} lines (split by concept): {long}"


def test_allowed_long_files_are_still_long():
    counts = _line_counts()
    short = [path for path in LONG_FILES_ALLOWED if counts.get(path, 0) <= MAX_LINES]
    assert not short, f"no longer over {MAX_LINES} lines, remove from LONG_FILES_ALLOWED: {short}"
