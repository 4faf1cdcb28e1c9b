"""The reference's training recipe (khdlr/SoundingEarth, final commit), rebuilt here to time it side by side.

What the reference's ``train.py`` does per step, with its ``config.py`` defaults
(batch 32, two loader workers, Adam at 1e-3, triplet loss, fp32) and its
``data_loading.py``: each worker opens ``images/{key}.jpg`` with PIL, augments it
per sample (CenterCrop 512 -> RandomResizedCrop 192, scale 0.5-1 -> Rotate +-180
-> Blur 3 -> GridDistortion -> HueSaturationValue -> Normalize), reads
``spectrograms/{key}.jpg`` with PIL, maps its pixels to the reference's value
range and cuts one random 128-frame window (``MaxSamples: 1``, ``config.yml``);
the main process runs the reference encoders (:mod:`backend.models.reference`,
the final 64/182/256/512 layout), its ``TripletLoss`` (mean over all pairs), its
per-batch rank metrics, and Adam.

No code of the reference is copied. The augmentations follow albumentations
1.x's published behaviour, reimplemented with PIL and numpy (albumentations and
OpenCV are not dependencies of this project). Deviations, none of which changes
the amount of work much:

* RandomResizedCrop resizes with PIL's bilinear filter, which widens its support
  when it shrinks (OpenCV's ``INTER_LINEAR`` samples 2 x 2 pixels).
* Rotate reflects the border (OpenCV's ``BORDER_REFLECT_101``) by padding the
  image before PIL rotates it, then cropping the centre back.
* Blur's 3 x 3 box filter is PIL's ``BoxBlur(1)``, which repeats edge pixels
  where OpenCV mirrors them.
* GridDistortion's map is separable (x depends on the column, y on the row), so
  it is applied as two small matrix products instead of ``cv2.remap``.
* HueSaturationValue works in PIL's HSV (hue 0-255) with the shift limits
  converted from OpenCV's (hue 0-179).
* Random draws come from a generator seeded per (epoch, sample), not from the
  global ``random`` module.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from backend.models.reference import (
    FINAL_WIDTHS,
    IMAGE_MEAN,
    IMAGE_STD,
    SPECTROGRAM_HIGH,
    SPECTROGRAM_LOW,
    ReferenceResNet,
    reference_init_,
)

#: config.py: BatchSize, DataThreads, Optimizer (Adam, 1e-3), LatentDim; config.yml: MaxSamples
BATCH_SIZE = 32
WORKERS = 2
LEARNING_RATE = 1e-3
EMBED_DIM = 128
WINDOW_FRAMES = 128
PREFETCH_FACTOR = 2
#: data_loading.py's augmentation parameters (albumentations 1.x defaults where it sets none)
CENTER_CROP = 512
CROP_PX = 192
CROP_SCALE = (0.5, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
ROTATE_LIMIT = 180.0
GRID_STEPS = 5
GRID_LIMIT = 0.3
HUE_SHIFT = 20  # OpenCV hue units (0-179)
SAT_SHIFT = 30
VAL_SHIFT = 20
P_HALF = 0.5
# how far a rotated 192 px square's corners reach outside it
_ROTATE_PAD = math.ceil(CROP_PX * (math.sqrt(2.0) - 1.0) / 2.0) + 2
_MEAN = np.array(IMAGE_MEAN, dtype=np.float32)
_STD = np.array(IMAGE_STD, dtype=np.float32)


def train_keys(root: Path) -> list[int]:
    """Keys of the reference's training split (``key % 10`` not 2, 5 or 7) with both files."""
    with open(root / "metadata.csv", newline="", encoding="utf-8") as handle:
        keys = [int(row["key"]) for row in csv.DictReader(handle)]
    return [
        key
        for key in keys
        if key % 10 not in (2, 5, 7)
        and (root / "images" / f"{key}.jpg").is_file()
        and (root / "spectrograms" / f"{key}.jpg").is_file()
    ]


