"""Reader for the SoundingEarth layout: metadata, splits, image/audio pairs, spectrogram cache and dataset."""

from __future__ import annotations

import collections
import contextlib
import csv
import json
import math
import os
import random
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from backend.atomic import atomic_path
from backend.audio import (
    CACHE_FOLDERS,
    JPG,
    LOGMEL,
    N_MELS,
    WINDOW_FRAMES,
    AudioError,
    EncodingError,
    cached_values_to_tensor,
    centre_window,
    check_encoding,
    describe_encoding,
    random_window,
    read_spectrogram_image,
    spectrogram_from_audio,
)
from backend.data.skipped import skip_summary, write_skipped_csv
from backend.progress import Progress, check_cancelled

#: the columns of the release's metadata.csv, in order
METADATA_COLUMNS = (
    "long_key",
    "key",
    "longitude",
    "latitude",
    "altitude",
    "description",
    "date_recorded",
    "date_uploaded",
    "creator",
    "licenseurl",
    "title",
    "mp3name",
    "mp3mb",
    "mp3seconds",
    "mp3channels",
    "mp3bitrate",
    "mp3samplerate",
    "mp3file",
)
#: columns without which a recording cannot be placed on the map
REQUIRED_COLUMNS = ("key", "longitude", "latitude")
#: audio file extensions looked for, in order of preference
AUDIO_EXTENSIONS = (".mp3", ".flac", ".ogg", ".wav")
#: split names
SPLITS = ("train", "val", "test")
#: tile side (pixels) of the region around the recording that the dataset uses
TILE_CONTEXT_PX = 512
#: where sounds come from (``--spectrograms``): the release's JPGs, or raw audio and its cache
SPECTROGRAM_SOURCES = ("jpg", "audio")

# reasons a pair is skipped, in the order a summary lists ties
MISSING_IMAGE = "missing image"
UNREADABLE_IMAGE = "unreadable image"
MISSING_AUDIO = "missing audio"
UNREADABLE_AUDIO = "unreadable audio"
MISSING_SPECTROGRAM = "missing spectrogram"
_REASON_ORDER = (
    MISSING_AUDIO,
    MISSING_SPECTROGRAM,
    UNREADABLE_AUDIO,
    MISSING_IMAGE,
    UNREADABLE_IMAGE,
)
_KM_PER_DEGREE = 111.32
# longest field of a metadata.csv (csv's default, 128 KB, is shorter than some descriptions)
_MAX_FIELD_BYTES = 256 * 1024 * 1024
# scan progress is reported (and cancellation checked) every this many recordings
_PROGRESS_EVERY = 64
# temporary cache files older than this (seconds) belong to a run that was killed
_STALE_PARTIAL_S = 3600.0


class MetadataError(ValueError):
    """A metadata.csv that cannot be read; the message names the file, line and column."""


@dataclass(frozen=True)
class Recording:
    """One row of metadata.csv: a geotagged sound recording."""

    key: int
    long_key: str
    longitude: float
    latitude: float
    title: str
    creator: str
    licenseurl: str
    description: str
    #: every raw column of the row, by header name (extra columns included)
    fields: dict[str, str] = field(default_factory=dict, hash=False, repr=False)


def _parse_coordinate(text: str, low: float, high: float) -> float:
    value = float(text)  # ValueError handled by the caller
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(text)
    return value


def _invalid(
    path: Path, line: int, fields: dict[str, str], column: str, expected: str
) -> MetadataError:
    return MetadataError(
        f"{path} line {line}, column {column!r}: expected {expected}, got {fields[column]!r}"
    )


