"""Transfer learning on scene classification: linear probe, fine-tuning and few-shot, over seeds.

An initialisation (random, ImageNet weights from a local file, or a pretrained
model file) is judged by how well its image trunk classifies a scene dataset:
``linear`` trains a logistic-regression head on frozen features, ``finetune``
trains the whole network, ``fewshot`` assigns each test image to the nearest
class centroid of k labelled examples per class. :func:`train_classifier` makes
a classifier model file for the raster engine and the plugin.
"""

from __future__ import annotations

import colorsys
import contextlib
import datetime as dt
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backend.atomic import atomic_path, atomic_write_text
from backend.augment import crop_rotate_resize, gaussian_blur, train_augment
from backend.data.scenes import (
    SceneDataset,
    SceneSet,
    load_scene,
    read_split_file,
    reference_split,
    scan_scenes,
)
from backend.models.classifier import (
    SceneClassifier,
    classifier_from_model_file,
    classifier_metadata,
    default_statistics,
    save_classifier,
)
from backend.models.modelfile import ModelMetadata, load_model_metadata
from backend.progress import NullProgress, Progress, SubProgress, check_cancelled

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("linear", "finetune", "fewshot")
#: column titles of the transfer table
MODE_TITLES: dict[str, str] = {
    "linear": "Linear probe",
    "finetune": "Fine-tuning",
    "fewshot": "Few-shot",
}
NORMALIZATIONS: tuple[str, ...] = ("auto", "imagenet", "dataset")
#: L2 strengths tried for the linear probe (chosen on a held-out part of the training split)
L2_GRID: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: qualitative palette (matplotlib's tab10, then tab20's light shades)
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)
# below this many multiply-adds per evaluation the linear probe runs on one CPU thread
_PARALLEL_WORK = 1 << 24
# images used to estimate per-band statistics for "dataset" normalisation
_STATISTICS_IMAGES = 256


# ---------------------------------------------------------------------------
# initialisations


@dataclass(frozen=True)
class InitSpec:
    """Where the image trunk's starting weights come from."""

    #: ``"random"``, ``"imagenet"`` or ``"model"`` (a Sounding Earth model file)
    kind: str
    #: the weights file (``None`` for random)
    path: Path | None
    #: row title in tables
    label: str
    #: the text it was parsed from
    text: str

    @property
    def seed_dependent(self) -> bool:
        """Whether the trunk's weights change with the seed (only random ones do)."""
        return self.kind == "random"


def parse_init(text: str) -> InitSpec:
    """Parse ``random``, ``imagenet:PATH`` or a model file path, optionally ``LABEL=...``.

    Raises:
        ValueError: ``imagenet`` without a path, or an empty value.
    """
    raw = text.strip()
    label = ""
    if "=" in raw and not Path(raw).expanduser().exists():
        label, _, raw = (part.strip() for part in raw.partition("="))
    if not raw:
        raise ValueError(f"--init {text!r}: empty initialisation")
    if raw.lower() == "random":
        return InitSpec("random", None, label or "random", text)
    if raw.lower() == "imagenet":
        raise ValueError(
            "--init imagenet needs a local weights file: imagenet:PATH, a torchvision ResNet "
            "state dict saved beforehand (nothing is ever downloaded; see docs/transfer.md)"
        )
    if raw.lower().startswith("imagenet:"):
        path = Path(raw[len("imagenet:") :]).expanduser()
        if not str(path):
            raise ValueError(f"--init {text!r}: imagenet: needs a file path")
        return InitSpec("imagenet", path, label or "ImageNet", text)
    path = Path(raw).expanduser()
    default_label = path.parent.name if path.stem == "model" and path.parent.name else path.stem
    return InitSpec("model", path, label or default_label, text)


def check_init(spec: InitSpec) -> ModelMetadata | None:
    """Fail early and clearly if the initialisation's file is missing or not usable.

    Returns:
        The model file's metadata for ``model`` initialisations, else ``None``.

    Raises:
        FileNotFoundError: The weights file does not exist.
        ModelFileError: A model file that is not a Sounding Earth model file.
    """
    if spec.kind == "random":
        return None
    assert spec.path is not None
    if not spec.path.is_file():
        if spec.kind == "imagenet":
            raise FileNotFoundError(
                f"imagenet:{spec.path}: weights file not found. This program never downloads "
                "weights: save torchvision's ImageNet ResNet state dict to that file first "
                "(see docs/transfer.md)"
            )
        raise FileNotFoundError(
            f"--init {spec.path}: file not found (expected random, imagenet:PATH or a "
            "Sounding Earth model file)"
        )
    if spec.kind == "model":
        return load_model_metadata(spec.path)
    return None


