"""When backend packages cannot be imported, the plugin still loads and says how to fix it.

Also: the dependency folder goes first on sys.path (except for QGIS's numpy/GDAL),
QGIS's own interpreter is found beside QGIS on every platform, and the PyTorch build
fits the machine.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsApplication

import sounding_qgis.qgis_python as qgis_python
from backend.deps import DOWNLOAD_SIZE_MB, REQUIRED_PACKAGES
from sounding_qgis.dependencies import (
    TORCH_CPU_INDEX,
    TORCH_CUDA_INDEX_WINDOWS,
    DependencyStatus,
    add_dependency_folder_to_path,
    check_dependencies,
    choose_build,
    format_command,
    has_nvidia_gpu,
    install_command,
    missing_message,
)
from sounding_qgis.plugin import SoundingEarthPlugin
from sounding_qgis.qgis_python import PythonSearch, find_qgis_python, python_candidates


def test_all_backend_packages_import_here():
    status = check_dependencies()
    assert status.ok, status.errors


def test_missing_package_is_reported_with_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchaudio", None)  # import now raises ImportError
    status = check_dependencies()
    assert status.missing == ["torchaudio"]
    assert "Error" in status.errors["torchaudio"] and "torchaudio" in status.errors["torchaudio"]
    message = missing_message(status)
    assert "torchaudio" in message
    assert f"{sys.executable} -m pip install" in message  # this interpreter: a python
    assert "torchaudio==2.9.1" in message
    assert "restart QGIS" in message


def test_install_command_targets_plugin_folder_and_leaves_numpy_to_qgis(tmp_path: Path):
    import numpy

    command = install_command(
        ["torch", "rasterio"],
        target=tmp_path / "deps",
        python="/usr/bin/python3",
        build=choose_build(gpu=False, wheel_folder=""),
    )
    assert command[:4] == ["/usr/bin/python3", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path / "deps")
    assert "torch==2.9.1" in command and "rasterio==1.4.4" in command
    assert not [part for part in command if part.startswith("numpy")]  # QGIS's numpy is used
    constraints = Path(command[command.index("--constraint") + 1]).read_text()
    assert f"numpy>={numpy.__version__},<{int(numpy.__version__.split('.')[0]) + 1}" in constraints
    assert "/usr/bin/python3 -m pip install" in format_command(command)


def test_plugin_with_missing_dependency_warns_and_registers_no_algorithm(monkeypatch, qgis_iface):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    registry = QgsApplication.processingRegistry()
    qgis_iface.messageBar().clear_messages()
    plugin = SoundingEarthPlugin(qgis_iface)
    plugin.initGui()
    try:
        warnings = qgis_iface.messageBar().get_messages(Qgis.Warning)
        assert len(warnings) == 1
        assert "safetensors" in warnings[0] and "pip install" in warnings[0]
        assert "safetensors==0.7.0" in warnings[0]
        assert registry.providerById("sounding") is None
        assert not [
            a for a in registry.algorithms() if a.provider() and a.provider().id() == "sounding"
        ]
        assert plugin.toolbar is not None  # the plugin itself still loads
    finally:
        plugin.unload()
    assert registry.providerById("sounding") is None


def test_plugin_with_dependencies_registers_provider(qgis_iface):
    registry = QgsApplication.processingRegistry()
    qgis_iface.messageBar().clear_messages()
    plugin = SoundingEarthPlugin(qgis_iface)
    plugin.initGui()
    try:
        assert qgis_iface.messageBar().get_messages(Qgis.Warning) == []
        assert registry.providerById("sounding") is plugin.provider
    finally:
        plugin.unload()
    assert registry.providerById("sounding") is None


# --- the folder first on sys.path ---------------------------------------------------------


def _package(root: Path, name: str, version: str, dist: bool = True) -> None:
    """``name`` at ``version`` in ``root``, with a dist-info as pip writes it."""
    (root / name).mkdir(parents=True)
    (root / name / "__init__.py").write_text(f"__version__ = {version!r}\n")
    if dist:
        info = root / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,,\n{info.name}/METADATA,,\n")


@pytest.fixture
def system_and_folder(tmp_path: Path, monkeypatch):
    """A "system" site folder with old copies on sys.path, and a dependency folder with new ones."""
    system, folder = tmp_path / "system", tmp_path / "deps"
    for name in ("se_probe_early", "se_probe_late"):
        _package(system, name, "1.11.1", dist=False)
        _package(folder, name, "1.14.0")
    monkeypatch.setattr(sys, "path", [str(system), *sys.path])
    for name in ("se_probe_early", "se_probe_late"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield system, folder
    for name in ("se_probe_early", "se_probe_late"):
        sys.modules.pop(name, None)


def test_folder_goes_first_and_reports_what_was_imported_before(system_and_folder):
    system, folder = system_and_folder
    import se_probe_early  # imported from the system before the plugin loads

    shadowed = add_dependency_folder_to_path(folder)

    assert sys.path[0] == str(folder) and sys.path.count(str(folder)) == 1
    import se_probe_late

    assert se_probe_late.__version__ == "1.14.0"  # the folder wins over the system's copy
    assert se_probe_early.__version__ == "1.11.1"  # already imported: cannot be replaced ...
    assert [str(s) for s in shadowed] == [  # ... and says so
        f"se_probe_early 1.11.1 from {system} shadows se_probe_early 1.14.0 in {folder}"
    ]
    assert add_dependency_folder_to_path(folder) == shadowed  # once on the path
    assert sys.path.count(str(folder)) == 1


def test_failed_import_names_the_package_that_shadows_the_folders(system_and_folder, monkeypatch):
    system, folder = system_and_folder
    import se_probe_early  # noqa: F401

    add_dependency_folder_to_path(folder)
    monkeypatch.setitem(sys.modules, "se_probe_needs_new", None)
    status = check_dependencies(["se_probe_needs_new"], folder=folder)
    expected = f"se_probe_early 1.11.1 from {system} shadows se_probe_early 1.14.0 in {folder}"
    assert status.missing == ["se_probe_needs_new"]
    assert status.shadowed == [expected]
    assert expected in status.errors["se_probe_needs_new"]
    shown = missing_message(DependencyStatus(["torchvision"], {}, status.shadowed))
    assert f"Older copies are in the way: {expected}." in shown


def test_numpy_in_the_folder_never_replaces_qgis_numpy(tmp_path: Path, monkeypatch):
    import numpy

    folder = tmp_path / "deps"
    _package(folder, "numpy", "1.99.0")
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert add_dependency_folder_to_path(folder) == []  # protected: not reported either
    assert sys.modules["numpy"] is numpy
    assert not numpy.__file__.startswith(str(folder))


# --- QGIS's own interpreter ----------------------------------------------------------------


def _fake_python(path: Path, major: int, minor: int, prefix: str) -> Path:
    """An executable that answers the finder's probe like a Python of that version/prefix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    answer = json.dumps([major, minor, prefix])
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def test_finder_on_linux_uses_the_python_of_qgis_installation_not_path(tmp_path: Path):
    prefix = tmp_path / "usr"
    qgis = prefix / "bin" / "qgis"
    qgis.parent.mkdir(parents=True)
    qgis.write_text("")
    # PATH's first python3 (pyenv, conda ...): the embedded Python may report it
    shim = _fake_python(tmp_path / "pyenv" / "shims" / "python3", 3, 11, str(tmp_path / "pyenv"))
    _fake_python(prefix / "bin" / "python3.11", 3, 11, str(prefix))
    search = find_qgis_python(str(shim), str(prefix), (3, 11), "linux")
    assert search.found == str(prefix / "bin" / "python3.11")
    assert search.tried == [f"{shim} (another installation: {tmp_path / 'pyenv'})"]
    # QGIS's executable itself: the interpreter beside it
    assert find_qgis_python(str(qgis), str(prefix), (3, 11), "linux").found == str(
        prefix / "bin" / "python3.11"
    )