def read_metadata(path: str | os.PathLike) -> list[Recording]:
    """Read a SoundingEarth metadata.csv.

    ``key``, ``longitude`` and ``latitude`` are required and parsed; every other
    column is kept as a string (missing ones read as ""), and extra columns are
    kept in :attr:`Recording.fields`. Quoted fields may contain commas, quotes
    and line breaks.

    Args:
        path: the CSV file.

    Returns:
        The recordings in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        MetadataError: a required column is missing, a row has the wrong number
            of fields, or a key or coordinate is invalid (the message gives the
            physical line where the record starts and the column).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: metadata file not found")
    recordings: list[Recording] = []
    first_line_of_key: dict[int, int] = {}
    # descriptions come from many sources; never fail on a stray byte or a very long one
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_FIELD_BYTES))
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise MetadataError(
                f"{path}: the file is empty (expected a header line with the columns "
                f"{', '.join(METADATA_COLUMNS)})"
            ) from None
        except csv.Error as error:
            raise MetadataError(f"{path} line 1: {error}") from error
        if any("\ufffd" in name or "\0" in name for name in header):
            raise MetadataError(
                f"{path}: not a CSV text file (binary content); expected a header line with "
                f"the columns {', '.join(METADATA_COLUMNS)}"
            )
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise MetadataError(
                f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(name) for name in missing)} "
                f"(the header has: {', '.join(header)})"
            )
        previous_line = reader.line_num
        while True:
            start_line = previous_line + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise MetadataError(f"{path} line {start_line}: {error}") from error
            previous_line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                hint = " (an unquoted comma?)" if len(row) > len(header) else ""
                raise MetadataError(
                    f"{path} line {start_line}: expected {len(header)} fields, got {len(row)}{hint}"
                )
            fields = dict(zip(header, row, strict=True))
            try:
                key = int(fields["key"].strip())
            except ValueError:
                raise _invalid(path, start_line, fields, "key", "an integer") from None
            if key in first_line_of_key:
                raise MetadataError(
                    f"{path} line {start_line}, column 'key': duplicate key {key} "
                    f"(first on line {first_line_of_key[key]})"
                )
            first_line_of_key[key] = start_line
            try:
                longitude = _parse_coordinate(fields["longitude"].strip(), -180.0, 180.0)
            except ValueError:
                raise _invalid(
                    path, start_line, fields, "longitude", "a number in [-180, 180]"
                ) from None
            try:
                latitude = _parse_coordinate(fields["latitude"].strip(), -90.0, 90.0)
            except ValueError:
                raise _invalid(
                    path, start_line, fields, "latitude", "a number in [-90, 90]"
                ) from None
            recordings.append(
                Recording(
                    key=key,
                    long_key=fields.get("long_key", ""),
                    longitude=longitude,
                    latitude=latitude,
                    title=fields.get("title", ""),
                    creator=fields.get("creator", ""),
                    licenseurl=fields.get("licenseurl", ""),
                    description=fields.get("description", ""),
                    fields=fields,
                )
            )
    return recordings


def reference_split(key: int) -> str:
    """The paper's split of a recording: ``key % 10`` 7 is "val", 2 and 5 are "test", else "train"."""
    remainder = key % 10
    if remainder == 7:
        return "val"
    if remainder in (2, 5):
        return "test"
    return "train"


def _grid_cell(longitude: float, latitude: float, cell_km: float) -> tuple[int, int]:
    """An approximately equal-area cell: latitude bands, longitude steps widened by 1/cos(lat)."""
    band_degrees = cell_km / _KM_PER_DEGREE
    band = math.floor((latitude + 90.0) / band_degrees)
    centre = min(90.0, -90.0 + (band + 0.5) * band_degrees)
    shrink = max(math.cos(math.radians(centre)), 1e-6)
    step = min(360.0, band_degrees / shrink)
    wrapped = (longitude + 180.0) % 360.0  # 180 and -180 are the same meridian
    return band, math.floor(wrapped / step)


def geographic_split(
    recordings: Iterable[Recording],
    cell_km: float,
    seed: int = 0,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
) -> dict[int, str]:
    """Split recordings by place: whole grid cells go to one split.

    The cells (about ``cell_km`` by ``cell_km``) are shuffled with ``seed`` and
    filled into train, val and test in that order until each holds about its
    fraction of the recordings, so nearby recordings never straddle splits.

    Args:
        recordings: the recordings to split.
        cell_km: cell side in kilometres.
        seed: shuffle seed; the same inputs and seed give the same split.
        fractions: target shares of train, val and test.

    Returns:
        ``{key: "train" | "val" | "test"}``.
    """
    if not cell_km > 0:
        raise ValueError(f"cell_km must be positive, got {cell_km}")
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative shares, got {tuple(fractions)}")
    cells: dict[tuple[int, int], list[int]] = collections.defaultdict(list)
    for recording in recordings:
        cells[_grid_cell(recording.longitude, recording.latitude, cell_km)].append(recording.key)
    order = sorted(cells)
    random.Random(seed).shuffle(order)
    total = sum(len(keys) for keys in cells.values())
    scale = sum(fractions)
    bounds = np.cumsum([f / scale for f in fractions])
    assignment: dict[int, str] = {}
    placed = 0
    for cell in order:
        keys = cells[cell]
        # a cell goes where its midpoint falls along the cumulative fractions
        midpoint = (placed + len(keys) / 2) / total
        index = min(int(np.searchsorted(bounds, midpoint, side="right")), len(SPLITS) - 1)
        for key in keys:
            assignment[key] = SPLITS[index]
        placed += len(keys)
    return assignment