def build_classifier(
    spec: InitSpec,
    num_classes: int,
    in_channels: int,
    mean: Sequence[float],
    std: Sequence[float],
    arch: str = "resnet18",
    seed: int = 0,
) -> SceneClassifier:
    """A classifier whose trunk starts from ``spec`` and whose head is new (seeded).

    For model files the architecture is the file's and ``arch`` is ignored.
    """
    torch.manual_seed(seed)
    if spec.kind == "random":
        return SceneClassifier(arch, num_classes, in_channels, mean, std)
    check_init(spec)
    if spec.kind == "imagenet":
        return SceneClassifier(arch, num_classes, in_channels, mean, std, weights_path=spec.path)
    return classifier_from_model_file(spec.path, num_classes, in_channels, mean, std)


# ---------------------------------------------------------------------------
# configuration and data


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


def _loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    workers: int,
    device: torch.device,
    shuffle_seed: int | None = None,
    drop_last: bool = False,
) -> torch.utils.data.DataLoader:
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


# ---------------------------------------------------------------------------
# features, heads and metrics


@torch.no_grad()
def extract_features(
    model: SceneClassifier,
    dataset: SceneDataset,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled trunk features of every image (frozen trunk, eval mode, float32).

    Returns:
        ``(features [N, F] float32 on the CPU, labels [N] int64)``.
    """
    progress = progress or NullProgress()
    model.eval().to(device)
    features, labels = [], []
    done = 0
    for images, targets in _loader(dataset, batch_size, workers, device):
        check_cancelled(progress)
        features.append(model.features(images.to(device, non_blocking=True)).float().cpu())
        labels.append(targets)
        done += len(targets)
        progress.progress(done / max(1, len(dataset)), f"features {done}/{len(dataset)}")
    return torch.cat(features), torch.cat(labels).long()


def _fit_logistic(z: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float) -> tuple:
    weight = torch.zeros(
        num_classes, z.shape[1], dtype=z.dtype, device=z.device, requires_grad=True
    )
    bias = torch.zeros(num_classes, dtype=z.dtype, device=z.device, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=500,
        history_size=20,
        tolerance_grad=1e-6,
        tolerance_change=1e-9,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(z @ weight.T + bias, y) + l2 * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


def _holdout(labels: torch.Tensor, every: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``every``-th image of each class held out (deterministic)."""
    position = torch.zeros_like(labels)
    seen: dict[int, int] = {}
    for i, label in enumerate(labels.tolist()):
        position[i] = seen.get(label, 0)
        seen[label] = seen.get(label, 0) + 1
    held = position % every == every - 1
    return (~held).nonzero().flatten(), held.nonzero().flatten()


@contextlib.contextmanager
def _threads_for(work: int, device: torch.device) -> Iterator[None]:
    """One CPU thread for small problems, where thread synchronisation costs more than it saves."""
    if device.type != "cpu" or work >= _PARALLEL_WORK:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit_linear_probe(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    l2: float | None = None,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Multinomial logistic regression on standardised features (full-batch L-BFGS).

    Args:
        features: ``[N, F]`` training features.
        labels: ``[N]`` class indices.
        num_classes: Number of classes.
        l2: L2 penalty on the weights; ``None`` chooses it from :data:`L2_GRID` by
            accuracy (then cross-entropy) on every 4th training image of each class,
            then refits on all.
        device: Where to fit.

    Returns:
        ``(weight [K, F], bias [K], l2)`` on the CPU, acting on raw (unstandardised)
        features, so they can be the classifier's ``head``.
    """
    device = torch.device(device)
    x = features.to(device, torch.float64)
    y = labels.to(device).long()
    mean = x.mean(0)
    std = x.std(0, unbiased=False).clamp_min(1e-8)
    z = (x - mean) / std
    with _threads_for(z.numel() * num_classes, device):
        if l2 is None:
            fit_idx, val_idx = _holdout(y.cpu())
            fit_idx, val_idx = fit_idx.to(device), val_idx.to(device)
            best: tuple[float, float, float] | None = None
            if len(val_idx) and len(fit_idx):
                for candidate in L2_GRID:
                    w, b = _fit_logistic(z[fit_idx], y[fit_idx], num_classes, candidate)
                    logits = z[val_idx] @ w.T + b
                    accuracy = float((logits.argmax(1) == y[val_idx]).double().mean())
                    loss = float(F.cross_entropy(logits, y[val_idx]))
                    if best is None or (accuracy, -loss) > (best[0], -best[1]):
                        best = (accuracy, loss, candidate)
            l2 = best[2] if best is not None else 1e-3
        weight, bias = _fit_logistic(z, y, num_classes, l2)
    raw_weight = weight / std
    raw_bias = bias - raw_weight @ mean
    return raw_weight.float().cpu(), raw_bias.float().cpu(), float(l2)


def fewshot_predict(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    num_classes: int,
    shots: int,
    seed: int,
) -> tuple[torch.Tensor, list[int]]:
    """Nearest class centroid on L2-normalised features, from ``shots`` images per class.

    The shots are drawn from the training images with a generator seeded by ``seed``.
    A class with fewer training images uses all it has; one with none is never predicted.

    Returns:
        ``(predicted class [M], shots used per class)``.
    """
    generator = np.random.default_rng(seed)
    train = F.normalize(train_features.float(), dim=1)
    test = F.normalize(test_features.float(), dim=1)
    centroids = torch.zeros(num_classes, train.shape[1])
    used: list[int] = []
    available = torch.zeros(num_classes, dtype=torch.bool)
    for c in range(num_classes):
        members = (train_labels == c).nonzero().flatten().numpy()
        chosen = generator.choice(members, size=min(shots, len(members)), replace=False)
        used.append(len(chosen))
        if len(chosen):
            centroids[c] = train[torch.as_tensor(chosen)].mean(0)
            available[c] = True
    similarity = test @ F.normalize(centroids, dim=1).T
    similarity[:, ~available] = -math.inf
    return similarity.argmax(1), used


def classification_metrics(
    y_true: Sequence[int] | torch.Tensor | np.ndarray,
    y_pred: Sequence[int] | torch.Tensor | np.ndarray,
    num_classes: int,
) -> dict[str, Any]:
    """Overall accuracy, macro F1 and the confusion matrix.

    Macro F1 averages the per-class F1 over the classes that occur among the true
    or the predicted labels (as scikit-learn does by default).

    Returns:
        ``{"accuracy", "macro_f1", "per_class_f1", "confusion"}``; ``confusion[i][j]``
        counts images of class ``i`` predicted as ``j``.
    """
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true labels but {p.size} predictions")
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (t, p), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(1)
    predicted = confusion.sum(0)
    denominator = support + predicted
    f1 = np.divide(2 * tp, denominator, out=np.zeros(num_classes), where=denominator > 0)
    present = denominator > 0
    return {
        "accuracy": float(tp.sum() / max(1, t.size)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_f1": [float(v) for v in f1],
        "confusion": confusion.tolist(),
    }


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    # sample standard deviation over seeds (0 for a single run)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}


# ---------------------------------------------------------------------------
# fine-tuning


def scene_augment(
    images: torch.Tensor, out_px: int, generator: torch.Generator | None, color: bool
) -> torch.Tensor:
    """Training augmentation of scene images (any band count) in their scaled units.

    RGB in [0, 1] (``color=True``) gets the pretraining augmentation (crop, rotation,
    mirror, blur, colour jitter); other inputs get the same geometry and blur without
    colour jitter and without clamping.
    """
    if color and images.shape[1] == 3:
        return train_augment(images, out_px, generator)
    b, device = images.shape[0], images.device

    def uniform(low: float, high: float, n: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, device=device, generator=generator)

    side = uniform(0.5, 1.0, b).sqrt()
    center = (1.0 - side)[:, None] * uniform(-1.0, 1.0, 2 * b).view(b, 2)
    angle = uniform(0.0, 2.0 * math.pi, b)
    flip = torch.rand(b, device=device, generator=generator) < 0.5
    x = crop_rotate_resize(images.float(), out_px, side, angle, center, flip)
    blur = torch.rand(b, device=device, generator=generator) < 0.5
    sigma = uniform(0.1, 2.0, b) * blur
    if blur.any():
        x = gaussian_blur(x, sigma)
    return x


def _mix_seed(*values: int) -> int:
    state = np.random.SeedSequence([v % 2**64 for v in values]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def finetune_model(
    model: SceneClassifier,
    dataset: SceneDataset,
    config: TransferConfig,
    seed: int,
    device: torch.device,
    pretrained: bool,
    color_augment: bool,
    progress: Progress | None = None,
) -> SceneClassifier:
    """Train the whole network with AdamW (cosine schedule) and augmentation.

    The trunk's learning rate is ``lr x trunk_lr_factor`` (default 0.1 for a
    pretrained trunk, 1 for a random one); the head's is ``lr``.
    """
    from backend.device import use_bf16
    from backend.train import cosine_schedule

    progress = progress or NullProgress()
    model.to(device).train()
    factor = config.trunk_lr_factor
    if factor is None:
        factor = 0.1 if pretrained else 1.0
    optimizer = torch.optim.AdamW(
        [
            {"params": model.trunk.parameters(), "lr": config.lr * factor},
            {"params": model.head.parameters(), "lr": config.lr},
        ],
        weight_decay=config.weight_decay,
    )
    batch_size = min(config.batch_size, len(dataset))
    # a last batch of one image breaks batch normalisation
    drop_last = len(dataset) % batch_size == 1
    steps_per_epoch = len(dataset) // batch_size + (
        0 if drop_last or len(dataset) % batch_size == 0 else 1
    )
    total = max(1, steps_per_epoch * config.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine_schedule(total, 0.05))
    bf16 = use_bf16(config.precision, device)
    step = 0
    for epoch in range(config.epochs):
        loader = _loader(
            dataset,
            batch_size,
            config.workers,
            device,
            shuffle_seed=_mix_seed(seed, epoch, 0xF1),
            drop_last=drop_last,
        )
        for images, labels in loader:
            check_cancelled(progress)
            generator = torch.Generator(device=device).manual_seed(_mix_seed(seed, epoch, step))
            x = scene_augment(
                images.to(device, non_blocking=True), config.image_size, generator, color_augment
            )
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), labels.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"fine-tuning epoch {epoch + 1}: the loss is {value}; lower --lr"
                )
            progress.progress(step / total, f"epoch {epoch + 1}/{config.epochs} loss {value:.3f}")
    return model.eval()


@torch.no_grad()
def predict(
    model: SceneClassifier,
    dataset: SceneDataset,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true classes of every image (eval mode).

    Returns:
        ``(predicted [N], true [N])``.
    """
    progress = progress or NullProgress()
    model.eval().to(device)
    predicted, truth = [], []
    done = 0
    for images, labels in _loader(dataset, batch_size, workers, device):
        check_cancelled(progress)
        predicted.append(model(images.to(device, non_blocking=True)).argmax(1).cpu())
        truth.append(labels)
        done += len(labels)
        progress.progress(done / max(1, len(dataset)), f"testing {done}/{len(dataset)}")
    return torch.cat(predicted), torch.cat(truth)


# ---------------------------------------------------------------------------
# one transfer experiment


FeatureCache = dict[
    tuple[str, int | None], tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
]


def _features_for(
    spec: InitSpec,
    seed: int,
    data: PreparedScenes,
    config: TransferConfig,
    device: torch.device,
    cache: FeatureCache,
    progress: Progress,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    key = (spec.text, seed if spec.seed_dependent else None)
    if key not in cache:
        model = build_classifier(
            spec, data.num_classes, data.in_channels, data.mean, data.std, config.arch, seed
        )
        train_f, train_y = extract_features(
            model,
            data.dataset(data.train, config.image_size),
            device,
            config.batch_size,
            config.workers,
            SubProgress(progress, 0.0, len(data.train) / (len(data.train) + len(data.test))),
        )
        test_f, test_y = extract_features(
            model,
            data.dataset(data.test, config.image_size),
            device,
            config.batch_size,
            config.workers,
            SubProgress(progress, len(data.train) / (len(data.train) + len(data.test)), 1.0),
        )
        cache[key] = (train_f, train_y, test_f, test_y)
    return cache[key]


def run_transfer(
    config: TransferConfig,
    init: str,
    mode: str,
    data: PreparedScenes | None = None,
    cache: FeatureCache | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate one initialisation with one transfer mode over ``config.seeds`` seeds.

    Args:
        config: Dataset and training settings.
        init: ``random``, ``imagenet:PATH`` or a model file (optionally ``LABEL=...``).
        mode: ``linear``, ``finetune`` or ``fewshot``.
        data: The prepared dataset (scanned here when ``None``).
        cache: Frozen features shared between runs (linear and few-shot).
        progress: Receives progress and is asked about cancellation.

    Returns:
        A JSON-ready report: settings, per-seed accuracy / macro F1 / confusion
        matrix, their mean and standard deviation, and the summed confusion matrix.
    """
    if mode not in MODES:
        raise ValueError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    progress = progress or NullProgress()
    spec = parse_init(init)
    init_metadata = check_init(spec)
    from backend.device import resolve_device

    device = resolve_device(config.device)
    if data is None:
        data = prepare_scenes(config, SubProgress(progress, 0.0, 0.05))
        progress = SubProgress(progress, 0.05, 1.0)
    cache = {} if cache is None else cache
    seeds = config.seed_list
    runs: list[dict[str, Any]] = []
    probes: dict[int, tuple[torch.Tensor, torch.Tensor, float]] = {}
    for number, seed in enumerate(seeds):
        part = SubProgress(progress, number / len(seeds), (number + 1) / len(seeds))
        extra: dict[str, Any] = {}
        if mode in ("linear", "fewshot"):
            train_f, train_y, test_f, test_y = _features_for(
                spec, seed, data, config, device, cache, SubProgress(part, 0.0, 0.9)
            )
            if mode == "linear":
                key = id(train_f)  # seed-independent features give the same probe
                if key not in probes:
                    probes[key] = fit_linear_probe(
                        train_f, train_y, data.num_classes, config.l2, device
                    )
                weight, bias, l2 = probes[key]
                predicted = (test_f @ weight.T + bias).argmax(1)
                extra["l2"] = l2
            else:
                predicted, used = fewshot_predict(
                    train_f, train_y, test_f, data.num_classes, config.shots, seed
                )
                extra["shots_used"] = used
            truth = test_y
        else:
            model = build_classifier(
                spec, data.num_classes, data.in_channels, data.mean, data.std, config.arch, seed
            )
            finetune_model(
                model,
                data.dataset(data.train, config.image_size),
                config,
                seed,
                device,
                pretrained=spec.kind != "random",
                color_augment=data.normalization == "imagenet",
                progress=SubProgress(part, 0.0, 0.9),
            )
            predicted, truth = predict(
                model,
                data.dataset(data.test, config.image_size),
                device,
                config.batch_size,
                config.workers,
                SubProgress(part, 0.9, 1.0),
            )
        metrics = classification_metrics(truth, predicted, data.num_classes)
        runs.append({"seed": seed, **metrics, **extra})
        part.progress(1.0, f"{spec.label} {mode} seed {seed}: OA {metrics['accuracy']:.3f}")
    confusion = np.sum([np.asarray(r["confusion"]) for r in runs], axis=0)
    arch = init_metadata.image_arch if init_metadata is not None else config.arch
    return {
        "scenes": str(config.scenes),
        "init": spec.text,
        "init_label": spec.label,
        "init_kind": spec.kind,
        "mode": mode,
        "arch": arch,
        "class_names": list(data.scenes.class_names),
        "bands": list(data.scenes.bands),
        "image_size": config.image_size,
        "split": data.split,
        "n_train": len(data.train),
        "n_test": len(data.test),
        "normalization": {
            "kind": data.normalization,
            "mean": data.mean,
            "std": data.std,
            "scale": data.scale,
        },
        "skipped": data.scenes.summary(),
        "settings": _settings(config, mode),
        "seeds": seeds,
        "runs": runs,
        "accuracy": _mean_std([r["accuracy"] for r in runs]),
        "macro_f1": _mean_std([r["macro_f1"] for r in runs]),
        "confusion": confusion.tolist(),
    }


def _settings(config: TransferConfig, mode: str) -> dict[str, Any]:
    keys = {
        "linear": ("l2",),
        "fewshot": ("shots",),
        "finetune": ("epochs", "batch_size", "lr", "trunk_lr_factor", "weight_decay", "precision"),
    }[mode]
    return {key: getattr(config, key) for key in keys}


def format_result(result: dict[str, Any]) -> str:
    """A few lines summarising :func:`run_transfer`'s report."""
    acc, f1 = result["accuracy"], result["macro_f1"]
    n = len(result["runs"])
    return (
        f"{result['init_label']} / {result['mode']} on {result['scenes']} "
        f"({result['n_train']} train, {result['n_test']} test images, {n} seed{'s' * (n != 1)}):\n"
        f"  overall accuracy {100 * acc['mean']:.2f} ± {100 * acc['std']:.2f} %\n"
        f"  macro F1         {100 * f1['mean']:.2f} ± {100 * f1['std']:.2f} %"
    )


def plot_confusion(
    path: str | os.PathLike,
    confusion: Sequence[Sequence[int]],
    class_names: Sequence[str],
    title: str,
) -> None:
    """Write a row-normalised confusion-matrix PNG (counts written in the cells), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion, dtype=np.float64)
    rows = matrix.sum(1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    n = len(class_names)
    side = min(20.0, max(4.0, 0.45 * n + 2.5))
    figure, axes = plt.subplots(figsize=(side, side))
    image = axes.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(n), labels=list(class_names), rotation=90)
    axes.set_yticks(range(n), labels=list(class_names))
    axes.set(xlabel="predicted class", ylabel="true class", title=title)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    axes.text(
                        j,
                        i,
                        str(int(matrix[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if normalised[i, j] > 0.5 else "black",
                    )
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)


def write_result(result: dict[str, Any], json_path: str | os.PathLike) -> Path:
    """Write the report as JSON and its confusion matrix as ``<stem>.png`` beside it.

    Returns:
        The PNG's path.
    """
    json_path = Path(json_path)
    atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")
    png = json_path.with_suffix(".png")
    n = len(result["runs"])
    plot_confusion(
        png,
        result["confusion"],
        result["class_names"],
        f"{result['init_label']} / {result['mode']}: OA {100 * result['accuracy']['mean']:.1f} % "
        f"(sum over {n} seed{'s' * (n != 1)})",
    )
    return png


# ---------------------------------------------------------------------------
# the table: every initialisation x mode


def _file_label(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return keep.strip("._") or "run"


def format_table(results: Sequence[dict[str, Any]], modes: Sequence[str], shots: int) -> str:
    """The transfer table as Markdown: rows initialisations, columns modes, OA mean ± std."""
    titles = {**MODE_TITLES, "fewshot": f"Few-shot ({shots} per class)"}
    labels: list[str] = []
    for result in results:
        if result["init_label"] not in labels:
            labels.append(result["init_label"])
    cell = {(r["init_label"], r["mode"]): r for r in results}
    lines = [
        "| Initialisation | " + " | ".join(titles[m] for m in modes) + " |",
        "|---|" + "---:|" * len(modes),
    ]
    for label in labels:
        values = []
        for mode in modes:
            r = cell.get((label, mode))
            values.append(
                f"{100 * r['accuracy']['mean']:.1f} ± {100 * r['accuracy']['std']:.1f}"
                if r
                else "–"
            )
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    if results:
        first = results[0]
        n = len(first["runs"])
        lines += [
            "",
            f"Overall accuracy (%) on {Path(first['scenes']).name} "
            f"({len(first['class_names'])} classes, {first['n_train']} training / "
            f"{first['n_test']} test images, {first['split']} split, {first['image_size']} px), "
            f"mean ± standard deviation over {n} seed{'s' * (n != 1)}.",
        ]
    return "\n".join(lines) + "\n"


def transfer_table(
    config: TransferConfig,
    inits: Sequence[str],
    out: str | os.PathLike,
    modes: Sequence[str] = MODES,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every initialisation x mode; write the Markdown table, JSON and per-run reports.

    Writes ``out/table.md``, ``out/table.json`` and ``out/runs/<init>-<mode>.json``
    (+ ``.png`` confusion matrices). The dataset is scanned once and frozen
    features are shared between the linear and few-shot runs.

    Returns:
        ``{"table": markdown, "results": [reports]}``.
    """
    progress = progress or NullProgress()
    specs = [parse_init(text) for text in inits]
    if not specs:
        raise ValueError("--inits: name at least one initialisation")
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"--inits: row labels must differ, got {labels}; use LABEL=INIT")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"--modes: {mode!r} is not one of {', '.join(MODES)}")
    for spec in specs:
        check_init(spec)
    out = Path(out)
    data = prepare_scenes(config, SubProgress(progress, 0.0, 0.02))
    runs = [(spec, mode) for spec in specs for mode in modes]
    results: list[dict[str, Any]] = []
    # one feature cache per initialisation, shared by its linear and few-shot runs
    caches: dict[str, FeatureCache] = {}
    for number, (spec, mode) in enumerate(runs):
        part = SubProgress(
            progress, 0.02 + 0.98 * number / len(runs), 0.02 + 0.98 * (number + 1) / len(runs)
        )
        part.progress(0.0, f"run {number + 1}/{len(runs)}: {spec.label} {mode}")
        result = run_transfer(config, spec.text, mode, data, caches.setdefault(spec.text, {}), part)
        write_result(result, out / "runs" / f"{_file_label(spec.label)}-{mode}.json")
        results.append(result)
        log.info("%s", format_result(result))
    table = format_table(results, list(modes), config.shots)
    atomic_write_text(out / "table.md", table)
    atomic_write_text(
        out / "table.json",
        json.dumps(
            {
                "scenes": str(config.scenes),
                "modes": list(modes),
                "inits": [s.text for s in specs],
                "table": {
                    r["init_label"]: {
                        r2["mode"]: {"accuracy": r2["accuracy"], "macro_f1": r2["macro_f1"]}
                        for r2 in results
                        if r2["init_label"] == r["init_label"]
                    }
                    for r in results
                },
                "results": results,
            },
            indent=2,
        )
        + "\n",
    )
    progress.progress(1.0, "done")
    return {"table": table, "results": results}


# ---------------------------------------------------------------------------
# the classifier model file


def parse_hex_color(text: str) -> str:
    """``"#AbC123"`` or ``"abc123"`` -> ``"#abc123"``.

    Raises:
        ValueError: Not six hex digits.
    """
    value = text.strip().lower().removeprefix("#")
    if len(value) != 6 or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"{text!r} is not a colour like #1f77b4")
    return "#" + value


