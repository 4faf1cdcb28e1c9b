"""The plugin ZIP follows the plugin repository's rules and loads in QGIS on its own."""

from __future__ import annotations

import configparser
import re
import sys
import zipfile
from pathlib import Path

import pytest
import qgis.utils
from qgis.core import QgsApplication

from tests.tool_modules import load_tool

ROOT = Path(__file__).resolve().parents[2]
package_plugin = load_tool("package_plugin")


def zip_metadata(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        text = archive.read("sounding_qgis/metadata.txt").decode("utf-8")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read_string(text)
    return dict(parser["general"])


def test_zip_has_one_plugin_folder_with_everything(plugin_zip: Path):
    with zipfile.ZipFile(plugin_zip) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {"sounding_qgis"}
    for required in (
        "sounding_qgis/__init__.py",
        "sounding_qgis/metadata.txt",
        "sounding_qgis/LICENSE",
        "sounding_qgis/icon.png",
        "sounding_qgis/plugin.py",
        "sounding_qgis/backend/__init__.py",
        "sounding_qgis/backend/cli/__init__.py",
        "sounding_qgis/backend/catalogue.json",
        "sounding_qgis/requirements.txt",
        "sounding_qgis/i18n/sounding_qgis_de.qm",
    ):
        assert required in names
    assert not [n for n in names if n.endswith(".ts")]  # sources stay out; .qm go in
    assert not [
        n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo")) or ".git/" in n
    ]
    assert plugin_zip.stat().st_size < 25 * 1024 * 1024
    assert re.fullmatch(r"^[a-z_][a-z0-9_]*$", "sounding_qgis")
    versioned = plugin_zip.with_name(f"sounding_qgis-{zip_metadata(plugin_zip)['version']}.zip")
    assert versioned.is_file()


def test_metadata_passes_plugin_repository_rules(plugin_zip: Path):
    metadata = zip_metadata(plugin_zip)
    assert package_plugin.metadata_problems(metadata) == []
    assert metadata["qgisMinimumVersion"] == "3.22"
    assert metadata["qgisMaximumVersion"] == "4.99"  # QGIS 4 (Qt 6) offers the plugin
    assert metadata["hasProcessingProvider"] == "yes"
    assert metadata["category"] == "Raster"
    assert metadata["icon"] == "icon.png"
    assert "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()


def test_metadata_rules_reject_bad_metadata():
    problems = package_plugin.metadata_problems(
        {"name": "x", "description": "<b>bold</b>", "qgisMinimumVersion": "3", "version": "one"}
    )
    text = "; ".join(problems)
    for expected in ("'about'", "'email'", "'tracker'", "HTML", "qgisMinimumVersion", "version"):
        assert expected in text


def test_version_is_semver_the_changelogs_newest_and_the_backends():
    import tomllib

    import backend

    metadata = package_plugin.read_metadata()
    version = metadata["version"]
    assert package_plugin.SEMVER.fullmatch(version)
    versions = package_plugin.changelog_versions(metadata["changelog"])
    assert versions[0] == version and len(versions) == len(set(versions)) > 1
    assert backend.__version__ == version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["version"] == version


@pytest.mark.parametrize(
    ("version", "changelog", "expected"),
    [
        ("1.0.0", "0.9.0 the last release\n0.8.0 before", "not the changelog's newest entry"),
        ("0.9", "0.9 something", "not semantic versioning"),
        ("0.9.0", "Many fixes.", "changelog lists no version"),
        ("01.2.3", "01.2.3 x", "not semantic versioning"),
    ],
)
def test_version_and_changelog_must_agree(version, changelog, expected):
    metadata = {**package_plugin.read_metadata(), "version": version, "changelog": changelog}
    assert any(expected in p for p in package_plugin.metadata_problems(metadata))
    ok = {**metadata, "version": "1.0.0-rc.1", "changelog": "\n1.0.0-rc.1 first\n0.9.0 x"}
    assert package_plugin.metadata_problems(ok) == []


def test_package_refuses_to_build_when_changelog_disagrees(tmp_path: Path):
    import subprocess

    text = (ROOT / "metadata.txt").read_text(encoding="utf-8")
    version = package_plugin.read_metadata()["version"]
    bumped = tmp_path / "metadata.txt"
    bumped.write_text(text.replace(f"version={version}", "version=9.9.9"), encoding="utf-8")
    out = tmp_path / "dist"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "package_plugin.py"),
            "--out",
            str(out),
            "--metadata",
            str(bumped),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"version 9.9.9 is not the changelog's newest entry ({version})" in result.stderr
    assert not out.exists()  # nothing built


def test_repository_xml_points_at_zip(plugin_zip: Path):
    xml = (plugin_zip.parent / "plugins.xml").read_text()
    assert 'plugin_id="sounding_qgis"' in xml
    assert plugin_zip.parent.resolve().as_uri() in xml
    assert "<qgis_minimum_version>3.22</qgis_minimum_version>" in xml
    assert "<qgis_maximum_version>4.99</qgis_maximum_version>" in xml


def _load_from(plugins_dir: Path) -> None:
    sys.path.insert(0, str(plugins_dir))
    qgis.utils.plugin_paths.insert(0, str(plugins_dir))
    qgis.utils.updateAvailablePlugins()


@pytest.mark.usefixtures("isolated_plugin_modules")
def test_unpacked_zip_loads_starts_and_unloads(unpacked_plugin: Path, qgis_iface):
    registry = QgsApplication.processingRegistry()
    _load_from(unpacked_plugin)
    try:
        for _round in range(2):  # load -> unload -> load again
            assert qgis.utils.loadPlugin("sounding_qgis")
            assert qgis.utils.startPlugin("sounding_qgis")
            plugin = qgis.utils.plugins["sounding_qgis"]
            # the plugin and its backend come from the ZIP, not from the repository
            assert Path(sys.modules["sounding_qgis"].__file__).is_relative_to(unpacked_plugin)
            assert Path(sys.modules["backend"].__file__).is_relative_to(unpacked_plugin)
            assert plugin.dependencies.ok, plugin.dependencies.errors
            assert registry.providerById("sounding") is not None
            toolbar = plugin.toolbar
            assert toolbar.windowTitle() == "Sounding Earth"
            assert len(toolbar.actions()) >= 1
            assert len(plugin.actions) == len({a.text() for a in plugin.actions})
            assert qgis.utils.unloadPlugin("sounding_qgis")
            assert registry.providerById("sounding") is None
            assert plugin.toolbar is None and plugin.actions == []
            assert toolbar.actions() == []
    finally:
        qgis.utils.plugin_paths.remove(str(unpacked_plugin))
        qgis.utils.plugins.pop("sounding_qgis", None)
        if "sounding_qgis" in qgis.utils.active_plugins:
            qgis.utils.active_plugins.remove("sounding_qgis")
