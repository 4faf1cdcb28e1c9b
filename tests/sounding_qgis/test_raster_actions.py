"""The toolbar's "Classify imagery layer" and "Soundscape map", end to end in headless QGIS."""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsPalettedRasterRenderer,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsSettings,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtCore import Qt

from sounding_qgis.dialogs import ClassifyDialog, SoundscapeDialog
from sounding_qgis.raster_actions import classify_task, soundscape_task
from sounding_qgis.tasks import start_task
from tests.sounding_qgis.helpers import (
    CLASS_COLORS,
    CLASS_NAMES,
    RASTER_CRS,
    RASTER_ORIGIN,
    wait_for_task,
    write_raster,
)


@pytest.fixture
def scene_layer(workspace, qgis_iface, qgis_new_project):
    """The workspace raster added to a fresh project and made the active layer."""
    layer = QgsRasterLayer(str(workspace.raster), "scene", "gdal")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    qgis_iface.messageBar().clear_messages()
    yield layer
    QgsProject.instance().removeAllMapLayers()


def _layers_named(name: str) -> list:
    return QgsProject.instance().mapLayersByName(name)


def test_classify_dialog_defaults_to_active_layer_and_remembered_model(
    scene_layer, qgis_iface, workspace
):
    QgsSettings().setValue("sounding_earth/classifier_model", str(workspace.classifier))
    dialog = ClassifyDialog(qgis_iface)
    assert dialog.layer_combo.currentLayer() is scene_layer
    assert dialog.model_widget.filePath() == str(workspace.classifier)
    assert dialog.extent_layer.isChecked() and dialog.output_temporary.isChecked()


def test_classify_action_end_to_end(scene_layer, qgis_iface, workspace, tmp_path: Path):
    dialog = ClassifyDialog(qgis_iface)
    dialog.model_widget.setFilePath(str(workspace.classifier))
    dialog.output_file.setChecked(True)
    dialog.output_widget.setFilePath(str(tmp_path / "classes"))  # suffix added
    dialog.accept()
    assert dialog.result() == ClassifyDialog.Accepted, dialog.error_label.text()
    job = dialog.job
    assert job.output == tmp_path / "classes.tif" and job.extent is None
    assert QgsSettings().value("sounding_earth/classifier_model") == str(workspace.classifier)

    task = start_task(classify_task(qgis_iface, job))
    wait_for_task(task)
    assert task.error is None, task.error
    layers = _layers_named("scene classes")
    assert len(layers) == 1
    layer = layers[0]
    assert Path(layer.source()) == tmp_path / "classes.tif"
    assert layer.crs().authid() == RASTER_CRS
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [c.value for c in renderer.classes()] == [0, 1, 2]
    assert [c.label for c in renderer.classes()] == CLASS_NAMES
    assert [c.color.name() for c in renderer.classes()] == CLASS_COLORS
    messages = qgis_iface.messageBar().get_messages(Qgis.Success)
    assert len(messages) == 1 and "Classified scene in" in messages[0] and " s:" in messages[0]


def test_classify_action_over_the_map_view_into_a_temporary_file(
    scene_layer, qgis_iface, workspace
):
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem(RASTER_CRS))
    x0, y0 = RASTER_ORIGIN
    canvas.setExtent(QgsRectangle(x0 + 64, y0 - 192, x0 + 192, y0 - 64))
    dialog = ClassifyDialog(qgis_iface)
    dialog.model_widget.setFilePath(str(workspace.classifier))
    dialog.extent_canvas.setChecked(True)
    dialog.accept()
    job = dialog.job
    assert job.temporary and job.extent is not None and job.extent_crs == RASTER_CRS
    task = start_task(classify_task(qgis_iface, job))
    wait_for_task(task)
    layer = _layers_named("scene classes")[0]
    full = scene_layer.extent()
    # the canvas widens the view to its own shape, so only the height is certain to shrink
    assert layer.extent().height() < full.height() and layer.extent().area() < full.area()
    assert full.contains(layer.extent())


