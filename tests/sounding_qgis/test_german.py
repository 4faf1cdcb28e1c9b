"""The German translation in a German QGIS: the plugin from its ZIP, in real QGIS 3.22.

Two QGIS: this test process (pytest-qgis) with QGIS's locale set to German, which
loads the plugin through ``qgis.utils`` as QGIS does and shows its toolbar; and a
fresh ``qgis_process`` whose profile says German, which lists the algorithms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
import qgis.utils
from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication

from tests.sounding_qgis.helpers import unpack_plugin

QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
#: English -> German of texts the user sees first (sounding_qgis/i18n/sounding_qgis_de.ts)
TOOLBAR = {
    "Train classifier from labels…": "Klassifikator aus Beschriftungen trainieren…",
    "Classify imagery layer…": "Bilddatenlayer klassifizieren…",
    "Sounds here": "Töne hier",
    "Soundscape map…": "Klanglandschaftskarte…",
}
ALGORITHMS = {
    "classifyraster": "Raster klassifizieren",
    "buildpairs": "Bild-/Ton-Paare erstellen",
    "trainfromlabels": "Klassifikator aus beschrifteten Objekten trainieren",
    "querysounds": "Töne für eine Ausdehnung abfragen",
}


@pytest.fixture
def german_qgis(qgis_app):
    """QGIS's locale setting says German for one test (restored afterwards)."""
    settings = QgsSettings()
    saved = {key: settings.value(key) for key in ("locale/overrideFlag", "locale/userLocale")}
    settings.setValue("locale/overrideFlag", True)
    settings.setValue("locale/userLocale", "de")
    assert QgsApplication.locale() == "de"
    yield
    for key, value in saved.items():
        if value is None:
            settings.remove(key)
        else:
            settings.setValue(key, value)


@pytest.mark.usefixtures("isolated_plugin_modules", "german_qgis")
def test_toolbar_and_algorithms_in_german(unpacked_plugin: Path, qgis_iface):
    sys.path.insert(0, str(unpacked_plugin))
    qgis.utils.plugin_paths.insert(0, str(unpacked_plugin))
    qgis.utils.updateAvailablePlugins()
    try:
        assert qgis.utils.loadPlugin("sounding_qgis")
        assert qgis.utils.startPlugin("sounding_qgis")
        plugin = qgis.utils.plugins["sounding_qgis"]
        toolbar = [action.text() for action in plugin.toolbar.actions()]
        assert toolbar == list(TOOLBAR.values()), toolbar
        menu = {action.text() for action in plugin.actions}
        assert {"Modelle…", "Über Sounding Earth…"} <= menu
        assert plugin.dock.windowTitle() == "Töne hier"
        provider = QgsApplication.processingRegistry().providerById("sounding")
        names = {a.name(): a.displayName() for a in provider.algorithms()}
        for name, german in ALGORITHMS.items():
            assert names[name] == german
        # the help panel: its headings, every parameter's explanation and the link, in German
        help_text = provider.algorithm("classifyraster").shortHelpString()
        assert "<b>Parameter</b>" in help_text
        assert "Die zu klassifizierenden Bilddaten" in help_text
        assert "Dokumentation: <a href=" in help_text
        assert qgis.utils.unloadPlugin("sounding_qgis")
        # unloading takes the translator away again
        assert QCoreApplication.translate("SoundingEarth", "Models…") == "Models…"
    finally:
        qgis.utils.plugin_paths.remove(str(unpacked_plugin))
        qgis.utils.plugins.pop("sounding_qgis", None)
        if "sounding_qgis" in qgis.utils.active_plugins:
            qgis.utils.active_plugins.remove("sounding_qgis")


@pytest.mark.skipif(
    not QGIS_PROCESS.is_file(),
    reason="qgis_process is missing: install Debian's desktop package (make setup does)",
)
def test_qgis_process_lists_the_algorithms_in_german(plugin_zip: Path, tmp_path: Path):
    config = tmp_path / "qgis-config"
    profile = unpack_plugin(config, plugin_zip)
    ini = profile / "QGIS" / f"{QgsApplication.QGIS_APPLICATION_NAME}.ini"
    ini.parent.mkdir(parents=True)
    ini.write_text(
        textwrap.dedent(
            """\
            [PythonPlugins]
            sounding_qgis=true

            [locale]
            overrideFlag=true
            userLocale=de
            """
        ),
        encoding="utf-8",
    )
    env = dict(os.environ)
    env.update(
        QGIS_CUSTOM_CONFIG_PATH=str(config),
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=sysconfig.get_paths()["purelib"],  # the backend's packages, as in a user's
        XDG_RUNTIME_DIR=str(config),
        LANG="C.UTF-8",  # the German comes from QGIS's setting, not from the system
    )
    env.pop("PYTHONHOME", None)
    listed = subprocess.run(
        [str(QGIS_PROCESS), "list"], env=env, capture_output=True, text=True, timeout=180
    )
    assert listed.returncode == 0, listed.stderr
    lines = {line.strip() for line in listed.stdout.splitlines()}
    for name, german in ALGORITHMS.items():
        assert f"sounding:{name}\t{german}" in lines, listed.stdout[-3000:]
