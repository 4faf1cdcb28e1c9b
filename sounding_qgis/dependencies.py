"""Finding, reporting and installing the backend's Python packages for QGIS's Python.

The packages go into a folder of the plugin's own inside the QGIS profile. That
folder is put *first* on ``sys.path``, so everything pip installed there (torch
and its dependency closure: sympy, networkx, jinja2, typing_extensions ...) wins
over older system copies (Debian's python3-sympy 1.11 breaks torch 2.9). QGIS's
own numpy and GDAL are never taken from it: pip may pull numpy in as a
dependency, so it is removed from the folder after every install, and the
packages there are checked against QGIS's numpy version.

Imports nothing from QGIS at module level: the plugin imports it before knowing
whether anything heavy works.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backend.deps import (
    DOWNLOAD_SIZE_MB,
    INSTALLED_SIZE_MB,
    REQUIRED_PACKAGES,
    TORCH_PACKAGES,
    requirements_for,
)
from sounding_qgis.i18n import tr, translatable
from sounding_qgis.qgis_python import QgisPythonNotFound, qgis_python_executable

#: folder name, under the QGIS profile's python folder, where our packages go
DEPENDENCY_FOLDER_NAME = "sounding_earth_deps"

#: QGIS's own packages (import names): never provided by the dependency folder
PROTECTED_PACKAGES = ("numpy", "osgeo")
#: what pip writes into a --target folder for them (glob patterns, relative to it)
PROTECTED_ITEMS = (
    "numpy",
    "numpy.libs",
    "numpy-*.dist-info",
    "osgeo",
    "osgeo_utils",
    "GDAL-*.dist-info",
    "gdal-*.dist-info",
    "bin/f2py*",
    "bin/numpy-config",
)

#: PyTorch's CPU-only wheel index (the default build without an NVIDIA GPU)
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
#: PyPI's Windows torch wheels are CPU-only; the CUDA build comes from PyTorch's index
TORCH_CUDA_INDEX_WINDOWS = "https://download.pytorch.org/whl/cu128"
#: the registry default, kept as a fallback for everything else
PYPI_INDEX = "https://pypi.org/simple"

#: environment variables and QgsSettings keys that change how the installer runs
TORCH_INDEX_ENV = "SOUNDING_EARTH_TORCH_INDEX"
TORCH_INDEX_SETTING = "sounding_earth/torch_index_url"
WHEEL_FOLDER_ENV = "SOUNDING_EARTH_WHEEL_FOLDER"
WHEEL_FOLDER_SETTING = "sounding_earth/wheel_folder"


def dependency_folder() -> Path:
    """The folder (inside the active QGIS profile) the dependency installer writes to."""
    try:
        from qgis.core import QgsApplication

        base = Path(QgsApplication.qgisSettingsDirPath())
    except Exception:  # outside QGIS (tests of the command builder)
        base = Path.home() / ".local" / "share" / "sounding-earth"
    return base / "python" / DEPENDENCY_FOLDER_NAME


# --- what the folder holds ------------------------------------------------------------


@dataclass(frozen=True)
class FolderPackage:
    """One distribution pip installed into the dependency folder."""

    project: str
    version: str
    dist_info: Path
    top_level: tuple[str, ...]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _read_metadata(dist_info: Path) -> tuple[str, str, list[str]]:
    """(name, version, Requires-Dist lines) from a dist-info folder."""
    name, version, requires = dist_info.name.split("-")[0], "?", []
    try:
        text = (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return name, version, requires
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        if key == "Name":
            name = value.strip()
        elif key == "Version":
            version = value.strip()
        elif key == "Requires-Dist":
            requires.append(value.strip())
    return name, version, requires


def _record_paths(dist_info: Path) -> list[str]:
    try:
        text = (dist_info / "RECORD").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.split(",", 1)[0] for line in text.splitlines() if line.strip()]


def _top_level(dist_info: Path) -> tuple[str, ...]:
    """The import names a distribution provides (top_level.txt, else from RECORD)."""
    listed = dist_info / "top_level.txt"
    if listed.is_file():
        names = listed.read_text(encoding="utf-8").split()
        return tuple(n for n in names if n and "/" not in n)
    names: list[str] = []
    for path in _record_paths(dist_info):
        first = path.split("/", 1)[0]
        if first.startswith("..") or first.endswith((".dist-info", ".data", ".libs")):
            continue
        if first in ("bin", "share", "include"):
            continue
        if "/" not in path:  # a module file
            if not first.endswith((".py", ".so", ".pyd")):
                continue
            first = first.split(".", 1)[0]
        if first and first not in names and first != "__pycache__":
            names.append(first)
    return tuple(names)


def folder_packages(folder: Path) -> dict[str, FolderPackage]:
    """Import name -> the distribution in ``folder`` that provides it."""
    held: dict[str, FolderPackage] = {}
    if not folder.is_dir():
        return held
    for dist_info in sorted(folder.glob("*.dist-info")):
        name, version, _ = _read_metadata(dist_info)
        package = FolderPackage(name, version, dist_info, _top_level(dist_info))
        for top in package.top_level:
            held[top] = package
    return held


@dataclass(frozen=True)
class Shadowing:
    """A package imported from elsewhere although the dependency folder holds it."""

    import_name: str
    loaded_version: str
    loaded_from: str
    folder_version: str
    folder: Path
    project: str

    def __str__(self) -> str:
        return (
            f"{self.project} {self.loaded_version} from {self.loaded_from} shadows "
            f"{self.project} {self.folder_version} in {self.folder}"
        )


def _module_location(module) -> Path | None:
    file = getattr(module, "__file__", None)
    if not file:
        return None
    path = Path(file)
    return path.parent.parent if path.stem == "__init__" else path.parent


def _loaded_version(module, location: Path | None, project: str) -> str:
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    if location is not None:
        from importlib import metadata

        for dist in metadata.distributions(path=[str(location)]):
            if _normalise(dist.metadata["Name"] or "") == _normalise(project):
                return dist.version
    return "?"


def shadowed_packages(folder: Path | None = None) -> list[Shadowing]:
    """Packages the folder holds that this process has already imported from elsewhere.

    QGIS's own numpy and GDAL are not listed: they are meant to come from QGIS.
    """
    folder = folder or dependency_folder()
    found = []
    resolved = str(folder.resolve()) if folder.is_dir() else str(folder)
    for name, package in folder_packages(folder).items():
        module = sys.modules.get(name)
        if name in PROTECTED_PACKAGES or module is None:
            continue
        location = _module_location(module)
        if location is None or str(location.resolve()).startswith(resolved):
            continue
        found.append(
            Shadowing(
                name,
                _loaded_version(module, location, package.project),
                str(location),
                package.version,
                folder,
                package.project,
            )
        )
    return found


def add_dependency_folder_to_path(folder: Path | None = None) -> list[Shadowing]:
    """Put the plugin's dependency folder first on ``sys.path``.

    Its packages then win over system copies for every import still to come.
    QGIS's own numpy and GDAL are imported from the system first when the folder
    (from an older installer) holds a copy, so that copy is never used. Returns the
    packages already imported from elsewhere, which the folder cannot replace in
    this process (they show which package shadows which).
    """
    folder = folder or dependency_folder()
    if not folder.is_dir():
        return []
    held = folder_packages(folder)
    for name in PROTECTED_PACKAGES:
        if name in held and name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S110 (QGIS without it: nothing to protect)
                pass
    while str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return shadowed_packages(folder)


# --- which packages import -------------------------------------------------------------


@dataclass
class DependencyStatus:
    """Which backend packages import inside this Python, and why the others do not."""

    missing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    #: packages of the dependency folder imported from elsewhere ("sympy 1.11.1 from ...")
    shadowed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


def check_dependencies(
    names: list[str] | None = None, folder: Path | None = None
) -> DependencyStatus:
    """Try to import each backend package; collect the ones that fail and the error.

    When one fails, every package of the dependency folder that was imported from
    elsewhere is named ("sympy 1.11.1 from /usr/lib/python3/dist-packages shadows
    sympy 1.14.0 in <folder>") in ``shadowed`` and in the errors.
    """
    status = DependencyStatus()
    for name in names or list(REQUIRED_PACKAGES):
        try:
            importlib.import_module(name)
        except Exception as error:  # ImportError, but also broken binary wheels
            status.missing.append(name)
            status.errors[name] = f"{type(error).__name__}: {error}"
    if status.missing:
        status.shadowed = [str(s) for s in shadowed_packages(folder)]
        if status.shadowed:
            for name in status.missing:
                status.errors[name] += " (" + "; ".join(status.shadowed) + ")"
    return status


# --- which PyTorch build ---------------------------------------------------------------


def _setting(env: str, key: str) -> str:
    """An environment variable, else a QgsSettings value, else ""."""
    value = os.environ.get(env, "").strip()
    if value:
        return value
    try:
        from qgis.core import QgsSettings

        return str(QgsSettings().value(key, "", type=str) or "").strip()
    except Exception:  # outside QGIS
        return ""


def has_nvidia_gpu() -> bool:
    """An NVIDIA driver is present: ``nvidia-smi`` on PATH or /proc/driver/nvidia."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


@dataclass(frozen=True)
class TorchBuild:
    """Which PyTorch build the installer fetches, from where, and how big it is."""

    kind: str  # "cpu" or "cuda"
    pip_args: tuple[str, ...]
    download_mb: int
    installed_mb: int
    reason: str
    offline: bool = False
    #: a PyTorch index the user chose: what it serves (build, size) is unknown here
    custom_index: str = ""

    def describe(self) -> str:
        """One sentence for the confirmation dialog and the log."""
        if self.custom_index:
            return (
                f"PyTorch from the index {self.custom_index} (set by {TORCH_INDEX_ENV} or the "
                f"{TORCH_INDEX_SETTING} setting; {self.reason}): which build that index "
                "serves, CPU-only or with CUDA, and so the download size, cannot be known "
                f"before pip runs (PyTorch's CPU-only build is about "
                f"{_gb(DOWNLOAD_SIZE_MB['cpu'])} to download, the CUDA build about "
                f"{_gb(DOWNLOAD_SIZE_MB['cuda'])})."
            )
        if self.offline:
            return tr(
                "PyTorch as the wheel folder {folder} holds it "
                "(the {kind} build suits this machine: {reason}); nothing is downloaded."
            ).format(folder=self.pip_args[-1], kind=self.kind.upper(), reason=tr(self.reason))
        name = (
            tr("CPU-only PyTorch") if self.kind == "cpu" else tr("PyTorch with CUDA (NVIDIA GPU)")
        )
        return tr("{name} ({reason}): about {download} to download, about {disk} on disk.").format(
            name=name,
            reason=tr(self.reason),
            download=_gb(self.download_mb),
            disk=_gb(self.installed_mb),
        )


def _gb(mb: int) -> str:
    return f"{mb / 1000:.1f} GB" if mb >= 1000 else f"{mb} MB"


def choose_build(
    gpu: bool | None = None,
    index_url: str | None = None,
    wheel_folder: str | None = None,
    platform: str | None = None,
) -> TorchBuild:
    """The PyTorch build for this machine and the pip options that fetch it.

    Without an NVIDIA GPU: PyTorch's CPU wheel index (``index_url``, else the
    SOUNDING_EARTH_TORCH_INDEX variable or the ``sounding_earth/torch_index_url``
    setting, else :data:`TORCH_CPU_INDEX`), with PyPI as fallback for everything
    else. With one: the CUDA build (PyPI's default on Linux, PyTorch's cu128 index on
    Windows). A wheel folder (``wheel_folder``, SOUNDING_EARTH_WHEEL_FOLDER or the
    ``sounding_earth/wheel_folder`` setting) replaces every index: offline install.
    """
    gpu = has_nvidia_gpu() if gpu is None else gpu
    platform = platform or sys.platform
    kind = "cuda" if gpu and platform != "darwin" else "cpu"
    reason = (
        translatable("NVIDIA GPU found") if kind == "cuda" else translatable("no NVIDIA GPU found")
    )
    wheel_folder = (
        wheel_folder
        if wheel_folder is not None
        else _setting(WHEEL_FOLDER_ENV, WHEEL_FOLDER_SETTING)
    )
    if wheel_folder:
        args: tuple[str, ...] = ("--no-index", "--find-links", wheel_folder)
        return TorchBuild(kind, args, 0, INSTALLED_SIZE_MB[kind], reason, offline=True)
    index = index_url or _setting(TORCH_INDEX_ENV, TORCH_INDEX_SETTING)
    if kind == "cpu":
        args = ("--index-url", index or TORCH_CPU_INDEX, "--extra-index-url", PYPI_INDEX)
    elif index or platform.startswith("win"):
        args = (
            "--index-url",
            index or TORCH_CUDA_INDEX_WINDOWS,
            "--extra-index-url",
            PYPI_INDEX,
        )
    else:
        args = ()  # PyPI's Linux torch wheels are the CUDA build
    return TorchBuild(
        kind, args, DOWNLOAD_SIZE_MB[kind], INSTALLED_SIZE_MB[kind], reason, custom_index=index
    )


# --- the pip command -------------------------------------------------------------------


def qgis_numpy_version() -> str | None:
    """The numpy version QGIS's Python imports (None without numpy)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy.__version__


def numpy_constraint() -> str:
    """What pip may resolve numpy to: QGIS's version or later, same major version.

    Whatever pip picks is removed from the folder after the install (QGIS's numpy
    is the one that runs), and :func:`finish_install` checks that every package
    there accepts QGIS's version.
    """
    version = qgis_numpy_version()
    if version is None:
        return "numpy<2"
    major = int(version.split(".")[0])
    return f"numpy>={version},<{major + 1}"


def project_constraints_file() -> Path | None:
    """constraints.txt of the project (repository root, or the plugin folder of the ZIP)."""
    import backend

    candidate = Path(backend.__file__).resolve().parent.parent / "constraints.txt"
    return candidate if candidate.is_file() else None


def constraints_text() -> str:
    """pip constraints: numpy as QGIS has it, plus the project's other constraints."""
    lines = [
        "# written by the Sounding Earth plugin: numpy as QGIS has it",
        numpy_constraint(),
    ]
    project = project_constraints_file()
    if project is not None:
        for line in project.read_text(encoding="utf-8").splitlines():
            requirement = line.split("#", 1)[0].strip()
            name = re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0]
            if requirement and _normalise(name) != "numpy":
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
    build: TorchBuild | None = None,
) -> list[str]:
    """The pip command that installs ``names`` (import names) for QGIS's Python.

    Packages go into ``target`` (default: :func:`dependency_folder`), pinned as in
    requirements.txt, upgrading what is there, under a constraints file that keeps
    numpy at QGIS's major version (written beside ``target`` unless given). When a
    PyTorch package is among ``names``, ``build``'s index options come along.

    Args:
        names: Import names from ``backend.deps.REQUIRED_PACKAGES``.
        target: The folder to install into.
        python: The interpreter (default: QGIS's own, see :func:`find_qgis_python`).
        requirements: Further pip requirements (e.g. a single package for a test).
        extra_args: Further pip options (e.g. ``--no-index --find-links DIR``).
        constraints: An existing constraints file to use instead.
        build: The PyTorch build (default: :func:`choose_build` for this machine).

    Raises:
        QgisPythonNotFound: ``python`` not given and QGIS's own cannot be found.
    """
    target = target or dependency_folder()
    python = python or qgis_python_executable()
    wanted = [*requirements_for(names), *(requirements or [])]
    index_args: list[str] = []
    if set(TORCH_PACKAGES) & set(names):
        index_args = list((build or choose_build()).pip_args)
    elif build is not None and build.offline:
        index_args = list(build.pip_args)
    else:
        wheel_folder = _setting(WHEEL_FOLDER_ENV, WHEEL_FOLDER_SETTING)
        if wheel_folder:
            index_args = ["--no-index", "--find-links", wheel_folder]
    constraints = constraints or write_constraints(constraints_path_for(target))
    return [
        python,
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
        *index_args,
        *(extra_args or []),
        *wanted,
    ]


