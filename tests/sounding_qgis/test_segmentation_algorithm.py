"""A segmentation model file through the unchanged classify algorithm and toolbar action."""

from __future__ import annotations

import shutil
from pathlib import Path

import processing
import pytest
import torch
from qgis.core import (
    QgsPalettedRasterRenderer,
    QgsProcessingContext,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
)

from backend.data.deepglobe import CLASS_NAMES, class_colors_hex
from backend.models.deeplab import (
    SegmentationModel,
    save_segmentation_model,
    segmentation_metadata,
)
from sounding_qgis.dialogs import ClassifyDialog
from sounding_qgis.raster_actions import classify_task
from sounding_qgis.tasks import start_task
from tests.sounding_qgis.helpers import RASTER_CRS, wait_for_task, write_raster


@pytest.fixture(scope="module")
def segmentation_model(tmp_path_factory) -> Path:
    """A random-weight DeepLabv3+ model file with the DeepGlobe classes (tile 32 px)."""
    torch.manual_seed(0)
    model = SegmentationModel("resnet18", len(CLASS_NAMES)).eval()
    path = tmp_path_factory.mktemp("segmentation") / "segmentation.safetensors"
    save_segmentation_model(
        path, model, segmentation_metadata(model, CLASS_NAMES, class_colors_hex(), 32)
    )
    return path


@pytest.mark.usefixtures("sounding_provider")
def test_classifyraster_runs_a_segmentation_model_per_pixel(segmentation_model, tmp_path: Path):
    model_path = segmentation_model
    raster = write_raster(tmp_path / "image.tif", size=80)
    out = tmp_path / "classes.tif"
    project = QgsProject.instance()
    context = QgsProcessingContext()
    context.setProject(project)
    feedback = QgsProcessingFeedback()
    result = processing.runAndLoadResults(
        "sounding:classifyraster",
        {"INPUT": str(raster), "MODEL": str(model_path), "DEVICE": 1, "OUTPUT": str(out)},
        context=context,
        feedback=feedback,
    )
    assert Path(result["OUTPUT"]) == out
    layers = [
        layer
        for layer in project.mapLayers().values()
        if isinstance(layer, QgsRasterLayer) and Path(layer.source()) == out
    ]
    assert len(layers) == 1
    layer = layers[0]
    # one class per raster pixel, on the raster's grid
    source = QgsRasterLayer(str(raster), "image", "gdal")
    assert (layer.width(), layer.height()) == (source.width(), source.height()) == (80, 80)
    assert layer.extent() == source.extent()
    assert layer.crs().authid() == RASTER_CRS
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [c.label for c in renderer.classes()] == list(CLASS_NAMES)
    assert [c.color.name() for c in renderer.classes()] == class_colors_hex()
    assert "80 x 80 pixels, tile 32 px, stride 16 px" in feedback.textLog()
    project.removeAllMapLayers()
    del source, layer


def test_toolbar_classify_action_runs_a_segmentation_model(
    segmentation_model, qgis_iface, qgis_new_project, tmp_path: Path, monkeypatch
):
    import sounding_qgis.model_chooser as chooser

    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(segmentation_model, folder / "deepglobe.safetensors")
    monkeypatch.setenv("SOUNDING_EARTH_MODELS", str(folder))
    monkeypatch.setattr(chooser, "DEMO_OUTPUT", tmp_path / "no-demo")
    # nothing remembered from other tests, no demo-output/ of this checkout
    from qgis.core import QgsSettings

    import sounding_qgis.settings as settings

    QgsSettings().remove(f"{settings.SETTINGS_GROUP}/classifier_model")
    monkeypatch.setitem(
        settings.DEFAULT_PATHS, "classifier_model", tmp_path / "no-demo" / "classifier.safetensors"
    )
    raster = write_raster(tmp_path / "image.tif", size=48)
    layer = QgsRasterLayer(str(raster), "scene", "gdal")
    QgsProject.instance().addMapLayer(layer)
    qgis_iface.setActiveLayer(layer)
    dialog = ClassifyDialog(qgis_iface)
    # the chooser offers segmentation models beside classifiers
    assert dialog.model_widget.paths() == [str(folder / "deepglobe.safetensors")]
    dialog.model_widget.setFilePath(str(folder / "deepglobe.safetensors"))
    dialog.output_file.setChecked(True)
    dialog.output_widget.setFilePath(str(tmp_path / "classes.tif"))
    dialog.accept()
    task = start_task(classify_task(qgis_iface, dialog.job))
    wait_for_task(task)
    assert task.error is None, task.error
    classes = QgsProject.instance().mapLayersByName("scene classes")
    assert len(classes) == 1
    assert (classes[0].width(), classes[0].height()) == (48, 48)
    assert [c.label for c in classes[0].renderer().classes()] == list(CLASS_NAMES)
    QgsProject.instance().removeAllMapLayers()
