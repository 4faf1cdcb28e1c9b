"""Algorithms over recordings: ``buildsoundindex`` and ``querysounds``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterLayer,
    QgsWkbTypes,
)

from sounding_qgis.algorithms.base import (
    SoundingAlgorithm,
    folder_parameter,
    integer_parameter,
    model_parameter,
)
from sounding_qgis.i18n import translatable
from sounding_qgis.layers import (
    LONLAT,
    backend_extent,
    crs_text,
    recording_feature,
    recording_fields,
)


def index_records(index) -> list[Any]:
    """Every recording of a loaded ``backend.index.SoundIndex`` as match-like records."""
    from backend.index import SoundMatch

    records = []
    for i in range(len(index)):
        file = index.columns["file"][i]
        if file and index.root is not None and not Path(file).is_absolute():
            file = str(index.root / file)
        records.append(
            SoundMatch(
                rank=i + 1,
                similarity=None,
                key=int(index.keys[i]),
                title=index.columns["title"][i],
                creator=index.columns["creator"][i],
                licence=index.columns["licenseurl"][i],
                file=file,
                longitude=float(index.lonlat[i, 0]),
                latitude=float(index.lonlat[i, 1]),
                distance_km=None,
            )
        )
    return records


class BuildSoundIndexAlgorithm(SoundingAlgorithm):
    """Embed every recording of a collection into a searchable index."""

    NAME = "buildsoundindex"
    DISPLAY_NAME = "Build sound index"
    GROUP = "Sounds"
    HELP = (
        "Embeds every recording of a folder in the SoundingEarth layout (metadata.csv plus "
        "audio/, spectrograms/ or the prepared cache) with an audiovisual model's audio "
        "encoder, and writes an index folder (embeddings.safetensors and recordings.csv). The "
        "'Sounds here' panel and 'Query sounds for an extent' search it. Recordings without "
        "readable sound are skipped and counted. The recordings layer shows what was indexed. "
        "Sounds are read in the spectrogram encoding the model was trained on only: a model "
        "trained on spectrograms/*.jpg reads those (or raw audio through its JPG front end), "
        "any other the log-mel of the audio; a folder where some recordings have only a JPG "
        "and others only audio needs 'Sounds from' set."
    )
    PARAMETER_HELP = {
        "DATA": translatable(
            "A folder of recordings in the SoundingEarth layout: metadata.csv plus audio/, "
            "spectrograms/ or the prepared cache."
        ),
        "MODEL": translatable(
            "The audiovisual model whose audio encoder embeds the recordings. Query the "
            "index with the same model."
        ),
        "WINDOWS": translatable(
            "Each recording is embedded as the mean of at most this many of its windows of "
            "about 3 seconds, spread over the recording."
        ),
        "OUTPUT": translatable(
            "The index folder (embeddings.safetensors and recordings.csv) that the 'Sounds "
            "here' panel and 'Query sounds for an extent' search."
        ),
        "RECORDINGS": translatable(
            "Optional: a point layer of the indexed recordings at their places "
            "(longitude/latitude)."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(
            folder_parameter("DATA", self.tr("Recording collection (SoundingEarth layout)"))
        )
        self.addParameter(model_parameter(self.tr("Audiovisual model")))
        self.addParameter(
            integer_parameter(
                "WINDOWS", self.tr("3-second windows embedded per recording at most"), 8, 1
            )
        )
        self.add_spectrograms_parameter()
        self.add_device_parameter()
        self.addParameter(
            QgsProcessingParameterFolderDestination("OUTPUT", self.tr("Index folder"))
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "RECORDINGS",
                self.tr("Indexed recordings"),
                QgsProcessing.TypeVectorPoint,
                optional=True,
            )
        )
        self.addOutput(QgsProcessingOutputNumber("COUNT", self.tr("Recordings indexed")))
        self.addOutput(QgsProcessingOutputNumber("SKIPPED", self.tr("Recordings skipped")))

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.index import SoundIndex, build_index

        out = self.parameterAsString(parameters, "OUTPUT", context)
        summary = build_index(
            self.parameterAsFile(parameters, "DATA", context),
            self.parameterAsFile(parameters, "MODEL", context),
            out,
            device=self.device(parameters, context),
            max_windows=self.parameterAsInt(parameters, "WINDOWS", context),
            workers=2,
            progress=progress,
            spectrograms=self.spectrograms(parameters, context),
        )
        feedback.pushInfo(
            self.tr("indexed {count} recordings in {seconds} s").format(
                count=summary.count, seconds=f"{summary.seconds:.1f}"
            )
        )
        feedback.pushInfo(summary.summary())
        for key, reason, path in summary.skipped[:20]:
            feedback.pushInfo(
                self.tr("skipped {key}: {reason} ({path})").format(
                    key=key, reason=reason, path=path
                )
            )
        results: dict[str, Any] = {
            "OUTPUT": str(summary.out),
            "COUNT": summary.count,
            "SKIPPED": len(summary.skipped),
        }
        if parameters.get("RECORDINGS") is not None:
            fields = recording_fields()
            sink, dest = self.parameterAsSink(
                parameters,
                "RECORDINGS",
                context,
                fields,
                QgsWkbTypes.Point,
                QgsCoordinateReferenceSystem(LONLAT),
            )
            if sink is not None:
                for record in index_records(SoundIndex.load(summary.out)):
                    sink.addFeature(recording_feature(record, fields), QgsFeatureSink.FastInsert)
                results["RECORDINGS"] = dest
        return results


class QuerySoundsAlgorithm(SoundingAlgorithm):
    """The recordings that sound most like the imagery of an extent, as a point layer."""

    NAME = "querysounds"
    DISPLAY_NAME = "Query sounds for an extent"
    GROUP = "Sounds"
    HELP = (
        "Embeds the imagery inside the extent (tiles side by side, or spread out when the "
        "extent is large), averages the embeddings and finds the recordings of a sound index "
        "whose sound embedding is closest. The output is a point layer of those recordings "
        "(at their own locations, in longitude/latitude) with rank, similarity, key, title, "
        "creator, licence, audio file and distance in km from the extent's centre. Use the "
        "model the index was built with. Empty extent: the whole raster."
    )
    PARAMETER_HELP = {
        "INPUT": translatable("The imagery whose look is matched with sounds."),
        "INDEX": translatable("A sound index folder from 'Build sound index'."),
        "MODEL": translatable("The audiovisual model the index was built with."),
        "TOP": translatable("How many of the closest recordings to return."),
        "OUTPUT": translatable(
            "A point layer of the closest recordings with rank, similarity, key, title, "
            "creator, licence, audio file and distance in km from the extent's centre."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Imagery")))
        self.addParameter(folder_parameter("INDEX", self.tr("Sound index folder")))
        self.addParameter(model_parameter(self.tr("Audiovisual model (the index's)")))
        self.add_extent_parameter()
        self.addParameter(integer_parameter("TOP", self.tr("Recordings to return"), 10, 1))
        self.add_bands_parameter()
        self.add_device_parameter()
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                "OUTPUT", self.tr("Closest recordings"), QgsProcessing.TypeVectorPoint
            )
        )

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.extent_query import query_extent

        raster, layer = self.raster_source(parameters, "INPUT", context)
        arguments = self.extent_arguments(parameters, "EXTENT", context, layer)
        if arguments["extent"] is None:
            arguments = {
                "extent": backend_extent(layer.extent()),
                "extent_crs": crs_text(layer.crs()),
            }
        result = query_extent(
            self.parameterAsFile(parameters, "INDEX", context),
            self.parameterAsFile(parameters, "MODEL", context),
            raster,
            arguments["extent"],
            arguments["extent_crs"],
            top=self.parameterAsInt(parameters, "TOP", context),
            bands=self.bands(parameters, context),
            device=self.device(parameters, context),
            progress=progress,
        )
        fields = recording_fields()
        sink, dest = self.parameterAsSink(
            parameters,
            "OUTPUT",
            context,
            fields,
            QgsWkbTypes.Point,
            QgsCoordinateReferenceSystem(LONLAT),
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, "OUTPUT"))
        for match in result.matches:
            sink.addFeature(recording_feature(match, fields), QgsFeatureSink.FastInsert)
        feedback.pushInfo(
            self.tr("{count} recordings from {tiles} tiles in {seconds} s").format(
                count=len(result.matches), tiles=result.tiles, seconds=f"{result.seconds:.2f}"
            )
        )
        return {"OUTPUT": dest}