def format_command(command: list[str]) -> str:
    """Quote a command for copying into a terminal."""
    if os.name == "nt":
        return subprocess.list2cmdline(command)
    import shlex

    return " ".join(shlex.quote(part) for part in command)


def missing_message(status: DependencyStatus) -> str:
    """The one warning shown in the message bar when packages are missing."""
    head = tr(
        "Sounding Earth needs Python packages that QGIS cannot import: "
        "{packages}. Its algorithms are disabled until they are installed."
    ).format(packages=", ".join(status.missing))
    if status.shadowed:
        head += tr(" Older copies are in the way: {copies}.").format(
            copies="; ".join(status.shadowed)
        )
    try:
        command = format_command(install_command(status.missing))
    except QgisPythonNotFound as error:
        major, minor = sys.version_info[:2]
        manual = install_command(status.missing, python=f"python{major}.{minor}")
        return tr(
            "{head} {error} Run this where QGIS's Python {version} is "
            "python{version} (on Windows: the OSGeo4W Shell): {command} — then restart QGIS."
        ).format(head=head, error=error, version=f"{major}.{minor}", command=format_command(manual))
    return tr(
        "{head} Use Plugins > Sounding Earth > Install dependencies, or run: {command} "
        "— then restart QGIS."
    ).format(head=head, command=command)