@dataclass
class Pair:
    """An aerial tile and the sound recorded at its centre."""

    recording: Recording
    image: Path
    #: the raw recording, if present
    audio: Path | None
    #: a ``prepare`` cache ``.npy`` in ``encoding``, or a precomputed ``spectrograms/{key}.jpg``
    spectrogram: Path | None
    #: the spectrogram encoding read from this pair (``backend.audio.LOGMEL`` or ``JPG``)
    encoding: str = LOGMEL


@dataclass
class PairScan:
    """The usable pairs of a dataset and the ones skipped, with why."""

    pairs: list[Pair]
    #: ``(key, reason, path)`` of every skipped recording
    skipped: list[tuple[int, str, str]]
    #: recordings considered (usable + skipped)
    total: int
    #: the spectrogram encoding of every pair (``logmel`` or ``jpg``)
    encoding: str = LOGMEL
    #: where the sounds come from: ``"jpg"`` (spectrograms/) or ``"audio"`` (audio/ and cache/)
    source: str = "audio"

    def summary(self) -> str:
        """One line, e.g. ``skipped 12 of 50545 pairs: 9 missing audio, 3 unreadable images``."""
        return skip_summary(
            (reason for _, reason, _ in self.skipped), self.total, "pairs", _REASON_ORDER
        )

    def write_skipped_csv(self, path: str | os.PathLike) -> None:
        """Write the skipped recordings as CSV (columns key, reason, path), atomically."""
        write_skipped_csv(path, ("key", "reason", "path"), self.skipped)

    def with_failures(self, failures: Iterable[tuple[int, str, str]]) -> PairScan:
        """This scan with the pairs that failed later (while loading) moved to the skipped ones.

        A recording is counted once, however often it failed.
        """
        known = {key for key, _, _ in self.skipped}
        added: list[tuple[int, str, str]] = []
        for key, reason, path in failures:
            if key not in known:
                known.add(key)
                added.append((int(key), str(reason), str(path)))
        if not added:
            return self
        return PairScan(
            pairs=[pair for pair in self.pairs if pair.recording.key not in known],
            skipped=sorted(self.skipped + added, key=lambda row: row[0]),
            total=self.total,
            encoding=self.encoding,
            source=self.source,
        )


@dataclass
class PrepareReport(PairScan):
    """What :func:`prepare_spectrograms` did: a :class:`PairScan` plus decode counts."""

    #: recordings decoded into the cache by this run
    decoded: int = 0
    #: recordings whose cache file already existed and was left alone
    already_cached: int = 0


def _index_folder(folder: Path, suffixes: Sequence[str]) -> dict[str, Path]:
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


@dataclass
class SoundFiles:
    """The sound files of a dataset folder, by recording key, and the chosen source."""

    audio: dict[str, Path]
    jpgs: dict[str, Path]
    cached: dict[str, Path]
    #: ``"jpg"`` or ``"audio"``
    source: str
    #: the encoding every pair is read in
    encoding: str

    def pair(self, recording: Recording, image: Path) -> Pair | tuple[str, str]:
        """The recording's :class:`Pair` from the chosen source, or ``(reason, path)`` to skip it."""
        name = str(recording.key)
        audio = self.audio.get(name)
        if self.source == "jpg":
            jpg = self.jpgs.get(name)
            if jpg is None:
                return MISSING_SPECTROGRAM, str(
                    image.parent.parent / "spectrograms" / f"{name}.jpg"
                )
            return Pair(recording, image, audio, jpg, JPG)
        cached = self.cached.get(name)
        if audio is None and cached is None:
            return MISSING_AUDIO, str(image.parent.parent / "audio" / f"{name}.*")
        return Pair(recording, image, audio, cached, self.encoding)


