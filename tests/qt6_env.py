"""Where the PyQt6 venv of the Qt 6 checks is (``make setup`` makes it, outside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: the Makefile's QT6_VENV (exported under this name); the default is the Makefile's too
QT6_VENV_ENV = "SOUNDING_EARTH_QT6_VENV"
DEFAULT_QT6_VENV = Path.home() / ".cache" / "sounding-earth" / "pyqt6-venv"


def qt6_python() -> Path:
    """The venv's Python; the test fails (it is not skipped) when ``make setup`` has not made it."""
    venv = Path(os.environ.get(QT6_VENV_ENV) or DEFAULT_QT6_VENV)
    python = venv / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"{python} is missing: run `make setup` (it installs PyQt6 there)")
    return python
