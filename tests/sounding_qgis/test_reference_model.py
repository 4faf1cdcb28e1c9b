"""The "Sounds here" panel runs a model imported from the paper's own code, unchanged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer, QgsRectangle

from sounding_qgis.player import SoundPlayer
from sounding_qgis.sounds_dock import SoundsHereDock, load_index
from tests.sounding_qgis.helpers import RASTER_CRS, RASTER_ORIGIN, wait_for_task


@pytest.fixture(scope="module")
def reference_model(tmp_path_factory) -> Path:
    """An imported reference-layout checkpoint, its tile size cut to the tiny workspace raster's."""
    from backend.models.modelfile import load_model_file, save_model_file
    from backend.models.reference_import import import_reference_checkpoint
    from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint

    root = tmp_path_factory.mktemp("reference")
    write_fake_checkpoint(root / "latest.pt", embed_dim=8, seed=6)
    imported = root / "imported.safetensors"
    import_reference_checkpoint(root / "latest.pt", imported)
    state, metadata = load_model_file(imported)
    out = root / "reference.safetensors"
    save_model_file(out, state, dataclasses.replace(metadata, tile_px=32))
    return out


def test_sounds_here_with_an_imported_reference_model(
    workspace, sound_collection: Path, reference_model: Path, qgis_iface, qgis_new_project, tmp_path
):
    from backend.index import build_index

    index = tmp_path / "index"
    build_index(sound_collection, reference_model, index, device="cpu", max_windows=2, workers=1)
    layer = QgsRasterLayer(str(workspace.raster), "scene", "gdal")
    QgsProject.instance().addMapLayer(layer)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(RASTER_CRS))
    x0, y0 = RASTER_ORIGIN
    canvas.setExtent(QgsRectangle(x0 + 32, y0 - 224, x0 + 224, y0 - 32))
    panel = SoundsHereDock(qgis_iface, player=SoundPlayer(use_qt=False))
    try:
        panel.layer_combo.setLayer(layer)
        panel.index_widget.setFilePath(str(index))
        panel.model_widget.setFilePath(str(reference_model))
        panel.top_spin.setValue(3)
        task = panel.refresh()
        assert task is not None
        wait_for_task(task)
        assert task.error is None, task.error
        assert len(panel.matches) == 3 and panel.table.rowCount() == 3
        similarities = [m.similarity for m in panel.matches]
        assert similarities == sorted(similarities, reverse=True)
        # the reference ranks by Euclidean distance: a match's score is minus it
        assert load_index(str(index)).distance == "euclidean"
        assert all(s <= 0.0 for s in similarities)
        assert task.result.distance == "euclidean"
        assert panel.table.horizontalHeaderItem(2).text() == "−Distance"
    finally:
        panel.shutdown()
        panel.deleteLater()
        QgsProject.instance().removeAllMapLayers()


def test_soundscape_map_with_an_imported_reference_model(
    workspace, reference_model: Path, qgis_iface, qgis_new_project
):
    from qgis.core import QgsSingleBandPseudoColorRenderer

    from sounding_qgis.dialogs import SoundscapeDialog
    from sounding_qgis.raster_actions import soundscape_task
    from sounding_qgis.tasks import start_task

    layer = QgsRasterLayer(str(workspace.raster), "scene", "gdal")
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    try:
        dialog = SoundscapeDialog(qgis_iface, audio=str(workspace.recordings[0]))
        dialog.model_widget.setFilePath(str(reference_model))
        dialog.accept()
        assert dialog.job is not None, dialog.error_label.text()
        task = start_task(soundscape_task(qgis_iface, dialog.job))
        wait_for_task(task)
        assert task.error is None, task.error
        name = f"soundscape of {workspace.recordings[0].name}"
        heat = QgsProject.instance().mapLayersByName(name)[0]
        assert isinstance(heat.renderer(), QgsSingleBandPseudoColorRenderer)
        assert task.result.minimum <= task.result.maximum <= 0.0  # minus Euclidean distances
    finally:
        QgsProject.instance().removeAllMapLayers()