def choose_spectrograms(
    root: str | os.PathLike,
    recordings: Sequence[Recording],
    spectrograms: str | None = None,
    encoding: str | None = None,
    model: str = "",
) -> SoundFiles:
    """Pick where a dataset's sounds come from, so that every pair has one encoding.

    ``spectrograms="jpg"`` reads only ``spectrograms/{key}.jpg`` (the release's
    JPG encoding); ``"audio"`` only ``audio/`` and the ``prepare`` cache, in
    ``encoding`` (the product's log-mel unless a model trained on the JPG
    encoding asks for its raw-audio front end). Without a choice: a model's
    encoding decides where it can; else a folder whose recordings all have a JPG
    uses the JPGs, one without any JPG the audio, and a folder where some
    recordings have only a JPG and others only audio is refused.

    Args:
        root: the dataset folder.
        recordings: the recordings considered (the whole dataset, so that every
            split reads the same source).
        spectrograms: ``"jpg"``, ``"audio"`` or None (decide as above).
        encoding: the model's encoding (None when training a new model).
        model: the model file, for messages.

    Raises:
        EncodingError: the choice contradicts the model's encoding, or the folder
            mixes encodings and no choice was made.
    """
    root = Path(root)
    if spectrograms is not None and spectrograms not in SPECTROGRAM_SOURCES:
        raise EncodingError(
            f"--spectrograms must be one of {', '.join(SPECTROGRAM_SOURCES)}, got {spectrograms!r}"
        )
    audio = _index_folder(root / "audio", AUDIO_EXTENSIONS)
    jpgs = _index_folder(root / "spectrograms", (".jpg", ".jpeg"))
    audio_encoding = encoding or LOGMEL
    cached = _index_folder(cache_folder(root, audio_encoding), (".npy",))
    names = {str(r.key) for r in recordings}
    has_jpg = names & set(jpgs)
    has_audio = names & (set(audio) | set(cached))
    only_jpg, only_audio = has_jpg - has_audio, has_audio - has_jpg
    where = f"{root}: "
    if spectrograms == "jpg" and encoding == LOGMEL:
        check_encoding(LOGMEL, JPG, f"{root / 'spectrograms'} (--spectrograms jpg)", model)
    if spectrograms is None:
        mixed = (
            f"{len(only_jpg)} recordings have only spectrograms/*.jpg ({describe_encoding(JPG)}) "
            f"and {len(only_audio)} only raw audio (read as {describe_encoding(audio_encoding)})"
        )
        if encoding == LOGMEL:
            if only_jpg:
                raise EncodingError(
                    f"{where}{mixed}, but the model {model + ' ' if model else ''}was trained on "
                    f"{describe_encoding(LOGMEL)}; pass --spectrograms audio to use the audio "
                    "and leave the JPG-only recordings out"
                )
            spectrograms = "audio"
        elif only_jpg and only_audio:
            raise EncodingError(
                f"{where}{mixed}: one dataset would mix two spectrogram encodings; pass "
                "--spectrograms jpg or --spectrograms audio to choose one (recordings without "
                "it are left out)"
            )
        elif has_jpg and not only_audio:
            spectrograms = "jpg"
        else:
            spectrograms = "audio"
    chosen = JPG if spectrograms == "jpg" else audio_encoding
    return SoundFiles(audio, jpgs, cached, spectrograms, chosen)


