"""The training core shared by scene fine-tuning and training from labels.

:func:`fit_classifier` trains a :class:`SceneClassifier` on any dataset of
``(image [C, H, W] float, class)`` pairs, either whole (``finetune``: AdamW,
cosine schedule, augmentation) or as a linear probe on the frozen trunk
(``linear``: logistic regression folded into the head); :func:`predict` runs it.
:func:`finetune_paper` is the paper protocol's fine-tuning (Adam, constant rate,
no augmentation).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from backend.augment import crop_rotate_resize, gaussian_blur, train_augment
from backend.models.classifier import SceneClassifier
from backend.progress import NullProgress, Progress, check_cancelled
from backend.transfer.datasets import make_loader, map_images
from backend.transfer.probes import extract_features, fit_linear_probe

#: what :func:`fit_classifier` can train
TRAIN_MODES: tuple[str, ...] = ("linear", "finetune")


class TrainSettings(Protocol):
    """The settings the training core reads (a ``TransferConfig`` or a labels config)."""

    image_size: int
    epochs: int
    batch_size: int
    lr: float
    trunk_lr_factor: float | None
    weight_decay: float
    precision: str
    workers: int
    l2: float | None


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
    dataset: torch.utils.data.Dataset,
    config: TrainSettings,
    seed: int,
    device: torch.device,
    color_augment: bool,
    progress: Progress | None = None,
    channels_last: bool | None = None,
    fused: bool | None = None,
) -> SceneClassifier:
    """Train the whole network with AdamW (cosine schedule) and augmentation.

    The trunk's learning rate is ``lr x trunk_lr_factor``; the head's is ``lr``.
    Transfer and training from labels pass one factor for every initialisation
    (``None`` means 1), so that pretrained and random starts are compared fairly.
    ``channels_last`` is on by default on the CPU and CUDA (faster there, the same
    training: bench/results/pretrain.json); ``fused`` (the fused AdamW step) follows
    :func:`backend.device.fused_optimizer` (off) unless given.
    """
    from backend.device import fused_optimizer
    from backend.train import cosine_schedule

    progress = progress or NullProgress()
    model.to(device).train()
    if channels_last is None:
        channels_last = device.type in ("cpu", "cuda")
    if channels_last:
        model.to(memory_format=torch.channels_last)
    fused_kwargs = fused_optimizer(device) if fused is None else {"fused": fused}
    factor = 1.0 if config.trunk_lr_factor is None else config.trunk_lr_factor
    optimizer = torch.optim.AdamW(
        [
            {"params": model.trunk.parameters(), "lr": config.lr * factor},
            {"params": model.head.parameters(), "lr": config.lr},
        ],
        weight_decay=config.weight_decay,
        **fused_kwargs,
    )

    def augment(x: torch.Tensor, epoch: int, step: int) -> torch.Tensor:
        generator = torch.Generator(device=device).manual_seed(_mix_seed(seed, epoch, step))
        return scene_augment(x, config.image_size, generator, color_augment)

    return _train(
        model,
        dataset,
        config,
        seed,
        device,
        optimizer,
        progress,
        schedule=lambda total: cosine_schedule(total, 0.05),
        prepare=augment,
        channels_last=channels_last,
    )


def _train(
    model: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    config: TrainSettings,
    seed: int,
    device: torch.device,
    optimizer: torch.optim.Optimizer,
    progress: Progress,
    schedule: Callable[[int], Callable[[int], float]] | None = None,
    prepare: Callable[[torch.Tensor, int, int], torch.Tensor] | None = None,
    channels_last: bool = False,
) -> torch.nn.Module:
    """The fine-tuning loop both protocols share: cross-entropy over ``config.epochs``.

    ``schedule(total_steps)`` gives a learning-rate multiplier per step (constant
    without one); ``prepare(images, epoch, step)`` transforms each batch on the
    device (none without one); ``channels_last`` hands the batches to the model in
    that memory format (the model's weights must be in it already).
    """
    from backend.device import autocast, autocast_dtype, grad_scaler
    from backend.heap import retained_heap

    batch_size = min(config.batch_size, len(dataset))
    # a last batch of one image breaks batch normalisation
    drop_last = len(dataset) % batch_size == 1
    steps_per_epoch = len(dataset) // batch_size + (
        0 if drop_last or len(dataset) % batch_size == 0 else 1
    )
    total = max(1, steps_per_epoch * config.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(total)) if schedule else None
    half = autocast_dtype(config.precision, device)
    scaler = grad_scaler(device, half)
    step = 0
    # on a CPU, freed activations stay in the process for the next step (backend.heap)
    with retained_heap() if device.type == "cpu" else contextlib.nullcontext():
        for epoch in range(config.epochs):
            loader = make_loader(
                dataset,
                batch_size,
                config.workers,
                device,
                shuffle_seed=_mix_seed(seed, epoch, 0xF1),
                drop_last=drop_last,
            )
            for images, labels in loader:
                check_cancelled(progress)
                x = images.to(device, non_blocking=True)
                if prepare is not None:
                    x = prepare(x, epoch, step)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                with autocast(device, half):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), labels.to(device))
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                if scheduler is not None:
                    scheduler.step()
                step += 1
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"fine-tuning epoch {epoch + 1}: the loss is {value}; lower --lr"
                    )
                progress.progress(
                    step / total, f"epoch {epoch + 1}/{config.epochs} loss {value:.3f}"
                )
        return model.eval()


def finetune_paper(
    model: torch.nn.Module,
    dataset: torch.utils.data.Dataset,
    config: TrainSettings,
    seed: int,
    device: torch.device,
    progress: Progress | None = None,
) -> torch.nn.Module:
    """The reference's fine-tuning: every parameter with Adam at ``lr x trunk_lr_factor``
    (the paper: 1e-3 x 1), constant, no weight decay unless set, no augmentation.

    The head takes ``lr``; the rest of the network ``lr x trunk_lr_factor`` (1 in the
    paper protocol: one rate for everything, as the reference).
    """
    progress = progress or NullProgress()
    model.to(device).train()
    factor = config.trunk_lr_factor if config.trunk_lr_factor is not None else 1.0
    head = list(model.head.parameters())
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if id(p) not in head_ids]
    optimizer = torch.optim.Adam(
        [{"params": body, "lr": config.lr * factor}, {"params": head, "lr": config.lr}],
        weight_decay=config.weight_decay,
    )
    return _train(model, dataset, config, seed, device, optimizer, progress)


# extract_features' parameters (probes.py): both run a model over a dataset through
# map_images, this one for its classes and that one for its trunk's features
@torch.no_grad()
def predict(
    model: SceneClassifier,
    dataset: torch.utils.data.Dataset,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true classes of every image (eval mode).

    Returns:
        ``(predicted [N], true [N])``.
    """
    model.eval().to(device)
    return map_images(
        lambda images: model(images).argmax(1).cpu(),
        dataset,
        device,
        batch_size,
        workers,
        progress,
        "testing",
    )


def fit_classifier(
    model: SceneClassifier,
    dataset: torch.utils.data.Dataset,
    mode: str,
    settings: TrainSettings,
    seed: int,
    device: torch.device,
    color_augment: bool,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train ``model`` on ``dataset`` in place: the one training core of every classifier.

    Args:
        model: The classifier (trunk from its initialisation, new head).
        dataset: ``(image [C, H, W] float in the model's scaled units, class)`` pairs.
        mode: ``finetune`` (the whole network, see :func:`finetune_model`) or
            ``linear`` (frozen trunk; a logistic-regression probe becomes the head).
        settings: Training settings (see :class:`TrainSettings`).
        seed: Seeds the shuffling and augmentation.
        device: Where to train.
        color_augment: Colour jitter (8-bit RGB in [0, 1] only).
        progress: Receives progress and is asked about cancellation.

    Returns:
        Facts about the fit (``{"l2": ...}`` for the linear probe).
    """
    if mode not in TRAIN_MODES:
        raise ValueError(f"--mode must be one of {', '.join(TRAIN_MODES)}, got {mode!r}")
    if mode == "finetune":
        finetune_model(model, dataset, settings, seed, device, color_augment, progress)
        return {}
    features, labels = extract_features(
        model, dataset, device, settings.batch_size, settings.workers, progress
    )
    weight, bias, l2 = fit_linear_probe(features, labels, model.num_classes, settings.l2, device)
    with torch.no_grad():
        model.head.weight.copy_(weight)
        model.head.bias.copy_(bias)
    model.eval()
    return {"l2": l2}


def training_settings(config: TrainSettings, mode: str) -> dict[str, Any]:
    """The settings of ``mode`` worth recording in a report or a model file's provenance."""
    keys = {
        "linear": ("l2",),
        "fewshot": ("shots",),
        "finetune": ("epochs", "batch_size", "lr", "trunk_lr_factor", "weight_decay", "precision"),
    }[mode]
    if getattr(config, "protocol", "product") == "paper":
        keys = ("protocol", *keys)
    return {key: getattr(config, key) for key in keys}
