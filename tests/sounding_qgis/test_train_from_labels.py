"""``sounding:trainfromlabels`` and its toolbar action, in headless QGIS on files made here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import processing
import pytest
from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsPalettedRasterRenderer,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsRendererCategory,
    QgsSymbol,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import QPushButton

from sounding_qgis.labels_action import (
    ALGORITHM_ID,
    initial_parameters,
    on_finished,
    open_train_dialog,
    remember_parameters,
)
from tests.sounding_qgis.helpers import RASTER_CRS, RASTER_ORIGIN, RASTER_RESOLUTION

pytestmark = pytest.mark.usefixtures("sounding_provider")

#: the workspace raster's quadrants (helpers.write_raster): top-left, top-right,
#: bottom-left, bottom-right
QUADRANT_CLASSES = ["Water", "forest", "cropland", "urban"]
SIZE_M = 128 * RASTER_RESOLUTION
#: small tiles and blocks, so the 256 m raster holds 16 blocks
FAST = {"TILE_METRES": 32.0, "BLOCK_METRES": 64.0, "FOLDS": 4, "DEVICE": 1, "EPOCHS": 2}


def _context() -> QgsProcessingContext:
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    return context


def _quadrant(x: float, y: float) -> str:
    col = int(x - RASTER_ORIGIN[0] >= SIZE_M / 2)
    row = int(RASTER_ORIGIN[1] - y >= SIZE_M / 2)
    return QUADRANT_CLASSES[2 * row + col]


def _write_layer(layer: QgsVectorLayer, path: Path) -> Path:
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    error = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, str(path), QgsProject.instance().transformContext(), options
    )
    assert error[0] == QgsVectorFileWriter.NoError, error
    return path


def labelled_points(path: Path, n: int = 48, seed: int = 0) -> QgsVectorLayer:
    """Points over the workspace raster, in EPSG:4326 (not the raster's CRS), class by quadrant."""
    from rasterio.warp import transform

    rng = np.random.default_rng(seed)
    margin = 20.0
    xs = RASTER_ORIGIN[0] + rng.uniform(margin, SIZE_M - margin, n)
    ys = RASTER_ORIGIN[1] - rng.uniform(margin, SIZE_M - margin, n)
    lons, lats = transform(RASTER_CRS, "EPSG:4326", xs.tolist(), ys.tolist())
    memory = QgsVectorLayer("Point?crs=EPSG:4326", "labels", "memory")
    memory.dataProvider().addAttributes([QgsField("landcover", QVariant.String)])
    memory.updateFields()
    features = []
    for x, y, lon, lat in zip(xs, ys, lons, lats, strict=True):
        feature = QgsFeature(memory.fields())
        feature.setAttributes([_quadrant(x, y)])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(lon, lat)))
        features.append(feature)
    memory.dataProvider().addFeatures(features)
    layer = QgsVectorLayer(str(_write_layer(memory, path)), "survey points", "ogr")
    assert layer.isValid() and layer.featureCount() == n
    return layer


def labelled_polygons(path: Path) -> QgsVectorLayer:
    """Two 40 m squares inside each quadrant (raster CRS, in different blocks), class by quadrant."""
    memory = QgsVectorLayer(f"Polygon?crs={RASTER_CRS}", "areas", "memory")
    memory.dataProvider().addAttributes([QgsField("cls", QVariant.String)])
    memory.updateFields()
    features = []
    for row in range(2):
        for col in range(2):
            for offset in (8.0, 72.0):
                x0 = RASTER_ORIGIN[0] + col * SIZE_M / 2 + offset
                y0 = RASTER_ORIGIN[1] - row * SIZE_M / 2 - offset
                ring = [(x0, y0), (x0 + 40, y0), (x0 + 40, y0 - 40), (x0, y0 - 40), (x0, y0)]
                feature = QgsFeature(memory.fields())
                feature.setAttributes([QUADRANT_CLASSES[2 * row + col]])
                feature.setGeometry(QgsGeometry.fromPolygonXY([[QgsPointXY(*p) for p in ring]]))
                features.append(feature)
    memory.dataProvider().addFeatures(features)
    return QgsVectorLayer(str(_write_layer(memory, path)), "areas", "ogr")


def _categorise(layer: QgsVectorLayer, field: str, colours: dict[str, str]) -> None:
    categories = []
    for value, colour in colours.items():
        symbol = QgsSymbol.defaultSymbol(layer.geometryType())
        symbol.setColor(QColor(colour))
        categories.append(QgsRendererCategory(value, symbol, f"{value} (survey)"))
    layer.setRenderer(QgsCategorizedSymbolRenderer(field, categories))


