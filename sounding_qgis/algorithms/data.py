"""Algorithm ``sounding:buildpairs``: image/sound pairs from a raster and any point layer."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureSink,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
    QgsProviderRegistry,
    QgsWkbTypes,
)

from sounding_qgis.algorithms.base import SoundingAlgorithm, double_parameter, integer_parameter
from sounding_qgis.i18n import tr, translatable
from sounding_qgis.layers import make_fields


def _json_value(value: Any) -> Any:
    """An attribute value as JSON (QGIS NULL → null; dates and the like → text)."""
    if value is None or (hasattr(value, "isNull") and value.isNull()):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    for method in ("toPyDateTime", "toPyDate", "toPyTime"):
        convert = getattr(value, method, None)
        if convert is not None:
            return convert().isoformat()
    return str(value)


def layer_folder(layer) -> Path | None:
    """The folder of a file-based vector layer (relative audio paths are relative to it)."""
    if layer is None:
        return None
    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), layer.source())
    path = parts.get("path") or ""
    if path.startswith("file://"):
        from urllib.parse import unquote, urlparse

        path = unquote(urlparse(path).path)
    return Path(path).parent if path and Path(path).exists() else None


def write_points_geojson(
    source, audio_field: str, path: Path, context, base_folder: Path | None, feedback=None
) -> int:
    """Write the features of ``source`` as GeoJSON points in longitude/latitude.

    Relative audio paths become absolute against ``base_folder`` (the layer's
    folder), since the backend resolves them against the GeoJSON's own folder.
    Features without a point geometry are left out. Returns how many were left out.
    """
    transform = QgsCoordinateTransform(
        source.sourceCrs(), QgsCoordinateReferenceSystem("EPSG:4326"), context.transformContext()
    )
    names = source.fields().names()
    features = []
    left_out = 0
    for feature in source.getFeatures():
        geometry = QgsGeometry(feature.geometry())
        if geometry.isNull() or geometry.isEmpty():
            left_out += 1
            continue
        if QgsWkbTypes.isMultiType(geometry.wkbType()):
            points = geometry.asMultiPoint()
            if not points:
                left_out += 1
                continue
            geometry = QgsGeometry.fromPointXY(points[0])
        geometry.transform(transform)
        point = geometry.asPoint()
        properties = {name: _json_value(feature[name]) for name in names}
        audio = properties.get(audio_field)
        if isinstance(audio, str) and audio.strip() and base_folder is not None:
            if not os.path.isabs(audio.strip()):
                properties[audio_field] = str(base_folder / audio.strip())
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [point.x(), point.y()]},
                "properties": properties,
            }
        )
    if left_out and feedback is not None:
        feedback.pushWarning(
            tr("{count} feature(s) without a point geometry were left out").format(count=left_out)
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return left_out


class BuildPairsAlgorithm(SoundingAlgorithm):
    """Crop a tile of a raster around every geotagged recording of a point layer."""

    NAME = "buildpairs"
    DISPLAY_NAME = "Build image/sound pairs"
    GROUP = "Data"
    HELP = (
        "Makes a training set in the SoundingEarth layout from your own imagery and geotagged "
        "recordings. For every point of the point layer whose audio field names a sound file "
        "(wav, flac, ogg or mp3; absolute, or relative to the layer's folder), it crops a "
        "square tile of the raster centred on the point (tile size in metres on the ground, "
        "resampled to the given pixels), and writes images/KEY.jpg, audio/KEY.EXT and a row of "
        "metadata.csv into the output folder. The point layer may be any layer QGIS reads, in "
        "any CRS. Points whose tile is not wholly inside the raster, or whose audio is missing "
        "or unreadable, are skipped and counted. The pairs layer shows where pairs were made. "
        "Train on the folder with 'Pretrain'."
    )
    PARAMETER_HELP = {
        "RASTER": translatable("The imagery the tiles are cut from: any raster GDAL reads."),
        "POINTS": translatable(
            "One point per recording, in any layer and CRS QGIS reads (the points are "
            "reprojected to the raster's CRS)."
        ),
        "AUDIO_FIELD": translatable(
            "The text field holding each recording's sound file (wav, flac, ogg or mp3): an "
            "absolute path, or one relative to the layer's folder."
        ),
        "KEY_FIELD": translatable(
            "A numeric field with a unique integer key per recording, used in the file names "
            "and metadata.csv. Empty: the feature number."
        ),
        "TILE_METRES": translatable(
            "The side of the square tile cut around each point, in metres on the ground."
        ),
        "TILE_PX": translatable(
            "The side of each tile image written, in pixels (the tile is resampled to it)."
        ),
        "OUTPUT": translatable(
            "The pairs folder (images/, audio/ and metadata.csv): the data folder for 'Pretrain'."
        ),
        "PAIRS": translatable("Optional: a point layer of the pairs written."),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(QgsProcessingParameterRasterLayer("RASTER", self.tr("Imagery")))
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "POINTS",
                self.tr("Geotagged recordings (points)"),
                [QgsProcessing.TypeVectorPoint],
            )
        )
        # two fields of POINTS, declared alike but of different types (text, number)
        self.addParameter(
            QgsProcessingParameterField(
                "AUDIO_FIELD",
                self.tr("Field holding the audio file path"),
                parentLayerParameterName="POINTS",
                type=QgsProcessingParameterField.String,
            )
        )
        self.addParameter(
            QgsProcessingParameterField(
                "KEY_FIELD",
                self.tr("Field holding integer keys (empty: the feature number)"),
                parentLayerParameterName="POINTS",
                type=QgsProcessingParameterField.Numeric,
                optional=True,
            )
        )
        self.addParameter(
            double_parameter(
                "TILE_METRES", self.tr("Tile side on the ground (metres)"), 256.0, 0.01
            )
        )
        self.addParameter(integer_parameter("TILE_PX", self.tr("Tile side (pixels)"), 512, 16))
        self.addParameter(
            QgsProcessingParameterFolderDestination("OUTPUT", self.tr("Pairs folder"))
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "PAIRS", self.tr("Pairs"), QgsProcessing.TypeVectorPoint, optional=True
            )
        )
        self.addOutput(QgsProcessingOutputNumber("WRITTEN", self.tr("Pairs written")))
        self.addOutput(QgsProcessingOutputNumber("SKIPPED", self.tr("Points skipped")))

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.data.build_pairs import build_pairs

        raster, _layer = self.raster_source(parameters, "RASTER", context)
        source = self.parameterAsSource(parameters, "POINTS", context)
        if source is None:
            raise QgsProcessingException(self.tr("No point layer given"))
        audio_field = self.parameterAsString(parameters, "AUDIO_FIELD", context)
        key_field = self.parameterAsString(parameters, "KEY_FIELD", context) or None
        out = Path(self.parameterAsString(parameters, "OUTPUT", context))
        base = layer_folder(self.parameterAsVectorLayer(parameters, "POINTS", context))
        with tempfile.TemporaryDirectory(prefix="sounding-points-") as folder:
            points = Path(folder) / "points.geojson"
            write_points_geojson(source, audio_field, points, context, base, feedback)
            report = build_pairs(
                raster,
                points,
                audio_field,
                out,
                tile_metres=self.parameterAsDouble(parameters, "TILE_METRES", context),
                tile_px=self.parameterAsInt(parameters, "TILE_PX", context),
                key_field=key_field,
                progress=progress,
            )
        feedback.pushInfo(report.summary())
        for skipped in report.skipped[:20]:
            feedback.pushInfo(
                self.tr("row {row}: {reason} ({detail})").format(
                    row=skipped.row, reason=skipped.reason, detail=skipped.detail
                )
            )
        results: dict[str, Any] = {
            "OUTPUT": str(out),
            "WRITTEN": report.written,
            "SKIPPED": len(report.skipped),
        }
        if parameters.get("PAIRS") is not None:
            results["PAIRS"] = self._write_pairs_layer(parameters, context, out)
        return results

    def _write_pairs_layer(self, parameters, context, out: Path) -> str | None:
        from backend.data.soundingearth import read_metadata

        fields = make_fields(
            [
                ("key", "LongLong"),
                ("title", "String"),
                ("creator", "String"),
                ("image", "String"),
                ("audio", "String"),
            ]
        )
        sink, dest = self.parameterAsSink(
            parameters,
            "PAIRS",
            context,
            fields,
            QgsWkbTypes.Point,
            QgsCoordinateReferenceSystem("EPSG:4326"),
        )
        if sink is None:
            return None
        audio = {p.stem: p for p in (out / "audio").iterdir()} if (out / "audio").is_dir() else {}
        for recording in read_metadata(out / "metadata.csv"):
            feature = QgsFeature(fields)
            feature.setAttributes(
                [
                    recording.key,
                    recording.title,
                    recording.creator,
                    str(out / "images" / f"{recording.key}.jpg"),
                    str(audio.get(str(recording.key), "")),
                ]
            )
            feature.setGeometry(
                QgsGeometry.fromPointXY(QgsPointXY(recording.longitude, recording.latitude))
            )
            sink.addFeature(feature, QgsFeatureSink.FastInsert)
        return dest