def test_classify_through_the_toolbar_action(
    scene_layer, qgis_iface, workspace, tmp_path: Path, monkeypatch
):
    from sounding_qgis.plugin import SoundingEarthPlugin

    def fill_and_accept(dialog):
        dialog.model_widget.setFilePath(str(workspace.classifier))
        dialog.output_file.setChecked(True)
        dialog.output_widget.setFilePath(str(tmp_path / "toolbar.tif"))
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(ClassifyDialog, "exec", fill_and_accept)
    plugin = SoundingEarthPlugin(qgis_iface)
    plugin.initGui()
    try:
        action = next(a for a in plugin.actions if a.text().startswith("Classify imagery"))
        assert action in plugin.toolbar.actions()
        action.trigger()
        from sounding_qgis.tasks import active_tasks

        tasks = active_tasks()
        assert len(tasks) == 1
        wait_for_task(tasks[0])
        assert (tmp_path / "toolbar.tif").is_file()
        assert len(_layers_named("scene classes")) == 1
    finally:
        plugin.unload()


def test_cancelling_the_classify_task_leaves_no_layer_and_no_file(
    qgis_iface, workspace, tmp_path: Path, qgis_new_project
):
    big = write_raster(tmp_path / "big.tif", size=512, seed=3)
    layer = QgsRasterLayer(str(big), "big", "gdal")
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    qgis_iface.messageBar().clear_messages()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dialog = ClassifyDialog(qgis_iface)
    dialog.model_widget.setFilePath(str(workspace.classifier))
    dialog.output_file.setChecked(True)
    dialog.output_widget.setFilePath(str(out_dir / "classes.tif"))
    dialog.accept()
    task = classify_task(qgis_iface, dialog.job)
    # cancel from the worker thread at the first progress report: as a user's Cancel
    # in the task manager would, but at a fixed point
    task.progressChanged.connect(lambda _value: task.cancel(), Qt.DirectConnection)
    start_task(task)
    wait_for_task(task)
    assert task.cancelled and task.error is None
    assert _layers_named("big classes") == []
    assert list(out_dir.iterdir()) == []
    infos = qgis_iface.messageBar().get_messages(Qgis.Info)
    assert any("cancelled" in m for m in infos)
    assert qgis_iface.messageBar().get_messages(Qgis.Critical) == []
    QgsProject.instance().removeAllMapLayers()


def test_failure_shows_the_backend_error_in_the_message_bar(
    scene_layer, qgis_iface, workspace, tmp_path: Path
):
    dialog = ClassifyDialog(qgis_iface)
    dialog.model_widget.setFilePath(str(workspace.audiovisual))  # not a classifier
    dialog.output_file.setChecked(True)
    dialog.output_widget.setFilePath(str(tmp_path / "classes.tif"))
    dialog.accept()
    task = start_task(classify_task(qgis_iface, dialog.job))
    wait_for_task(task)
    errors = qgis_iface.messageBar().get_messages(Qgis.Critical)
    assert len(errors) == 1
    assert "not a classifier" in errors[0] and "Traceback" not in errors[0]
    assert _layers_named("scene classes") == []
    assert not (tmp_path / "classes.tif").exists()


def test_dialog_refuses_a_missing_model_and_stays_open(scene_layer, qgis_iface, tmp_path: Path):
    dialog = ClassifyDialog(qgis_iface)
    dialog.model_widget.setFilePath(str(tmp_path / "nothing.safetensors"))
    dialog.accept()
    assert dialog.job is None
    assert "model file" in dialog.error_label.text()


def test_soundscape_action_adds_a_heat_layer_with_a_colour_ramp(
    scene_layer, qgis_iface, workspace, tmp_path: Path
):
    dialog = SoundscapeDialog(qgis_iface, audio=str(workspace.recordings[1]))
    dialog.model_widget.setFilePath(str(workspace.audiovisual))
    dialog.accept()
    job = dialog.job
    assert job is not None, dialog.error_label.text()
    assert job.audio == str(workspace.recordings[1])
    task = start_task(soundscape_task(qgis_iface, job))
    wait_for_task(task)
    assert task.error is None, task.error
    layer = _layers_named(f"soundscape of {workspace.recordings[1].name}")[0]
    renderer = layer.renderer()
    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
    items = renderer.shader().rasterShaderFunction().colorRampItemList()
    assert len(items) >= 2 and items[0].color != items[-1].color
    assert renderer.classificationMin() == pytest.approx(task.result.minimum, abs=1e-5)
    assert layer.crs().authid() == RASTER_CRS