def test_finder_rejects_another_minor_version_and_says_what_it_tried(tmp_path: Path):
    prefix = tmp_path / "usr"
    wrong = _fake_python(prefix / "bin" / "python3", 3, 12, str(prefix))
    search = find_qgis_python(str(prefix / "bin" / "qgis"), str(prefix), (3, 11), "linux")
    assert search.found is None
    assert f"{wrong} (Python 3.12)" in search.tried
    message = search.not_found_message()
    assert "Python 3.11 was not found" in message and str(wrong) in message


def test_finder_on_windows_osgeo4w_and_standalone(tmp_path: Path):
    for root in (tmp_path / "OSGeo4W", tmp_path / "QGIS 3.34.0"):
        prefix = root / "apps" / "Python39"
        qgis = root / "bin" / "qgis-bin.exe"
        qgis.parent.mkdir(parents=True)
        qgis.write_text("")
        python = _fake_python(prefix / "python.exe", 3, 9, str(prefix))
        search = find_qgis_python(str(qgis), str(prefix), (3, 9), "win32")
        assert search.found == str(python), search.tried
    # python3.exe beside qgis-bin.exe comes first when it is the same installation
    beside = _fake_python(tmp_path / "OSGeo4W" / "bin" / "python3.exe", 3, 9, str(prefix))
    root = tmp_path / "OSGeo4W"
    search = find_qgis_python(
        str(root / "bin" / "qgis-bin.exe"), str(root / "apps" / "Python39"), (3, 9), "win32"
    )
    assert search.found in (str(root / "apps" / "Python39" / "python.exe"), str(beside))


