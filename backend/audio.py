"""Audio front end: decoding, the two spectrogram encodings a model can be trained on, windows.

A model sees spectrograms ``[128, T]`` in [0, 1], row 0 the lowest mel bin, in
one of two encodings, which its model file records (``ModelMetadata.spectrogram``):

``logmel``
    This project's log-mel (:func:`log_mel`): 22050 Hz, 1024-sample FFT, hop
    512, 128 HTK mel bands from 0 Hz to Nyquist, power in dB, the 80 dB below
    each recording's loudest bin mapped linearly onto [0, 1].
``jpg``
    The SoundingEarth release's ``spectrograms/{key}.jpg``: 8-bit pixels p as
    p / 255, rows as stored. The reference loader maps the same pixels onto
    [e^-1.5, e^0.5]; a reference-family encoder applies that map itself.
    :func:`jpg_spectrogram` makes this encoding from raw audio as closely as the
    reference code allows (docs/pretraining.md lists what is established and assumed).

Every reader produces exactly the model's encoding or raises :class:`EncodingError`.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
#: the shortest window a ResNet sound encoder takes (its five halvings leave one column)
MIN_WINDOW_FRAMES = 32
#: dynamic range kept below each recording's loudest bin (dB)
TOP_DB = 80.0

# power floor before taking the logarithm (-100 dB)
_AMIN = 1e-10

#: the product's log-mel (:func:`log_mel`)
LOGMEL = "logmel"
#: the SoundingEarth release's spectrogram JPGs (:func:`read_spectrogram_image`, :func:`jpg_spectrogram`)
JPG = "jpg"
ENCODINGS = (LOGMEL, JPG)

#: the reference loader (khdlr/SoundingEarth data_loading.py) maps pixel p to
#: JPG_LOW + p / 255 * (JPG_HIGH - JPG_LOW), i.e. exp(S / 10) for S in [-15, 5] dB
JPG_LOW = math.exp(-15 / 10)
JPG_HIGH = math.exp(5 / 10)
#: the JPG front end's short-time Fourier transform (assumed: librosa's defaults)
JPG_SAMPLE_RATE = 22050
JPG_N_FFT = 2048
JPG_HOP_LENGTH = 512

log = logging.getLogger(__name__)


class AudioError(ValueError):
    """A recording or spectrogram file that cannot be used; the message names the file."""


class EncodingError(ValueError):
    """A spectrogram source whose encoding is not the model's (or a dataset mixing two)."""


def encoding_metadata(encoding: str, window_frames: int = WINDOW_FRAMES) -> dict[str, Any]:
    """The description of ``encoding`` recorded in a model file (``ModelMetadata.spectrogram``).

    ``window_frames``: the spectrogram frames of one window the sound encoder was
    trained on (every reader cuts windows of this length for the model).
    """
    if window_frames < MIN_WINDOW_FRAMES:
        raise EncodingError(
            f"window of {window_frames} frames: at least {MIN_WINDOW_FRAMES} are needed"
        )
    if encoding == LOGMEL:
        return {
            "encoding": LOGMEL,
            "sample_rate": SAMPLE_RATE,
            "n_fft": N_FFT,
            "hop_length": HOP_LENGTH,
            "window": "hann",
            "n_mels": N_MELS,
            "f_min": 0.0,
            "f_max": SAMPLE_RATE / 2,
            "mel_scale": "htk",
            "power": 2.0,
            "db_range": TOP_DB,
            "normalisation": f"dB; loudest bin of the recording -> 1, {TOP_DB:g} dB below -> 0",
            "rows": "row 0 = lowest mel bin",
            "window_frames": window_frames,
        }
    if encoding == JPG:
        return {
            "encoding": JPG,
            "source": "SoundingEarth spectrograms/{key}.jpg (8-bit grayscale)",
            "pixel_value": "p / 255 (the reference loader: exp(-1.5) + p / 255 * "
            "(exp(0.5) - exp(-1.5)))",
            "range": [JPG_LOW, JPG_HIGH],
            "rows": "as stored (top image row = row 0)",
            "n_mels": N_MELS,
            "window_frames": window_frames,
            "from_audio": {
                "sample_rate": JPG_SAMPLE_RATE,
                "n_fft": JPG_N_FFT,
                "hop_length": JPG_HOP_LENGTH,
                "window": "hann",
                "n_mels": N_MELS,
                "f_min": 0.0,
                "f_max": JPG_SAMPLE_RATE / 2,
                "mel_scale": "slaney",
                "mel_norm": "slaney",
                "power": 2.0,
                "value": "clip((exp(S / 10) - exp(-1.5)) / (exp(0.5) - exp(-1.5)), 0, 1), "
                "S = 10 log10(mel power), rounded to 1/255",
            },
        }
    raise EncodingError(f"unknown spectrogram encoding {encoding!r}; expected one of {ENCODINGS}")


