"""Audio front end: decoding, resampling and 128-bin log-mel spectrograms on the model's [0, 1] scale."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import soundfile
import torch

from backend.atomic import atomic_path

#: every recording is resampled to this rate (Hz) before the spectrogram
SAMPLE_RATE = 22050
#: FFT size of the short-time Fourier transform (samples)
N_FFT = 1024
#: hop between spectrogram frames (samples): 128 frames are about 3 s at 22050 Hz
HOP_LENGTH = 512
#: mel bins (rows of a spectrogram)
N_MELS = 128
#: spectrogram frames (columns) the audio encoder sees at once
WINDOW_FRAMES = 128
#: dynamic range kept below each recording's loudest bin (dB)
TOP_DB = 80.0

# power floor before taking the logarithm (-100 dB)
_AMIN = 1e-10


class AudioError(ValueError):
    """A recording or spectrogram file that cannot be used; the message names the file."""


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode an audio file to a mono float32 waveform at ``sample_rate``.

    Reads wav, flac, ogg and mp3 (through libsndfile), averages the channels and
    resamples with ``torchaudio.functional.resample``.

    Args:
        path: the audio file.
        sample_rate: the rate (Hz) of the returned waveform.

    Returns:
        A 1-D float32 array.

    Raises:
        AudioError: the file does not exist, cannot be decoded or holds no samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: audio file not found")
    try:
        data, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, TypeError, ValueError, OSError) as error:
        raise AudioError(f"{path}: cannot decode audio ({error})") from error
    if data.size == 0:
        raise AudioError(f"{path}: the file holds no audio samples")
    mono = data.mean(axis=1, dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    if file_rate != sample_rate:
        import torchaudio.functional

        resampled = torchaudio.functional.resample(torch.from_numpy(mono), file_rate, sample_rate)
        mono = resampled.numpy()
    return np.ascontiguousarray(mono, dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _mel_transform(sample_rate: int, device: str) -> torch.nn.Module:
    import torchaudio.transforms

    transform = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate,
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        n_mels=N_MELS,
        power=2.0,
    )
    return transform.to(device)


def log_mel(waveform: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """The log-mel spectrogram of a mono waveform, mapped to [0, 1].

    The power spectrogram is converted to dB, everything more than ``TOP_DB``
    below the loudest bin is clipped, and the result is mapped linearly so that
    the loudest bin is 1 and ``TOP_DB`` below it is 0. An all-silent waveform
    gives all zeros.

    Args:
        waveform: 1-D samples (numpy array or tensor, any float dtype).
        sample_rate: the waveform's rate in Hz.

    Returns:
        A float32 tensor ``[N_MELS, T]`` with ``T = 1 + len(waveform) // HOP_LENGTH``
        (waveforms shorter than ``N_FFT`` are zero-padded to ``N_FFT`` first).

    Raises:
        ValueError: the waveform is not 1-D or is empty.
    """
    samples = torch.as_tensor(waveform).to(torch.float32)
    if samples.ndim != 1:
        raise ValueError(f"log_mel expects a 1-D mono waveform, got shape {tuple(samples.shape)}")
    if samples.numel() == 0:
        raise ValueError("log_mel got an empty waveform")
    if samples.numel() < N_FFT:
        # reflect padding inside the STFT needs at least half a frame
        samples = torch.nn.functional.pad(samples, (0, N_FFT - samples.numel()))
    with torch.no_grad():
        power = _mel_transform(int(sample_rate), str(samples.device))(samples)
    decibels = 10.0 * torch.log10(torch.clamp(power, min=_AMIN))
    peak = decibels.max()
    if peak <= 10.0 * np.log10(_AMIN):
        return torch.zeros_like(decibels)
    decibels = torch.clamp(decibels, min=peak - TOP_DB)
    return ((decibels - peak + TOP_DB) / TOP_DB).to(torch.float32)


def read_spectrogram_image(path: str | os.PathLike) -> torch.Tensor:
    """Read a precomputed log-mel JPG of the SoundingEarth release.

    The images are grayscale with one row per mel bin and the highest frequency
    at the top; the result is flipped so that row 0 is the lowest mel bin, as in
    :func:`log_mel`.

    Args:
        path: the spectrogram image (128 rows, any number of columns).

    Returns:
        A float32 tensor ``[128, T]`` in [0, 1].

    Raises:
        AudioError: the image cannot be read or does not have 128 rows.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise AudioError(f"{path}: cannot read spectrogram image ({error})") from error
    if pixels.shape[0] != N_MELS:
        raise AudioError(
            f"{path}: a spectrogram image must have {N_MELS} rows (one per mel bin), "
            f"this one has {pixels.shape[0]} rows"
        )
    flipped = np.ascontiguousarray(pixels[::-1])
    return torch.from_numpy(flipped).to(torch.float32) / 255.0


