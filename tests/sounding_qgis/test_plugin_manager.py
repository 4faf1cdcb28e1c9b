"""Installing the plugin the way users do: QGIS's own plugin installer, from dist/plugins.xml.

QGIS's plugin manager (``pyplugin_installer``) fetches the custom repository
(a file:// URL), downloads the ZIP it lists, unpacks it into the profile's
plugins folder, then loads and starts the plugin. The same code runs here,
headless, against a temporary plugins folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import qgis.utils
from qgis.core import QgsApplication, QgsSettings

from tests.sounding_qgis.helpers import wait_until

QGIS_PYTHON = "/usr/share/qgis/python"
REPOSITORY = "Sounding Earth test repository"


@pytest.fixture
def plugin_installer(tmp_path: Path, monkeypatch, qgis_iface):
    """QGIS's plugin installer writing into an empty plugins folder of its own."""
    if QGIS_PYTHON not in sys.path:
        monkeypatch.syspath_prepend(QGIS_PYTHON)
    pyplugin_installer = pytest.importorskip("pyplugin_installer")
    from pyplugin_installer import installer_data

    plugins_folder = tmp_path / "plugins"
    plugins_folder.mkdir()
    monkeypatch.setattr(qgis.utils, "home_plugin_path", str(plugins_folder), raising=False)
    monkeypatch.setattr(qgis.utils, "plugin_paths", [str(plugins_folder)])
    monkeypatch.syspath_prepend(str(plugins_folder))
    settings = QgsSettings()
    settings.setValue(f"{installer_data.settingsGroup}/checkOnStart", False)
    settings.setValue(f"{installer_data.settingsGroup}/allowExperimental", True)
    yield pyplugin_installer, installer_data, plugins_folder
    settings.remove(f"{installer_data.reposGroup}/{REPOSITORY}")
    if "sounding_qgis" in qgis.utils.plugins:
        qgis.utils.unloadPlugin("sounding_qgis")
    qgis.utils.plugins.pop("sounding_qgis", None)
    qgis.utils.available_plugins[:] = [
        p for p in qgis.utils.available_plugins if p != "sounding_qgis"
    ]


@pytest.mark.usefixtures("isolated_plugin_modules")
def test_plugin_manager_installs_the_zip_from_plugins_xml(plugin_zip: Path, plugin_installer):
    pyplugin_installer, installer_data, plugins_folder = plugin_installer
    repository_xml = plugin_zip.parent / "plugins.xml"
    QgsSettings().setValue(
        f"{installer_data.reposGroup}/{REPOSITORY}/url", repository_xml.resolve().as_uri()
    )
    installer = pyplugin_installer.installer.QgsPluginInstaller()
    repositories, plugins = installer_data.repositories, installer_data.plugins
    repositories.requestFetching(REPOSITORY)
    wait_until(lambda: not repositories.fetchingInProgress(), 60, "the repository")
    assert repositories.all()[REPOSITORY]["error"] == ""
    plugins.getAllInstalled()
    plugins.rebuild()
    listed = plugins.all()
    assert "sounding_qgis" in listed, sorted(listed)
    entry = listed["sounding_qgis"]
    assert entry["name"] == "Sounding Earth" and entry["status_exp"] == "not installed"

    installer.installPlugin("sounding_qgis", quiet=True, stable=False)

    assert (plugins_folder / "sounding_qgis" / "metadata.txt").is_file()
    assert (plugins_folder / "sounding_qgis" / "backend" / "__init__.py").is_file()
    assert "sounding_qgis" in qgis.utils.active_plugins
    plugin = qgis.utils.plugins["sounding_qgis"]
    assert Path(sys.modules["sounding_qgis"].__file__).is_relative_to(plugins_folder)
    assert plugin.dependencies.ok, plugin.dependencies.errors
    assert QgsApplication.processingRegistry().providerById("sounding") is plugin.provider
    assert qgis.utils.unloadPlugin("sounding_qgis")
    assert QgsApplication.processingRegistry().providerById("sounding") is None
