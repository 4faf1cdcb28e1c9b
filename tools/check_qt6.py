"""Find Qt 5-only API in Python files: what would raise under PyQt6 (QGIS 4).

    python tools/check_qt6.py [PATH ...]        (default: sounding_qgis tools)

Reads each file's syntax tree (nothing is imported or run) and reports, one line each
(``file:line: message``), and exits 1 when it found any:

- a direct ``PyQt5``/``PyQt6`` import (the plugin reaches Qt through ``qgis.PyQt``,
  which QGIS maps to the Qt it was built with);
- a call of ``exec_()`` (PyQt6 has only ``exec()``);
- a name imported from ``qgis.PyQt.<module>`` that PyQt6 lacks (``QMediaContent``,
  ``QRegExp``, ...);
- an attribute of a Qt class that PyQt6 lacks, above all an enum member without its
  enum (``Qt.AlignRight`` must be ``Qt.AlignmentFlag.AlignRight``,
  ``QMessageBox.Yes`` must be ``QMessageBox.StandardButton.Yes``).

Where PyQt6 is importable (``make setup`` puts it into a venv of its own; ``make lint``
runs this script with that venv's Python) every attribute chain is looked up name by
name in PyQt6's modules. Without PyQt6 (or for a module whose Qt libraries do not
load, such as QtMultimedia without PulseAudio) a rule stands in: an upper-case
attribute of a Qt class that is not itself followed by a member (``Qt.AlignRight``) is
an unscoped enum member.

A line that is Qt 5 code on purpose (the Qt 5 side of a version switch) carries the
comment ``# qt5-only``, and is not reported.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATHS = ("sounding_qgis", "tools")
#: the comment that marks a line as deliberate Qt 5 code
PRAGMA = "# qt5-only"
#: names QGIS's own ``qgis.PyQt`` modules add under Qt 6 (module -> name -> PyQt6 module):
#: QAction, QActionGroup and QShortcut moved to QtGui in Qt 6, and QGIS keeps them
#: importable from ``qgis.PyQt.QtWidgets`` (qgis/QGIS pull requests 55658 and 57467).
QGIS_SHIM_NAMES = {
    "QtWidgets": {"QAction": "QtGui", "QActionGroup": "QtGui", "QShortcut": "QtGui"},
    "QtCore": {"NULL": "QtCore"},
}
#: classes gone in Qt 6, for the rule set (PyQt6 itself knows them all)
REMOVED_IN_QT6 = {
    "QtCore": {"QRegExp", "QTextCodec"},
    "QtWidgets": {"QDesktopWidget"},
    "QtMultimedia": {"QMediaContent", "QMediaPlaylist", "QSound"},
}


@dataclass(frozen=True)
class Finding:
    """One Qt 5-only use."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _pyqt6_module(name: str):
    """PyQt6's module ``name``, or None when PyQt6 or that module's Qt libraries are missing."""
    try:
        return importlib.import_module(f"PyQt6.{name}")
    except ImportError:
        return None