def test_finder_on_macos_app_bundle(tmp_path: Path):
    contents = tmp_path / "Applications" / "QGIS.app" / "Contents"
    qgis = contents / "MacOS" / "QGIS"
    qgis.parent.mkdir(parents=True)
    qgis.write_text("")
    framework = contents / "Frameworks" / "Python.framework" / "Versions" / "3.12"
    python = _fake_python(framework / "bin" / "python3.12", 3, 12, str(framework))
    assert find_qgis_python(str(qgis), str(framework), (3, 12), "darwin").found == str(python)
    # older bundles: Contents/MacOS/bin/python3
    old = _fake_python(contents / "MacOS" / "bin" / "python3", 3, 12, str(framework))
    assert find_qgis_python(str(qgis), str(framework), (3, 12), "darwin").found == str(old)
    assert python_candidates(str(qgis), str(framework), (3, 12), "darwin")[0] == (
        contents / "MacOS" / "bin" / "python3.12"
    )


def test_finder_finds_debians_python_for_debians_qgis():
    python = Path(f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}")
    assert python.is_file(), "this test runs on Debian's Python (the one QGIS embeds)"
    search = find_qgis_python("/usr/bin/qgis", "/usr", tuple(sys.version_info[:2]), "linux")
    assert search.found == str(python)


def test_message_when_qgis_python_is_not_found_shows_what_to_run(monkeypatch):
    major, minor = sys.version_info[:2]
    monkeypatch.setattr(
        qgis_python, "_this_qgis_python", lambda: PythonSearch(None, (major, minor), ["x (y)"])
    )
    monkeypatch.setitem(sys.modules, "soundfile", None)
    status = check_dependencies()
    message = missing_message(status)
    assert f"Python {major}.{minor} was not found" in message and "x (y)" in message
    assert f"python{major}.{minor} -m pip install" in message and "soundfile==0.14.0" in message


# --- which PyTorch build ---------------------------------------------------------------------


