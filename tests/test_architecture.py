"""Guard-rail: backend/ never imports QGIS or Qt, so it runs headless on servers."""

from __future__ import annotations

import ast
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