def _image_readable(path: Path) -> bool:
    """Whether an image decodes to its last byte (cheaply: JPEGs at 1/8 scale)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            # a reduced-scale decode still reads every byte, so truncation shows up;
            # verify() alone passes a JPEG cut in half
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except Exception:  # PIL raises many kinds for a broken file
        return False
    return width > 0 and height > 0


#: frames read at the end of a recording by the scan-time check
_TAIL_FRAMES = 2048


def _audio_readable(path: Path) -> bool:
    """Whether an audio file opens, holds samples and its last frames decode.

    Reading the tail catches a truncated FLAC, whose header still promises the
    whole recording, without decoding all of it.
    """
    import soundfile

    try:
        with soundfile.SoundFile(str(path)) as sound:
            frames = sound.frames
            if frames <= 0 or sound.samplerate <= 0:
                return False
            if sound.seekable():
                sound.seek(max(0, frames - _TAIL_FRAMES))
            sound.read(_TAIL_FRAMES, dtype="float32")
    except Exception:  # libsndfile errors, permission errors, odd containers
        return False
    return True


def _load_metadata(root: Path) -> list[Recording]:
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(
            f"{metadata} not found: a SoundingEarth folder holds metadata.csv, images/ "
            f"and audio/ or spectrograms/"
        )
    return read_metadata(metadata)


def scan_pairs(
    root: str | os.PathLike,
    split: str | None = "train",
    split_mode: str = "reference",
    cell_km: float = 10.0,
    check_readable: bool = True,
    progress: Progress | None = None,
    spectrograms: str | None = None,
    encoding: str | None = None,
    model: str = "",
) -> PairScan:
    """Find the usable image/audio pairs of a dataset in the SoundingEarth layout.

    A recording is usable when ``images/{key}.jpg`` exists and it has sound in
    the chosen source (:func:`choose_spectrograms`): a precomputed
    ``spectrograms/{key}.jpg``, or a raw ``audio/{key}.{mp3,flac,ogg,wav}`` or
    its ``prepare`` cache (``cache/logmel/{key}.npy``, or ``cache/jpg`` for the
    JPG encoding). Every pair has the same encoding (``PairScan.encoding``).

    Args:
        root: the dataset folder (with metadata.csv).
        split: "train", "val", "test", or None for every recording.
        split_mode: "reference" (by key, as in the paper) or "geographic" (grid cells).
        cell_km: the grid cell size of the geographic split.
        check_readable: also decode every image and precomputed spectrogram
            image (JPEGs at 1/8 scale, which still reads every byte), and open
            every raw audio file without a spectrogram and decode its last
            frames. The ``prepare`` cache is trusted (it is written atomically);
            a file that fails later, while loading, is handled by
            :class:`PairDataset`.
        progress: receives progress and is asked about cancellation.
        spectrograms: ``"jpg"``, ``"audio"`` or None (see :func:`choose_spectrograms`).
        encoding: the encoding of the model that will read the pairs, or None
            for a new model (the source then decides it).
        model: the model file, for messages.

    Returns:
        The pairs and the skipped recordings ("missing image", "unreadable
        image", "missing audio", "missing spectrogram", "unreadable audio").

    Raises:
        EncodingError: the dataset mixes encodings without a choice, or the choice
            contradicts the model's encoding.
    """
    root = Path(root)
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or None, got {split!r}")
    if split_mode not in ("reference", "geographic"):
        raise ValueError(f"split_mode must be 'reference' or 'geographic', got {split_mode!r}")
    recordings = _load_metadata(root)
    sounds = choose_spectrograms(root, recordings, spectrograms, encoding, model)
    if split is not None:
        if split_mode == "reference":
            recordings = [r for r in recordings if reference_split(r.key) == split]
        else:
            assignment = geographic_split(recordings, cell_km)
            recordings = [r for r in recordings if assignment[r.key] == split]
    images = _index_folder(root / "images", (".jpg", ".jpeg"))

    pairs: list[Pair] = []
    skipped: list[tuple[int, str, str]] = []
    for number, recording in enumerate(recordings):
        if number % _PROGRESS_EVERY == 0:
            check_cancelled(progress)
            if progress is not None:
                progress.progress(number / max(1, len(recordings)), f"scanning {number}")
        name = str(recording.key)
        image = images.get(name)
        if image is None:
            skipped.append((recording.key, MISSING_IMAGE, str(root / "images" / f"{name}.jpg")))
            continue
        if check_readable and not _image_readable(image):
            skipped.append((recording.key, UNREADABLE_IMAGE, str(image)))
            continue
        pair = sounds.pair(recording, image)
        if isinstance(pair, tuple):
            skipped.append((recording.key, *pair))
            continue
        spectrogram = pair.spectrogram
        if spectrogram is None and check_readable and not _audio_readable(pair.audio):
            skipped.append((recording.key, UNREADABLE_AUDIO, str(pair.audio)))
            continue
        if (
            check_readable
            and spectrogram is not None
            and spectrogram.suffix.lower() != ".npy"
            and not _image_readable(spectrogram)
        ):
            skipped.append((recording.key, UNREADABLE_AUDIO, str(spectrogram)))
            continue
        pairs.append(pair)
    if progress is not None:
        progress.progress(1.0, f"{len(pairs)} pairs")
    return PairScan(
        pairs=pairs,
        skipped=skipped,
        total=len(recordings),
        encoding=sounds.encoding,
        source=sounds.source,
    )


def _decode_to_cache(audio: Path, target: Path, encoding: str = LOGMEL) -> str | None:
    """Decode one recording into the cache; return the error message, or None.

    The log-mel is stored as float16, the JPG encoding as its 8-bit pixels (uint8).
    """
    try:
        spec = spectrogram_from_audio(audio, encoding)
    except AudioError as error:
        return str(error)
    if encoding == JPG:
        values = np.round(spec.numpy() * 255.0).astype(np.uint8)
    else:
        values = spec.numpy().astype(np.float16)
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, values)
    return None


def _remove_stale_partials(folder: Path) -> None:
    """Delete temporary files that a killed run left behind (old enough not to be in use)."""
    if not folder.is_dir():
        return
    cutoff = time.time() - _STALE_PARTIAL_S
    for leftover in folder.glob(".*.partial.npy"):
        with contextlib.suppress(OSError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def prepare_spectrograms(
    root: str | os.PathLike,
    progress: Progress | None = None,
    workers: int = 1,
    encoding: str = LOGMEL,
) -> PrepareReport:
    """Decode every raw recording once into the cache ``cache/{encoding}/{key}.npy``.

    With ``encoding="logmel"`` (the default) each file is float16 ``[128, T]``
    from :func:`backend.audio.log_mel`; with ``"jpg"`` uint8 pixels of the
    release's JPG encoding from :func:`backend.audio.jpg_spectrogram`, for a
    model trained on the JPGs. Files are written atomically, so a killed or
    cancelled run leaves no partial file and a rerun only decodes what is
    missing (existing cache files are not rewritten). Recordings without audio
    are skipped ("missing audio"), except, for ``encoding="jpg"``, those with a
    ``spectrograms/{key}.jpg``, which already hold that encoding. The skipped
    recordings are written to ``cache/skipped.csv``.

    Args:
        root: the dataset folder (with metadata.csv and audio/).
        progress: receives progress; cancellation is checked between files.
        workers: decoding threads (libsndfile and torch release the GIL).
        encoding: ``"logmel"`` or ``"jpg"`` (a model's :func:`backend.audio.model_encoding`).

    Returns:
        The usable recordings (images are not checked), the skipped ones
        ("missing audio", "unreadable audio") and how many were decoded now.

    Raises:
        Cancelled: ``progress`` asked to stop (files finished so far are kept).
        EncodingError: ``encoding`` is unknown.
    """
    root = Path(root)
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    folder = cache_folder(root, encoding)
    recordings = _load_metadata(root)
    audio_files = _index_folder(root / "audio", AUDIO_EXTENSIONS)
    jpgs = _index_folder(root / "spectrograms", (".jpg", ".jpeg"))
    _remove_stale_partials(folder)
    cached = _index_folder(folder, (".npy",))

    pairs: list[Pair] = []
    skipped: list[tuple[int, str, str]] = []
    todo: list[tuple[Recording, Path, Path]] = []
    already_cached = 0
    for recording in recordings:
        name = str(recording.key)
        image = root / "images" / f"{name}.jpg"
        audio = audio_files.get(name)
        if name in cached:
            already_cached += 1
            pairs.append(Pair(recording, image, audio, cached[name], encoding))
        elif audio is not None:
            todo.append((recording, audio, folder / f"{name}.npy"))
        elif encoding == JPG and name in jpgs:
            pairs.append(Pair(recording, image, None, jpgs[name], JPG))  # already the encoding
        else:
            skipped.append((recording.key, MISSING_AUDIO, str(root / "audio" / f"{name}.*")))

    report = PrepareReport(
        pairs=pairs,
        skipped=skipped,
        total=len(recordings),
        encoding=encoding,
        source="audio",
        already_cached=already_cached,
    )
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        done = 0
        chunk = 1 if pool is None else 2 * workers
        for start in range(0, len(todo), chunk):
            check_cancelled(progress)
            batch = todo[start : start + chunk]
            jobs = [(audio, target, encoding) for _, audio, target in batch]
            if pool is None:
                errors = [_decode_to_cache(*job) for job in jobs]
            else:
                errors = list(pool.map(lambda job: _decode_to_cache(*job), jobs))
            for (recording, audio, target), error in zip(batch, errors, strict=True):
                if error is None:
                    report.decoded += 1
                    report.pairs.append(
                        Pair(
                            recording,
                            root / "images" / f"{recording.key}.jpg",
                            audio,
                            target,
                            encoding,
                        )
                    )
                else:
                    report.skipped.append((recording.key, UNREADABLE_AUDIO, str(audio)))
            done += len(batch)
            if progress is not None:
                progress.progress(done / len(todo), f"decoded {done} of {len(todo)}")
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if progress is not None:
        progress.progress(1.0, "done")
    report.pairs.sort(key=lambda pair: pair.recording.key)
    report.skipped.sort(key=lambda row: row[0])
    report.write_skipped_csv(root / "cache" / "skipped.csv")
    return report


def _window_seed(seed: int, epoch: int, key: int) -> int:
    """A well-mixed 63-bit seed from (seed, epoch, key), stable across runs and machines."""
    entropy = [seed % 2**64, epoch % 2**64, key % 2**64]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]) >> 1


def _open_cached(source: Path) -> np.ndarray:
    """A cached ``[128, T]`` float16 spectrogram, memory-mapped (nothing read yet)."""
    try:
        values = np.load(source, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise AudioError(f"{source}: cannot read cached spectrogram ({error})") from error
    if values.ndim != 2 or values.shape[0] != N_MELS:
        raise AudioError(
            f"{source}: a cached spectrogram must be [{N_MELS}, frames], got "
            f"{list(values.shape)}; delete the cache folder and run prepare again"
        )
    return values


def _as_float32(source: Path, values: np.ndarray) -> torch.Tensor:
    try:
        return cached_values_to_tensor(values)
    except (OSError, ValueError) as error:
        raise AudioError(f"{source}: cannot read cached spectrogram ({error})") from error


def load_pair_spectrogram(pair: Pair) -> torch.Tensor:
    """The ``[128, T]`` [0, 1] spectrogram of a pair in ``pair.encoding``.

    From the pair's cache file or spectrogram JPG, else decoded from its audio
    through the encoding's front end.

    Raises:
        AudioError: the spectrogram or audio cannot be read.
        EncodingError: the pair's spectrogram file is not in ``pair.encoding``.
    """
    source = pair.spectrogram
    if source is not None and source.suffix.lower() == ".npy":
        return _as_float32(source, _open_cached(source))
    if source is not None:
        check_encoding(pair.encoding, JPG, str(source))
        return read_spectrogram_image(source)
    if pair.audio is not None:
        return spectrogram_from_audio(pair.audio, pair.encoding)
    raise AudioError(f"recording {pair.recording.key}: no audio and no spectrogram")


def load_pair_window(
    pair: Pair, frames: int = WINDOW_FRAMES, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One ``[128, frames]`` window of a pair's spectrogram: random with ``generator``, else centred.

    The same window as ``random_window(load_pair_spectrogram(pair), frames, generator)``
    (or ``centre_window``), but from the cache only the window's columns are read
    and converted, not a whole recording that may last an hour.

    Raises:
        AudioError: the spectrogram or audio cannot be read.
    """
    source = pair.spectrogram
    if source is not None and source.suffix.lower() == ".npy" and frames > 0:
        values = _open_cached(source)
        length = values.shape[1]
        if length >= frames:
            if generator is None:
                start = (length - frames) // 2
            else:
                # the draw random_window makes, so the window is the same
                start = int(torch.randint(0, length - frames + 1, (1,), generator=generator))
            return _as_float32(source, values[:, start : start + frames])
        spec = _as_float32(source, values)
    else:
        spec = load_pair_spectrogram(pair)
    if generator is None:
        return centre_window(spec, frames)
    return random_window(spec, frames, generator)


def load_tile(path: str | os.PathLike, context_px: int = 512) -> torch.Tensor:
    """The centre ``TILE_CONTEXT_PX`` square of an aerial tile, resized to ``context_px``.

    Tiles smaller than ``TILE_CONTEXT_PX`` use their whole centre square. JPEGs
    are decoded at a reduced scale when that still leaves enough pixels.

    Args:
        path: the image file.
        context_px: output side in pixels.

    Returns:
        uint8 ``[3, context_px, context_px]``.

    Raises:
        OSError: the image cannot be read (the message names the file).
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            width, height = image.size
            side = min(TILE_CONTEXT_PX, width, height)
            # ask the JPEG decoder for the smallest scale that keeps the crop >= context_px
            wanted = (
                math.ceil(width * context_px / side),
                math.ceil(height * context_px / side),
            )
            image.draft("RGB", wanted)
            scale = image.size[0] / width
            rgb = image.convert("RGB")
    except (OSError, ValueError) as error:  # UnidentifiedImageError is an OSError
        raise OSError(f"{path}: cannot read image ({error})") from error
    centre_x, centre_y = rgb.size[0] / 2, rgb.size[1] / 2
    half = side * scale / 2
    box = (centre_x - half, centre_y - half, centre_x + half, centre_y + half)
    resized = rgb.resize((context_px, context_px), Image.Resampling.BILINEAR, box=box)
    return torch.from_numpy(np.array(resized, dtype=np.uint8)).permute(2, 0, 1).contiguous()


#: substitutes tried, in a seeded order, for a pair that fails to load in training
_SUBSTITUTE_TRIES = 32


def batch_failures(batch: dict) -> list[tuple[int, str, str]]:
    """The ``(key, reason, path)`` of the pairs a :class:`PairDataset` batch could not read."""
    rows: list[tuple[int, str, str]] = []
    for text in batch.get("failed", ()):
        if text:
            rows.extend((int(key), reason, path) for key, reason, path in json.loads(text))
    return rows


class PairDataset(torch.utils.data.Dataset):
    """Aerial tiles with one spectrogram window each, for audiovisual training.

    Training mode draws one random window per recording from a generator seeded
    by (seed, epoch, key), so a resumed run sees the same windows; evaluation
    mode takes the window at the centre of the recording. No file stays open
    between items, so DataLoader workers are safe. Call :meth:`set_epoch` before
    iterating each epoch (with ``persistent_workers=False``, the default).

    A pair whose files cannot be decoded (a file that broke after the scan, or a
    fault only a full decode finds) never stops a run. In training the item is
    replaced by another pair drawn from a generator seeded by (seed, epoch,
    index), so batches stay full and the data order stays reproducible for a
    resumed run; in evaluation the item is marked ``ok = False`` and must be
    dropped. Either way the item's ``failed`` field (JSON, empty when nothing
    failed) names the pairs that failed; :func:`batch_failures` reads it from a
    batch.
    """

    def __init__(
        self,
        pairs: Sequence[Pair],
        context_px: int = 512,
        window_frames: int = WINDOW_FRAMES,
        train: bool = True,
        seed: int = 0,
    ) -> None:
        """Wrap ``pairs``.

        Args:
            pairs: from :func:`scan_pairs` (or built by hand).
            context_px: side of the returned image in pixels.
            window_frames: spectrogram frames per item.
            train: random windows (True) or centre windows (False).
            seed: seed of the window choice.
        """
        self.pairs = list(pairs)
        self.context_px = context_px
        self.window_frames = window_frames
        self.train = train
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose random windows the next items use."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pair = self.pairs[index]
        image = load_tile(pair.image, self.context_px)
        generator = None
        if self.train:
            generator = torch.Generator().manual_seed(
                _window_seed(self.seed, self.epoch, pair.recording.key)
            )
        return image, load_pair_window(pair, self.window_frames, generator).unsqueeze(0)

    def _failure(self, index: int, error: Exception) -> list:
        pair = self.pairs[index]
        if isinstance(error, AudioError):
            path = pair.spectrogram or pair.audio
            return [pair.recording.key, UNREADABLE_AUDIO, str(path)]
        return [pair.recording.key, UNREADABLE_IMAGE, str(pair.image)]

    def _substitute(self, index: int, attempt: int) -> int:
        """The ``attempt``-th replacement of item ``index`` this epoch (the same in every run)."""
        return _window_seed(self.seed, self.epoch, (index << 16) + attempt) % len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int | str]:
        failed: list[list] = []
        used = index
        first_error: Exception | None = None
        for attempt in range(_SUBSTITUTE_TRIES + 1 if self.train else 1):
            used = index if attempt == 0 else self._substitute(index, attempt)
            try:
                image, window = self._load(used)
            except EncodingError:
                raise  # a mistake in the pairs, not a broken file
            except (OSError, ValueError) as error:  # AudioError is a ValueError
                first_error = first_error or error
                failed.append(self._failure(used, error))
                continue
            return {
                "image": image,
                "audio": window,
                "index": used,
                "ok": True,
                "failed": json.dumps(failed) if failed else "",
            }
        if self.train and first_error is not None:
            # nothing readable among many tries: the dataset itself is broken
            raise first_error
        return {
            "image": torch.zeros((3, self.context_px, self.context_px), dtype=torch.uint8),
            "audio": torch.zeros((1, N_MELS, self.window_frames), dtype=torch.float32),
            "index": index,
            "ok": False,
            "failed": json.dumps(failed),
        }