# --- after pip, and removal ------------------------------------------------------------


def _installed_versions(pip_output: str) -> dict[str, str]:
    """Project -> version from pip's "Successfully installed a-1.0 b-2.0" line."""
    versions: dict[str, str] = {}
    for line in pip_output.splitlines():
        if line.strip().startswith("Successfully installed"):
            for item in line.split()[2:]:
                name, _, version = item.rpartition("-")
                versions[_normalise(name)] = version
    return versions


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _remove_stale_dist_infos(folder: Path, pip_output: str) -> list[str]:
    """pip --target --upgrade leaves the old version's dist-info (and files it alone had)."""
    installed = _installed_versions(pip_output)
    groups: dict[str, list[tuple[Path, str]]] = {}
    for dist_info in folder.glob("*.dist-info"):
        name, version, _ = _read_metadata(dist_info)
        groups.setdefault(_normalise(name), []).append((dist_info, version))
    notes = []
    for project, entries in groups.items():
        if len(entries) < 2:
            continue
        current = installed.get(project)
        if current is None or current not in {v for _, v in entries}:
            current = max(entries, key=lambda e: e[0].stat().st_mtime)[1]
        keep = next(d for d, v in entries if v == current)
        kept_files = set(_record_paths(keep))
        for dist_info, version in entries:
            if dist_info == keep:
                continue
            for relative in _record_paths(dist_info):
                path = folder / relative
                inside = folder.resolve() in path.resolve().parents
                if inside and relative not in kept_files and path.is_file():
                    path.unlink()
            shutil.rmtree(dist_info, ignore_errors=True)
            notes.append(f"replaced {project} {version} by {current}")
    return notes