def _center_crop(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return image[top : top + side, left : left + side]


def _random_resized_crop(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    box = (0, 0, w, h)
    for _ in range(10):
        area = h * w * rng.uniform(*CROP_SCALE)
        ratio = math.exp(rng.uniform(math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1])))
        cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            box = (left, top, left + cw, top + ch)
            break
    resized = Image.fromarray(image).resize((CROP_PX, CROP_PX), Image.Resampling.BILINEAR, box=box)
    return np.asarray(resized)


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    pad = _ROTATE_PAD
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    rotated = np.asarray(Image.fromarray(padded).rotate(degrees, Image.Resampling.BILINEAR))
    return rotated[pad:-pad, pad:-pad]


def _linear_weights(coords: np.ndarray, size: int) -> np.ndarray:
    """``[len(coords), size]`` bilinear weights; positions outside mirror (reflect-101)."""
    period = 2 * (size - 1)
    low = np.floor(coords)
    frac = (coords - low).astype(np.float32)
    rows = np.arange(len(coords))
    weights = np.zeros((len(coords), size), dtype=np.float32)
    for offset, weight in ((0, 1.0 - frac), (1, frac)):
        index = np.mod(low.astype(np.int64) + offset, period)
        index = np.where(index >= size, period - index, index)
        part = np.zeros_like(weights)
        part[rows, index] = weight
        weights += part
    return weights


def _grid_axis(size: int, stretch: np.ndarray) -> np.ndarray:
    step = size // GRID_STEPS
    coords = np.zeros(size, dtype=np.float32)
    previous = 0.0
    for index, start in enumerate(range(0, size, step)):
        end = start + step
        if end > size:
            end, current = size, float(size)
        else:
            current = previous + step * float(stretch[index])
        coords[start:end] = np.linspace(previous, current, end - start)
        previous = current
    return coords


def _grid_distortion(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape[:2]
    x_stretch = 1.0 + rng.uniform(-GRID_LIMIT, GRID_LIMIT, GRID_STEPS + 1)
    y_stretch = 1.0 + rng.uniform(-GRID_LIMIT, GRID_LIMIT, GRID_STEPS + 1)
    along_x = _linear_weights(_grid_axis(w, x_stretch), w)
    along_y = _linear_weights(_grid_axis(h, y_stretch), h)
    pixels = image.astype(np.float32)
    rows = np.tensordot(along_y, pixels, axes=(1, 0))  # [h, w, c]
    out = np.tensordot(rows, along_x, axes=(1, 1))  # [h, c, w]
    return np.clip(np.rint(out.transpose(0, 2, 1)), 0, 255).astype(np.uint8)


def _hue_saturation_value(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hue = rng.uniform(-HUE_SHIFT, HUE_SHIFT) * 256.0 / 180.0  # OpenCV half degrees -> PIL
    sat = rng.uniform(-SAT_SHIFT, SAT_SHIFT)
    val = rng.uniform(-VAL_SHIFT, VAL_SHIFT)
    hsv = np.asarray(Image.fromarray(image).convert("HSV")).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + round(hue)) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] + round(sat), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + round(val), 0, 255)
    bands = Image.fromarray(hsv.astype(np.uint8)).split()
    return np.asarray(Image.merge("HSV", bands).convert("RGB"))


def augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The reference's training augmentation of one ``[H, W, 3]`` uint8 tile -> normalised float32."""
    x = _center_crop(image, CENTER_CROP)
    x = _random_resized_crop(x, rng)
    x = _rotate(x, rng.uniform(-ROTATE_LIMIT, ROTATE_LIMIT))
    if rng.random() < P_HALF:
        x = np.asarray(Image.fromarray(x).filter(ImageFilter.BoxBlur(1)))
    if rng.random() < P_HALF:
        x = _grid_distortion(x, rng)
    if rng.random() < P_HALF:
        x = _hue_saturation_value(x, rng)
    return (x.astype(np.float32) / 255.0 - _MEAN) / _STD


