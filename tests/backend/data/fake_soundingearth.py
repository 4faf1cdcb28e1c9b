"""Writes a tiny seeded dataset in the SoundingEarth layout for tests."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from backend.audio import write_spectrogram_image
from backend.data.soundingearth import METADATA_COLUMNS

#: raw audio formats written in turn, with the rate each is written at
FAKE_AUDIO_FORMATS = (("wav", 22050), ("flac", 44100), ("ogg", 16000), ("mp3", 44100))
#: first key; keys are consecutive so every key % 10 (reference split) occurs
FIRST_KEY = 100


def _tile(rng: np.random.Generator, size: int) -> Image.Image:
    """A smooth random RGB tile (compresses small, unlike white noise)."""
    coarse = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    return Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)


def _recording(rng: np.random.Generator, seconds: float, rate: int, channels: int) -> np.ndarray:
    """A tone with a wandering pitch, a varying level and some noise."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = rng.uniform(300.0, 3000.0) * (1.0 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    level = 0.3 + 0.25 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t)
    mono = level * np.sin(phase) + 0.05 * rng.standard_normal(t.size)
    return np.stack([mono] * channels, axis=1).astype(np.float32)


def write_fake_soundingearth(
    root: Path,
    n: int = 12,
    seed: int = 0,
    with_audio: bool = True,
    with_spectrograms: bool = False,
    image_px: int = 520,
) -> list[int]:
    """Write ``n`` recordings in the SoundingEarth layout under ``root``.

    Keys are ``FIRST_KEY .. FIRST_KEY + n - 1``. Audio cycles through wav, flac,
    ogg and mp3 at different sample rates (mono and stereo), 1-6 s long, so some
    recordings are shorter than one 128-frame window. Descriptions contain
    commas, quotes and line breaks.

    Args:
        root: folder to write into (created).
        n: number of recordings.
        seed: seed of every random choice.
        with_audio: write ``audio/{key}.*``.
        with_spectrograms: write precomputed ``spectrograms/{key}.jpg``.
        image_px: side of the square aerial tiles.

    Returns:
        The keys in metadata order.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    for folder in ("images", "audio", "spectrograms"):
        if folder == "audio" and not with_audio:
            continue
        if folder == "spectrograms" and not with_spectrograms:
            continue
        (root / folder).mkdir(parents=True, exist_ok=True)
    keys = [FIRST_KEY + i for i in range(n)]
    rows = []
    for i, key in enumerate(keys):
        _tile(rng, image_px).save(root / "images" / f"{key}.jpg", quality=90)
        extension, rate = FAKE_AUDIO_FORMATS[i % len(FAKE_AUDIO_FORMATS)]
        seconds = float(rng.uniform(1.0, 6.0))
        channels = 1 + i % 2
        if with_audio:
            samples = _recording(rng, seconds, rate, channels)
            soundfile.write(root / "audio" / f"{key}.{extension}", samples, rate)
        if with_spectrograms:
            frames = int(rng.integers(60, 300))
            spec = rng.uniform(0.0, 1.0, size=(128, frames)).astype(np.float32)
            write_spectrogram_image(spec, root / "spectrograms" / f"{key}.jpg")
        description = (
            f'Birds, wind and "traffic"\nrecorded at fake site {i}' if i % 3 == 0 else f"site {i}"
        )
        values = {
            "long_key": f"fake{key:06d}",
            "key": str(key),
            "longitude": f"{rng.uniform(-179.0, 179.0):.6f}",
            "latitude": f"{rng.uniform(-60.0, 70.0):.6f}",
            "altitude": f"{rng.uniform(0, 2000):.1f}",
            "description": description,
            "date_recorded": "2020-05-01",
            "date_uploaded": "2020-05-02",
            "creator": f"recordist {i % 4}",
            "licenseurl": "http://creativecommons.org/licenses/by/4.0/",
            "title": f"Fake recording {key}",
            "mp3name": f"{key}.mp3",
            "mp3mb": "0.1",
            "mp3seconds": f"{seconds:.2f}",
            "mp3channels": str(channels),
            "mp3bitrate": "128",
            "mp3samplerate": str(rate),
            "mp3file": f"https://example.org/{key}.mp3",
        }
        rows.append([values[column] for column in METADATA_COLUMNS])
    with open(root / "metadata.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(METADATA_COLUMNS)
        writer.writerows(rows)
    return keys
