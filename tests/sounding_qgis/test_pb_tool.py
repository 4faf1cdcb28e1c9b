"""pb_tool (pb-tool 3.5.3) builds the same plugin as ``make package``.

pb_tool runs from pbtool/, the plugin's layout made of links into the repository.
``pb_tool deploy`` into a fresh profile gives the files of the ``make package`` ZIP,
byte for byte, and that deployment loads in ``qgis_process``; ``pb_tool zip`` gives
the same ZIP entries; ``pb_tool validate`` accepts the configuration.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PB_FOLDER = ROOT / "pbtool"
PB_TOOL_VERSION = "3.5.3"
#: Debian's /usr/bin/qgis_process is a wrapper adding --noversioncheck, which 3.22 rejects
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
PLUGIN = "sounding_qgis"


def _is_bytecode(name: str) -> bool:
    """Python's caches (pb_tool copies folders as they are; QGIS writes them anyway)."""
    return "__pycache__" in name.split("/") or name.endswith((".pyc", ".pyo"))


@pytest.fixture(scope="module")
def pb_tool() -> str:
    """The pb_tool command of this environment (``make setup`` installs it)."""
    beside = Path(sys.executable).parent / "pb_tool"
    found = str(beside) if beside.is_file() else shutil.which("pb_tool")
    assert found, (
        f"pb_tool is missing: `make setup` installs pb-tool=={PB_TOOL_VERSION} "
        "(requirements-dev.txt)"
    )
    version = subprocess.run([found, "version"], capture_output=True, text=True, check=True)
    assert PB_TOOL_VERSION in version.stdout, version.stdout
    return found


def _pb_env(home: Path) -> dict[str, str]:
    # HOME: pb_tool's default plugin folder is under it; every call here passes -p anyway
    return {**os.environ, "HOME": str(home)}


def _zip_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if not name.endswith("/") and not _is_bytecode(name)
        }


def _metadata(text: bytes) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text.decode("utf-8"))
    return dict(parser["general"])


def test_pb_tool_validate_accepts_the_configuration(pb_tool, tmp_path):
    run = subprocess.run(
        [pb_tool, "validate"], cwd=PB_FOLDER, env=_pb_env(tmp_path), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "pb_tool.cfg file is valid" in run.stdout


def test_pb_tool_deploy_gives_the_packaged_plugin_and_it_loads_in_qgis_process(
    pb_tool, plugin_zip, tmp_path
):
    config = tmp_path / "qgis-config"
    plugins = config / "profiles" / "default" / "python" / "plugins"
    folder = _translated_copy(pb_tool, tmp_path)
    run = subprocess.run(
        [pb_tool, "deploy", "--no-confirm", "--plugin_path", str(plugins)],
        cwd=folder,
        env=_pb_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "ERROR" not in run.stdout, run.stdout + run.stderr
    deployed = {
        path.relative_to(plugins).as_posix(): path.read_bytes()
        for path in sorted(plugins.rglob("*"))
        if path.is_file()
        and not _is_bytecode(path.relative_to(plugins).as_posix())
        and not _is_translation_source(path.relative_to(plugins).as_posix())
    }
    packaged = _zip_files(plugin_zip)
    assert sorted(set(packaged) - set(deployed)) == [], "pb_tool deploy left these out"
    assert sorted(set(deployed) - set(packaged)) == [], "pb_tool deploy added these"
    assert [name for name in packaged if packaged[name] != deployed[name]] == []
    assert not (tmp_path / ".local").exists(), "pb_tool wrote outside --plugin_path"

    assert QGIS_PROCESS.is_file(), f"{QGIS_PROCESS} is missing: `make setup` installs qgis"
    env = {
        **os.environ,
        "QGIS_CUSTOM_CONFIG_PATH": str(config),
        "QT_QPA_PLATFORM": "offscreen",
        # the backend's packages come from this test's environment (a user's QGIS has
        # them in the plugin's dependency folder)
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "XDG_RUNTIME_DIR": str(config),
    }
    env.pop("PYTHONHOME", None)
    enable = subprocess.run(
        [str(QGIS_PROCESS), "plugins", "enable", PLUGIN],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert enable.returncode == 0, enable.stdout + enable.stderr
    listed = subprocess.run(
        [str(QGIS_PROCESS), "list"], env=env, capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    from sounding_qgis.provider import algorithm_classes

    expected = [f"sounding:{cls().name()}" for cls in algorithm_classes()]
    assert [name for name in expected if name not in listed.stdout] == [], listed.stdout


def _copy_for_zip(dest: Path) -> Path:
    """pbtool/ and what its links point at, so ``pb_tool zip`` writes its ZIP outside the repo."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PB_FOLDER, dest / "pbtool", symlinks=True, ignore=ignore)
    for link in (dest / "pbtool").iterdir():
        if not link.is_symlink():
            continue
        source = (PB_FOLDER / os.readlink(link)).resolve()
        target = (dest / "pbtool" / os.readlink(link)).resolve()
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    return dest / "pbtool"


def _is_translation_source(name: str) -> bool:
    """The .ts sources pb_tool copies with i18n/ (``make package`` ships only the .qm)."""
    return name.startswith(f"{PLUGIN}/i18n/") and name.endswith(".ts")


def _translated_copy(pb_tool: str, tmp_path: Path) -> Path:
    """A copy of pbtool/ (outside the repository) after ``pb_tool translate`` made the .qm."""
    folder = _copy_for_zip(tmp_path / "copy")
    run = subprocess.run(
        [pb_tool, "translate"],
        cwd=folder,
        env=_pb_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (folder / "i18n" / "sounding_qgis_de.qm").is_file(), run.stdout + run.stderr
    return folder


def test_pb_tool_zip_has_the_entries_of_make_package(pb_tool, plugin_zip, tmp_path):
    assert shutil.which("zip"), "zip is missing: `make setup` installs it (pb_tool zip runs it)"
    folder = _translated_copy(pb_tool, tmp_path)
    run = subprocess.run(
        [pb_tool, "zip", "--no-docs", "--plugin_path", str(tmp_path / "deployed")],
        cwd=folder,
        env=_pb_env(tmp_path),
        input="y\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    built = {
        name: data
        for name, data in _zip_files(folder / f"{PLUGIN}.zip").items()
        if not _is_translation_source(name)
    }
    packaged = _zip_files(plugin_zip)
    assert sorted(built) == sorted(packaged)
    metadata = f"{PLUGIN}/metadata.txt"
    assert [n for n in packaged if n != metadata and packaged[n] != built[n]] == []
    # pb_tool zip stamps build information into metadata.txt and keeps every key as it was
    ours, theirs = _metadata(packaged[metadata]), _metadata(built[metadata])
    assert {key: theirs.get(key) for key in ours} == ours
    assert "dateTime" in theirs
