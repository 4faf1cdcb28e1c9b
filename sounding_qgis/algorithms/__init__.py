"""Processing algorithms of the ``sounding`` provider; each calls one backend function."""

from __future__ import annotations

from sounding_qgis.algorithms.data import BuildPairsAlgorithm
from sounding_qgis.algorithms.datasets import GetDatasetAlgorithm
from sounding_qgis.algorithms.labels import TrainFromLabelsAlgorithm
from sounding_qgis.algorithms.raster import (
    ClassifyRasterAlgorithm,
    EmbedRasterAlgorithm,
    SoundscapeMapAlgorithm,
)
from sounding_qgis.algorithms.sounds import BuildSoundIndexAlgorithm, QuerySoundsAlgorithm
from sounding_qgis.algorithms.training import FinetuneAlgorithm, PretrainAlgorithm

#: in the order of the pipeline
ALGORITHMS: list[type] = [
    GetDatasetAlgorithm,
    BuildPairsAlgorithm,
    PretrainAlgorithm,
    FinetuneAlgorithm,
    TrainFromLabelsAlgorithm,
    ClassifyRasterAlgorithm,
    EmbedRasterAlgorithm,
    BuildSoundIndexAlgorithm,
    QuerySoundsAlgorithm,
    SoundscapeMapAlgorithm,
]
