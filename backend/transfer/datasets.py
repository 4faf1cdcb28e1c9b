"""Scene datasets for transfer learning: settings, the train/test split, normalisation, loaders."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from backend.data.scenes import (
    SceneDataset,
    SceneSet,
    load_scene,
    read_split_file,
    reference_split,
    scan_scenes,
)
from backend.models.classifier import default_statistics
from backend.progress import Progress

log = logging.getLogger(__name__)

NORMALIZATIONS: tuple[str, ...] = ("auto", "imagenet", "dataset")
# images used to estimate per-band statistics for "dataset" normalisation
_STATISTICS_IMAGES = 256


@dataclass
class TransferConfig:
    """Settings shared by the transfer commands."""

    scenes: str
    #: 1-based bands (``None``: RGB)
    bands: list[int] | None = None
    #: a split file (``None``: the reference's alternating 50/50 split)
    split_file: str | None = None
    #: side in pixels every image is resized to
    image_size: int = 256
    #: trunk architecture for random and ImageNet initialisations
    arch: str = "resnet18"
    seeds: int = 3
    first_seed: int = 0
    #: few-shot: labelled images per class
    shots: int = 5
    #: fine-tuning
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    #: trunk learning rate = lr x this (``None``: 0.1 for pretrained trunks, 1 for random)
    trunk_lr_factor: float | None = None
    weight_decay: float = 1e-4
    #: linear probe L2 strength (``None``: chosen on a held-out part of the training split)
    l2: float | None = None
    #: ``imagenet`` statistics, ``dataset`` statistics, or ``auto`` (ImageNet's for 8-bit RGB)
    normalization: str = "auto"
    #: pixel divisor (``None``: from the bit depth, 255 for 8-bit)
    scale: float | None = None
    device: str = "auto"
    workers: int = 0
    precision: str = "auto"

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"--normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"got {self.normalization!r}"
            )
        for name in ("seeds", "shots", "epochs", "batch_size", "image_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.image_size < 16:
            raise ValueError("--image-size must be at least 16")
        if self.lr <= 0:
            raise ValueError("--lr must be positive")
        if self.scale is not None and self.scale <= 0:
            raise ValueError("--scale must be positive")
        if self.l2 is not None and self.l2 < 0:
            raise ValueError("--l2 must not be negative")

    @property
    def seed_list(self) -> list[int]:
        """The seeds of the repeated runs."""
        return list(range(self.first_seed, self.first_seed + self.seeds))


@dataclass
class PreparedScenes:
    """A scanned scene dataset with its split and input normalisation."""

    scenes: SceneSet
    train: list[int]
    test: list[int]
    #: pixel divisor
    scale: float
    mean: list[float]
    std: list[float]
    #: ``"reference"`` or the split file
    split: str
    #: ``"imagenet"`` or ``"dataset"``
    normalization: str

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.scenes.class_names)

    @property
    def in_channels(self) -> int:
        """Number of input bands."""
        return len(self.scenes.bands)

    def dataset(self, indices: Sequence[int], size: int) -> SceneDataset:
        """The images at ``indices``, loaded at ``size`` px."""
        return SceneDataset(self.scenes, indices, size, self.scale)


def dataset_statistics(
    scenes: SceneSet, indices: Sequence[int], size: int, scale: float
) -> tuple[list[float], list[float]]:
    """Per-band mean and standard deviation of (up to 256 evenly spaced) scaled images."""
    chosen = [
        indices[int(i)]
        for i in np.linspace(0, len(indices) - 1, min(len(indices), _STATISTICS_IMAGES))
    ]
    bands = None if scenes.bands == [1, 2, 3] else scenes.bands
    total = total_sq = None
    count = 0
    for index in chosen:
        x = load_scene(scenes.images[index].path, size, bands, scale).double()
        flat = x.flatten(1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        total_sq = (flat**2).sum(1) if total_sq is None else total_sq + (flat**2).sum(1)
        count += flat.shape[1]
    mean = total / count
    std = (total_sq / count - mean**2).clamp_min(0).sqrt().clamp_min(1e-6)
    return mean.tolist(), std.tolist()


def prepare_scenes(config: TransferConfig, progress: Progress | None = None) -> PreparedScenes:
    """Scan the dataset, split it and settle the input normalisation.

    Raises:
        FileNotFoundError: The dataset or split file does not exist.
        ValueError: Bad settings, or the dataset has too few usable images.
    """
    config.validate()
    scenes = scan_scenes(config.scenes, config.bands, progress=progress)
    log.info("%s: %s", config.scenes, scenes.summary())
    if len(scenes.class_names) < 2:
        raise ValueError(f"{config.scenes}: at least two class folders are needed")
    if config.split_file:
        train, test = read_split_file(scenes, config.split_file)
        split = str(config.split_file)
    else:
        train, test = reference_split(scenes)
        split = "reference"
    if not train or not test:
        raise ValueError(
            f"{config.scenes}: {len(train)} training and {len(test)} test images; need both"
        )
    scale = float(config.scale) if config.scale else scenes.scale
    normalization = config.normalization
    if normalization == "auto":
        rgb8 = len(scenes.bands) == 3 and scenes.dtype == "uint8" and scale == 255.0
        normalization = "imagenet" if rgb8 else "dataset"
    if normalization == "imagenet":
        mean, std = default_statistics(len(scenes.bands))
    else:
        mean, std = dataset_statistics(scenes, train, config.image_size, scale)
    return PreparedScenes(scenes, train, test, scale, mean, std, split, normalization)


def make_loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    workers: int,
    device: torch.device,
    shuffle_seed: int | None = None,
    drop_last: bool = False,
) -> torch.utils.data.DataLoader:
    """A loader over ``dataset`` (shuffled by a seeded generator when ``shuffle_seed`` is given)."""
    generator = None
    if shuffle_seed is not None:
        generator = torch.Generator().manual_seed(shuffle_seed)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle_seed is not None,
        generator=generator,
        num_workers=workers,
        drop_last=drop_last,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )
