"""tools/check_qt6.py: the lint step that fails on Qt 5-only API (``make lint``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.tool_modules import load_tool

ROOT = Path(__file__).resolve().parent.parent
check_qt6 = load_tool("check_qt6")

#: one of each kind of Qt 5-only use, with the line each is on
BAD = textwrap.dedent(
    """\
    from PyQt5.QtWidgets import QWidget
    import PyQt5.QtCore
    from qgis.PyQt.QtCore import Qt, QVariant
    from qgis.PyQt.QtWidgets import QDialog, QHeaderView, QMessageBox
    from qgis.PyQt.QtMultimedia import QMediaContent

    def show(dialog, header, item):
        dialog.exec_()
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        item.setTextAlignment(Qt.AlignRight)
        answer = QMessageBox.question(None, "t", "q", QMessageBox.Yes | QMessageBox.No)
        return answer == QMessageBox.Yes, QVariant.String
    """
)
BAD_LINES = {
    1: "PyQt5",
    2: "PyQt5",
    5: "QMediaContent",
    8: "exec_",
    9: "QHeaderView.Stretch",
    10: "Qt.AlignRight",
    11: "QMessageBox.Yes",
    12: "QVariant.String",
}
GOOD = textwrap.dedent(
    """\
    from qgis.PyQt.QtCore import Qt, QMetaType
    from qgis.PyQt.QtWidgets import QAction, QHeaderView, QMessageBox

    def show(dialog, header, item):
        dialog.exec()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        answer = QMessageBox.question(None, "t", "q", buttons)
        kind = getattr(QMetaType.Type, "QString")
        return answer == QMessageBox.StandardButton.Yes, QAction, kind
    """
)


def _findings(source: str, use_pyqt6: bool) -> dict[int, str]:
    found: dict[int, str] = {}
    for finding in check_qt6.check_source(source, Path("example.py"), use_pyqt6=use_pyqt6):
        found[finding.line] = found.get(finding.line, "") + finding.message + "\n"
    return found


def test_rule_set_flags_each_kind_of_qt5_only_use():
    found = _findings(BAD, use_pyqt6=False)
    assert set(found) == set(BAD_LINES), found
    for line, name in BAD_LINES.items():
        assert name in found[line], (line, found[line])
    assert "QMessageBox.No" in found[11]


def test_rule_set_passes_scoped_enums_exec_and_qgis_shim_names():
    assert _findings(GOOD, use_pyqt6=False) == {}


def test_pragma_keeps_a_deliberate_qt5_branch():
    source = "from qgis.PyQt.QtCore import QVariant\nkind = QVariant.String  # qt5-only\n"
    assert _findings(source, use_pyqt6=False) == {}
    assert _findings(source.replace("  # qt5-only", ""), use_pyqt6=False)


def test_command_fails_on_bad_code_and_passes_good_code(tmp_path: Path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "widget.py").write_text(BAD, encoding="utf-8")
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    tool = str(ROOT / "tools" / "check_qt6.py")
    bad = subprocess.run(
        [sys.executable, tool, "--rules-only", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert f"{tmp_path / 'bad' / 'widget.py'}:9: QHeaderView.Stretch" in bad.stdout
    good = subprocess.run(
        [sys.executable, tool, "--rules-only", str(tmp_path / "good.py")],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stdout
    missing = subprocess.run(
        [sys.executable, tool, str(tmp_path / "nothing.txt")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "nothing.txt" in missing.stderr


def test_plugin_and_tools_have_no_qt5_only_use():
    findings = []
    for path in check_qt6.python_files([ROOT / "sounding_qgis", ROOT / "tools"]):
        findings += check_qt6.check_source(path.read_text(encoding="utf-8"), path, False)
    assert findings == [], "\n".join(map(str, findings))


def test_names_checked_against_pyqt6(qt6_python: Path):
    """With PyQt6 (the venv ``make setup`` makes), each name is looked up in PyQt6 itself."""
    script = textwrap.dedent(
        f"""
        import importlib.util, json, sys
        from pathlib import Path
        tool = {str(ROOT / "tools" / "check_qt6.py")!r}
        spec = importlib.util.spec_from_file_location("c", tool)
        c = sys.modules["c"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(c)
        assert c.pyqt6_available()
        bad = c.check_source(sys.stdin.read(), Path("x.py"), use_pyqt6=True)
        print(json.dumps([[f.line, f.message] for f in bad]))
        """
    )
    source = BAD + "Qt.AlignmentFlag.AlignRigth\nQt.ItemDataRole.ToolTipRole\n"
    result = subprocess.run(
        [str(qt6_python), "-c", script], input=source, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    import json

    found = {line: message for line, message in json.loads(result.stdout)}
    # a misspelt member is caught by name, which no rule could see
    assert "AlignRigth" in found[13] and 14 not in found
    assert set(found) == set(BAD_LINES) | {13}, found


@pytest.fixture(scope="module")
def qt6_python() -> Path:
    """The PyQt6 venv's Python (``make setup``; tests/qt6_env.py says where)."""
    from tests.qt6_env import qt6_python as find

    return find()