def _numpy_mismatches(folder: Path, numpy_version: str) -> list[str]:
    """Packages in ``folder`` whose numpy requirement QGIS's numpy does not meet."""
    try:
        from packaging.requirements import Requirement
        from packaging.version import Version
    except ImportError:
        try:
            from pip._vendor.packaging.requirements import Requirement
            from pip._vendor.packaging.version import Version
        except ImportError:
            return []
    problems = []
    for dist_info in sorted(folder.glob("*.dist-info")):
        name, version, requires = _read_metadata(dist_info)
        for line in requires:
            try:
                requirement = Requirement(line)
            except Exception:
                continue
            if _normalise(requirement.name) != "numpy":
                continue
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            if not requirement.specifier.contains(Version(numpy_version), prereleases=True):
                problems.append(f"{name} {version} needs numpy{requirement.specifier}")
    return problems


def finish_install(folder: Path, pip_output: str = "") -> list[str]:
    """Tidy the folder after pip; return what was done, one note per line.

    Removes QGIS's own packages (numpy, GDAL) pip pulled in as dependencies, and
    dist-info folders of versions an upgrade replaced.

    Raises:
        RuntimeError: a package in the folder needs a numpy QGIS does not have.
    """
    notes = []
    for pattern in PROTECTED_ITEMS:
        for path in sorted(folder.glob(pattern)):
            _remove(path)
            notes.append(f"removed {path.name} (QGIS's own package is used)")
    notes += _remove_stale_dist_infos(folder, pip_output)
    numpy_version = qgis_numpy_version()
    if numpy_version is not None:
        problems = _numpy_mismatches(folder, numpy_version)
        if problems:
            raise RuntimeError(
                f"QGIS's numpy {numpy_version} is too old for: " + "; ".join(problems)
            )
    return notes


def folder_size(folder: Path) -> int:
    """Bytes of the files under ``folder`` (0 when it does not exist)."""
    if not folder.is_dir():
        return 0
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def remove_dependency_folder(folder: Path | None = None) -> int:
    """Delete the dependency folder and its constraints file; return the bytes freed.

    Raises:
        OSError: part of it could not be deleted (on Windows, libraries QGIS has
            loaded stay locked until it restarts).
    """
    folder = folder or dependency_folder()
    size = folder_size(folder)
    while str(folder) in sys.path:
        sys.path.remove(str(folder))
    if folder.is_dir():
        shutil.rmtree(folder)
    constraints = constraints_path_for(folder)
    if constraints.is_file():
        constraints.unlink()
    return size
