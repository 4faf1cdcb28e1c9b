"""Land-cover segmentation transfer (the paper's DeepGlobe task): DeepLabv3+ on a pretrained trunk.

``python -m backend transfer --task segmentation`` trains
:class:`~backend.models.deeplab.SegmentationModel` on the training images of a
DeepGlobe folder, scores it on held-out images (overall accuracy, mIoU, IoU per
class) and writes a segmentation model file that ``classify`` and the plugin
run to make per-pixel class maps. The protocol follows the reference's
``downstream/deepglobe.py``: 512-pixel patches 347 pixels apart, no augmentation,
Adam at 1e-3 on every weight for 5 epochs, batch 16, cross-entropy that ignores
unknown pixels. Held-out images are predicted tile by tile as the raster engine
does (tiles overlap; each keeps its centre), not in one pass.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backend.atomic import atomic_write_text
from backend.data.deepglobe import (
    CLASS_NAMES,
    IGNORE,
    DeepGlobeSet,
    class_colors_hex,
    default_test_indices,
    read_test_ids,
    scan_deepglobe,
)
from backend.models.deeplab import (
    SegmentationModel,
    save_segmentation_model,
    segmentation_metadata,
)
from backend.models.encoders import IMAGE_MEAN, IMAGE_STD
from backend.progress import NullProgress, Progress, SubProgress, check_cancelled

log = logging.getLogger(__name__)

#: the reference's patch size and spacing
REFERENCE_PATCH = 512
REFERENCE_PATCH_STRIDE = 347
#: images decoded together; their patches are shuffled among themselves
IMAGES_PER_GROUP = 8


@dataclass
class SegmentationConfig:
    """Settings of a segmentation transfer run."""

    data: str
    init: str
    out: str
    #: trunk of random and ImageNet initialisations (model files bring their own)
    arch: str = "resnet18"
    #: training patch side (pixels) and spacing (``None``: 347/512 of the side, the reference's)
    patch_size: int = REFERENCE_PATCH
    patch_stride: int | None = None
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    #: a file of held-out image ids (``None``: every fifth image)
    test_ids: str | None = None
    #: ground metres per pixel of the images, recorded in the model file (DeepGlobe: 0.5)
    resolution_m: float | None = None
    device: str = "auto"
    precision: str = "auto"

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        for name in ("patch_size", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.patch_size < 32:
            raise ValueError(f"--patch-size must be at least 32 pixels, got {self.patch_size}")
        if self.patch_stride is not None and self.patch_stride < 1:
            raise ValueError("--patch-stride must be at least 1")
        if self.batch_size < 2:
            raise ValueError("--batch-size must be at least 2 (batch normalisation)")
        if not self.lr > 0:
            raise ValueError("--lr must be positive")
        if self.resolution_m is not None and not self.resolution_m > 0:
            raise ValueError("--resolution must be positive")

    @property
    def stride(self) -> int:
        """Spacing of training patches in pixels."""
        if self.patch_stride is not None:
            return self.patch_stride
        return max(1, round(self.patch_size * REFERENCE_PATCH_STRIDE / REFERENCE_PATCH))


@dataclass
class SegmentationResult:
    """What :func:`train_segmentation` wrote and measured."""

    model: Path
    report: Path
    metrics: dict[str, Any]
    text: str
    skipped: str = ""
    skipped_csv: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def patch_origins(height: int, width: int, patch: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of ``patch`` squares ``stride`` apart, the last flush with the edge."""

    def starts(size: int) -> list[int]:
        if size <= patch:
            return [0]
        values = list(range(0, size - patch + 1, stride))
        if values[-1] != size - patch:
            values.append(size - patch)
        return values

    return [(y, x) for y in starts(height) for x in starts(width)]


