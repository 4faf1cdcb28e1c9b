"""A classifier model file trained on a scene dataset (``python -m backend finetune``)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.models.classifier import classifier_metadata, save_classifier
from backend.models.modelfile import ModelMetadata
from backend.progress import NullProgress, Progress, SubProgress
from backend.raster.runtime import prepare_engine
from backend.transfer.colors import parse_class_colors
from backend.transfer.datasets import TransferConfig, prepare_scenes
from backend.transfer.finetuning import fit_classifier, predict, training_settings
from backend.transfer.inits import build_classifier, check_init, parse_init
from backend.transfer.metrics import classification_metrics
from backend.transfer.protocols import settle


@dataclass
class ClassifierResult:
    """What :func:`train_classifier` wrote."""

    path: Path
    metadata: ModelMetadata
    #: test-split metrics (``None`` when every image was used for training)
    test_metrics: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: one line counting the scene images left out, by cause
    skipped: str = ""
    #: ``OUT.skipped.csv`` listing them, when any were
    skipped_csv: Path | None = None


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
    from backend.run_records import git_commit

    device = resolve_device(config.device)
    data = prepare_scenes(config, SubProgress(progress, 0.0, 0.05))
    config = settle(config, data)
    class_colors = parse_class_colors(colors, data.scenes.class_names)
    train_indices = sorted(data.train + data.test) if all_images else data.train
    seed = config.first_seed
    model = build_classifier(
        spec, data.num_classes, data.in_channels, data.mean, data.std, config.arch, seed
    )
    train_set = data.dataset(train_indices, config.image_size)
    extra = fit_classifier(
        model,
        train_set,
        mode,
        config,
        seed,
        device,
        color_augment=data.normalization == "imagenet",
        progress=SubProgress(progress, 0.05, 0.9),
    )
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
        "skipped": data.scenes.summary(),
        **extra,
    }
    if mode == "finetune":
        provenance.update(training_settings(config, "finetune"))
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
    prepare_engine(out)
    skipped_csv = None
    if data.scenes.skipped:
        skipped_csv = Path(out).with_name(Path(out).stem + ".skipped.csv")
        data.scenes.write_skipped_csv(skipped_csv)
    progress.progress(1.0, "saved")
    return ClassifierResult(
        Path(out), metadata, test_metrics, extra, data.scenes.summary(), skipped_csv
    )
