"""Tests of backend.audio: decoding, resampling, log-mel scale, spectrogram images and windows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from backend.audio import (
    HOP_LENGTH,
    N_MELS,
    SAMPLE_RATE,
    TOP_DB,
    WINDOW_FRAMES,
    AudioError,
    centre_window,
    load_audio,
    log_mel,
    random_window,
    read_spectrogram_image,
    spectrogram_windows,
    write_spectrogram_image,
)


def sine(frequency: float, seconds: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def mel_bin_of(frequency: float) -> float:
    """Fractional mel bin (HTK scale, 0 Hz .. Nyquist) whose centre is at ``frequency``."""

    def mel(f: float) -> float:
        return 2595.0 * math.log10(1.0 + f / 700.0)

    return mel(frequency) / mel(SAMPLE_RATE / 2) * (N_MELS + 1) - 1


@pytest.mark.parametrize("extension", ["wav", "flac", "ogg", "mp3"])
def test_load_audio_decodes_and_resamples_each_format(tmp_path: Path, extension: str) -> None:
    path = tmp_path / f"tone.{extension}"
    soundfile.write(path, sine(440.0, 1.0, rate=44100), 44100)

    waveform = load_audio(path)

    assert waveform.dtype == np.float32 and waveform.ndim == 1
    # one second at 22050 Hz (mp3 adds encoder padding of a few frames)
    tolerance = 3000 if extension == "mp3" else 2
    assert abs(waveform.size - SAMPLE_RATE) <= tolerance
    assert 0.3 < np.abs(waveform).max() < 0.7


def test_load_audio_to_other_rate(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    soundfile.write(path, sine(440.0, 0.5, rate=22050), 22050)
    assert load_audio(path, sample_rate=16000).size == 8000


def test_load_audio_downmixes_stereo(tmp_path: Path) -> None:
    tone = sine(440.0, 0.5)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([tone, 0.5 * tone], axis=1), SAMPLE_RATE, subtype="FLOAT")

    waveform = load_audio(path)

    np.testing.assert_allclose(waveform, 0.75 * tone, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "content"), [("empty.wav", b""), ("garbage.mp3", b"not audio at all" * 20)]
)
def test_load_audio_rejects_unusable_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioError, match=name):
        load_audio(path)


def test_load_audio_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="nowhere.flac"):
        load_audio(tmp_path / "nowhere.flac")


def test_load_audio_rejects_zero_samples(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    soundfile.write(path, np.zeros((0, 1), dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match="no audio samples"):
        load_audio(path)


@pytest.mark.parametrize("frequency", [500.0, 4000.0])
def test_log_mel_of_a_sine_peaks_in_its_mel_bin(frequency: float) -> None:
    waveform = sine(frequency, 2.0)

    spec = log_mel(waveform)

    assert spec.dtype == torch.float32
    assert spec.shape == (N_MELS, 1 + waveform.size // HOP_LENGTH)
    assert spec.min() >= 0.0 and spec.max() == pytest.approx(1.0)
    peak_bin = int(spec.mean(dim=1).argmax())
    assert abs(peak_bin - mel_bin_of(frequency)) <= 2


def test_log_mel_scale_clips_top_db() -> None:
    # a loud tone, then near-silence far more than TOP_DB below it
    waveform = np.concatenate([sine(1000.0, 1.0), 1e-7 * sine(1000.0, 1.0)])
    spec = log_mel(waveform)
    loud, quiet = spec[:, :30], spec[:, -30:]
    assert loud.max() == pytest.approx(1.0)
    assert torch.all(quiet == 0.0)
    # a tone 40 dB quieter than the peak sits at (80 - 40) / 80 of the scale
    mixed = np.concatenate([sine(1000.0, 1.0), 0.01 * sine(1000.0, 1.0)])
    level = log_mel(mixed)[:, -30:-5].max()
    assert float(level) == pytest.approx((TOP_DB - 40.0) / TOP_DB, abs=0.02)


def test_log_mel_accepts_tensor_and_short_or_silent_input() -> None:
    waveform = sine(700.0, 0.5)
    torch.testing.assert_close(log_mel(waveform), log_mel(torch.from_numpy(waveform)))
    assert log_mel(waveform[:100]).shape == (N_MELS, 1 + 1024 // HOP_LENGTH)
    assert torch.all(log_mel(np.zeros(4000, dtype=np.float32)) == 0.0)
    with pytest.raises(ValueError, match="1-D"):
        log_mel(np.zeros((2, 100), dtype=np.float32))


def test_spectrogram_image_round_trip_and_orientation(tmp_path: Path) -> None:
    generator = torch.Generator().manual_seed(0)
    spec = torch.rand(N_MELS, 300, generator=generator) * 0.2
    spec[:8] = 1.0  # loud low frequencies
    path = tmp_path / "spec.jpg"

    write_spectrogram_image(spec, path)

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.shape == (N_MELS, 300)
    # rows as stored, as the reference loader reads them: row 0 is the top image row
    assert pixels[:4].mean() > 240 and pixels[-4:].mean() < 80
    back = read_spectrogram_image(path)
    assert back.shape == (N_MELS, 300) and back.dtype == torch.float32
    assert float((back - spec).abs().mean()) < 0.03
    assert float(back[:8].mean()) > 0.95


def test_read_spectrogram_image_wrong_height(tmp_path: Path) -> None:
    path = tmp_path / "short.jpg"
    Image.fromarray(np.zeros((64, 200), dtype=np.uint8)).save(path)
    with pytest.raises(AudioError, match=r"short\.jpg.*128 rows"):
        read_spectrogram_image(path)


def test_read_spectrogram_image_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(AudioError, match="broken.jpg"):
        read_spectrogram_image(path)


def test_spectrogram_windows_cut_and_pad() -> None:
    spec = torch.arange(N_MELS * 300, dtype=torch.float32).reshape(N_MELS, 300)
    windows = spectrogram_windows(spec)
    assert windows.shape == (2, N_MELS, WINDOW_FRAMES)
    torch.testing.assert_close(windows[1], spec[:, 128:256])

    short = spec[:, :50]
    padded = spectrogram_windows(short)
    assert padded.shape == (1, N_MELS, WINDOW_FRAMES)
    torch.testing.assert_close(padded[0, :, :50], short)
    torch.testing.assert_close(padded[0, :, 50:100], short)  # repeated, not zeros
    torch.testing.assert_close(padded[0, :, 100:], short[:, :28])


def test_random_window_is_a_seeded_slice() -> None:
    spec = torch.arange(4 * 1000, dtype=torch.float32).reshape(4, 1000)
    first = random_window(spec, 128, torch.Generator().manual_seed(3))
    again = random_window(spec, 128, torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, again)
    start = int(first[0, 0])
    torch.testing.assert_close(first, spec[:, start : start + 128])
    starts = {
        int(random_window(spec, 128, torch.Generator().manual_seed(s))[0, 0]) for s in range(8)
    }
    assert len(starts) > 4

    short = random_window(spec[:, :10], 128, torch.Generator().manual_seed(0))
    assert short.shape == (4, 128)
    torch.testing.assert_close(short[:, :10], spec[:, :10])


def test_centre_window() -> None:
    spec = torch.arange(2 * 400, dtype=torch.float32).reshape(2, 400)
    torch.testing.assert_close(centre_window(spec, 128), spec[:, 136:264])
