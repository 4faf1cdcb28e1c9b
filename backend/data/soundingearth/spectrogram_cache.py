"""The spectrogram cache: every raw recording of a folder decoded once (``prepare``)."""

from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.atomic import atomic_path
from backend.audio import JPG, LOGMEL, AudioError, spectrogram_from_audio
from backend.data.soundingearth.layout import (
    AUDIO_EXTENSIONS,
    cache_folder,
    index_folder,
    read_folder_metadata,
)
from backend.data.soundingearth.metadata import Recording
from backend.data.soundingearth.pairs import MISSING_AUDIO, UNREADABLE_AUDIO, Pair, PairScan
from backend.progress import Progress, check_cancelled

# temporary cache files older than this (seconds) belong to a run that was killed
_STALE_PARTIAL_S = 3600.0


@dataclass
class PrepareReport(PairScan):
    """What :func:`prepare_spectrograms` did: a :class:`PairScan` plus decode counts."""

    #: recordings decoded into the cache by this run
    decoded: int = 0
    #: recordings whose cache file already existed and was left alone
    already_cached: int = 0


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
    recordings = read_folder_metadata(root)
    audio_files = index_folder(root / "audio", AUDIO_EXTENSIONS)
    jpgs = index_folder(root / "spectrograms", (".jpg", ".jpeg"))
    _remove_stale_partials(folder)
    cached = index_folder(folder, (".npy",))

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
