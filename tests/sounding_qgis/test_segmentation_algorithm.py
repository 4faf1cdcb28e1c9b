"""A segmentation model file through the unchanged ``sounding:classifyraster`` algorithm."""

from __future__ import annotations

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
from tests.sounding_qgis.helpers import RASTER_CRS, write_raster

pytestmark = pytest.mark.usefixtures("sounding_provider")


def test_classifyraster_runs_a_segmentation_model_per_pixel(tmp_path: Path):
    torch.manual_seed(0)
    model = SegmentationModel("resnet18", len(CLASS_NAMES)).eval()
    model_path = tmp_path / "segmentation.safetensors"
    save_segmentation_model(
        model_path, model, segmentation_metadata(model, CLASS_NAMES, class_colors_hex(), 32)
    )
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
