"""Scene datasets for transfer learning: settings, the train/test split, normalisation, loaders."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Sequence
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
from backend.progress import NullProgress, Progress, check_cancelled

log = logging.getLogger(__name__)

NORMALIZATIONS: tuple[str, ...] = ("auto", "imagenet", "dataset")
#: transfer protocols: this project's own, or the paper's downstream code's (docs/transfer.md table)
PROTOCOLS: tuple[str, ...] = ("product", "paper")
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
    #: side in pixels every image is resized to (``None``: the images' own, see
    #: :func:`native_side`)
    image_size: int | None = 256
    #: trunk architecture for random and ImageNet initialisations
    arch: str = "resnet18"
    seeds: int = 3
    first_seed: int = 0
    #: few-shot: labelled images per class
    shots: int = 5
    #: ``product`` (this project's) or ``paper`` (the reference's downstream code; see
    #: :mod:`backend.transfer.protocols`)
    protocol: str = "product"
    #: fine-tuning
    epochs: int = 10
    #: images per step (``None``: the protocol's rule, see ``protocols.settle``)
    batch_size: int | None = 32
    lr: float = 1e-3
    #: trunk learning rate = lr x this, the same for every initialisation
    trunk_lr_factor: float | None = 1.0
    #: several factors: each initialisation's is chosen on a validation part of the
    #: training split (the same candidates for all); overrides ``trunk_lr_factor``
    trunk_lr_sweep: tuple[float, ...] = ()
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
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}"
            )
        for name in ("seeds", "shots", "epochs", "batch_size", "image_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.image_size is not None and self.image_size < 16:
            raise ValueError("--image-size must be at least 16")
        if self.lr <= 0:
            raise ValueError("--lr must be positive")
        if self.trunk_lr_factor is None or not self.trunk_lr_factor > 0:
            raise ValueError(
                "--trunk-lr-factor must be a positive number: one rule for every "
                f"initialisation, got {self.trunk_lr_factor!r}"
            )
        if any(not f > 0 for f in self.trunk_lr_sweep):
            raise ValueError(f"--trunk-lr-factor values must be positive: {self.trunk_lr_sweep}")
        if self.protocol == "paper" and len(self.trunk_lr_sweep) > 1:
            raise ValueError(
                "--protocol paper fine-tunes every initialisation at one learning rate "
                "(Adam 1e-3); give --trunk-lr-factor one value or leave it out"
            )
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
    #: side in pixels images are loaded at (the setting, or the images' own)
    image_size: int = 256

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


def native_side(scenes: SceneSet) -> int:
    """The images' own side: the most common shorter side (the smallest of the most common).

    UC Merced (256 px, a few a little smaller), AID (600) and NWPU-RESISC45 (256) each
    give their release size; images of another size are resized to it.
    """
    counts = collections.Counter(image.side for image in scenes.images)
    most = max(counts.values())
    return min(side for side, count in counts.items() if count == most)


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
    image_size = config.image_size or native_side(scenes)
    if image_size < 16:
        raise ValueError(f"{config.scenes}: the images are {image_size} px; at least 16 are needed")
    scale = float(config.scale) if config.scale else scenes.scale
    normalization = config.normalization
    if normalization == "auto":
        rgb8 = len(scenes.bands) == 3 and scenes.dtype == "uint8" and scale == 255.0
        normalization = "imagenet" if rgb8 else "dataset"
    if normalization == "imagenet":
        mean, std = default_statistics(len(scenes.bands))
    else:
        mean, std = dataset_statistics(scenes, train, image_size, scale)
    return PreparedScenes(scenes, train, test, scale, mean, std, split, normalization, image_size)


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


def map_images(
    fn: Callable[[torch.Tensor], torch.Tensor],
    dataset: torch.utils.data.Dataset,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    progress: Progress | None = None,
    what: str = "images",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``fn`` of every image of ``dataset`` (batches on ``device``), and their labels.

    Returns:
        ``(fn's outputs concatenated, labels [N])``, in the dataset's order; the
        progress reads ``"<what> done/N"``.
    """
    progress = progress or NullProgress()
    outputs, labels = [], []
    done = 0
    for images, targets in make_loader(dataset, batch_size, workers, device):
        check_cancelled(progress)
        outputs.append(fn(images.to(device, non_blocking=True)))
        labels.append(targets)
        done += len(targets)
        progress.progress(done / max(1, len(dataset)), f"{what} {done}/{len(dataset)}")
    return torch.cat(outputs), torch.cat(labels)
