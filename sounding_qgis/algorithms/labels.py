"""Algorithm ``sounding:trainfromlabels``: a classifier from a labelled vector layer over imagery."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from sounding_qgis.algorithms.base import (
    MODEL_FILTER,
    SoundingAlgorithm,
    advanced,
    double_parameter,
    integer_parameter,
)
from sounding_qgis.i18n import translatable
from sounding_qgis.layers import ClassStylePostProcessor, style_on_load
from sounding_qgis.model_chooser import chooser_metadata

#: as backend.transfer.finetuning.TRAIN_MODES (not imported: it would load PyTorch at start-up)
LABEL_MODES = ["linear", "finetune"]
#: as backend.labels.training.HEADS (same reason)
LABEL_HEADS = ["hybrid", "trunk"]
INIT_FILTER = (
    "Model or ImageNet weights (*.safetensors *.pth *.pt);;Sounding Earth model "
    "(*.safetensors);;ImageNet state dict (*.pth *.pt)"
)
#: the parameters a user sets (remembered between runs by the toolbar action)
REMEMBERED = (
    "FIELD",
    "INIT",
    "MODE",
    "HEAD",
    "TILE_METRES",
    "AUTO_TILE",
    "BLOCK_METRES",
    "FOLDS",
    "COMPARE",
    "IMAGENET",
    "DENSITY",
    "MAX_PER_POLYGON",
    "EPOCHS",
    "DEVICE",
)


def renderer_classes(layer, field: str) -> tuple[dict[str, str], dict[str, str]]:
    """Colours and legend labels of a layer's categorised renderer on ``field``, by class value.

    Returns two empty mappings when the layer is not drawn by categories of that field.
    """
    from backend.labels.features import class_text

    renderer = layer.renderer() if layer is not None else None
    if not isinstance(renderer, QgsCategorizedSymbolRenderer):
        return {}, {}
    if renderer.classAttribute().strip('"').lower() != field.lower():
        return {}, {}
    colours: dict[str, str] = {}
    labels: dict[str, str] = {}
    for category in renderer.categories():
        value = category.value()
        if value is None or value == "" or category.symbol() is None:
            continue  # the "all other values" category
        key = class_text(value)
        colours[key] = category.symbol().color().name()
        if category.label() and category.label() != key:
            labels[key] = category.label()
    return colours, labels


def init_text(path: str) -> str:
    """The backend's ``init``: ``random``, ``imagenet:PATH`` (.pth/.pt) or a model file."""
    if not path:
        return "random"
    if Path(path).suffix.lower() in (".pth", ".pt"):
        return f"imagenet:{path}"
    return path


