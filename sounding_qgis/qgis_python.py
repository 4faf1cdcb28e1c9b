"""QGIS's own Python interpreter: where it is beside QGIS, on Linux, Windows and macOS.

The dependency installer runs pip with this interpreter, never one from ``PATH``:
a candidate counts only when it reports the same version and installation
(``sys.exec_prefix``) as the Python QGIS embeds. Imports nothing from QGIS.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: printed by a candidate interpreter: its version and installation
_PROBE = "import json, sys; print(json.dumps([sys.version_info[0], sys.version_info[1], sys.exec_prefix]))"


class QgisPythonNotFound(RuntimeError):
    """QGIS's own Python interpreter could not be found beside QGIS."""


def python_candidates(
    executable: str, exec_prefix: str, version: tuple[int, int], platform: str
) -> list[Path]:
    """Where QGIS's Python interpreter may be, most likely first (never from PATH).

    Args:
        executable: ``sys.executable`` inside QGIS (qgis, qgis-bin.exe, QGIS.app/...).
        exec_prefix: ``sys.exec_prefix`` inside QGIS.
        version: ``sys.version_info[:2]`` inside QGIS.
        platform: ``sys.platform``.
    """
    major, minor = version
    exe, prefix = Path(executable), Path(exec_prefix)
    posix_names = [f"python{major}.{minor}", f"python{major}"]
    candidates: list[Path] = []
    if exe.name.lower().startswith("python"):
        candidates.append(exe)
    if platform.startswith("win"):
        # OSGeo4W / standalone installer: bin\qgis-bin.exe, bin\python3.exe,
        # apps\Python3X\python.exe (sys.exec_prefix)
        apps = f"Python{major}{minor}"
        for base in (
            prefix,
            exe.parent,
            prefix / "apps" / apps,
            exe.parent.parent / "apps" / apps,
        ):
            candidates += [base / "python3.exe", base / "python.exe"]
    elif platform == "darwin":
        app = next((p for p in (exe, *exe.parents) if p.suffix == ".app"), None)
        if app is not None:
            contents = app / "Contents"
            framework = contents / "Frameworks" / "Python.framework" / "Versions"
            for base in (
                contents / "MacOS" / "bin",
                contents / "MacOS",
                framework / f"{major}.{minor}" / "bin",
                contents / "Frameworks" / "bin",
            ):
                candidates += [base / n for n in posix_names]
        candidates += [prefix / "bin" / n for n in posix_names]
    else:
        candidates += [prefix / "bin" / n for n in posix_names]
        candidates += [exe.parent / n for n in posix_names]
        candidates.append(Path("/usr/bin") / f"python{major}.{minor}")
    unique: list[Path] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def _same_path(a: str, b: str) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


@dataclass
class PythonSearch:
    """The outcome of looking for QGIS's Python: the interpreter, or why none fit."""

    found: str | None
    version: tuple[int, int]
    tried: list[str] = field(default_factory=list)

    def not_found_message(self) -> str:
        """Says that QGIS's Python was not found, and where the search looked."""
        major, minor = self.version
        return (
            f"QGIS's own Python {major}.{minor} was not found beside QGIS (looked at: "
            + "; ".join(self.tried or ["nothing to look at"])
            + ")."
        )


def find_qgis_python(
    executable: str | None = None,
    exec_prefix: str | None = None,
    version: tuple[int, int] | None = None,
    platform: str | None = None,
) -> PythonSearch:
    """Find the interpreter of QGIS's own Python installation (defaults: this process).

    A candidate from :func:`python_candidates` is accepted when running it reports
    the same major.minor version and the same ``sys.exec_prefix`` (so the same
    installation, ABI and site-packages), never because it is first on PATH.
    """
    executable = executable if executable is not None else sys.executable
    exec_prefix = exec_prefix if exec_prefix is not None else sys.exec_prefix
    version = tuple(version if version is not None else sys.version_info[:2])
    platform = platform if platform is not None else sys.platform
    search = PythonSearch(None, version)
    for candidate in python_candidates(executable, exec_prefix, version, platform):
        if not candidate.is_file():
            continue
        try:
            run = subprocess.run(
                [str(candidate), "-c", _PROBE],
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )
            major, minor, prefix = json.loads(run.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as error:
            search.tried.append(f"{candidate} (does not run: {type(error).__name__})")
            continue
        if (major, minor) != version:
            search.tried.append(f"{candidate} (Python {major}.{minor})")
        elif not _same_path(prefix, exec_prefix):
            search.tried.append(f"{candidate} (another installation: {prefix})")
        else:
            search.found = str(candidate)
            return search
    return search


@functools.lru_cache(maxsize=1)
def _this_qgis_python() -> PythonSearch:
    return find_qgis_python()


def qgis_python_executable() -> str:
    """The Python interpreter that runs inside QGIS (QGIS's own executable is not one).

    Raises:
        QgisPythonNotFound: None of the places beside QGIS holds it.
    """
    search = _this_qgis_python()
    if search.found is None:
        raise QgisPythonNotFound(search.not_found_message())
    return search.found