def default_class_colors(class_names: Sequence[str]) -> list[str]:
    """The demo's land-cover colours when every class is a demo class, else a qualitative palette."""
    from backend.data.demo import CLASS_COLORS

    lowered = {name.lower(): colour for name, colour in CLASS_COLORS.items()}
    if class_names and all(name.lower() in lowered for name in class_names):
        return [lowered[name.lower()] for name in class_names]
    colors = list(PALETTE[: len(class_names)])
    for i in range(len(colors), len(class_names)):
        # golden-angle hues beyond the palette
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.85)
        colors.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return colors


def parse_class_colors(text: str | None, class_names: Sequence[str]) -> list[str]:
    """Class colours from ``--colors``, starting from :func:`default_class_colors`.

    ``text`` is a comma-separated list of ``#rrggbb`` (in class order) or of
    ``name=#rrggbb`` (only those classes), or a JSON file holding either a list or
    a ``{name: colour}`` object.

    Raises:
        ValueError: Bad colours, unknown class names or too many colours.
    """
    colors = default_class_colors(class_names)
    if not text:
        return colors
    items: list[str] | dict[str, str]
    candidate = Path(text).expanduser()
    if text.strip().endswith(".json") or candidate.is_file():
        if not candidate.is_file():
            raise FileNotFoundError(f"--colors {text}: file not found")
        items = json.loads(candidate.read_text(encoding="utf-8"))
    else:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if all("=" in p for p in parts):
            items = dict(tuple(s.strip() for s in p.split("=", 1)) for p in parts)
        else:
            items = parts
    if isinstance(items, dict):
        index = {name: i for i, name in enumerate(class_names)}
        unknown = sorted(set(items) - set(index))
        if unknown:
            raise ValueError(
                f"--colors: unknown class names {unknown}; the classes are {list(class_names)}"
            )
        for name, colour in items.items():
            colors[index[name]] = parse_hex_color(str(colour))
    elif isinstance(items, list):
        if len(items) > len(class_names):
            raise ValueError(f"--colors: {len(items)} colours for {len(class_names)} classes")
        for i, colour in enumerate(items):
            colors[i] = parse_hex_color(str(colour))
    else:
        raise ValueError("--colors: expected a list of colours or {class: colour}")
    return colors


