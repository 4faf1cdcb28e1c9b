"""The "Sounds here" panel: the query for the map view, following the canvas, play/stop, show on map."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer, QgsRectangle

from sounding_qgis import player as player_module
from sounding_qgis.player import SoundPlayer
from sounding_qgis.sounds_dock import RECORDINGS_LAYER_NAME, SoundsHereDock
from tests.sounding_qgis.helpers import RASTER_CRS, RASTER_ORIGIN, wait_for_task, wait_until


@pytest.fixture(scope="module")
def sound_index(workspace, sound_collection: Path, tmp_path_factory) -> Path:
    """An index of the collection's recordings, built by the backend."""
    from backend.index import build_index

    out = tmp_path_factory.mktemp("index") / "index"
    build_index(
        sound_collection, workspace.audiovisual, out, device="cpu", max_windows=2, workers=1
    )
    return out


@pytest.fixture
def dock(workspace, sound_index: Path, qgis_iface, qgis_new_project):
    """A panel over the workspace raster, with the index and model chosen, and the map on the raster."""
    layer = QgsRasterLayer(str(workspace.raster), "scene", "gdal")
    QgsProject.instance().addMapLayer(layer)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(RASTER_CRS))
    x0, y0 = RASTER_ORIGIN
    canvas.setExtent(QgsRectangle(x0 + 32, y0 - 224, x0 + 224, y0 - 32))
    panel = SoundsHereDock(qgis_iface, player=SoundPlayer(use_qt=False))
    panel.layer_combo.setLayer(layer)
    panel.index_widget.setFilePath(str(sound_index))
    panel.model_widget.setFilePath(str(workspace.audiovisual))
    panel.top_spin.setValue(4)
    yield panel
    panel.shutdown()
    panel.deleteLater()
    QgsProject.instance().removeAllMapLayers()


def test_query_for_the_map_extent_lists_the_closest_recordings(dock: SoundsHereDock):
    task = dock.refresh()
    assert task is not None
    wait_for_task(task)
    assert task.error is None, task.error
    assert len(dock.matches) == 4 and dock.table.rowCount() == 4
    headers = [dock.table.horizontalHeaderItem(c).text() for c in range(dock.table.columnCount())]
    assert headers == ["Title", "Creator", "Similarity", "Distance (km)"]
    titles = [dock.table.item(r, 0).text() for r in range(4)]
    assert all(t.startswith("recording ") for t in titles)
    assert [dock.table.item(r, 1).text() for r in range(4)] == [m.creator for m in dock.matches]
    similarities = [float(dock.table.item(r, 2).text()) for r in range(4)]
    assert similarities == sorted(similarities, reverse=True)
    assert all(0.0 <= float(dock.table.item(r, 3).text()) < 1.0 for r in range(4))
    assert "4 recordings" in dock.status_label.text()
    assert dock.selected_row() == 0 and dock.play_button.isEnabled()


def test_panel_follows_the_canvas_once_the_map_rests(dock: SoundsHereDock, qgis_iface):
    window = qgis_iface.mainWindow()
    window.show()  # (offscreen) the panel is visible only inside a visible window
    dock.show()
    wait_until(lambda: dock.queries_started == 1, 10, "the query when the panel opens")
    if dock.task is not None:
        wait_for_task(dock.task)
    canvas = qgis_iface.mapCanvas()
    x0, y0 = RASTER_ORIGIN
    for shift in (0, 8, 16, 24):  # a quick pan: one query at the end, not four
        canvas.setExtent(QgsRectangle(x0 + 40 + shift, y0 - 200, x0 + 200 + shift, y0 - 40))
    assert dock.queries_started == 1
    wait_until(lambda: dock.queries_started == 2, 10, "the debounced query")
    task = dock.task
    wait_for_task(task)
    assert len(dock.matches) == 4
    assert dock.queries_started == 2
    dock.follow_check.setChecked(False)
    canvas.setExtent(QgsRectangle(x0 + 50, y0 - 150, x0 + 150, y0 - 50))
    assert not dock.timer.isActive()
    dock.hide()
    window.hide()


def test_extent_outside_the_raster_says_so_without_a_crash(dock: SoundsHereDock, qgis_iface):
    x0, y0 = RASTER_ORIGIN
    qgis_iface.mapCanvas().setExtent(QgsRectangle(x0 + 5000, y0 + 5000, x0 + 5200, y0 + 5200))
    task = dock.refresh()
    wait_for_task(task)
    assert dock.matches == [] and dock.table.rowCount() == 0
    assert "outside" in dock.status_label.text() or "extent" in dock.status_label.text()


def test_missing_index_is_explained(dock: SoundsHereDock, tmp_path: Path):
    dock.index_widget.setFilePath(str(tmp_path / "no-index"))
    assert dock.refresh() is None
    assert "sound index" in dock.status_label.text()


def test_show_on_map_adds_the_point_once_and_selects_it(dock: SoundsHereDock):
    wait_for_task(dock.refresh())
    layer = dock.show_on_map(1)
    assert layer.name() == RECORDINGS_LAYER_NAME
    assert QgsProject.instance().mapLayersByName(RECORDINGS_LAYER_NAME) == [layer]
    assert layer.featureCount() == 1
    feature = next(layer.getFeatures())
    assert feature["key"] == dock.matches[1].key and feature["title"] == dock.matches[1].title
    assert feature.geometry().asPoint().x() == pytest.approx(dock.matches[1].longitude)
    assert layer.selectedFeatureIds() == [feature.id()]
    dock.show_on_map(1)  # again: selected, not duplicated
    dock.show_on_map(2)
    assert layer.featureCount() == 2
    assert len(layer.selectedFeatureIds()) == 1
    assert next(layer.getSelectedFeatures())["key"] == dock.matches[2].key


def test_play_and_stop_with_the_system_player(dock: SoundsHereDock, monkeypatch):
    # a stand-in "player" that runs until it is stopped
    monkeypatch.setattr(
        player_module,
        "SYSTEM_PLAYERS",
        [(sys.executable, ["-c", "import time; time.sleep(60)"], ())],
    )
    wait_for_task(dock.refresh())
    dock.play_selected()
    assert dock.player.is_playing()
    assert "Playing" in dock.status_label.text()
    assert dock.stop_button.isEnabled()
    process = dock.player._process
    dock.stop_button.click()
    assert not dock.player.is_playing()
    assert process.poll() is not None  # the player process has ended
    assert not dock.stop_button.isEnabled()


def test_soundscape_button_asks_for_the_selected_recording(dock: SoundsHereDock):
    wait_for_task(dock.refresh())
    asked = []
    dock.soundscapeRequested.connect(asked.append)
    dock.table.selectRow(2)
    dock.soundscape_button.click()
    assert asked == [dock.matches[2].file]


def test_an_index_in_another_encoding_than_the_model_is_refused(
    dock: SoundsHereDock, sound_index: Path, tmp_path: Path
):
    import shutil

    from safetensors import safe_open
    from safetensors.torch import save_file

    other = tmp_path / "jpg-index"
    shutil.copytree(sound_index, other)
    embeddings = other / "embeddings.safetensors"
    with safe_open(str(embeddings), framework="pt") as handle:
        header = dict(handle.metadata())
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    assert header["spectrogram_encoding"] == "logmel"
    save_file(tensors, str(embeddings), metadata={**header, "spectrogram_encoding": "jpg"})
    dock.index_widget.setFilePath(str(other))
    task = dock.refresh()
    assert task is not None
    wait_for_task(task)
    assert task.error is not None and "JPG encoding" in task.error and "log-mel" in task.error
    assert dock.matches == []
