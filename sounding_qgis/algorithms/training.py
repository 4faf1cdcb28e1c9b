"""Algorithms ``sounding:pretrain`` and ``sounding:finetune``: the two training steps."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from sounding_qgis.algorithms.base import (
    MODEL_FILTER,
    SoundingAlgorithm,
    advanced,
    double_parameter,
    folder_parameter,
    integer_parameter,
)
from sounding_qgis.i18n import translatable
from sounding_qgis.model_chooser import chooser_metadata

#: as backend.train.LOSSES (not imported here: that would load PyTorch at QGIS start-up)
LOSSES = ["triplet", "infonce"]
#: as backend.train.PROTOCOLS
PROTOCOLS = ["product", "paper"]
ARCHITECTURES = ["resnet18", "resnet50"]
MODES = ["finetune", "linear"]


class PretrainAlgorithm(SoundingAlgorithm):
    """Self-supervised audiovisual pretraining on a folder of pairs."""

    NAME = "pretrain"
    DISPLAY_NAME = "Pretrain (audiovisual, no labels)"
    GROUP = "Training"
    HELP = (
        "Self-supervised audiovisual pretraining (Heidler et al., arXiv 2108.00688): an image "
        "ResNet and an audio ResNet learn to map an aerial tile and the recording made there "
        "close together in one embedding space, with no labels. The data folder is in the "
        "SoundingEarth layout (metadata.csv, images/, audio/ or spectrograms/), as written by "
        "'Build image/sound pairs'. Writes RUN/model.safetensors (the model for the other "
        "algorithms), RUN/checkpoints/ after every epoch, RUN/metrics.csv and RUN/curves.png. "
        "Tick 'Resume' to continue a run from its last checkpoint. The model records the "
        "spectrogram encoding it learns (the release's spectrograms/*.jpg or the log-mel of "
        "audio/); a folder mixing JPG-only and audio-only recordings needs 'Sounds from' set. "
        "Protocol 'paper' trains "
        "the reference code's encoders (khdlr/SoundingEarth) with its loss on unnormalised "
        "embeddings, Adam at a constant rate and its augmentation, with the epochs, batch, "
        "crop, learning rate and image architecture given here (the paper used ResNet-50, "
        "batch 256, 300 epochs; its audio encoder is always ResNet-18 and the loss triplet). "
        "Long trainings are better "
        "started from the command line (python -m backend pretrain), which also runs on "
        "several GPUs."
    )
    PARAMETER_HELP = {
        "DATA": translatable(
            "A folder in the SoundingEarth layout (metadata.csv, images/, and audio/ or "
            "spectrograms/), e.g. from 'Build image/sound pairs' or 'Download a dataset of "
            "the paper'."
        ),
        "EPOCHS": translatable("Passes over the training pairs (the paper trained 300)."),
        "BATCH_SIZE": translatable(
            "Pairs per training step. The other pairs of a batch are each pair's negatives, "
            "so a larger batch makes the task harder (the paper used 256)."
        ),
        "IMAGE_SIZE": translatable(
            "The side, in pixels, of the random image crop the image encoder sees."
        ),
        "EMBED_DIM": translatable(
            "The length of the embedding images and sounds share (128, as in the paper)."
        ),
        "LOSS": translatable(
            "triplet: the paper's batch triplet loss (margin 1); infonce: symmetric InfoNCE "
            "(refused under the paper protocol)."
        ),
        "LR": translatable(
            "The peak learning rate (AdamW with warm-up and cosine decay; under the paper "
            "protocol Adam at this constant rate)."
        ),
        "PROTOCOL": translatable(
            "product: this project's training (normalised embeddings, AdamW, its "
            "augmentation); paper: the reference code's encoders, loss, optimiser and "
            "augmentation, for results comparable with the paper. The documentation's "
            "Pretraining page lists every difference."
        ),
        "ARCH": translatable(
            "The image encoder: resnet18 or resnet50 (the paper's). The audio encoder is the "
            "same ResNet under the product protocol and always a ResNet-18 under the paper "
            "protocol."
        ),
        "WORKERS": translatable(
            "Processes that decode images and sounds beside the training. 0: in the "
            "training's own process; on Windows and macOS each extra process would start "
            "QGIS again, so keep 0 there."
        ),
        "MAX_STEPS": translatable(
            "End each epoch after this many steps, for a quick trial; 0: every batch."
        ),
        "RESUME": translatable(
            "Continue the run in the output folder from its last complete checkpoint, "
            "instead of starting anew; it ends with the same weights as an uninterrupted run."
        ),
        "OUTPUT": translatable(
            "The run folder: model.safetensors (the model for the other algorithms), "
            "checkpoints/, metrics.csv, curves.png and config.json."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(folder_parameter("DATA", self.tr("Pairs folder")))
        self.addParameter(integer_parameter("EPOCHS", self.tr("Epochs"), 20))
        self.addParameter(integer_parameter("BATCH_SIZE", self.tr("Pairs per batch"), 32, 2))
        self.addParameter(
            integer_parameter("IMAGE_SIZE", self.tr("Image crop side (pixels)"), 192, 16)
        )
        self.addParameter(integer_parameter("EMBED_DIM", self.tr("Embedding size"), 128, 2))
        self.addParameter(
            QgsProcessingParameterEnum("LOSS", self.tr("Loss"), options=LOSSES, defaultValue=0)
        )
        self.addParameter(double_parameter("LR", self.tr("Learning rate"), 1e-3, 1e-9))
        self.addParameter(
            QgsProcessingParameterEnum(
                "PROTOCOL", self.tr("Protocol"), options=PROTOCOLS, defaultValue=0
            )
        )
        self.addParameter(
            advanced(
                QgsProcessingParameterEnum(
                    "ARCH", self.tr("Architecture"), options=ARCHITECTURES, defaultValue=0
                )
            )
        )
        self.add_spectrograms_parameter()
        self.add_seed_parameter()
        self.addParameter(
            advanced(integer_parameter("WORKERS", self.tr("Data-loading processes"), 0, 0))
        )
        self.addParameter(
            advanced(
                integer_parameter("MAX_STEPS", self.tr("Steps per epoch at most (0: all)"), 0, 0)
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                "RESUME", self.tr("Resume the run in the output folder"), defaultValue=False
            )
        )
        self.add_device_parameter()
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", self.tr("Run folder")))
        self.addOutput(QgsProcessingOutputFile("MODEL", self.tr("Model file")))
        self.addOutput(QgsProcessingOutputNumber("FINAL_LOSS", self.tr("Final training loss")))

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.train import pretrain, protocol_config

        arch = ARCHITECTURES[self.parameterAsEnum(parameters, "ARCH", context)]
        protocol = PROTOCOLS[self.parameterAsEnum(parameters, "PROTOCOL", context)]
        max_steps = self.parameterAsInt(parameters, "MAX_STEPS", context)
        out = self.parameterAsString(parameters, "OUTPUT", context)
        config = protocol_config(
            protocol,
            data=self.parameterAsFile(parameters, "DATA", context),
            out=out,
            epochs=self.parameterAsInt(parameters, "EPOCHS", context),
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context),
            image_size=self.parameterAsInt(parameters, "IMAGE_SIZE", context),
            image_arch=arch,
            # the paper's audio encoder is a ResNet-18 whatever its image encoder
            audio_arch=None if protocol == "paper" else arch,
            embed_dim=self.parameterAsInt(parameters, "EMBED_DIM", context),
            loss=LOSSES[self.parameterAsEnum(parameters, "LOSS", context)],
            lr=self.parameterAsDouble(parameters, "LR", context),
            device=self.device(parameters, context),
            # worker processes would start QGIS itself on Windows and macOS
            workers=self.parameterAsInt(parameters, "WORKERS", context),
            seed=self.parameterAsInt(parameters, "SEED", context),
            max_steps_per_epoch=max_steps or None,
            spectrograms=self.spectrograms(parameters, context),
        )
        resume = self.parameterAsBool(parameters, "RESUME", context)
        result = pretrain(config, resume=resume, progress=progress)
        feedback.pushInfo(
            self.tr("trained {epochs} epoch(s); final loss {loss}; model: {model}").format(
                epochs=result.epochs_run, loss=f"{result.final_loss:.4f}", model=result.model_path
            )
        )
        return {
            "OUTPUT": str(result.out),
            "MODEL": str(result.model_path),
            "FINAL_LOSS": float(result.final_loss),
        }


class FinetuneAlgorithm(SoundingAlgorithm):
    """A land-cover classifier from a scene dataset, starting from a pretrained model."""

    NAME = "finetune"
    DISPLAY_NAME = "Fine-tune a classifier"
    GROUP = "Training"
    HELP = (
        "Trains a scene classifier (the model 'Classify raster' and the toolbar's 'Classify "
        "imagery layer' use) on a scene dataset: one sub-folder per class holding its images "
        "(UC Merced, AID, NWPU-RESISC45 and EuroSAT ship this way; GeoTIFFs keep their ground "
        "resolution). The image trunk starts from a pretrained model file (from 'Pretrain'), or "
        "from random weights when none is given. 'finetune' trains the whole network; 'linear' "
        "keeps the trunk frozen and fits a logistic-regression head. Class colours: a list "
        "like #1f78b4,#33a02c or name=#rrggbb pairs (default: a qualitative palette). Unless "
        "'train on every image' is ticked, half of each class is held out and the test "
        "accuracy is reported."
    )
    PARAMETER_HELP = {
        "SCENES": translatable(
            "A folder with one sub-folder per class holding its images (JPG, PNG or "
            "GeoTIFF), as UC Merced, AID, NWPU-RESISC45 and EuroSAT ship."
        ),
        "INIT": translatable(
            "The model whose image trunk training starts from: an audiovisual model from "
            "'Pretrain' or a classifier model file. Empty: random weights."
        ),
        "MODE": translatable(
            "finetune: trains the whole network; linear: keeps the trunk frozen and fits a "
            "logistic-regression head."
        ),
        "EPOCHS": translatable("Passes over the training images when fine-tuning."),
        "BATCH_SIZE": translatable("Images per training step."),
        "IMAGE_SIZE": translatable(
            "The side, in pixels, every image is resized to; it becomes the model's tile."
        ),
        "LR": translatable("The learning rate of fine-tuning (AdamW, cosine schedule)."),
        "COLORS": translatable(
            "The classes' colours in the maps: a list like #1f78b4,#33a02c in class order, "
            "or name=#rrggbb pairs. Empty: the demo's land-cover colours for the demo's "
            "classes, else a qualitative palette."
        ),
        "RESOLUTION": translatable(
            "Metres per pixel of the images when they are not georeferenced (GeoTIFFs give "
            "their own). The model records it, so classifying resamples rasters to it. "
            "0: unknown (rasters are then classified at their own pixels)."
        ),
        "ALL_IMAGES": translatable(
            "Train on every image. Otherwise half of each class is held out and the test "
            "accuracy is reported."
        ),
        "OUTPUT": translatable(
            "The classifier model file (.safetensors) with class names and colours, bands, "
            "normalisation, tile size and ground resolution: what 'Classify raster' and the "
            "toolbar read."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(
            folder_parameter("SCENES", self.tr("Scene dataset (one folder per class)"))
        )
        init = QgsProcessingParameterFile(
            "INIT",
            self.tr("Pretrained model (empty: random initialisation)"),
            fileFilter=MODEL_FILTER,
            optional=True,
        )
        init.setMetadata(chooser_metadata(None, "(none: random initialisation)"))
        self.addParameter(init)
        self.addParameter(
            QgsProcessingParameterEnum("MODE", self.tr("Training"), options=MODES, defaultValue=0)
        )
        self.addParameter(integer_parameter("EPOCHS", self.tr("Epochs"), 10))
        self.addParameter(integer_parameter("BATCH_SIZE", self.tr("Images per batch"), 32))
        self.addParameter(integer_parameter("IMAGE_SIZE", self.tr("Image side (pixels)"), 256, 16))
        self.addParameter(double_parameter("LR", self.tr("Learning rate"), 1e-3, 1e-9))
        self.addParameter(
            QgsProcessingParameterString(
                "COLORS", self.tr("Class colours (empty: default palette)"), optional=True
            )
        )
        self.addParameter(
            advanced(
                double_parameter(
                    "RESOLUTION",
                    self.tr(
                        "Ground metres per pixel of the images, if not georeferenced (0: unknown)"
                    ),
                    0.0,
                )
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                "ALL_IMAGES", self.tr("Train on every image (no test split)"), defaultValue=False
            )
        )
        self.add_seed_parameter()
        self.add_device_parameter()
        self.addParameter(
            QgsProcessingParameterFileDestination(
                "OUTPUT", self.tr("Classifier model file"), fileFilter=MODEL_FILTER
            )
        )
        self.addOutput(QgsProcessingOutputNumber("ACCURACY", self.tr("Test accuracy")))

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.transfer import TransferConfig, train_classifier

        init = self.parameterAsFile(parameters, "INIT", context) or "random"
        config = TransferConfig(
            scenes=self.parameterAsFile(parameters, "SCENES", context),
            image_size=self.parameterAsInt(parameters, "IMAGE_SIZE", context),
            epochs=self.parameterAsInt(parameters, "EPOCHS", context),
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context),
            lr=self.parameterAsDouble(parameters, "LR", context),
            first_seed=self.parameterAsInt(parameters, "SEED", context),
            seeds=1,
            device=self.device(parameters, context),
        )
        config.validate()
        resolution = self.parameterAsDouble(parameters, "RESOLUTION", context)
        out = Path(self.parameterAsFileOutput(parameters, "OUTPUT", context))
        result = train_classifier(
            config,
            init,
            out,
            mode=MODES[self.parameterAsEnum(parameters, "MODE", context)],
            colors=self.parameterAsString(parameters, "COLORS", context) or None,
            resolution_m=resolution if resolution > 0 else None,
            all_images=self.parameterAsBool(parameters, "ALL_IMAGES", context),
            progress=progress,
        )
        accuracy = math.nan
        if result.test_metrics is not None:
            accuracy = float(result.test_metrics["accuracy"])
            feedback.pushInfo(
                self.tr("test accuracy {accuracy}, macro F1 {f1}").format(
                    accuracy=f"{accuracy:.3f}", f1=f"{result.test_metrics['macro_f1']:.3f}"
                )
            )
        names = ", ".join(result.metadata.class_names)
        feedback.pushInfo(
            self.tr("classes: {names}; model: {model}").format(names=names, model=result.path)
        )
        return {"OUTPUT": str(result.path), "ACCURACY": accuracy}