class RecipeDataset(torch.utils.data.Dataset):
    """``data_loading.py``'s dataset in training mode, on a SoundingEarth folder."""

    def __init__(self, root: Path, keys: list[int], seed: int = 0) -> None:
        """Read ``keys`` of ``root``; draws are seeded by ``seed``, the epoch and the sample."""
        self.root, self.keys, self.seed, self.epoch = Path(root), keys, seed, 0

    def __len__(self) -> int:
        """Number of training pairs."""
        return len(self.keys)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor, torch.Tensor]:
        """``(key, image [3, 192, 192], window [1, 128, 128])`` as the reference's loader yields."""
        key = self.keys[index]
        rng = np.random.default_rng([self.seed, self.epoch, key])
        image = np.array(Image.open(self.root / "images" / f"{key}.jpg").convert("RGB"))
        image = torch.from_numpy(augment(image, rng)).permute(2, 0, 1)
        spectrogram = np.array(Image.open(self.root / "spectrograms" / f"{key}.jpg"))
        audio = spectrogram.astype(np.float32) * ((SPECTROGRAM_HIGH - SPECTROGRAM_LOW) / 255)
        audio += SPECTROGRAM_LOW
        if audio.shape[1] > WINDOW_FRAMES:
            start = int(rng.integers(0, audio.shape[1] - WINDOW_FRAMES))
            audio = audio[:, start : start + WINDOW_FRAMES]
        audio = audio.reshape(128, -1, WINDOW_FRAMES).transpose(1, 0, 2)
        return key, image, torch.from_numpy(np.ascontiguousarray(audio))


def collate(batch: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keys, images ``[B, 3, 192, 192]`` and windows ``[B, 1, 128, 128]``."""
    keys, images, audio = zip(*batch, strict=True)
    return torch.tensor(keys), torch.stack(images), torch.cat(audio).unsqueeze(1)


def loader(dataset: RecipeDataset, seed: int = 0) -> torch.utils.data.DataLoader:
    """``get_loader(mode='train')``: shuffled, two workers, prefetch 2, last batch dropped."""
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=BATCH_SIZE,
        shuffle=True,
        num_workers=WORKERS,
        collate_fn=collate,
        drop_last=True,
        prefetch_factor=PREFETCH_FACTOR,
        pin_memory=False,
        generator=torch.Generator().manual_seed(seed),
    )


class RecipeModel(torch.nn.Module):
    """``FullModelWrapper``: two reference ResNet-18s (final layout), image and sound."""

    def __init__(self, image_arch: str = "resnet18", audio_arch: str = "resnet18") -> None:
        """Both encoders, initialised as the reference initialises them."""
        super().__init__()
        self.image = ReferenceResNet(image_arch, 3, EMBED_DIM, FINAL_WIDTHS)
        self.sound = ReferenceResNet(audio_arch, 1, EMBED_DIM, FINAL_WIDTHS)
        reference_init_(self)

    def forward(
        self, images: torch.Tensor, audio: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """ImageMeanPool after the output layer; one window per recording (RandomAudioSample)."""
        return self.image.project_then_pool(images), self.sound.pool_then_project(audio)


def triplet_loss(z_img: torch.Tensor, z_snd: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """``TripletLoss``: hinge over all (image, sound) pairs in both directions, averaged."""
    distance = torch.linalg.norm(z_img[:, None] - z_snd[None], dim=2)
    positive = distance.diagonal()
    d1 = torch.relu(positive[None, :] - distance + margin).mean()
    d2 = torch.relu(positive[:, None] - distance + margin).mean()
    return 0.5 * (d1 + d2)


@torch.no_grad()
def batch_metrics(z_img: torch.Tensor, z_snd: torch.Tensor) -> dict[str, float]:
    """The per-batch ranks ``train.py`` computes for its logs (part of its step's work)."""
    distance = torch.linalg.norm(z_img[:, None] - z_snd[None], dim=2)
    i2s = 1.0 + distance.argsort(dim=0).argsort(dim=0).diag().float()
    s2i = 1.0 + distance.argsort(dim=1).argsort(dim=1).diag().float()
    return {"i2s_R@1": float((i2s < 1.5).float().mean()), "s2i_median": float(s2i.median())}
