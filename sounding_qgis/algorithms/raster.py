"""Algorithms over imagery: ``classifyraster``, ``embedraster`` and ``soundscapemap``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from sounding_qgis.algorithms.base import SoundingAlgorithm, advanced, model_parameter
from sounding_qgis.i18n import translatable
from sounding_qgis.layers import ClassStylePostProcessor, RampStylePostProcessor, style_on_load

#: the classify algorithm's ENGINE and PRECISION choices (``--engine``, ``--precision``)
ENGINES = ["auto", "torch", "onnxruntime"]
PRECISIONS = ["auto", "fp32", "bf16", "int8"]
AUDIO_FILTER = "Recordings (*.wav *.flac *.ogg *.mp3 *.WAV *.FLAC *.OGG *.MP3);;All files (*)"
_TILING = translatable(
    "The raster is cut into tiles of the model's size, at the model's ground resolution "
    "(or the raster's own, if chosen or when the model does not record its own); each tile "
    "gives one output pixel, or finer pixels with a smaller stride. Memory does not grow "
    "with the raster's size. Only the extent, if given, is processed."
)


class ClassifyRasterAlgorithm(SoundingAlgorithm):
    """A land-cover class raster from imagery and a classifier model file."""

    NAME = "classifyraster"
    DISPLAY_NAME = "Classify raster"
    GROUP = "Imagery"
    HELP = (
        "Classifies imagery with a classifier model file (from 'Train classifier from labelled "
        "features' or 'Fine-tune a classifier'). Writes a GeoTIFF of class numbers (nodata "
        "255) that opens styled in the model's class colours and names, optionally the class "
        "probabilities (one band per class) and a confidence map (the largest class "
        "probability: low where the map is unsure, i.e. where more labels help). By default "
        "each output pixel is about an eighth of a tile, so the map shows useful detail. The "
        "model's radiometry is applied to the pixels; a raster whose data type or band count "
        "does not fit the model's training imagery gets a warning."
    )
    HELP_NOTES = (
        _TILING,
        translatable(
            "A segmentation model file (DeepLabv3+, from 'transfer --task segmentation') "
            "gives one class per pixel instead: tiles overlap and each keeps its central "
            "square (the stride; default half the tile), so the map has the raster's own "
            "pixels (or the model's ground resolution, when it records one) and no seams at "
            "tile edges."
        ),
    )
    PARAMETER_HELP = {
        "INPUT": translatable(
            "The imagery to classify: any raster GDAL reads, whose bands fit the model (see "
            "the bands parameter)."
        ),
        "ENGINE": translatable(
            "Advanced. auto: on the CPU, ONNX Runtime in int8 once the model's int8 build "
            "has passed its check, and in fp32 where PyTorch would run fp32; PyTorch "
            "otherwise (bf16, CUDA). torch or onnxruntime to choose. The log says which "
            "ran and why."
        ),
        "PRECISION": translatable(
            "Advanced. auto: int8 where it gives the fp32 class on at least 99% of the "
            "tiles it is checked on (built once per model, from the first batch of a raster "
            "of 96 tiles or more, with ONNX Runtime; else PyTorch's int8 for runs of 512 "
            "tiles or more on CPUs without native bf16), bf16 on CPUs with native bf16 and "
            "on CUDA, else fp32; fp32, bf16 or int8 to choose."
        ),
        "MODEL": translatable(
            "A classifier model file (from 'Train classifier from labelled features', "
            "'Fine-tune a classifier' or the model catalogue), or a segmentation model file "
            "(one class per pixel). The list offers the models you have."
        ),
        "OUTPUT": translatable(
            "The class raster: a GeoTIFF of class numbers (nodata 255), opened in the "
            "model's class colours and names."
        ),
        "PROBABILITIES": translatable(
            "Optional: a GeoTIFF with one band per class holding its probability."
        ),
        "CONFIDENCE": translatable(
            "Optional: the largest class probability of each pixel (0 to 1), with a colour "
            "ramp: low where the map is unsure, i.e. where more labels help."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Imagery")))
        self.addParameter(
            model_parameter(self.tr("Classifier model"), ("classifier", "segmentation"))
        )
        self.add_raster_options()
        for name, label, options in (
            ("ENGINE", self.tr("Engine"), ENGINES),
            ("PRECISION", self.tr("Precision"), PRECISIONS),
        ):
            parameter = QgsProcessingParameterEnum(name, label, options=options, defaultValue=0)
            self.addParameter(advanced(parameter))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Classes")))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "PROBABILITIES",
                self.tr("Class probabilities"),
                optional=True,
                createByDefault=False,
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "CONFIDENCE",
                self.tr("Confidence (largest class probability)"),
                optional=True,
                createByDefault=False,
            )
        )

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.models.modelfile import load_model_metadata
        from backend.raster.classify import classify_raster
        from backend.raster.style import class_colours

        raster, layer = self.raster_source(parameters, "INPUT", context)
        model = self.parameterAsFile(parameters, "MODEL", context)
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        probabilities = None
        if parameters.get("PROBABILITIES") not in (None, ""):
            probabilities = self.parameterAsOutputLayer(parameters, "PROBABILITIES", context)
        confidence = None
        if parameters.get("CONFIDENCE") not in (None, ""):
            confidence = self.parameterAsOutputLayer(parameters, "CONFIDENCE", context)
        result = classify_raster(
            raster,
            model,
            out,
            probabilities=probabilities or None,
            confidence=confidence or None,
            progress=progress,
            engine=ENGINES[self.parameterAsEnum(parameters, "ENGINE", context)],
            precision=PRECISIONS[self.parameterAsEnum(parameters, "PRECISION", context)],
            **self.raster_options(parameters, context, layer),
        )
        metadata = load_model_metadata(model)
        names = list(metadata.class_names)
        style_on_load(
            context,
            out,
            ClassStylePostProcessor(names, class_colours(names, metadata.class_colors)),
        )
        for note in result.notes:
            feedback.pushInfo(note)
        if getattr(result, "choice", ""):
            feedback.pushInfo(f"engine: {result.choice}")
        for warning in result.warnings:
            feedback.reportError(warning, fatalError=False)
        feedback.pushInfo(
            self.tr("{width} x {height} pixels, tile {tile} px, stride {stride} px").format(
                width=result.width, height=result.height, tile=result.tile, stride=result.stride
            )
        )
        total = sum(result.class_counts.values()) or 1
        for name, count in result.class_counts.items():
            feedback.pushInfo(
                self.tr("{name}: {count} pixels ({share}%)").format(
                    name=name, count=count, share=f"{100 * count / total:.1f}"
                )
            )
        outputs: dict[str, Any] = {"OUTPUT": str(result.out)}
        if result.probabilities is not None:
            outputs["PROBABILITIES"] = str(result.probabilities)
        if result.confidence is not None:
            chance = 1.0 / max(1, len(names))
            style_on_load(context, str(result.confidence), RampStylePostProcessor(chance, 1.0))
            outputs["CONFIDENCE"] = str(result.confidence)
        return outputs


class EmbedRasterAlgorithm(SoundingAlgorithm):
    """The image embedding of every tile, one band per dimension."""

    NAME = "embedraster"
    DISPLAY_NAME = "Embed raster"
    GROUP = "Imagery"
    HELP = (
        "Embeds every tile of the imagery with an audiovisual model's image encoder (from "
        "'Pretrain') and writes one float32 band per embedding dimension (nodata NaN), for "
        "clustering, similarity search or your own analysis."
    )
    HELP_NOTES = (_TILING,)
    PARAMETER_HELP = {
        "INPUT": translatable("The imagery to embed: any raster GDAL reads."),
        "MODEL": translatable(
            "An audiovisual model file (from 'Pretrain', the model catalogue or an imported "
            "checkpoint of the paper): its image encoder embeds the tiles."
        ),
        "OUTPUT": translatable(
            "A float32 GeoTIFF with one band per embedding dimension (nodata NaN)."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Imagery")))
        self.addParameter(model_parameter(self.tr("Audiovisual model")))
        self.add_raster_options()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Embeddings")))
        self.addOutput(QgsProcessingOutputNumber("BANDS", self.tr("Embedding size")))

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.raster.embed import embed_raster

        raster, layer = self.raster_source(parameters, "INPUT", context)
        result = embed_raster(
            raster,
            self.parameterAsFile(parameters, "MODEL", context),
            self.parameterAsOutputLayer(parameters, "OUTPUT", context),
            progress=progress,
            **self.raster_options(parameters, context, layer),
        )
        for warning in result.warnings:
            feedback.reportError(warning, fatalError=False)
        feedback.pushInfo(
            self.tr("{width} x {height} pixels, {bands} bands, {tiles} tiles").format(
                width=result.width,
                height=result.height,
                bands=result.bands,
                tiles=result.stats.tiles,
            )
        )
        return {"OUTPUT": str(result.out), "BANDS": result.bands}


class SoundscapeMapAlgorithm(SoundingAlgorithm):
    """Where on the imagery a recording belongs: a similarity heat map."""

    NAME = "soundscapemap"
    DISPLAY_NAME = "Soundscape map of a recording"
    GROUP = "Sounds"
    HELP = (
        "Embeds a recording (wav, flac, ogg or mp3) with an audiovisual model's audio encoder "
        "and every tile of the imagery with its image encoder, and maps how close they are "
        "by the model's distance: the cosine similarity (-1 to 1), or minus the Euclidean "
        "distance for an imported paper model that ranks by it. Bright where the sound fits "
        "the place. The layer opens with a "
        "colour ramp from the lowest to the highest similarity."
    )
    HELP_NOTES = (_TILING,)
    PARAMETER_HELP = {
        "INPUT": translatable("The imagery to map: any raster GDAL reads."),
        "MODEL": translatable(
            "The audiovisual model: its audio encoder embeds the recording and its image "
            "encoder every tile."
        ),
        "AUDIO": translatable(
            "The recording (wav, flac, ogg or mp3). It is read in the spectrogram encoding "
            "the model was trained on."
        ),
        "OUTPUT": translatable(
            "The similarity raster (one value per output pixel), opened with a colour ramp: "
            "bright where the sound fits the place."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Imagery")))
        self.addParameter(model_parameter(self.tr("Audiovisual model")))
        self.addParameter(
            QgsProcessingParameterFile("AUDIO", self.tr("Recording"), fileFilter=AUDIO_FILTER)
        )
        self.add_raster_options()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Soundscape")))
        self.addOutput(QgsProcessingOutputNumber("MINIMUM", self.tr("Lowest similarity")))
        self.addOutput(QgsProcessingOutputNumber("MAXIMUM", self.tr("Highest similarity")))

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.raster.soundmap import soundmap_raster

        raster, layer = self.raster_source(parameters, "INPUT", context)
        audio = self.parameterAsFile(parameters, "AUDIO", context)
        result = soundmap_raster(
            raster,
            self.parameterAsFile(parameters, "MODEL", context),
            audio,
            self.parameterAsOutputLayer(parameters, "OUTPUT", context),
            progress=progress,
            **self.raster_options(parameters, context, layer),
        )
        style_on_load(
            context, str(result.out), RampStylePostProcessor(result.minimum, result.maximum)
        )
        for warning in result.warnings:
            feedback.reportError(warning, fatalError=False)
        feedback.pushInfo(
            self.tr("similarity to {recording}: {minimum} to {maximum}").format(
                recording=Path(audio).name,
                minimum=f"{result.minimum:.3f}",
                maximum=f"{result.maximum:.3f}",
            )
        )
        return {"OUTPUT": str(result.out), "MINIMUM": result.minimum, "MAXIMUM": result.maximum}
