"""Algorithm ``sounding:getdataset``: download a dataset of the paper (SoundingEarth first)."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFolderDestination,
)

from sounding_qgis.algorithms.base import SoundingAlgorithm
from sounding_qgis.i18n import translatable

#: as backend.data.published.DOWNLOADABLE, SoundingEarth first (the default)
DATASETS = ["soundingearth", "advance", "ucmerced"]
LABELS = [
    "SoundingEarth (Zenodo record 5600379): pretraining and retrieval",
    "ADVANCE (Zenodo record 3828124): scenes with sounds",
    "UC Merced Land Use (its publisher): scene classification",
]


class GetDatasetAlgorithm(SoundingAlgorithm):
    """Download, verify and extract a dataset of the paper into a folder."""

    NAME = "getdataset"
    DISPLAY_NAME = "Download a dataset of the paper"
    GROUP = "Data"
    HELP = (
        "Downloads a dataset of the paper from where it is published and extracts it into the "
        "dataset folder, in the layout the other algorithms and the command line read. "
        "SoundingEarth (the aerial images and sound spectrograms the paper pretrains on; "
        "tens of gigabytes) comes from Zenodo record 5600379; ADVANCE from Zenodo record "
        "3828124; UC Merced Land Use from its publisher (weegee.vision.ucmerced.edu). Every "
        "file is checked against the checksum its record publishes (UC Merced publishes none: "
        "the SHA-256 of its first download is shown and recorded in the folder's source.json, "
        "and later downloads must match it). Cancelling keeps the partial download in the "
        "folder's .downloads/; run the algorithm again with the same folder to resume. "
        "Archives are extracted through a staging folder, refusing any member with an "
        "absolute path, '..' or a link, so nothing is written outside the folder and a "
        "cancelled extraction leaves no half-extracted data. Choose a folder on a disk with "
        "room for the archives and their contents (the archives are deleted afterwards unless "
        "kept). Then give the folder to 'Pretrain' (SoundingEarth) or 'Fine-tune a classifier' "
        "(UC Merced). AID, NWPU-RESISC45 and DeepGlobe have no stable direct address: "
        "`python -m backend data get aid` says where to get them and where to put them."
    )
    PARAMETER_HELP = {
        "DATASET": translatable(
            "Which dataset: SoundingEarth (the image/sound pairs the paper pretrains on, tens "
            "of gigabytes), ADVANCE (scenes with their sounds) or UC Merced Land Use (a scene "
            "classification set for fine-tuning)."
        ),
        "OUTPUT": translatable(
            "The folder the dataset is extracted into (downloads go to its .downloads/ "
            "first). Choose the same folder again to resume a cancelled download; a complete "
            "folder downloads nothing."
        ),
        "KEEP_ARCHIVES": translatable(
            "Keep the verified archives in the folder's .downloads/ after extracting them "
            "(by default they are deleted)."
        ),
    }

    def initAlgorithm(self, config=None) -> None:  # noqa: N802, D102
        self.addParameter(
            QgsProcessingParameterEnum(
                "DATASET",
                self.tr("Dataset"),
                options=[self.tr(label) for label in LABELS],
                defaultValue=0,
            )
        )
        self.addParameter(
            QgsProcessingParameterFolderDestination("OUTPUT", self.tr("Dataset folder"))
        )
        keep = QgsProcessingParameterBoolean(
            "KEEP_ARCHIVES",
            self.tr("Keep the downloaded archives (in the folder's .downloads/)"),
            defaultValue=False,
        )
        keep.setFlags(keep.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
        self.addParameter(keep)
        self.addOutput(
            QgsProcessingOutputString("CHECKSUMS", self.tr("Files and their verified checksums"))
        )
        self.addOutput(
            QgsProcessingOutputNumber("DOWNLOADED_MB", self.tr("Megabytes downloaded now"))
        )

    def execute(self, parameters, context, feedback, progress) -> dict[str, Any]:  # noqa: D102
        from backend.data.published import SOURCE_FILE, get_dataset
        from backend.progress import Cancelled

        name = DATASETS[self.parameterAsEnum(parameters, "DATASET", context)]
        out = self.parameterAsString(parameters, "OUTPUT", context)
        try:
            result = get_dataset(
                name,
                out,
                progress=progress,
                keep_archives=self.parameterAsBool(parameters, "KEEP_ARCHIVES", context),
                log=feedback.pushInfo,
            )
        except Cancelled:
            raise QgsProcessingException(
                self.tr(
                    "Cancelled: the partial download is kept in the folder's .downloads/; run "
                    "the algorithm again with the same folder to resume."
                )
            ) from None
        lines = []
        for file in result.files:
            if file.published_checksum:
                lines.append(f"{file.key}: {file.published_checksum} (verified against the record)")
            else:
                lines.append(f"{file.key}: sha256:{file.sha256} (recorded in {SOURCE_FILE})")
                if file.recorded:
                    feedback.pushWarning(
                        f"{file.key}: the publisher gives no checksum; SHA-256 of this download: "
                        f"{file.sha256} (recorded in {result.folder / SOURCE_FILE}; later "
                        "downloads into this folder must match it)"
                    )
        if result.already_present:
            feedback.pushInfo(f"{result.folder} already holds {name}, verified: nothing downloaded")
        for line in lines:
            feedback.pushInfo(line)
        if result.problems:
            raise QgsProcessingException(
                f"{result.folder} is not usable yet: " + "; ".join(result.problems)
            )
        feedback.pushInfo("Next, from the command line: " + " ; ".join(result.next_steps))
        return {
            "OUTPUT": str(result.folder),
            "CHECKSUMS": "\n".join(lines),
            "DOWNLOADED_MB": result.downloaded_bytes / 1e6,
        }