class TrainFromLabelsAlgorithm(SoundingAlgorithm):
    """A classifier trained on labelled points or polygons over a raster, with its accuracy."""

    NAME = "trainfromlabels"
    DISPLAY_NAME = "Train classifier from labelled features"
    GROUP = "Training"
    HELP = (
        "Trains a land-cover classifier from your own labels: a point or polygon layer (any "
        "format and CRS QGIS reads; tick 'Selected features only' to use a selection) whose "
        "class field holds text or integers, over an imagery layer of any sensor (any band "
        "count; 8-bit, 16-bit or float values). Each point, and samples spread inside each "
        "polygon, give a tile of the given ground size centred on it; with 'Choose the tile "
        "size by nested validation' the tile side is chosen among 16, 32 and 64 pixels by a "
        "spatially blocked cross-validation of the linear probe on frozen features, inside "
        "each training fold from its own samples only (so the reported accuracy stays "
        "honest) and for the final model from all samples; in 'finetune' mode the tile is "
        "chosen that way, then fine-tuned at. The report lists each size's score and the "
        "choices. The raster's radiometry "
        "(per-band 2-98 % range, mean and spread) is measured and stored in the model, so "
        "'Classify raster' reads the imagery the same way. The trunk starts from a Sounding "
        "Earth model file (audiovisual pretraining), an ImageNet state dict (.pth) or random "
        "weights; 'linear' trains only the head on frozen features (fast), 'finetune' trains "
        "the whole network. The head sees the trunk's features plus the band values of the "
        "pixel under the sample ('hybrid', default) or the trunk's features only ('trunk'). "
        "Accuracy is measured honestly: the area is cut into blocks of the "
        "given size and whole blocks are held out in turn (spatial k-fold); the report gives "
        "overall accuracy, per-class precision, recall and F1, the confusion matrix and the "
        "majority-class baseline. With 'Compare' the same folds are also run with a random "
        "trunk (and ImageNet when given), with a pixel-wise random forest on the band "
        "values and with a pixel-wise logistic regression (the hybrid head without its "
        "trunk), so you see whether pretraining pays off on your data. The final model is "
        "trained on every sample; the report (HTML and JSON) is written beside it. Class "
        "colours come from the layer's categorised style on the class field when it has one, "
        "else water is blue, forest green, urban red and so on. Optionally the raster is "
        "classified with the new model right away."
    )
    PARAMETER_HELP = {
        "INPUT": translatable(
            "The imagery to train on: any raster, any band count, 8-bit, 16-bit or float values."
        ),
        "LABELS": translatable(
            "Points or polygons whose class field holds the class, in any format and CRS "
            "QGIS reads (reprojected to the raster's). With 'Selected features only' only "
            "the selection is used."
        ),
        "FIELD": translatable(
            "The field holding each feature's class, text or integers. Features with an "
            "empty class are counted and left out."
        ),
        "INIT": translatable(
            "Where the trunk starts: a Sounding Earth model file (an audiovisual model from "
            "'Pretrain', or a classifier), an ImageNet state dict (.pth, saved beforehand; "
            "nothing is downloaded), or empty for random weights."
        ),
        "MODE": translatable(
            "linear: a logistic-regression head on frozen features (fast); finetune: trains "
            "the whole network."
        ),
        "HEAD": translatable(
            "hybrid: the head sees the trunk's features and the band values of the pixel "
            "under the sample; trunk: the trunk's features only."
        ),
        "TILE_METRES": translatable(
            "The side of the tile centred on each sample, in metres on the ground. 0: 32 "
            "pixels of the raster."
        ),
        "AUTO_TILE": translatable(
            "Choose the tile side among 16, 32 and 64 pixels by nested, spatially blocked "
            "validation inside each training fold, so the reported accuracy stays honest. "
            "Needs the tile side 0; costs one feature extraction per candidate."
        ),
        "BLOCK_METRES": translatable(
            "The side of the square blocks the area is cut into for the spatial "
            "cross-validation: whole blocks, and whole polygons, are held out together. 0: "
            "four tiles."
        ),
        "FOLDS": translatable(
            "The number of folds of the spatial cross-validation; each fold is predicted by "
            "a model trained on the others."
        ),
        "COMPARE": translatable(
            "Also run the same folds with a random trunk (and ImageNet weights when given), "
            "a pixel-wise random forest and a pixel-wise logistic regression, to see whether "
            "pretraining pays off on your data."
        ),
        "IMAGENET": translatable(
            "With 'Compare': an ImageNet state dict (.pth) to compare with as one more trunk."
        ),
        "DENSITY": translatable(
            "Samples drawn per km² of each polygon inside the raster (at least one per polygon)."
        ),
        "MAX_PER_POLYGON": translatable(
            "At most this many samples per polygon, so that one large polygon does not "
            "drown the rest."
        ),
        "EPOCHS": translatable("Passes over the samples in finetune mode."),
        "OUTPUT": translatable(
            "The classifier model file (.safetensors). The accuracy report (HTML and JSON) "
            "and the confusion matrix are written beside it."
        ),
        "CLASSES": translatable(
            "Optional: classify the imagery with the new model right away and add the class map."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Imagery")))
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                "LABELS",
                self.tr("Labelled points or polygons"),
                [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon],
            )
        )
        self.addParameter(
            QgsProcessingParameterField(
                "FIELD", self.tr("Class field"), parentLayerParameterName="LABELS"
            )
        )
        init = QgsProcessingParameterFile(
            "INIT",
            self.tr("Start from (model file or ImageNet .pth; empty: random weights)"),
            fileFilter=INIT_FILTER,
            optional=True,
        )
        # the dialog lists the user's models (model folder, demo) and offers Browse
        init.setMetadata(chooser_metadata(None, "(none: random weights)", INIT_FILTER))
        self.addParameter(init)
        self.addParameter(
            QgsProcessingParameterEnum(
                "MODE", self.tr("Training"), options=LABEL_MODES, defaultValue=0
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                "HEAD",
                self.tr("Head sees (hybrid: trunk features + the pixel's bands)"),
                options=LABEL_HEADS,
                defaultValue=0,
            )
        )
        self.addParameter(
            double_parameter(
                "TILE_METRES", self.tr("Tile side in metres (0: 32 pixels of the raster)"), 0.0, 0.0
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                "AUTO_TILE",
                self.tr(
                    "Choose the tile size by nested validation (16, 32 or 64 pixels; tile "
                    "side must be 0)"
                ),
                defaultValue=False,
            )
        )
        self.addParameter(
            double_parameter(
                "BLOCK_METRES",
                self.tr("Block side of the spatial split in metres (0: four tiles)"),
                0.0,
                0.0,
            )
        )
        self.addParameter(integer_parameter("FOLDS", self.tr("Folds of the spatial split"), 4, 2))
        self.addParameter(
            QgsProcessingParameterBoolean(
                "COMPARE",
                self.tr("Compare with a random trunk and pixel-wise baselines"),
                defaultValue=False,
            )
        )
        self.addParameter(
            advanced(
                QgsProcessingParameterFile(
                    "IMAGENET",
                    self.tr("ImageNet weights to compare with (.pth)"),
                    fileFilter="ImageNet state dict (*.pth *.pt)",
                    optional=True,
                )
            )
        )
        self.addParameter(
            advanced(
                double_parameter(
                    "DENSITY", self.tr("Samples per km² inside polygons"), 100.0, 0.001
                )
            )
        )
        self.addParameter(
            advanced(
                integer_parameter("MAX_PER_POLYGON", self.tr("Samples per polygon at most"), 50)
            )
        )
        self.addParameter(advanced(integer_parameter("EPOCHS", self.tr("Epochs"), 10)))
        self.add_seed_parameter()
        self.add_device_parameter()
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT", self.tr("Classifier model file"), fileFilter=MODEL_FILTER
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "CLASSES",
                self.tr("Classify the raster with the new model"),
                optional=True,
                createByDefault=False,
            )
        )
        self.addOutput(QgsProcessingOutputFile("REPORT", self.tr("Accuracy report (HTML)")))
        self.addOutput(QgsProcessingOutputFile("REPORT_JSON", self.tr("Accuracy report (JSON)")))
        self.addOutput(
            QgsProcessingOutputNumber("ACCURACY", self.tr("Overall accuracy (spatial folds)"))
        )
        self.addOutput(QgsProcessingOutputNumber("BASELINE", self.tr("Majority-class accuracy")))

    def validateInputCrs(self, parameters, context) -> bool:  # noqa: N802
        """Labels in another CRS than the raster are fine: they are reprojected."""
        return True

    def prepareAlgorithm(self, parameters, context, feedback) -> bool:  # noqa: N802, D102
        # on the main thread: the layer's style is read here, not in the worker
        layer = self.parameterAsVectorLayer(parameters, "LABELS", context)
        field = self.parameterAsString(parameters, "FIELD", context)
        self._colours, self._labels = renderer_classes(layer, field)
        return True

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.labels import LabelsConfig, train_from_labels
        from backend.progress import SubProgress

        raster, raster_layer = self.raster_source(parameters, "INPUT", context)
        labels, layer_name = self.parameterAsCompatibleSourceLayerPathAndLayerName(
            parameters, "LABELS", context, ["gpkg", "shp", "geojson"], "gpkg", feedback
        )
        if not labels:
            raise QgsProcessingException(self.tr("No labelled layer given for LABELS"))
        out = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        if not out.lower().endswith(".safetensors"):
            out = str(Path(out).with_suffix(".safetensors"))
        tile = self.parameterAsDouble(parameters, "TILE_METRES", context)
        block = self.parameterAsDouble(parameters, "BLOCK_METRES", context)
        config = LabelsConfig(
            raster=raster,
            labels=labels,
            field=self.parameterAsString(parameters, "FIELD", context),
            out=out,
            init=init_text(self.parameterAsFile(parameters, "INIT", context)),
            mode=LABEL_MODES[self.parameterAsEnum(parameters, "MODE", context)],
            head=LABEL_HEADS[self.parameterAsEnum(parameters, "HEAD", context)],
            layer=layer_name or None,
            tile_metres=tile if tile > 0 else None,
            auto_tile=self.parameterAsBool(parameters, "AUTO_TILE", context),
            block_metres=block if block > 0 else None,
            folds=self.parameterAsInt(parameters, "FOLDS", context),
            compare=self.parameterAsBool(parameters, "COMPARE", context),
            density=self.parameterAsDouble(parameters, "DENSITY", context),
            max_per_polygon=self.parameterAsInt(parameters, "MAX_PER_POLYGON", context),
            imagenet=self.parameterAsFile(parameters, "IMAGENET", context) or None,
            class_colours=dict(getattr(self, "_colours", {})) or None,
            class_labels=dict(getattr(self, "_labels", {})) or None,
            epochs=self.parameterAsInt(parameters, "EPOCHS", context),
            seed=self.parameterAsInt(parameters, "SEED", context),
            device=self.device(parameters, context),
        )
        classes_out = None
        if parameters.get("CLASSES") not in (None, ""):
            classes_out = self.parameterAsOutputLayer(parameters, "CLASSES", context) or None
        share = 0.8 if classes_out else 1.0
        result = train_from_labels(config, SubProgress(progress, 0.0, share))
        report = result.report
        feedback.pushInfo(result.summary)
        for key, count in (report.get("skipped") or {}).items():
            feedback.pushInfo(
                self.tr("skipped {count} feature(s): {reason}").format(count=count, reason=key)
            )
        if report.get("warning"):
            feedback.reportError(report["warning"], fatalError=False)
        feedback.pushInfo(
            self.tr("model: {model}; report: {report}").format(
                model=result.model, report=result.report_html
            )
        )
        methods = report.get("methods") or []
        accuracy = methods[0]["overall_accuracy"] if methods else math.nan
        baseline = next(
            (m["overall_accuracy"] for m in methods if m.get("init_kind") == "majority"), math.nan
        )
        outputs: dict[str, Any] = {
            "OUTPUT": str(result.model),
            "REPORT": str(result.report_html),
            "REPORT_JSON": str(result.report_json),
            "ACCURACY": float(accuracy),
            "BASELINE": float(baseline),
        }
        if classes_out:
            outputs["CLASSES"] = self._classify(
                raster, result.model, classes_out, config.device, context, feedback, progress, share
            )
        return outputs

    def _classify(self, raster, model, out, device, context, feedback, progress, share) -> str:
        """Classify ``raster`` with the new model; the layer loads in the model's colours."""
        from backend.models.modelfile import load_model_metadata
        from backend.progress import SubProgress
        from backend.raster.classify import classify_raster
        from backend.raster.style import class_colours

        classified = classify_raster(
            raster, model, out, progress=SubProgress(progress, share, 1.0), device=device
        )
        for line in classified.notes:
            feedback.pushInfo(line)
        for line in classified.warnings:
            feedback.reportError(line, fatalError=False)
        metadata = load_model_metadata(model)
        names = list(metadata.class_names)
        style_on_load(
            context,
            str(classified.out),
            ClassStylePostProcessor(names, class_colours(names, metadata.class_colors)),
        )
        return str(classified.out)