def describe_encoding(encoding: str) -> str:
    """A short name of ``encoding`` for messages."""
    if encoding == JPG:
        return "the SoundingEarth release's JPG encoding"
    if encoding == LOGMEL:
        return "the product's log-mel"
    return repr(encoding)


# model files already warned about (one warning per file and process)
_WARNED_DEFAULTS: set[str] = set()


def model_encoding(metadata: Any, source: str = "") -> str:
    """The spectrogram encoding an audiovisual model was trained on.

    Read from the model file's ``spectrogram`` field. Files written before the
    field existed get the encoding they were trained on: paper checkpoints
    imported by ``import-reference`` the release's JPGs (the reference code
    reads nothing else); every other model the product's log-mel (what
    ``prepare`` and the demo datasets make), with a warning, because a run on a
    folder of JPGs only would have used the JPGs.

    Args:
        metadata: a :class:`backend.models.modelfile.ModelMetadata`.
        source: the model file, for messages.

    Raises:
        EncodingError: the recorded encoding is unknown.
    """
    recorded = getattr(metadata, "spectrogram", None)
    if isinstance(recorded, Mapping) and recorded.get("encoding") is not None:
        encoding = str(recorded["encoding"])
        if encoding not in ENCODINGS:
            raise EncodingError(
                f"{source or 'the model'}: unknown spectrogram encoding {encoding!r} "
                f"(this version knows {', '.join(ENCODINGS)}); update the plugin"
            )
        return encoding
    provenance = getattr(metadata, "provenance", None) or {}
    if "imported_from" in provenance:
        return JPG
    if source not in _WARNED_DEFAULTS:
        _WARNED_DEFAULTS.add(source)
        log.warning(
            "%s records no spectrogram encoding (written before encodings were recorded); "
            "assuming %s. If it was trained on spectrograms/*.jpg only, its sounds will be "
            "misread: retrain it.",
            source or "the model",
            describe_encoding(LOGMEL),
        )
    return LOGMEL


def model_window_frames(metadata: Any) -> int:
    """The spectrogram frames per window an audiovisual model was trained on.

    Read from the model file's ``spectrogram`` field; files that do not record it
    were trained on windows of :data:`WINDOW_FRAMES`.
    """
    recorded = getattr(metadata, "spectrogram", None)
    if isinstance(recorded, Mapping) and recorded.get("window_frames") is not None:
        return int(recorded["window_frames"])
    return WINDOW_FRAMES


def check_encoding(expected: str, found: str, what: str, model: str = "") -> None:
    """Refuse a spectrogram source in another encoding than the model's.

    Args:
        expected: the model's encoding.
        found: the source's encoding.
        what: the file or folder read, for the message.
        model: the model file, for the message.

    Raises:
        EncodingError: the encodings differ.
    """
    if expected != found:
        raise EncodingError(
            f"{what} is in {describe_encoding(found)} but the model {model + ' ' if model else ''}"
            f"was trained on {describe_encoding(expected)}; the two encodings cannot be mixed"
        )


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
def _mel_transform(sample_rate: int, device: str, encoding: str = LOGMEL) -> torch.nn.Module:
    import torchaudio.transforms

    if encoding == JPG:
        # librosa.feature.melspectrogram's defaults (assumed for the release's JPGs)
        frames = {"n_fft": JPG_N_FFT, "hop_length": JPG_HOP_LENGTH}
        filters = {"norm": "slaney", "mel_scale": "slaney"}
    else:
        frames, filters = {"n_fft": N_FFT, "hop_length": HOP_LENGTH}, {}
    transform = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_mels=N_MELS, power=2.0, **frames, **filters
    )
    return transform.to(device)


