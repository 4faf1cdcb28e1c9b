"""Where a SoundingEarth folder keeps what: ``metadata.csv``, ``images/``, ``audio/``,
``spectrograms/`` and the ``prepare`` cache, and finding a folder's files by recording key."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from backend.audio import CACHE_FOLDERS, LOGMEL, EncodingError
from backend.data.soundingearth.metadata import Recording, read_metadata

#: audio file extensions looked for, in order of preference
AUDIO_EXTENSIONS = (".mp3", ".flac", ".ogg", ".wav")


def index_folder(folder: Path, suffixes: Sequence[str]) -> dict[str, Path]:
    """``{file stem: path}`` of the files with the given suffixes (earlier suffix wins)."""
    found: dict[str, Path] = {}
    rank: dict[str, int] = {}
    if not folder.is_dir():
        return found
    with os.scandir(folder) as entries:
        for entry in entries:
            stem, dot, suffix = entry.name.rpartition(".")
            suffix = dot + suffix.lower()
            if not stem or suffix not in suffixes or not entry.is_file():
                continue
            position = suffixes.index(suffix)
            if stem not in found or position < rank[stem]:
                found[stem], rank[stem] = Path(entry.path), position
    return found


def cache_folder(root: str | os.PathLike, encoding: str = LOGMEL) -> Path:
    """Where :func:`prepare_spectrograms` keeps a dataset's cache in ``encoding``.

    ``cache/logmel`` (float16 log-mel) or ``cache/jpg`` (uint8 pixels of the JPG
    encoding computed from raw audio).
    """
    if encoding not in CACHE_FOLDERS:
        raise EncodingError(f"unknown spectrogram encoding {encoding!r}")
    return Path(root) / "cache" / CACHE_FOLDERS[encoding]


def read_folder_metadata(root: Path) -> list[Recording]:
    """The recordings of the folder's ``metadata.csv`` (FileNotFoundError saying what a folder holds)."""
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(
            f"{metadata} not found: a SoundingEarth folder holds metadata.csv, images/ "
            f"and audio/ or spectrograms/"
        )
    return read_metadata(metadata)