@dataclass
class ClassifierResult:
    """What :func:`train_classifier` wrote."""

    path: Path
    metadata: ModelMetadata
    #: test-split metrics (``None`` when every image was used for training)
    test_metrics: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def train_classifier(
    config: TransferConfig,
    init: str,
    out: str | os.PathLike,
    mode: str = "finetune",
    colors: str | None = None,
    resolution_m: float | None = None,
    all_images: bool = False,
    progress: Progress | None = None,
) -> ClassifierResult:
    """Train a scene classifier and write it as a classifier model file.

    Args:
        config: Dataset and training settings (the first seed is used).
        init: ``random``, ``imagenet:PATH`` or a pretrained model file.
        out: The ``.safetensors`` file to write.
        mode: ``finetune`` (whole network) or ``linear`` (frozen trunk, logistic head).
        colors: ``--colors`` text (see :func:`parse_class_colors`).
        resolution_m: Ground metres per pixel of the image files, used when they
            carry no georeferencing; the model file records the resolution after
            resizing to ``config.image_size``.
        all_images: Train on every image instead of the training split (then no
            test metrics are reported).
        progress: Receives progress and is asked about cancellation.

    Returns:
        The path, the metadata and the test-split metrics.
    """
    if mode not in ("finetune", "linear"):
        raise ValueError(f"--mode must be finetune or linear, got {mode!r}")
    progress = progress or NullProgress()
    spec = parse_init(init)
    check_init(spec)
    from backend.device import resolve_device
    from backend.train import git_commit

    device = resolve_device(config.device)
    data = prepare_scenes(config, SubProgress(progress, 0.0, 0.05))
    class_colors = parse_class_colors(colors, data.scenes.class_names)
    train_indices = sorted(data.train + data.test) if all_images else data.train
    seed = config.first_seed
    model = build_classifier(
        spec, data.num_classes, data.in_channels, data.mean, data.std, config.arch, seed
    )
    train_set = data.dataset(train_indices, config.image_size)
    extra: dict[str, Any] = {}
    if mode == "finetune":
        finetune_model(
            model,
            train_set,
            config,
            seed,
            device,
            pretrained=spec.kind != "random",
            color_augment=data.normalization == "imagenet",
            progress=SubProgress(progress, 0.05, 0.9),
        )
    else:
        features, labels = extract_features(
            model,
            train_set,
            device,
            config.batch_size,
            config.workers,
            SubProgress(progress, 0.05, 0.85),
        )
        weight, bias, l2 = fit_linear_probe(features, labels, data.num_classes, config.l2, device)
        with torch.no_grad():
            model.head.weight.copy_(weight)
            model.head.bias.copy_(bias)
        extra["l2"] = l2
    model = model.cpu().eval()
    test_metrics = None
    if not all_images:
        predicted, truth = predict(
            model,
            data.dataset(data.test, config.image_size),
            device,
            config.batch_size,
            config.workers,
            SubProgress(progress, 0.9, 1.0),
        )
        model = model.cpu().eval()
        test_metrics = classification_metrics(truth, predicted, data.num_classes)

    native = data.scenes.resolution_m() or resolution_m
    sides = [data.scenes.images[i].side for i in train_indices]
    # the images were resized from their (median) side to image_size
    resolution = native * float(np.median(sides)) / config.image_size if native else None
    provenance: dict[str, Any] = {
        "command": "finetune",
        "mode": mode,
        "init": spec.text,
        "scenes": str(config.scenes),
        "split": "all images" if all_images else data.split,
        "n_train": len(train_indices),
        "seed": seed,
        "image_size": config.image_size,
        "normalization": data.normalization,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        **extra,
    }
    if mode == "finetune":
        provenance.update(_settings(config, "finetune"))
    if test_metrics is not None:
        provenance.update(
            {
                "n_test": len(data.test),
                "test_accuracy": test_metrics["accuracy"],
                "test_macro_f1": test_metrics["macro_f1"],
            }
        )
    metadata = classifier_metadata(
        model,
        data.scenes.class_names,
        class_colors,
        data.scenes.bands,
        config.image_size,
        scale=data.scale,
        resolution_m=resolution,
        provenance=provenance,
    )
    save_classifier(out, model, metadata)
    progress.progress(1.0, "saved")
    return ClassifierResult(Path(out), metadata, test_metrics, extra)