def write_spectrogram_image(spec: torch.Tensor | np.ndarray, path: str | os.PathLike) -> None:
    """Write a [0, 1] spectrogram as a grayscale JPG in the release's orientation.

    The inverse of :func:`read_spectrogram_image` (up to JPEG loss): the highest
    mel bin becomes the top row. Written atomically.

    Args:
        spec: ``[128, T]`` values in [0, 1] (values outside are clipped).
        path: the JPG to write.
    """
    from PIL import Image

    values = torch.as_tensor(spec).detach().to("cpu", torch.float32).numpy()
    if values.ndim != 2:
        raise ValueError(f"a spectrogram must be [mel bins, frames], got shape {values.shape}")
    pixels = np.round(np.clip(values[::-1], 0.0, 1.0) * 255.0).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(pixels)).save(tmp, format="JPEG", quality=95)


def _tile_to(spec: torch.Tensor, frames: int) -> torch.Tensor:
    """Repeat a spectrogram along time until it has at least ``frames`` columns."""
    if frames <= 0:
        raise ValueError(f"a window needs at least one frame, got {frames}")
    length = spec.shape[-1]
    if length == 0:
        raise ValueError("the spectrogram has no frames")
    if length >= frames:
        return spec
    repeats = -(-frames // length)
    return spec.repeat(1, repeats)[:, :frames]


def spectrogram_windows(spec: torch.Tensor, frames: int = WINDOW_FRAMES) -> torch.Tensor:
    """Cut a spectrogram into non-overlapping windows along time.

    Trailing frames that do not fill a window are dropped; a recording shorter
    than one window is repeated to fill exactly one, so the result is never empty.

    Args:
        spec: ``[n_mels, T]``.
        frames: window length in frames.

    Returns:
        ``[n, n_mels, frames]`` with ``n = max(1, T // frames)``.
    """
    spec = _tile_to(spec, frames)
    count = spec.shape[-1] // frames
    windows = spec[:, : count * frames].reshape(spec.shape[0], count, frames)
    return windows.permute(1, 0, 2).contiguous()


def random_window(
    spec: torch.Tensor, frames: int = WINDOW_FRAMES, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One window of ``frames`` columns at a random offset (short recordings are repeated).

    Args:
        spec: ``[n_mels, T]``.
        frames: window length in frames.
        generator: source of the offset; the same seed gives the same window.

    Returns:
        ``[n_mels, frames]``, a copy.
    """
    spec = _tile_to(spec, frames)
    start = int(torch.randint(0, spec.shape[-1] - frames + 1, (1,), generator=generator))
    return spec[:, start : start + frames].clone()


def centre_window(spec: torch.Tensor, frames: int = WINDOW_FRAMES) -> torch.Tensor:
    """The window of ``frames`` columns at the middle of the recording (for evaluation).

    Args:
        spec: ``[n_mels, T]``.
        frames: window length in frames.

    Returns:
        ``[n_mels, frames]``, a copy.
    """
    spec = _tile_to(spec, frames)
    start = (spec.shape[-1] - frames) // 2
    return spec[:, start : start + frames].clone()