def _mel_power(
    waveform: np.ndarray | torch.Tensor, sample_rate: int, encoding: str, n_fft: int
) -> torch.Tensor:
    samples = torch.as_tensor(waveform).to(torch.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected a 1-D mono waveform, got shape {tuple(samples.shape)}")
    if samples.numel() == 0:
        raise ValueError("got an empty waveform")
    if samples.numel() < n_fft:
        # reflect padding inside the STFT needs at least half a frame
        samples = torch.nn.functional.pad(samples, (0, n_fft - samples.numel()))
    with torch.no_grad():
        return _mel_transform(int(sample_rate), str(samples.device), encoding)(samples)


def log_mel(waveform: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """The log-mel spectrogram of a mono waveform, mapped to [0, 1] (the ``logmel`` encoding).

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
    power = _mel_power(waveform, sample_rate, LOGMEL, N_FFT)
    decibels = 10.0 * torch.log10(torch.clamp(power, min=_AMIN))
    peak = decibels.max()
    if peak <= 10.0 * np.log10(_AMIN):
        return torch.zeros_like(decibels)
    decibels = torch.clamp(decibels, min=peak - TOP_DB)
    return ((decibels - peak + TOP_DB) / TOP_DB).to(torch.float32)


def jpg_pixels(decibels: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A dB spectrogram as the release's 8-bit JPG pixels (uint8, same shape).

    ``p = round(255 * clip((exp(S / 10) - e^-1.5) / (e^0.5 - e^-1.5), 0, 1))``: the
    inverse of the reference loader's pixel map, as the reference's
    ``downstream/advance.py`` applies it to dB spectrograms.
    """
    values = torch.as_tensor(decibels, dtype=torch.float64)
    scaled = (torch.exp(values / 10.0) - JPG_LOW) / (JPG_HIGH - JPG_LOW)
    return torch.round(torch.clamp(scaled, 0.0, 1.0) * 255.0).to(torch.uint8)


def jpg_spectrogram(
    waveform: np.ndarray | torch.Tensor, sample_rate: int = JPG_SAMPLE_RATE
) -> torch.Tensor:
    """The ``jpg`` encoding of a mono waveform: what ``spectrograms/{key}.jpg`` would hold, / 255.

    Mel power as ``librosa.feature.melspectrogram`` computes it by default (2048-sample
    FFT, hop 512, 128 Slaney mel bands from 0 Hz to Nyquist, Slaney area
    normalisation), in dB relative to 1 (a full-scale waveform is in [-1, 1]),
    mapped to 8-bit pixels by :func:`jpg_pixels` and divided by 255. Only the
    pixel map is established by the reference code; the STFT and dB reference
    are assumptions (see docs/pretraining.md).

    Args:
        waveform: 1-D samples.
        sample_rate: the waveform's rate in Hz (the front end expects
            ``JPG_SAMPLE_RATE``; :func:`spectrogram_from_audio` resamples to it).

    Returns:
        float32 ``[N_MELS, T]``, multiples of 1/255 in [0, 1], row 0 the lowest mel bin.
    """
    power = _mel_power(waveform, sample_rate, JPG, JPG_N_FFT)
    decibels = 10.0 * torch.log10(torch.clamp(power.to(torch.float64), min=_AMIN))
    return jpg_pixels(decibels).to(torch.float32) / 255.0


def spectrogram_from_audio(path: str | os.PathLike, encoding: str) -> torch.Tensor:
    """Decode a recording and compute its spectrogram in ``encoding`` (``logmel`` or ``jpg``).

    Raises:
        AudioError: the file cannot be decoded.
        EncodingError: ``encoding`` is unknown.
    """
    if encoding == LOGMEL:
        return log_mel(load_audio(path, SAMPLE_RATE), SAMPLE_RATE)
    if encoding == JPG:
        return jpg_spectrogram(load_audio(path, JPG_SAMPLE_RATE), JPG_SAMPLE_RATE)
    raise EncodingError(f"unknown spectrogram encoding {encoding!r}; expected one of {ENCODINGS}")


def read_spectrogram_image(path: str | os.PathLike) -> torch.Tensor:
    """Read a spectrogram JPG of the SoundingEarth release (the ``jpg`` encoding).

    The pixels are read as the reference loader reads them: grayscale, rows as
    stored (the top image row is row 0, which the reference treats like row 0 of
    a dB spectrogram array, i.e. the lowest mel bin), values p / 255.

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
    return torch.from_numpy(np.array(pixels, dtype=np.float32)) / 255.0


def write_spectrogram_image(
    spec: torch.Tensor | np.ndarray, path: str | os.PathLike, quality: int = 95
) -> None:
    """Write a [0, 1] spectrogram as an 8-bit grayscale image in the release's layout.

    The inverse of :func:`read_spectrogram_image` up to 8-bit rounding (and JPEG
    loss for a ``.jpg``; a ``.png`` is lossless). Written atomically.

    Args:
        spec: ``[128, T]`` values in [0, 1] (values outside are clipped).
        path: the image to write (format from the suffix: .jpg/.jpeg or .png).
        quality: JPEG quality.
    """
    from PIL import Image

    values = torch.as_tensor(spec).detach().to("cpu", torch.float32).numpy()
    if values.ndim != 2:
        raise ValueError(f"a spectrogram must be [mel bins, frames], got shape {values.shape}")
    pixels = np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    image_format = "PNG" if Path(path).suffix.lower() == ".png" else "JPEG"
    options = {"quality": quality} if image_format == "JPEG" else {}
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(pixels)).save(tmp, format=image_format, **options)


#: the prepare cache folder (cache/{name}) that holds each encoding
CACHE_FOLDERS = {LOGMEL: "logmel", JPG: "jpg"}


def file_encoding(path: str | os.PathLike) -> str | None:
    """The encoding a spectrogram file holds, or None for an audio file.

    ``.jpg``/``.jpeg``/``.png`` are the release's JPG encoding; a ``.npy`` is a
    ``prepare`` cache file, whose encoding is its folder's name
    (``cache/logmel`` or ``cache/jpg``).

    Raises:
        EncodingError: a ``.npy`` outside a cache folder (its encoding is unknown).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg", ".png"):
        return JPG
    if suffix == ".npy":
        for encoding, folder in CACHE_FOLDERS.items():
            if path.parent.name == folder:
                return encoding
        raise EncodingError(
            f"{path}: cannot tell the spectrogram encoding of a .npy outside a prepare cache "
            f"(cache/logmel/ for {describe_encoding(LOGMEL)}, cache/jpg/ for "
            f"{describe_encoding(JPG)}); use the recording itself"
        )
    return None


def read_cached_spectrogram(path: str | os.PathLike) -> torch.Tensor:
    """A ``prepare`` cache file as float32 ``[128, T]`` in [0, 1] (uint8 files are divided by 255).

    Raises:
        AudioError: the file cannot be read or has the wrong shape.
    """
    path = Path(path)
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise AudioError(f"{path}: cannot read cached spectrogram ({error})") from error
    if values.ndim != 2 or values.shape[0] != N_MELS:
        raise AudioError(
            f"{path}: a cached spectrogram must be [{N_MELS}, frames], got {list(values.shape)}"
        )
    return cached_values_to_tensor(values)


def cached_values_to_tensor(values: np.ndarray) -> torch.Tensor:
    """Cache values (float16 log-mel, or uint8 JPG pixels) as float32 in [0, 1]."""
    if values.dtype == np.uint8:
        return torch.from_numpy(np.array(values, dtype=np.float32) / np.float32(255.0))
    return torch.from_numpy(np.array(values, dtype=np.float32))


def spectrogram_for_model(path: str | os.PathLike, encoding: str, model: str = "") -> torch.Tensor:
    """Any sound file (audio, spectrogram image or cache .npy) in the model's ``encoding``.

    Audio is decoded through the encoding's front end; a spectrogram file must
    already hold the encoding.

    Raises:
        AudioError: the file cannot be read.
        EncodingError: a spectrogram file in the other encoding.
    """
    path = Path(path)
    found = file_encoding(path)
    if found is None:
        return spectrogram_from_audio(path, encoding)
    check_encoding(encoding, found, str(path), model)
    if found == JPG:
        return read_spectrogram_image(path)
    return read_cached_spectrogram(path)


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