class _Checker(ast.NodeVisitor):
    def __init__(self, path: Path, source: str, use_pyqt6: bool) -> None:
        self.path = path
        self.lines = source.splitlines()
        self.use_pyqt6 = use_pyqt6
        self.findings: list[Finding] = []
        #: local name -> (Qt module, class name)
        self.qt_names: dict[str, tuple[str, str]] = {}
        self._parents: dict[ast.AST, ast.AST] = {}

    # --- reporting ----------------------------------------------------------------------
    def report(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 0)
        end = getattr(node, "end_lineno", line) or line
        if any(PRAGMA in self.lines[i - 1] for i in range(line, end + 1) if i <= len(self.lines)):
            return
        self.findings.append(Finding(self.path, line, message))

    # --- imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802 (ast's name)
        for alias in node.names:
            if alias.name.split(".")[0] in ("PyQt5", "PyQt6"):
                self.report(node, f"import {alias.name}: import Qt through qgis.PyQt instead")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        module = node.module or ""
        top = module.split(".")[0]
        if top in ("PyQt5", "PyQt6"):
            self.report(node, f"from {module} import ...: import Qt through qgis.PyQt instead")
        elif module.startswith("qgis.PyQt."):
            qt_module = module.split(".")[2]
            for alias in node.names:
                self._check_imported_name(node, qt_module, alias.name)
                self.qt_names[alias.asname or alias.name] = (qt_module, alias.name)
        self.generic_visit(node)

    def _check_imported_name(self, node: ast.AST, qt_module: str, name: str) -> None:
        if name == "*":
            return
        if name in QGIS_SHIM_NAMES.get(qt_module, {}):
            return
        if name in REMOVED_IN_QT6.get(qt_module, set()):
            self.report(node, f"{name} does not exist in Qt 6 ({qt_module})")
            return
        module = _pyqt6_module(qt_module) if self.use_pyqt6 else None
        if module is not None and not hasattr(module, name):
            self.report(node, f"{name} does not exist in PyQt6.{qt_module}")

    # --- calls and attributes -------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:  # noqa: N802
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "exec_":
            self.report(node, "exec_() is Qt 5 only: call exec()")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:  # noqa: N802
        parent = self._parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            self.generic_visit(node)  # not the whole chain: its parent is checked
            return
        chain = _chain(node)
        if chain is not None and chain[0] in self.qt_names:
            self._check_chain(node, chain)
        self.generic_visit(node)

    def _check_chain(self, node: ast.AST, chain: list[str]) -> None:
        qt_module, class_name = self.qt_names[chain[0]]
        home = QGIS_SHIM_NAMES.get(qt_module, {}).get(class_name, qt_module)
        module = _pyqt6_module(home) if self.use_pyqt6 else None
        dotted = ".".join([class_name, *chain[1:]])
        if module is not None:
            target = getattr(module, class_name, None)
            if target is None:
                return  # reported at the import
            for depth, attribute in enumerate(chain[1:], start=1):
                if not hasattr(target, attribute):
                    known = ".".join([class_name, *chain[1:depth]])
                    self.report(node, f"{dotted}: PyQt6's {known} has no {attribute!r}")
                    return
                target = getattr(target, attribute)
            return
        # the rule set: Class.Member with an upper-case member and nothing after it
        # (getattr(Class.Enum, name) looks a member of the enum up: not one itself)
        parent = self._parents.get(node)
        looked_up = (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Name)
            and parent.func.id in ("getattr", "hasattr")
            and parent.args[:1] == [node]
        )
        if len(chain) == 2 and chain[1][:1].isupper() and not looked_up:
            self.report(node, f"{dotted}: unscoped enum member (write Class.Enum.Member)")

    def check(self, tree: ast.AST) -> list[Finding]:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self._parents[child] = parent
        self.visit(tree)
        return self.findings


def _chain(node: ast.Attribute) -> list[str] | None:
    """``["Qt", "AlignmentFlag", "AlignRight"]`` for ``Qt.AlignmentFlag.AlignRight``."""
    names: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    names.append(current.id)
    return names[::-1]


def pyqt6_available() -> bool:
    """Whether PyQt6's QtCore imports here (then every name is checked against PyQt6)."""
    return _pyqt6_module("QtCore") is not None


def check_source(source: str, path: Path, use_pyqt6: bool | None = None) -> list[Finding]:
    """The Qt 5-only uses in ``source`` (the text of ``path``).

    Raises:
        SyntaxError: ``source`` is not Python.
    """
    use = pyqt6_available() if use_pyqt6 is None else use_pyqt6
    return _Checker(path, source, use).check(ast.parse(source, filename=str(path)))


def python_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The ``.py`` files of ``paths`` (files, or folders searched recursively), sorted."""
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.suffix == ".py":
            yield path
        else:
            raise FileNotFoundError(f"{path}: not a Python file or folder")


def main(argv: list[str] | None = None) -> int:
    """Check the files; print the findings; 0 when there are none, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument(
        "--rules-only",
        action="store_true",
        help="use the rule set even where PyQt6 is importable",
    )
    args = parser.parse_args(argv)
    use_pyqt6 = False if args.rules_only else pyqt6_available()
    findings: list[Finding] = []
    count = 0
    try:
        for path in python_files(args.paths):
            count += 1
            findings += check_source(path.read_text(encoding="utf-8"), path, use_pyqt6)
    except (OSError, SyntaxError) as error:
        print(f"check_qt6: {error}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    how = "names checked against PyQt6" if use_pyqt6 else "rule set (PyQt6 not importable)"
    print(
        f"check_qt6: {count} files, {len(findings)} Qt 5-only uses ({how})",
        file=sys.stderr,
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
