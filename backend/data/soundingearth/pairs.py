"""The usable image/sound pairs of a SoundingEarth folder, and the recordings skipped, with why."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.audio import JPG, LOGMEL, EncodingError, check_encoding, describe_encoding
from backend.data.skipped import skip_summary, write_skipped_csv
from backend.data.soundingearth.layout import (
    AUDIO_EXTENSIONS,
    cache_folder,
    index_folder,
    read_folder_metadata,
)
from backend.data.soundingearth.metadata import Recording
from backend.data.soundingearth.splits import SPLITS, geographic_split, reference_split
from backend.progress import Progress, check_cancelled

#: where sounds come from (``--spectrograms``): the release's JPGs, or raw audio and its cache
SPECTROGRAM_SOURCES = ("jpg", "audio")

#: reasons a pair is skipped
MISSING_IMAGE = "missing image"
UNREADABLE_IMAGE = "unreadable image"
MISSING_AUDIO = "missing audio"
UNREADABLE_AUDIO = "unreadable audio"
MISSING_SPECTROGRAM = "missing spectrogram"
#: the order in which a summary lists reasons with equal counts
SKIP_REASON_ORDER = (
    MISSING_AUDIO,
    MISSING_SPECTROGRAM,
    UNREADABLE_AUDIO,
    MISSING_IMAGE,
    UNREADABLE_IMAGE,
)
# scan progress is reported (and cancellation checked) every this many recordings
_PROGRESS_EVERY = 64


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
            (reason for _, reason, _ in self.skipped), self.total, "pairs", SKIP_REASON_ORDER
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
    audio = index_folder(root / "audio", AUDIO_EXTENSIONS)
    jpgs = index_folder(root / "spectrograms", (".jpg", ".jpeg"))
    audio_encoding = encoding or LOGMEL
    cached = index_folder(cache_folder(root, audio_encoding), (".npy",))
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
    recordings = read_folder_metadata(root)
    sounds = choose_spectrograms(root, recordings, spectrograms, encoding, model)
    if split is not None:
        if split_mode == "reference":
            recordings = [r for r in recordings if reference_split(r.key) == split]
        else:
            assignment = geographic_split(recordings, cell_km)
            recordings = [r for r in recordings if assignment[r.key] == split]
    images = index_folder(root / "images", (".jpg", ".jpeg"))

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
