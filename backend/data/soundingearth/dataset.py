"""Training and evaluation items of the pairs: tiles with one spectrogram window each."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from backend.audio import (
    JPG,
    N_MELS,
    WINDOW_FRAMES,
    AudioError,
    EncodingError,
    cached_values_to_tensor,
    centre_window,
    check_encoding,
    random_window,
    read_spectrogram_image,
    spectrogram_from_audio,
)
from backend.data.soundingearth.pairs import UNREADABLE_AUDIO, UNREADABLE_IMAGE, Pair

#: tile side (pixels) of the region around the recording that the dataset uses
TILE_CONTEXT_PX = 512


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