def _pad_to(pixels: np.ndarray, labels: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """Images smaller than a patch: pixels mirrored, labels ignored past the edge."""
    height, width = labels.shape
    extra = ((0, max(0, patch - height)), (0, max(0, patch - width)))
    if extra == ((0, 0), (0, 0)):
        return pixels, labels
    return (
        np.pad(pixels, (*extra, (0, 0)), mode="symmetric"),
        np.pad(labels, extra, constant_values=IGNORE),
    )


def training_batches(
    data: DeepGlobeSet,
    indices: Sequence[int],
    patch: int,
    stride: int,
    batch_size: int,
    seed: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(pixels [B, P, P, 3] uint8, labels [B, P, P] uint8)`` batches.

    Images are visited in a seeded order and decoded once per epoch, a group at a
    time; the patches of a group are shuffled together. Every batch is full (the
    few patches left at the end of the epoch are dropped).
    """
    rng = np.random.default_rng(seed)
    order = [indices[i] for i in rng.permutation(len(indices))]
    carry_pixels: list[np.ndarray] = []
    carry_labels: list[np.ndarray] = []
    for start in range(0, len(order), IMAGES_PER_GROUP):
        for index in order[start : start + IMAGES_PER_GROUP]:
            pixels, labels = _pad_to(*data.load(index), patch)
            for y, x in patch_origins(*labels.shape, patch, stride):
                carry_pixels.append(pixels[y : y + patch, x : x + patch])
                carry_labels.append(labels[y : y + patch, x : x + patch])
        shuffle = rng.permutation(len(carry_pixels))
        carry_pixels = [carry_pixels[i] for i in shuffle]
        carry_labels = [carry_labels[i] for i in shuffle]
        while len(carry_pixels) >= batch_size:
            yield np.stack(carry_pixels[:batch_size]), np.stack(carry_labels[:batch_size])
            del carry_pixels[:batch_size], carry_labels[:batch_size]


def prefetched(items: Iterator, depth: int = 2) -> Iterator:
    """``items`` produced in a background thread, up to ``depth`` ahead (JPEG decoding
    overlaps training steps); an error in the thread is raised here."""
    import queue
    import threading

    done = object()
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as exc:  # handed to the consumer
            buffer.put(exc)

    thread = threading.Thread(target=produce, name="segmentation-batches", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def count_patches(data: DeepGlobeSet, indices: Sequence[int], patch: int, stride: int) -> int:
    """Training patches per epoch."""
    return sum(len(patch_origins(*data.sizes[i], patch, stride)) for i in indices)


def _to_input(pixels: np.ndarray, device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(pixels)).to(device)
    return x.permute(0, 3, 1, 2).float().div_(255.0)


@torch.inference_mode()
def predict_labels(
    model: SegmentationModel,
    pixels: np.ndarray,
    tile: int,
    core: int | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 8,
) -> np.ndarray:
    """Per-pixel classes ``[H, W]`` of an 8-bit RGB image ``[H, W, 3]``, tile by tile.

    Each ``tile`` window (mirrored past the edges) keeps only its central ``core``
    square (default: half the tile), as ``classify`` does on rasters.
    """
    device = torch.device(device)
    core = core or max(1, tile // 2)
    height, width = pixels.shape[:2]
    margin = (tile - core) // 2
    rows, cols = math.ceil(height / core), math.ceil(width / core)
    pad_rows = (margin, rows * core - height + tile - core - margin)
    pad_cols = (margin, cols * core - width + tile - core - margin)
    padded = np.pad(pixels, (pad_rows, pad_cols, (0, 0)), mode="reflect")
    out = np.zeros((rows * core, cols * core), np.uint8)
    cells = [(i, j) for i in range(rows) for j in range(cols)]
    model.eval()
    for start in range(0, len(cells), batch_size):
        chunk = cells[start : start + batch_size]
        tiles = np.stack(
            [padded[i * core : i * core + tile, j * core : j * core + tile] for i, j in chunk]
        )
        logits = model(_to_input(tiles, device))
        classes = logits[:, :, margin : margin + core, margin : margin + core].argmax(1)
        classes = classes.to(torch.uint8).cpu().numpy()
        for k, (i, j) in enumerate(chunk):
            out[i * core : (i + 1) * core, j * core : (j + 1) * core] = classes[k]
    return out[:height, :width]


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Pixel counts ``[classes, classes]`` (rows: truth, columns: prediction), ignored pixels out."""
    keep = truth != IGNORE
    index = truth[keep].astype(np.int64) * classes + predicted[keep].astype(np.int64)
    return np.bincount(index, minlength=classes * classes).reshape(classes, classes)


def segmentation_metrics(
    confusion: np.ndarray, image_accuracies: Sequence[float] = ()
) -> dict[str, Any]:
    """Overall accuracy, IoU per class and mIoU of a confusion matrix.

    ``miou`` averages the classes present in the truth or the prediction (a class
    absent from both has no IoU). ``mean_image_accuracy`` is the reference's "OA":
    the mean of the held-out images' pixel accuracies.
    """
    confusion = np.asarray(confusion, np.int64)
    total = int(confusion.sum())
    hits = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - hits
    iou = [float(h / u) if u > 0 else None for h, u in zip(hits, union, strict=True)]
    present = [v for v in iou if v is not None]
    return {
        "overall_accuracy": float(hits.sum() / total) if total else 0.0,
        "miou": float(np.mean(present)) if present else 0.0,
        "iou": iou,
        "mean_image_accuracy": float(np.mean(image_accuracies)) if image_accuracies else None,
        "pixels": total,
        "confusion": confusion.tolist(),
    }


def evaluate_segmentation(
    model: SegmentationModel,
    data: DeepGlobeSet,
    indices: Sequence[int],
    tile: int,
    device: torch.device,
    batch_size: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Metrics of ``model`` on the images at ``indices`` (see :func:`segmentation_metrics`)."""
    progress = progress or NullProgress()
    classes = len(CLASS_NAMES)
    confusion = np.zeros((classes, classes), np.int64)
    accuracies = []
    for n, index in enumerate(indices):
        check_cancelled(progress)
        pixels, labels = data.load(index)
        predicted = predict_labels(model, pixels, tile, None, device, batch_size)
        matrix = confusion_matrix(labels, predicted, classes)
        confusion += matrix
        if matrix.sum():
            accuracies.append(float(np.trace(matrix) / matrix.sum()))
        progress.progress((n + 1) / len(indices), f"scored {n + 1} of {len(indices)} images")
    return segmentation_metrics(confusion, accuracies)


def format_segmentation(metrics: dict[str, Any], title: str = "") -> str:
    """The metrics as a few lines of text."""
    lines = [title] if title else []
    lines.append(
        f"overall accuracy {100 * metrics['overall_accuracy']:.2f} %, "
        f"mIoU {100 * metrics['miou']:.2f} % ({metrics['pixels']} held-out pixels)"
    )
    if metrics.get("mean_image_accuracy") is not None:
        lines.append(
            f"mean accuracy per image (the reference's OA) "
            f"{100 * metrics['mean_image_accuracy']:.2f} %"
        )
    for name, value in zip(CLASS_NAMES, metrics["iou"], strict=True):
        shown = "absent" if value is None else f"{100 * value:.2f} %"
        lines.append(f"  IoU {name}: {shown}")
    return "\n".join(lines)


def _split(config: SegmentationConfig, data: DeepGlobeSet) -> tuple[list[int], list[int], str]:
    if config.test_ids:
        test = read_test_ids(config.test_ids, data.ids)
        split = str(config.test_ids)
    else:
        test = default_test_indices(len(data.ids))
        split = "every fifth image by id"
    held = set(test)
    train = [i for i in range(len(data.ids)) if i not in held]
    if not train or not test:
        raise ValueError(
            f"{data.root}: {len(train)} training and {len(test)} held-out images; need both"
        )
    return train, test, split


def build_segmentation_model(
    init: str, arch: str, seed: int, num_classes: int = len(CLASS_NAMES)
) -> tuple[SegmentationModel, Any]:
    """A DeepLabv3+ whose trunk starts from ``init`` (random, imagenet:PATH or a model file).

    Returns:
        The model and the parsed initialisation.
    """
    from backend.transfer.inits import build_classifier, check_init, parse_init

    spec = parse_init(init)
    check_init(spec)
    base = build_classifier(spec, num_classes, 3, list(IMAGE_MEAN), list(IMAGE_STD), arch, seed)
    return SegmentationModel(num_classes=num_classes, trunk_from=base), spec


def fit_segmentation(
    model: SegmentationModel,
    data: DeepGlobeSet,
    train: Sequence[int],
    config: SegmentationConfig,
    device: torch.device,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train every weight with Adam at ``config.lr`` on patches of the training images.

    Returns:
        Training figures: steps, patches per epoch, the last epoch's mean loss.
    """
    from backend.device import autocast, autocast_dtype, grad_scaler

    progress = progress or NullProgress()
    patch, stride = config.patch_size, config.stride
    per_epoch = count_patches(data, train, patch, stride)
    batch_size = min(config.batch_size, per_epoch)
    if batch_size < 2:
        raise ValueError(
            f"{data.root}: the training images give {per_epoch} patch(es) of {patch} px; "
            "need at least two (use a smaller --patch-size or --patch-stride)"
        )
    steps_per_epoch = per_epoch // batch_size
    total = steps_per_epoch * config.epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    half = autocast_dtype(config.precision, device)
    scaler = grad_scaler(device, half)
    model.to(device).train()
    step = 0
    losses: list[float] = []
    for epoch in range(config.epochs):
        losses = []
        batches = prefetched(
            training_batches(data, train, patch, stride, batch_size, config.seed + epoch)
        )
        for pixels, labels in batches:
            check_cancelled(progress)
            target = torch.from_numpy(labels).to(device).long()
            if not (target != IGNORE).any():
                continue
            x = _to_input(pixels, device)
            with autocast(device, half):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), target, ignore_index=IGNORE)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            losses.append(float(loss.detach()))
            step += 1
            progress.progress(
                min(1.0, step / max(1, total)),
                f"epoch {epoch + 1}/{config.epochs}, loss {losses[-1]:.3f}",
            )
    model.eval()
    return {
        "steps": step,
        "patches_per_epoch": per_epoch,
        "final_loss": float(np.mean(losses)) if losses else None,
    }


def default_report_path(model_path: str | os.PathLike) -> Path:
    """``SEGMODEL.safetensors`` → ``SEGMODEL.metrics.json`` beside it."""
    path = Path(model_path)
    return path.with_name(path.stem + ".metrics.json")


def train_segmentation(
    config: SegmentationConfig,
    report_path: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> SegmentationResult:
    """Train DeepLabv3+ on a DeepGlobe folder, score it, write the model file and the report.

    Args:
        config: Dataset, initialisation, output and training settings.
        report_path: The JSON report (default: :func:`default_report_path`).
        progress: Progress and cancellation (a cancelled run writes nothing).

    Returns:
        The paths written, the held-out metrics and their text.

    Raises:
        FileNotFoundError: The dataset, the initialisation's file or the id file is missing.
        ValueError: Bad settings or too few usable images.
        ModelFileError: The initialisation is not a usable model file.
    """
    from backend.device import resolve_device
    from backend.run_records import git_commit

    config.validate()
    progress = progress or NullProgress()
    out = Path(config.out)
    report = Path(report_path) if report_path else default_report_path(out)
    data = scan_deepglobe(config.data)
    log.info("%s: %d pairs; %s", data.root, len(data.ids), data.summary())
    train, test, split = _split(config, data)
    device = resolve_device(config.device)
    model, spec = build_segmentation_model(config.init, config.arch, config.seed)
    extra = fit_segmentation(model, data, train, config, device, SubProgress(progress, 0.0, 0.85))
    metrics = evaluate_segmentation(
        model,
        data,
        test,
        config.patch_size,
        device,
        max(2, config.batch_size),
        SubProgress(progress, 0.85, 1.0),
    )
    model = model.cpu().eval()
    title = (
        f"segmentation, init {spec.label} ({model.family} {model.arch}), "
        f"{len(train)} training / {len(test)} held-out images"
    )
    text = format_segmentation(metrics, title)
    settings = asdict(config)
    settings["patch_stride"] = config.stride
    provenance: dict[str, Any] = {
        "command": "transfer --task segmentation",
        "init": spec.text,
        "init_kind": spec.kind,
        "data": str(config.data),
        "split": split,
        "n_train": len(train),
        "n_test": len(test),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "skipped": data.summary(),
        "test_overall_accuracy": metrics["overall_accuracy"],
        "test_miou": metrics["miou"],
        **{k: v for k, v in settings.items() if k not in ("data", "init", "out", "device")},
        **extra,
    }
    metadata = segmentation_metadata(
        model,
        CLASS_NAMES,
        class_colors_hex(),
        config.patch_size,
        resolution_m=config.resolution_m,
        provenance=provenance,
    )
    payload = {
        "task": "segmentation",
        "dataset": "DeepGlobe land cover",
        "init": spec.text,
        "init_label": spec.label,
        "trunk": f"{model.family} {model.arch}",
        "classes": list(CLASS_NAMES),
        "split": split,
        "train_ids": [data.ids[i] for i in train],
        "test_ids": [data.ids[i] for i in test],
        "metrics": metrics,
        "settings": settings,
        "training": extra,
        "skipped": data.summary(),
        "model": str(out),
    }
    save_segmentation_model(out, model, metadata)
    atomic_write_text(report, json.dumps(payload, indent=2) + "\n")
    skipped_csv = None
    if data.skipped:
        skipped_csv = out.with_name(out.stem + ".skipped.csv")
        data.write_skipped_csv(skipped_csv)
    progress.progress(1.0, "saved")
    return SegmentationResult(out, report, metrics, text, data.summary(), skipped_csv, extra)
