"""Every ``sounding:*`` algorithm through processing.run, on tiny data made here."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import processing
import pytest
from PIL import Image
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsField,
    QgsGeometry,
    QgsPalettedRasterRenderer,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QVariant

from tests.sounding_qgis.helpers import (
    CLASS_COLORS,
    CLASS_NAMES,
    RASTER_CRS,
    RASTER_ORIGIN,
    raster_lonlat_points,
)

ALGORITHM_NAMES = [
    "getdataset",
    "buildpairs",
    "pretrain",
    "finetune",
    "trainfromlabels",
    "classifyraster",
    "embedraster",
    "buildsoundindex",
    "querysounds",
    "soundscapemap",
]
#: an extent inside the test raster, in its CRS (UTM 33N)
INNER_EXTENT = (
    f"{RASTER_ORIGIN[0] + 32},{RASTER_ORIGIN[0] + 192},"
    f"{RASTER_ORIGIN[1] - 192},{RASTER_ORIGIN[1] - 32} [{RASTER_CRS}]"
)

pytestmark = pytest.mark.usefixtures("sounding_provider")


def _context() -> QgsProcessingContext:
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    return context


def _layer(value, context: QgsProcessingContext):
    """A vector output of processing.run: the layer itself, or its id in the context."""
    return value if isinstance(value, QgsVectorLayer) else context.getMapLayer(value)


def test_every_algorithm_is_registered_with_help():
    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("sounding")
    assert sorted(a.name() for a in provider.algorithms()) == sorted(ALGORITHM_NAMES)
    for name in ALGORITHM_NAMES:
        algorithm = registry.algorithmById(f"sounding:{name}")
        assert algorithm is not None, name
        assert len(algorithm.shortHelpString()) > 100, name
        assert algorithm.group() and algorithm.displayName()


def _utm_points_layer(workspace, tmp_path: Path, relative: bool) -> Path:
    """A GeoPackage of points in UTM (not lon/lat) with relative or absolute audio paths."""
    from rasterio.warp import transform

    lonlat = raster_lonlat_points(len(workspace.recordings), seed=5)
    xs, ys = transform("EPSG:4326", RASTER_CRS, [p[0] for p in lonlat], [p[1] for p in lonlat])
    layer = QgsVectorLayer(f"Point?crs={RASTER_CRS}", "points", "memory")
    layer.dataProvider().addAttributes(
        [QgsField("sound", QVariant.String), QgsField("title", QVariant.String)]
    )
    layer.updateFields()
    features = []
    for i, (x, y, audio) in enumerate(zip(xs, ys, workspace.recordings, strict=True)):
        feature = QgsFeature(layer.fields())
        path = f"recordings/{audio.name}" if relative else str(audio)
        feature.setAttributes([path, f"walk {i}"])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(x, y)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    target = workspace.root / f"points_{'rel' if relative else 'abs'}_{tmp_path.name}.gpkg"
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    error = QgsVectorFileWriter.writeAsVectorFormatV3(
        layer, str(target), QgsProject.instance().transformContext(), options
    )
    assert error[0] == QgsVectorFileWriter.NoError, error
    return target


def test_buildpairs_from_a_point_layer_in_another_crs_with_relative_audio(
    workspace, tmp_path: Path
):
    points = _utm_points_layer(workspace, tmp_path, relative=True)
    out = tmp_path / "pairs"
    context = _context()
    result = processing.run(
        "sounding:buildpairs",
        {
            "RASTER": str(workspace.raster),
            "POINTS": str(points),
            "AUDIO_FIELD": "sound",
            "TILE_METRES": 32.0,
            "TILE_PX": 32,
            "OUTPUT": str(out),
            "PAIRS": "TEMPORARY_OUTPUT",
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    n = len(workspace.recordings)
    assert result["WRITTEN"] == n and result["SKIPPED"] == 0
    rows = list(csv.DictReader(open(out / "metadata.csv", encoding="utf-8")))
    assert [r["title"] for r in rows] == [f"walk {i}" for i in range(n)]
    assert len(list((out / "images").glob("*.jpg"))) == n
    assert len(list((out / "audio").glob("*.wav"))) == n
    pairs = _layer(result["PAIRS"], context)
    assert pairs.featureCount() == n
    assert pairs.crs().authid() == "EPSG:4326"


@pytest.mark.slow
def test_pretrain_writes_a_model_file(sound_collection: Path, tmp_path: Path):
    feedback = QgsProcessingFeedback()
    seen = []
    feedback.progressChanged.connect(seen.append)
    result = processing.run(
        "sounding:pretrain",
        {
            "DATA": str(sound_collection),
            "EPOCHS": 1,
            "BATCH_SIZE": 4,
            "IMAGE_SIZE": 32,
            "EMBED_DIM": 8,
            "DEVICE": 1,  # cpu
            "OUTPUT": str(tmp_path / "run"),
        },
        context=_context(),
        feedback=feedback,
    )
    from backend.models.modelfile import load_model_metadata

    assert Path(result["MODEL"]).is_file()
    assert load_model_metadata(result["MODEL"]).embed_dim == 8
    assert math.isfinite(result["FINAL_LOSS"])
    assert seen and max(seen) == pytest.approx(100.0)


@pytest.mark.slow
def test_pretrain_with_the_paper_protocol_writes_a_reference_model(
    sound_collection: Path, tmp_path: Path
):
    parameters = {
        "DATA": str(sound_collection),
        "EPOCHS": 1,
        "BATCH_SIZE": 4,
        "IMAGE_SIZE": 32,
        "EMBED_DIM": 8,
        "PROTOCOL": 1,  # paper
        "DEVICE": 1,  # cpu
        "MAX_STEPS": 1,
        "OUTPUT": str(tmp_path / "run"),
    }
    with pytest.raises(QgsProcessingException, match="triplet loss"):
        processing.run(
            "sounding:pretrain", {**parameters, "LOSS": 1}, context=_context(), feedback=None
        )
    result = processing.run("sounding:pretrain", parameters, context=_context(), feedback=None)
    from backend.models.modelfile import load_model_metadata

    metadata = load_model_metadata(result["MODEL"])
    assert metadata.family == "reference" and metadata.provenance["protocol"] == "paper"
    assert metadata.audio_arch == "resnet18" and metadata.embed_dim == 8


def _scene_folder(root: Path) -> Path:
    rng = np.random.default_rng(2)
    for c, (name, colour) in enumerate(zip(CLASS_NAMES, CLASS_COLORS, strict=True)):
        folder = root / name
        folder.mkdir(parents=True)
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        for i in range(4):
            pixels = np.clip(rgb + rng.integers(-25, 25, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{name}_{c}{i}.png")
    return root


@pytest.mark.slow
def test_finetune_from_a_pretrained_model_writes_a_classifier(workspace, tmp_path: Path):
    scenes = _scene_folder(tmp_path / "scenes")
    out = tmp_path / "classifier.safetensors"
    result = processing.run(
        "sounding:finetune",
        {
            "SCENES": str(scenes),
            "INIT": str(workspace.audiovisual),
            "EPOCHS": 1,
            "BATCH_SIZE": 4,
            "IMAGE_SIZE": 32,
            "COLORS": ",".join(f"{n}={c}" for n, c in zip(CLASS_NAMES, CLASS_COLORS, strict=True)),
            "DEVICE": 1,
            "OUTPUT": str(out),
        },
        context=_context(),
        feedback=QgsProcessingFeedback(),
    )
    from backend.models.classifier import load_classifier

    _, metadata = load_classifier(out)
    assert result["OUTPUT"] == str(out)
    colours = dict(zip(metadata.class_names, metadata.class_colors, strict=True))
    assert colours == dict(zip(CLASS_NAMES, CLASS_COLORS, strict=True))
    assert 0.0 <= result["ACCURACY"] <= 1.0


def test_classifyraster_loads_a_paletted_layer_in_the_model_colours(workspace, tmp_path: Path):
    project = QgsProject.instance()
    context = _context()
    out = tmp_path / "classes.tif"
    result = processing.runAndLoadResults(
        "sounding:classifyraster",
        {
            "INPUT": str(workspace.raster),
            "MODEL": str(workspace.classifier),
            "DEVICE": 1,
            "OUTPUT": str(out),
            "PROBABILITIES": str(tmp_path / "probabilities.tif"),
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    assert Path(result["OUTPUT"]) == out and out.is_file()
    layers = [
        layer
        for layer in project.mapLayers().values()
        if isinstance(layer, QgsRasterLayer) and Path(layer.source()) == out
    ]
    assert len(layers) == 1
    layer = layers[0]
    renderer = layer.renderer()
    assert isinstance(renderer, QgsPalettedRasterRenderer)
    assert [c.label for c in renderer.classes()] == CLASS_NAMES
    assert [c.color.name() for c in renderer.classes()] == CLASS_COLORS
    assert layer.crs().authid() == RASTER_CRS
    probabilities = QgsRasterLayer(result["PROBABILITIES"], "p", "gdal")
    assert probabilities.isValid() and probabilities.bandCount() == len(CLASS_NAMES)
    project.removeAllMapLayers()


def test_classifyraster_takes_engine_and_precision(workspace, tmp_path: Path):
    from sounding_qgis.algorithms.raster import ENGINES, PRECISIONS

    feedback = _RecordingFeedback()
    out = tmp_path / "int8.tif"
    result = processing.run(
        "sounding:classifyraster",
        {
            "INPUT": str(workspace.raster),
            "MODEL": str(workspace.classifier),
            "DEVICE": 1,
            "ENGINE": ENGINES.index("torch"),
            "PRECISION": PRECISIONS.index("int8"),
            "OUTPUT": str(out),
        },
        context=_context(),
        feedback=feedback,
    )
    assert Path(result["OUTPUT"]) == out and out.is_file()
    assert any(m.startswith("engine: torch (asked for), int8 (asked for)") for m in feedback.infos)


class _RecordingFeedback(QgsProcessingFeedback):
    def __init__(self) -> None:
        super().__init__()
        self.infos: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


def test_embedraster_writes_one_band_per_dimension(workspace, tmp_path: Path):
    result = processing.run(
        "sounding:embedraster",
        {
            "INPUT": str(workspace.raster),
            "MODEL": str(workspace.audiovisual),
            "EXTENT": INNER_EXTENT,
            "DEVICE": 1,
            "OUTPUT": str(tmp_path / "embeddings.tif"),
        },
        context=_context(),
        feedback=QgsProcessingFeedback(),
    )
    layer = QgsRasterLayer(result["OUTPUT"], "e", "gdal")
    assert layer.isValid() and layer.bandCount() == 16 == result["BANDS"]
    assert layer.crs().authid() == RASTER_CRS
    # only the extent was processed (160 m across, 64 m tiles at native resolution... or less)
    assert layer.extent().width() <= 192


def test_buildsoundindex_and_querysounds_give_recording_points(
    workspace, sound_collection: Path, tmp_path: Path
):
    context = _context()
    index = tmp_path / "index"
    built = processing.run(
        "sounding:buildsoundindex",
        {
            "DATA": str(sound_collection),
            "MODEL": str(workspace.audiovisual),
            "WINDOWS": 2,
            "SPECTROGRAMS": 2,  # audio/ and the prepare cache
            "DEVICE": 1,
            "OUTPUT": str(index),
            "RECORDINGS": "TEMPORARY_OUTPUT",
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    n = len(workspace.recordings)
    assert built["COUNT"] == n and (index / "embeddings.safetensors").is_file()
    from backend.index import SoundIndex

    info = SoundIndex.load(index).info
    assert (info["spectrogram_encoding"], info["spectrogram_source"]) == ("logmel", "audio")
    recordings = _layer(built["RECORDINGS"], context)
    assert recordings.featureCount() == n

    queried = processing.run(
        "sounding:querysounds",
        {
            "INPUT": str(workspace.raster),
            "INDEX": str(index),
            "MODEL": str(workspace.audiovisual),
            "EXTENT": INNER_EXTENT,
            "TOP": 3,
            "DEVICE": 1,
            "OUTPUT": "TEMPORARY_OUTPUT",
        },
        context=context,
        feedback=QgsProcessingFeedback(),
    )
    layer = _layer(queried["OUTPUT"], context)
    assert layer.crs() == QgsCoordinateReferenceSystem("EPSG:4326")
    features = list(layer.getFeatures())
    assert [f["rank"] for f in features] == [1, 2, 3]
    similarities = [f["similarity"] for f in features]
    assert similarities == sorted(similarities, reverse=True)
    for feature in features:
        assert feature["title"].startswith("recording ")
        assert Path(feature["file"]).is_file()
        assert 0.0 <= feature["distance_km"] < 1.0  # all inside the 256 m raster
        point = feature.geometry().asPoint()
        assert point.x() == pytest.approx(feature["longitude"])


def test_soundscapemap_is_styled_with_a_colour_ramp(workspace, tmp_path: Path):
    project = QgsProject.instance()
    out = tmp_path / "soundscape.tif"
    result = processing.runAndLoadResults(
        "sounding:soundscapemap",
        {
            "INPUT": str(workspace.raster),
            "MODEL": str(workspace.audiovisual),
            "AUDIO": str(workspace.recordings[0]),
            "DEVICE": 1,
            "OUTPUT": str(out),
        },
        context=_context(),
        feedback=QgsProcessingFeedback(),
    )
    assert -1.0 <= result["MINIMUM"] <= result["MAXIMUM"] <= 1.0
    layer = next(layer for layer in project.mapLayers().values() if Path(layer.source()) == out)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)
    assert renderer.classificationMin() == pytest.approx(result["MINIMUM"], abs=1e-5)
    assert renderer.classificationMax() == pytest.approx(result["MAXIMUM"], abs=1e-5)
    project.removeAllMapLayers()


def test_cancelled_algorithm_stops_and_writes_nothing(workspace, tmp_path: Path):
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    out = tmp_path / "classes.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        processing.run(
            "sounding:classifyraster",
            {
                "INPUT": str(workspace.raster),
                "MODEL": str(workspace.classifier),
                "DEVICE": 1,
                "OUTPUT": str(out),
            },
            context=_context(),
            feedback=feedback,
        )
    assert list(tmp_path.iterdir()) == []


def test_wrong_model_kind_gives_the_backend_message(workspace, tmp_path: Path):
    with pytest.raises(QgsProcessingException, match="not a classifier"):
        processing.run(
            "sounding:classifyraster",
            {
                "INPUT": str(workspace.raster),
                "MODEL": str(workspace.audiovisual),
                "DEVICE": 1,
                "OUTPUT": str(tmp_path / "classes.tif"),
            },
            context=_context(),
            feedback=QgsProcessingFeedback(),
        )
