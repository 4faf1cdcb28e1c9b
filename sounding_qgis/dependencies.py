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


#: packages whose copy in the dependency folder must win over the system's: Debian's
#: attrs 22.2 breaks rasterio ("No '__dict__' attribute on 'Affine' instance")
PREFERRED_PACKAGES = ("attr", "attrs", "affine")


def add_dependency_folder_to_path(
    folder: Path | None = None, preferred: tuple[str, ...] = PREFERRED_PACKAGES
) -> list[str]:
    """Append the plugin's dependency folder to ``sys.path``.

    Appended, not prepended, so QGIS's own numpy and GDAL keep precedence. The
    ``preferred`` packages found in the folder are imported from it first, so
    they shadow older system copies; returns the names that were already imported
    from elsewhere and so could not be replaced (a restart of QGIS fixes that).
    """
    folder = folder or dependency_folder()
    if not folder.is_dir() or str(folder) in sys.path:
        return []
    stuck = []
    wanted = [n for n in preferred if (folder / n).is_dir() or (folder / f"{n}.py").is_file()]
    if wanted:
        sys.path.insert(0, str(folder))
        try:
            for name in wanted:
                module = sys.modules.get(name)
                if module is not None:
                    if not str(getattr(module, "__file__", "")).startswith(str(folder)):
                        stuck.append(name)
                    continue
                try:
                    importlib.import_module(name)
                except Exception:  # a broken copy: leave the system's in charge
                    sys.modules.pop(name, None)
        finally:
            sys.path.remove(str(folder))
    sys.path.append(str(folder))
    return stuck


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


#: import names whose pip packages depend on numpy (numpy then goes in at QGIS's version)
NEEDS_NUMPY = frozenset({"torch", "torchvision", "torchaudio", "rasterio", "soundfile"})


def pinned_numpy_requirement() -> list[str]:
    """A requirement that keeps QGIS's numpy version (pip must not replace it)."""
    try:
        import numpy

        return [f"numpy=={numpy.__version__}"]
    except ImportError:
        return ["numpy<2"]


def project_constraints_file() -> Path | None:
    """constraints.txt of the project (repository root, or the plugin folder of the ZIP)."""
    import backend

    candidate = Path(backend.__file__).resolve().parent.parent / "constraints.txt"
    return candidate if candidate.is_file() else None


def constraints_text() -> str:
    """pip constraints: QGIS's own numpy version, plus the project's other constraints."""
    lines = [
        "# written by the Sounding Earth plugin: keep QGIS's numpy",
        *pinned_numpy_requirement(),
    ]
    project = project_constraints_file()
    if project is not None:
        for line in project.read_text(encoding="utf-8").splitlines():
            requirement = line.split("#", 1)[0].strip()
            name = requirement.replace(">", "=").replace("<", "=").split("=", 1)[0].strip()
            if requirement and name.lower() != "numpy":
                lines.append(requirement)
    return "\n".join(lines) + "\n"


def write_constraints(path: Path) -> Path:
    """Write :func:`constraints_text` to ``path`` (folders created); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(constraints_text(), encoding="utf-8")
    return path


def constraints_path_for(target: Path) -> Path:
    """Where the constraints for an install into ``target`` are written (beside it)."""
    return target.parent / f"{target.name}-constraints.txt"


def install_command(
    names: list[str],
    target: Path | None = None,
    python: str | None = None,
    requirements: list[str] | None = None,
    extra_args: list[str] | None = None,
    constraints: Path | None = None,
) -> list[str]:
    """The pip command that installs ``names`` (import names) for QGIS's Python.

    Packages go into ``target`` (default: :func:`dependency_folder`), pinned as in
    requirements.txt, under a constraints file that keeps QGIS's numpy version
    (written beside ``target`` unless ``constraints`` is given).

    Args:
        names: Import names from ``backend.deps.REQUIRED_PACKAGES``.
        target: The folder to install into.
        python: The interpreter (default: the one QGIS runs).
        requirements: Further pip requirements (e.g. a single package for a test).
        extra_args: Further pip options (e.g. ``--no-index --find-links DIR``).
        constraints: An existing constraints file to use instead.
    """
    target = target or dependency_folder()
    wanted = [*requirements_for(names), *(requirements or [])]
    if NEEDS_NUMPY & set(names):
        wanted += pinned_numpy_requirement()
    constraints = constraints or write_constraints(constraints_path_for(target))
    return [
        python or qgis_python_executable(),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--upgrade",
        "--target",
        str(target),
        "--constraint",
        str(constraints),
        *(extra_args or []),
        *wanted,
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
        f"Use Plugins > Sounding Earth > Install dependencies, or run: {command} "
        f"— then restart QGIS."
    )
