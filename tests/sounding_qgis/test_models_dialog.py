"""The "Models…" dialog: lists the catalogue, downloads a model in the background, verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

from qgis.core import QgsSettings

from sounding_qgis.models_dialog import ModelsDialog
from sounding_qgis.settings import SETTINGS_GROUP
from tests.sounding_qgis.helpers import wait_for_task


def _row_of(dialog: ModelsDialog, name: str) -> int:
    return [e.name for e in dialog.entries].index(name)


def test_lists_the_catalogue_and_downloads_the_selected_model(workspace, qgis_iface, tmp_path):
    from backend.catalogue import add_entry

    folder = tmp_path / "models"
    digest = hashlib.sha256(Path(workspace.audiovisual).read_bytes()).hexdigest()
    add_entry(Path(workspace.audiovisual).as_uri(), digest, name="tiny", folder=folder)
    dialog = ModelsDialog(qgis_iface, folder=str(folder))
    try:
        names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
        assert {"soundingearth-resnet18", "soundingearth-resnet50", "tiny"} <= set(names)

        # an entry without an address: the dialog says where to find one, nothing starts
        dialog.table.selectRow(_row_of(dialog, "soundingearth-resnet50"))
        assert "github.com/khdlr/SoundingEarth" in dialog.note_label.text()
        assert dialog.download_selected() is None
        assert "no file address" in dialog.status_label.text()

        row = _row_of(dialog, "tiny")
        dialog.table.selectRow(row)
        task = dialog.download_selected()
        assert task is not None
        wait_for_task(task)
        assert task.error is None, task.error
        target = folder / "tiny.safetensors"
        assert target.is_file()
        assert "SHA-256 verified" in dialog.status_label.text()
        assert dialog.table.item(_row_of(dialog, "tiny"), 3).text() == "downloaded"
        remembered = QgsSettings().value(f"{SETTINGS_GROUP}/audiovisual_model", "", type=str)
        assert remembered == str(target)
    finally:
        QgsSettings().remove(f"{SETTINGS_GROUP}/audiovisual_model")
        dialog.deleteLater()


def test_a_wrong_checksum_is_reported_and_nothing_is_kept(workspace, qgis_iface, tmp_path):
    from backend.catalogue import add_entry

    folder = tmp_path / "models"
    add_entry(Path(workspace.audiovisual).as_uri(), "1" * 64, name="tampered", folder=folder)
    dialog = ModelsDialog(qgis_iface, folder=str(folder))
    try:
        dialog.table.selectRow(_row_of(dialog, "tampered"))
        task = dialog.download_selected()
        wait_for_task(task)
        assert "checksum mismatch" in dialog.status_label.text()
        assert sorted(p.name for p in folder.iterdir()) == ["catalogue.json"]
    finally:
        dialog.deleteLater()


def test_the_plugin_menu_opens_the_dialog_and_unload_closes_it(qgis_iface):
    from sounding_qgis.plugin import MODELS_TEXT, SoundingEarthPlugin

    plugin = SoundingEarthPlugin(qgis_iface)
    plugin.initGui()
    try:
        action = next(a for a in plugin.actions if a.text() == MODELS_TEXT)
        assert action not in plugin.toolbar.actions()  # a menu entry, not a toolbar button
        action.trigger()
        assert isinstance(plugin.models_dialog, ModelsDialog) and plugin.models_dialog.isVisible()
        first = plugin.models_dialog
        action.trigger()  # a second click shows the same dialog, not another one
        assert plugin.models_dialog is first
    finally:
        plugin.unload()
    assert plugin.models_dialog is None
