"""Reader for the SoundingEarth layout: metadata, splits, image/audio pairs, spectrogram cache and dataset.

A SoundingEarth folder holds ``metadata.csv``, ``images/{key}.jpg`` and
``audio/{key}.*`` or ``spectrograms/{key}.jpg``. The package's modules, one
concept each, from the bottom up:

- :mod:`~backend.data.soundingearth.metadata`: ``metadata.csv`` and its recordings;
- :mod:`~backend.data.soundingearth.splits`: the paper's split by key, or by place;
- :mod:`~backend.data.soundingearth.layout`: where a folder keeps what;
- :mod:`~backend.data.soundingearth.pairs`: the usable pairs and the skipped recordings;
- :mod:`~backend.data.soundingearth.spectrogram_cache`: ``prepare``, decoding audio once;
- :mod:`~backend.data.soundingearth.dataset`: the tiles and spectrogram windows a model reads.

Import from the package (``from backend.data.soundingearth import scan_pairs``):
the names below are its public interface.
"""

from __future__ import annotations

from backend.data.soundingearth.dataset import (
    TILE_CONTEXT_PX,
    PairDataset,
    batch_failures,
    load_pair_spectrogram,
    load_pair_window,
    load_tile,
)
from backend.data.soundingearth.layout import AUDIO_EXTENSIONS, cache_folder
from backend.data.soundingearth.metadata import (
    DESCRIPTION_COLUMNS,
    METADATA_COLUMNS,
    REQUIRED_COLUMNS,
    MetadataError,
    Recording,
    read_metadata,
)
from backend.data.soundingearth.pairs import (
    MISSING_AUDIO,
    MISSING_IMAGE,
    MISSING_SPECTROGRAM,
    SPECTROGRAM_SOURCES,
    UNREADABLE_AUDIO,
    UNREADABLE_IMAGE,
    Pair,
    PairScan,
    SoundFiles,
    choose_spectrograms,
    scan_pairs,
)
from backend.data.soundingearth.spectrogram_cache import PrepareReport, prepare_spectrograms
from backend.data.soundingearth.splits import SPLITS, geographic_split, reference_split

__all__ = [
    "AUDIO_EXTENSIONS",
    "DESCRIPTION_COLUMNS",
    "METADATA_COLUMNS",
    "MISSING_AUDIO",
    "MISSING_IMAGE",
    "MISSING_SPECTROGRAM",
    "REQUIRED_COLUMNS",
    "SPECTROGRAM_SOURCES",
    "SPLITS",
    "TILE_CONTEXT_PX",
    "UNREADABLE_AUDIO",
    "UNREADABLE_IMAGE",
    "MetadataError",
    "Pair",
    "PairDataset",
    "PairScan",
    "PrepareReport",
    "Recording",
    "SoundFiles",
    "batch_failures",
    "cache_folder",
    "choose_spectrograms",
    "geographic_split",
    "load_pair_spectrogram",
    "load_pair_window",
    "load_tile",
    "prepare_spectrograms",
    "read_metadata",
    "reference_split",
    "scan_pairs",
]
