"""When backend packages cannot be imported, the plugin still loads and says how to fix it."""

from __future__ import annotations

import sys
from pathlib import Path

from qgis.core import Qgis, QgsApplication

from sounding_qgis.dependencies import (
    add_dependency_folder_to_path,
    check_dependencies,
    format_command,
    install_command,
    missing_message,
)
from sounding_qgis.plugin import SoundingEarthPlugin


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
    assert "-m pip install" in message
    assert "torchaudio==2.9.1" in message
    assert "restart QGIS" in message


def test_install_command_targets_plugin_folder_and_keeps_numpy(tmp_path: Path):
    import numpy

    command = install_command(
        ["torch", "rasterio"], target=tmp_path / "deps", python="/usr/bin/python3"
    )
    assert command[:4] == ["/usr/bin/python3", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path / "deps")
    assert "torch==2.9.1" in command and "rasterio==1.4.4" in command
    assert f"numpy=={numpy.__version__}" in command
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


def test_dependency_folder_is_appended_but_preferred_packages_shadow_old_copies(
    tmp_path: Path, monkeypatch
):
    # An old copy on the path (as Debian's attrs 22.2 is) and a newer one in the folder.
    system, folder = tmp_path / "system", tmp_path / "deps"
    for root, version in ((system, "22.2"), (folder, "24.1")):
        for name in ("se_test_preferred", "se_test_plain"):
            (root / name).mkdir(parents=True)
            (root / name / "__init__.py").write_text(f"__version__ = {version!r}\n")
    monkeypatch.setattr(sys, "path", [str(system), *sys.path])
    for name in ("se_test_preferred", "se_test_plain"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    stuck = add_dependency_folder_to_path(folder, preferred=("se_test_preferred", "absent"))

    assert stuck == []
    assert sys.path[-1] == str(folder) and sys.path.count(str(folder)) == 1
    import se_test_plain
    import se_test_preferred

    assert se_test_preferred.__version__ == "24.1"  # imported from the folder
    assert se_test_plain.__version__ == "22.2"  # the system's copy keeps precedence
    # a package imported before the folder was added cannot be replaced: say so
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(folder)])
    monkeypatch.setitem(sys.modules, "se_test_preferred", se_test_plain)
    assert add_dependency_folder_to_path(folder, preferred=("se_test_preferred",)) == [
        "se_test_preferred"
    ]
    for name in ("se_test_preferred", "se_test_plain"):
        sys.modules.pop(name, None)
