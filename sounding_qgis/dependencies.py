"""Finding, reporting and installing the backend's Python packages for QGIS's Python."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backend.deps import REQUIRED_PACKAGES, requirements_for

#: folder name, under the QGIS profile's python folder, where our packages go
DEPENDENCY_FOLDER_NAME = "sounding_earth_deps"


def dependency_folder() -> Path:
    """The folder (inside the active QGIS profile) the dependency installer writes to."""
    try:
        from qgis.core import QgsApplication

        base = Path(QgsApplication.qgisSettingsDirPath())
    except Exception:  # outside QGIS (tests of the command builder)
        base = Path.home() / ".local" / "share" / "sounding-earth"
    return base / "python" / DEPENDENCY_FOLDER_NAME


def add_dependency_folder_to_path(folder: Path | None = None) -> None:
    """Append the plugin's dependency folder to ``sys.path``.

    Appended, not prepended, so QGIS's own numpy and GDAL keep precedence.
    """
    folder = folder or dependency_folder()
    if folder.is_dir() and str(folder) not in sys.path:
        sys.path.append(str(folder))


def qgis_python_executable() -> str:
    """The Python interpreter that runs inside QGIS (QGIS's own executable is not one)."""
    executable = Path(sys.executable)
    if executable.name.lower().startswith("python"):
        return str(executable)
    if os.name == "nt":
        candidate = Path(sys.exec_prefix) / "python.exe"
    else:
        candidate = Path(sys.exec_prefix) / "bin" / f"python{sys.version_info[0]}"
        if not candidate.exists():
            candidate = Path("/usr/bin") / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(candidate)


@dataclass
class DependencyStatus:
    """Which backend packages import inside this Python, and why the others do not."""

    missing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing


def check_dependencies(names: list[str] | None = None) -> DependencyStatus:
    """Try to import each backend package; collect the ones that fail and the error."""
    status = DependencyStatus()
    for name in names or list(REQUIRED_PACKAGES):
        try:
            importlib.import_module(name)
        except Exception as error:  # ImportError, but also broken binary wheels
            status.missing.append(name)
            status.errors[name] = f"{type(error).__name__}: {error}"
    return status


def pinned_numpy_requirement() -> list[str]:
    """A requirement that keeps QGIS's numpy version (pip must not replace it)."""
    try:
        import numpy

        return [f"numpy=={numpy.__version__}"]
    except ImportError:
        return ["numpy<2"]


def install_command(
    names: list[str], target: Path | None = None, python: str | None = None
) -> list[str]:
    """The pip command that installs ``names`` (import names) for QGIS's Python."""
    target = target or dependency_folder()
    return [
        python or qgis_python_executable(),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *requirements_for(names),
        *pinned_numpy_requirement(),
    ]


def format_command(command: list[str]) -> str:
    """Quote a command for copying into a terminal."""
    return (
        subprocess.list2cmdline(command)
        if os.name == "nt"
        else " ".join(_shell_quote(part) for part in command)
    )


def _shell_quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


def missing_message(status: DependencyStatus) -> str:
    """The one warning shown in the message bar when packages are missing."""
    command = format_command(install_command(status.missing))
    return (
        f"Sounding Earth needs Python packages that QGIS cannot import: "
        f"{', '.join(status.missing)}. Its algorithms are disabled until they are installed. "
        f"Install them for QGIS's Python with: {command} — then restart QGIS."
    )