def test_without_nvidia_gpu_the_cpu_build_comes_from_pytorchs_cpu_index(tmp_path: Path):
    build = choose_build(gpu=False, wheel_folder="", index_url=None, platform="linux")
    assert build.kind == "cpu"
    command = install_command(list(REQUIRED_PACKAGES), tmp_path / "deps", "py", build=build)
    i = command.index("--index-url")
    assert command[i : i + 4] == [
        "--index-url",
        TORCH_CPU_INDEX,
        "--extra-index-url",
        "https://pypi.org/simple",
    ]
    text = build.describe()
    assert "CPU-only PyTorch" in text and "no NVIDIA GPU" in text
    assert f"{DOWNLOAD_SIZE_MB['cpu']} MB to download" in text
    other = choose_build(gpu=False, wheel_folder="", index_url="https://mirror.example/cpu")
    assert other.pip_args[:2] == ("--index-url", "https://mirror.example/cpu")


def test_a_chosen_index_is_not_described_as_a_build_it_may_not_serve(monkeypatch):
    # the index may serve the CUDA build (PyPI's Linux wheels: several GB) on a machine
    # without a GPU: the dialog must not promise "CPU-only ... 280 MB"
    monkeypatch.setenv("SOUNDING_EARTH_TORCH_INDEX", "https://pypi.org/simple")
    text = choose_build(gpu=False, wheel_folder="", platform="linux").describe()
    assert "https://pypi.org/simple" in text and "cannot be known" in text
    assert "SOUNDING_EARTH_TORCH_INDEX" in text and "no NVIDIA GPU found" in text
    assert not text.startswith("CPU-only PyTorch")
    cuda = choose_build(gpu=True, wheel_folder="", platform="linux", index_url="https://m.example")
    assert cuda.pip_args[:2] == ("--index-url", "https://m.example")
    assert "https://m.example" in cuda.describe() and "cannot be known" in cuda.describe()


def test_with_nvidia_gpu_the_cuda_build(tmp_path: Path):
    linux = choose_build(gpu=True, wheel_folder="", platform="linux")
    assert linux.kind == "cuda" and linux.pip_args == ()  # PyPI's Linux wheels are CUDA
    command = install_command(["torch"], tmp_path / "deps", "py", build=linux)
    assert "--index-url" not in command and "torch==2.9.1" in command
    assert "PyTorch with CUDA" in linux.describe() and "GB to download" in linux.describe()
    windows = choose_build(gpu=True, wheel_folder="", platform="win32")
    assert windows.pip_args[:2] == ("--index-url", TORCH_CUDA_INDEX_WINDOWS)
    assert choose_build(gpu=True, wheel_folder="", platform="darwin").kind == "cpu"


def test_wheel_folder_setting_installs_offline(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOUNDING_EARTH_WHEEL_FOLDER", str(tmp_path / "wheels"))
    build = choose_build(gpu=False)
    assert build.offline and build.pip_args == (
        "--no-index",
        "--find-links",
        str(tmp_path / "wheels"),
    )
    assert f"wheel folder {tmp_path / 'wheels'} holds" in build.describe()
    assert "nothing is downloaded" in build.describe()
    command = install_command(["rasterio"], tmp_path / "deps", "py")  # no torch: still offline
    assert command[command.index("--no-index") + 1 : command.index("--no-index") + 3] == [
        "--find-links",
        str(tmp_path / "wheels"),
    ]


def test_gpu_detection_looks_for_nvidia_smi(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert has_nvidia_gpu() == Path("/proc/driver/nvidia").exists()
    _fake_python(tmp_path / "nvidia-smi", 0, 0, "")
    assert has_nvidia_gpu()
    assert choose_build(wheel_folder="", platform="linux").kind == "cuda"
    monkeypatch.setenv("PATH", os.defpath)


def test_dependency_folder_is_in_the_running_qgis_profile(qgis_app):
    """QGIS's own profile path (QGIS 4 keeps its profiles apart from QGIS 3's), not a fixed one."""
    from sounding_qgis.dependencies import DEPENDENCY_FOLDER_NAME, dependency_folder

    profile = Path(QgsApplication.qgisSettingsDirPath())
    assert dependency_folder() == profile / "python" / DEPENDENCY_FOLDER_NAME