@pytest.fixture
def project_layers(workspace, tmp_path, qgis_new_project):
    """The workspace raster and a labelled point layer (styled by category) in the project."""
    raster = QgsRasterLayer(str(workspace.raster), "scene", "gdal")
    points = labelled_points(tmp_path / "points.gpkg")
    _categorise(points, "landcover", {"Water": "#0000ff"})
    QgsProject.instance().addMapLayers([raster, points])
    yield raster, points
    QgsProject.instance().removeAllMapLayers()


def test_trainfromlabels_through_processing_run(project_layers, tmp_path):
    raster, points = project_layers
    out = tmp_path / "model.safetensors"
    classes = tmp_path / "classes.tif"
    context = _context()
    result = processing.run(
        ALGORITHM_ID,
        {
            "INPUT": raster,
            "LABELS": points,
            "FIELD": "landcover",
            "COMPARE": True,
            **FAST,
            "OUTPUT": str(out),
            "CLASSES": str(classes),
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    from backend.models.classifier import load_classifier

    model, metadata = load_classifier(out)
    assert result["OUTPUT"] == str(out) and classes.is_file()
    assert model.centre_px > 0  # the default head also sees the sample pixel's bands
    # the renderer's colour and label for Water; the land-cover rule for the others
    colours = dict(zip(metadata.class_names, metadata.class_colors, strict=True))
    assert colours["Water (survey)"] == "#0000ff"
    assert colours["forest"] == "#1b7a3a" and colours["cropland"] == "#e0c55b"
    assert metadata.normalization["kind"] == "robust"
    report = json.loads(Path(result["REPORT_JSON"]).read_text(encoding="utf-8"))
    assert Path(result["REPORT"]).is_file() and report["samples"] == 48
    names = [m["name"] for m in report["methods"]]
    assert any("random forest" in n for n in names) and "majority class" in names
    assert 0.0 <= result["ACCURACY"] <= 1.0
    assert result["BASELINE"] == pytest.approx(
        next(m["overall_accuracy"] for m in report["methods"] if m["name"] == "majority class")
    )


def test_selected_polygons_only(workspace, tmp_path, qgis_new_project):
    raster = QgsRasterLayer(str(workspace.raster), "scene", "gdal")
    polygons = labelled_polygons(tmp_path / "areas.gpkg")
    QgsProject.instance().addMapLayers([raster, polygons])
    polygons.selectByExpression("\"cls\" IN ('Water', 'forest', 'cropland')")
    assert polygons.selectedFeatureCount() == 6
    result = processing.run(
        ALGORITHM_ID,
        {
            "INPUT": raster,
            "LABELS": QgsProcessingFeatureSourceDefinition(polygons.id(), True),
            "FIELD": "cls",
            "DENSITY": 5000.0,  # 8 samples in each 40 m square
            "HEAD": 1,  # trunk features only
            **FAST,
            "OUTPUT": str(tmp_path / "areas.safetensors"),
        },
        context=_context(),
        feedback=QgsProcessingFeedback(),
    )
    from backend.labels.config import HEADS
    from backend.models.classifier import load_classifier
    from sounding_qgis.algorithms.labels import LABEL_HEADS

    assert LABEL_HEADS == list(HEADS)
    assert load_classifier(tmp_path / "areas.safetensors")[0].centre_px == 0
    report = json.loads(Path(result["REPORT_JSON"]).read_text(encoding="utf-8"))
    assert sorted(c["name"] for c in report["classes"]) == ["Water", "cropland", "forest"]
    assert report["features_read"] == 6 and report["samples"] == 48  # 8 per polygon
    QgsProject.instance().removeAllMapLayers()


class _CancelDuring(QgsProcessingFeedback):
    """Cancels once the run has passed ``at`` of its progress."""

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at
        self.progressChanged.connect(self._check)

    def _check(self, percent: float) -> None:
        if percent >= 100 * self.at:
            self.cancel()


def test_cancel_leaves_no_file(project_layers, tmp_path):
    raster, points = project_layers
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(
            ALGORITHM_ID,
            {
                "INPUT": raster,
                "LABELS": points,
                "FIELD": "landcover",
                **FAST,
                "OUTPUT": str(out_dir / "model.safetensors"),
                "CLASSES": str(out_dir / "classes.tif"),
            },
            context=_context(),
            feedback=_CancelDuring(0.3),
        )
    assert list(out_dir.iterdir()) == []


def test_toolbar_action_fills_the_active_layers_and_remembers_settings(
    project_layers, qgis_iface, tmp_path, monkeypatch, workspace
):
    from qgis.gui import QgsBrowserGuiModel

    # the stub iface's browser model is a mock; the Processing dialog needs a real one
    browser = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    raster, points = project_layers
    # nothing remembered: the model file is offered beside the imagery
    remember_parameters({})
    first = initial_parameters(qgis_iface)
    assert first["OUTPUT"] == str(workspace.raster.parent / "scene classifier.safetensors")
    assert "FIELD" not in first
    remember_parameters(
        {
            "FIELD": "landcover",
            "MODE": 0,
            "FOLDS": 3,
            "TILE_METRES": 32.0,
            "AUTO_TILE": True,
            "OUTPUT": str(tmp_path / "old.safetensors"),
        }
    )
    points.selectByIds(points.allFeatureIds()[:40])
    qgis_iface.setActiveLayer(points)
    parameters = initial_parameters(qgis_iface)
    assert parameters["INPUT"] is raster
    assert parameters["LABELS"].source.staticValue() == points.id()
    assert parameters["LABELS"].selectedFeaturesOnly
    assert parameters["FIELD"] == "landcover" and parameters["FOLDS"] == 3
    assert parameters["OUTPUT"] == str(tmp_path / "scene classifier.safetensors")

    dialog = open_train_dialog(qgis_iface)
    try:
        filled = dialog.createProcessingParameters()
        assert filled["INPUT"] in (raster.id(), raster.source()) or filled["INPUT"] == raster
        assert filled["LABELS"].selectedFeaturesOnly
        assert filled["FIELD"] == "landcover" and filled["FOLDS"] == 3
        assert filled["TILE_METRES"] == 32.0 and filled["AUTO_TILE"] is True
        # the "choose the tile size by nested validation" box reaches the backend, which
        # refuses it beside a tile side (a run with it is tests/backend/labels/test_tile_auto.py)
        with pytest.raises(QgsProcessingException, match="give a tile side or auto, not both"):
            processing.run(
                ALGORITHM_ID, filled, context=_context(), feedback=QgsProcessingFeedback()
            )
        filled["AUTO_TILE"] = False
        # the dialog's parameters run as they are
        filled.update({"BLOCK_METRES": 64.0, "DEVICE": 1, "EPOCHS": 1})
        results = processing.run(
            ALGORITHM_ID, filled, context=_context(), feedback=QgsProcessingFeedback()
        )
        report = json.loads(Path(results["REPORT_JSON"]).read_text(encoding="utf-8"))
        assert report["features_read"] == 40
        assert report["tile_selection"] is None
        # the end of a run: settings remembered, the report offered in the message bar
        filled["FOLDS"] = 2
        dialog.setParameters(filled)
        on_finished(qgis_iface, dialog, True, results)
        assert initial_parameters(qgis_iface)["FOLDS"] == 2
        buttons = [
            b
            for b in qgis_iface.messageBar().findChildren(QPushButton)
            if b.text() == "Open accuracy report"
        ]
        assert buttons
    finally:
        dialog.close()


def test_rgb8_model_warns_on_a_float_raster(workspace, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(0).uniform(0, 0.4, (3, 48, 48)).astype(np.float32)
    path = tmp_path / "reflectance.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=48,
        height=48,
        count=3,
        dtype="float32",
        crs=RASTER_CRS,
        transform=from_origin(*RASTER_ORIGIN, RASTER_RESOLUTION, RASTER_RESOLUTION),
    ) as dst:
        dst.write(data)

    class Recorder(QgsProcessingFeedback):
        def __init__(self) -> None:
            super().__init__()
            self.errors: list[str] = []
            self.infos: list[str] = []

        def reportError(self, error, fatalError=False):  # noqa: N802, N803
            self.errors.append(error)

        def pushInfo(self, info):  # noqa: N802
            self.infos.append(info)

    feedback = Recorder()
    processing.run(
        "sounding:classifyraster",
        {
            "INPUT": str(path),
            "MODEL": str(workspace.classifier),
            "DEVICE": 1,
            "STRIDE": 16,
            "OUTPUT": str(tmp_path / "classes.tif"),
        },
        context=_context(),
        feedback=feedback,
    )
    assert any("radiometry mismatch" in e and "float32" in e for e in feedback.errors)
    # the workspace model records no resolution: the raster's own is used, and said
    assert any("does not record its ground resolution" in i for i in feedback.infos)


def test_classify_confidence_output_loads_with_a_ramp(workspace, tmp_path, qgis_new_project):
    context = _context()
    result = processing.runAndLoadResults(
        "sounding:classifyraster",
        {
            "INPUT": str(workspace.raster),
            "MODEL": str(workspace.classifier),
            "DEVICE": 1,
            "STRIDE": 16,
            "OUTPUT": str(tmp_path / "classes.tif"),
            "CONFIDENCE": str(tmp_path / "confidence.tif"),
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    confidence = QgsRasterLayer(result["CONFIDENCE"], "c", "gdal")
    assert confidence.isValid() and confidence.bandCount() == 1
    classes = QgsProject.instance().mapLayersByName("Classes")
    assert any(isinstance(layer.renderer(), QgsPalettedRasterRenderer) for layer in classes)
    QgsProject.instance().removeAllMapLayers()


def _dialog(qgis_iface, monkeypatch, out_dir: Path, classify: bool):
    from qgis.gui import QgsBrowserGuiModel

    browser = QgsBrowserGuiModel()
    monkeypatch.setattr(qgis_iface, "browserModel", lambda: browser, raising=False)
    remember_parameters({"FIELD": "landcover", **FAST})
    dialog = open_train_dialog(qgis_iface)
    dialog._browser = browser  # keep it alive as long as the dialog
    parameters = dialog.createProcessingParameters()
    parameters["OUTPUT"] = str(out_dir / "model.safetensors")
    if classify:
        parameters["CLASSES"] = str(out_dir / "classes.tif")
    dialog.setParameters(parameters)
    finished: list[tuple[bool, dict]] = []
    dialog.algorithmFinished.connect(lambda ok, results: finished.append((ok, results)))
    return dialog, finished


def test_dialog_runs_as_a_task_adds_the_class_layer_and_offers_the_report(
    project_layers, qgis_iface, tmp_path, monkeypatch
):
    from tests.sounding_qgis.helpers import wait_until

    qgis_iface.setActiveLayer(project_layers[1])
    dialog, finished = _dialog(qgis_iface, monkeypatch, tmp_path, classify=True)
    try:
        dialog.runAlgorithm()  # what the dialog's Run button does: a QgsTask
        wait_until(lambda: finished, 300, "the training task")
        ok, results = finished[0]
        assert ok and Path(results["OUTPUT"]).is_file()
        classes = [
            layer
            for layer in QgsProject.instance().mapLayers().values()
            if isinstance(layer, QgsRasterLayer)
            and Path(layer.source()) == tmp_path / "classes.tif"
        ]
        assert len(classes) == 1
        renderer = classes[0].renderer()
        assert isinstance(renderer, QgsPalettedRasterRenderer)
        assert "#0000ff" in [c.color.name() for c in renderer.classes()]  # the layer's Water
        assert any(
            b.text() == "Open accuracy report"
            for b in qgis_iface.messageBar().findChildren(QPushButton)
        )
    finally:
        dialog.close()


def test_dialog_cancel_stops_the_task_and_leaves_no_file(
    project_layers, qgis_iface, tmp_path, monkeypatch
):
    from qgis.core import QgsApplication

    from tests.sounding_qgis.helpers import wait_until

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    qgis_iface.setActiveLayer(project_layers[1])
    dialog, finished = _dialog(qgis_iface, monkeypatch, out_dir, classify=True)
    dialog.runAlgorithm()
    feedback = dialog.feedback
    tasks = QgsApplication.taskManager()

    def run_over() -> bool:
        # QGIS 3.22 emits algorithmFinished(False) after a cancelled run; 3.40 and later
        # do not when the run had layers to load (handleAlgorithmResults returns early)
        return bool(finished) or tasks.countActiveTasks() == 0

    try:
        wait_until(lambda: feedback.progress() >= 20 or finished, 300, "progress")
        assert not finished and tasks.countActiveTasks() > 0
        dialog.cancelButton().click()
        wait_until(run_over, 300, "the cancelled task")
        assert not finished or finished[0][0] is False
        assert list(out_dir.iterdir()) == []
    finally:
        if not run_over():  # never leave a task running into the next test
            feedback.cancel()
            wait_until(run_over, 300, "the task")
        dialog.close()


def test_classify_toolbar_task_shows_the_radiometry_warning_in_the_message_bar(
    workspace, qgis_iface, tmp_path, qgis_new_project
):
    import rasterio
    from qgis.core import Qgis
    from rasterio.transform import from_origin

    from sounding_qgis.dialogs import RasterJob
    from sounding_qgis.raster_actions import classify_task
    from sounding_qgis.tasks import start_task
    from tests.sounding_qgis.helpers import wait_for_task

    path = tmp_path / "reflectance16.tif"
    data = np.random.default_rng(1).integers(0, 4000, (3, 40, 40)).astype(np.uint16)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=3,
        dtype="uint16",
        crs=RASTER_CRS,
        transform=from_origin(*RASTER_ORIGIN, RASTER_RESOLUTION, RASTER_RESOLUTION),
    ) as dst:
        dst.write(data)
    qgis_iface.messageBar().clear_messages()
    job = RasterJob(
        "reflectance16", str(path), str(workspace.classifier), None, None, tmp_path / "c.tif", False
    )
    task = start_task(classify_task(qgis_iface, job))
    wait_for_task(task)
    assert task.error is None, task.error
    warnings = qgis_iface.messageBar().get_messages(Qgis.Warning)
    assert any("radiometry mismatch" in m and "uint16" in m for m in warnings)
    infos = qgis_iface.messageBar().get_messages(Qgis.Info)
    assert any("does not record its ground resolution" in m for m in infos)
    QgsProject.instance().removeAllMapLayers()
