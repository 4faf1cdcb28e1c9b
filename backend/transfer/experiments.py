"""One transfer experiment: an initialisation judged by one mode over several seeds."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from backend.progress import NullProgress, Progress, SubProgress
from backend.transfer.datasets import PreparedScenes, TransferConfig, prepare_scenes
from backend.transfer.finetuning import (
    finetune_model,
    finetune_paper,
    predict,
    training_settings,
)
from backend.transfer.inits import InitSpec, build_transfer_model, check_init, parse_init
from backend.transfer.metrics import classification_metrics, mean_std
from backend.transfer.probes import (
    extract_features,
    fewshot_predict,
    fit_linear_probe,
    holdout,
    nearest_centroid_predict,
    stratified_shots,
)
from backend.transfer.protocols import PAPER_FEWSHOT_CROP, PAPER_FEWSHOT_RESIZE, settle

MODES: tuple[str, ...] = ("linear", "finetune", "fewshot")
#: column titles of the transfer table
MODE_TITLES: dict[str, str] = {
    "linear": "Linear probe",
    "finetune": "Fine-tuning",
    "fewshot": "Few-shot",
}


#: frozen features of one initialisation: ``(init, seed or None, view) -> (indices, features, labels)``
FeatureCache = dict[tuple[str, int | None, str], tuple[list[int], torch.Tensor, torch.Tensor]]


class _CentreCrop(torch.utils.data.Dataset):
    """The centre ``side`` px of each image of another dataset."""

    def __init__(self, dataset: torch.utils.data.Dataset, side: int) -> None:
        self.dataset = dataset
        self.side = side

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.dataset[index]
        top = (image.shape[-2] - self.side) // 2
        left = (image.shape[-1] - self.side) // 2
        return image[:, top : top + self.side, left : left + self.side], label


def _view_dataset(data: PreparedScenes, indices: list[int], view: str):
    """Images at ``indices`` as a view sees them: ``plain`` (the settled size) or
    ``paper-fewshot`` (resized to 300, centre 192, as the reference's AID few-shot)."""
    if view == "paper-fewshot":
        return _CentreCrop(data.dataset(indices, PAPER_FEWSHOT_RESIZE), PAPER_FEWSHOT_CROP)
    return data.dataset(indices, data.image_size)


def _build(spec: InitSpec, data: PreparedScenes, config: TransferConfig, seed: int):
    return build_transfer_model(
        spec,
        data.num_classes,
        data.in_channels,
        data.mean,
        data.std,
        config.arch,
        seed,
        config.protocol,
    )


def _features_for(
    spec: InitSpec,
    seed: int,
    data: PreparedScenes,
    config: TransferConfig,
    device: torch.device,
    cache: FeatureCache,
    progress: Progress,
    view: str = "plain",
) -> tuple[dict[int, int], torch.Tensor, torch.Tensor]:
    """Features of every image of the split (train and test), computed once per view.

    Returns:
        ``(position of each image index, features [N, F], labels [N])``.
    """
    key = (spec.text, seed if spec.seed_dependent else None, view)
    if key not in cache:
        model = _build(spec, data, config, seed)
        indices = sorted(set(data.train) | set(data.test))
        features, labels = extract_features(
            model,
            _view_dataset(data, indices, view),
            device,
            config.batch_size,
            config.workers,
            progress,
        )
        cache[key] = (indices, features, labels)
    indices, features, labels = cache[key]
    return {index: i for i, index in enumerate(indices)}, features, labels


def _rows(position: dict[int, int], indices: list[int]) -> torch.Tensor:
    return torch.as_tensor([position[i] for i in indices], dtype=torch.long)


def _finetune(
    spec: InitSpec,
    data: PreparedScenes,
    config: TransferConfig,
    seed: int,
    device: torch.device,
    train: list[int],
    test: list[int],
    progress: Progress,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fine-tune a new classifier from ``spec`` on ``train`` and predict ``test``."""
    model = _build(spec, data, config, seed)
    dataset = data.dataset(train, data.image_size)
    if config.protocol == "paper":
        finetune_paper(model, dataset, config, seed, device, SubProgress(progress, 0.0, 0.9))
    else:
        # the shape of classifier_file.py's fit_classifier call; here the product protocol's
        # fine-tuning only, as the paper protocol has its own loop above
        finetune_model(
            model,
            dataset,
            config,
            seed,
            device,
            color_augment=data.normalization == "imagenet",
            progress=SubProgress(progress, 0.0, 0.9),
        )
    return predict(
        model,
        data.dataset(test, data.image_size),
        device,
        config.batch_size,
        config.workers,
        SubProgress(progress, 0.9, 1.0),
    )


def choose_trunk_lr(
    spec: InitSpec,
    data: PreparedScenes,
    config: TransferConfig,
    device: torch.device,
    progress: Progress | None = None,
) -> tuple[float, dict[str, Any]]:
    """Pick the trunk learning-rate factor of ``config.trunk_lr_sweep`` for one initialisation.

    Every 4th training image of each class is held out for validation; a model is
    fine-tuned (first seed) on the rest with each factor, and the factor with the
    best validation accuracy wins (the earlier one on a tie). Every initialisation
    gets the same candidates and the same validation images.

    Returns:
        ``(factor, {"factors", "validation_accuracy", "chosen", "n_fit", "n_validation"})``.

    Raises:
        ValueError: Too few training images to hold some out.
    """
    progress = progress or NullProgress()
    labels = torch.as_tensor(data.scenes.labels[data.train])
    fit_pos, val_pos = holdout(labels)
    if len(fit_pos) == 0 or len(val_pos) == 0:
        raise ValueError(
            f"--trunk-lr-factor {','.join(map(str, config.trunk_lr_sweep))}: "
            f"{len(data.train)} training images are too few to hold a validation part out"
        )
    fit = [data.train[i] for i in fit_pos.tolist()]
    val = [data.train[i] for i in val_pos.tolist()]
    factors = list(config.trunk_lr_sweep)
    accuracies: list[float] = []
    for number, factor in enumerate(factors):
        part = SubProgress(progress, number / len(factors), (number + 1) / len(factors))
        trial = dataclasses.replace(config, trunk_lr_factor=factor)
        predicted, truth = _finetune(spec, data, trial, config.first_seed, device, fit, val, part)
        accuracies.append(float((predicted == truth).double().mean()))
        part.progress(1.0, f"{spec.label} trunk lr x {factor}: validation OA {accuracies[-1]:.3f}")
    best = max(range(len(factors)), key=lambda i: (accuracies[i], -i))
    return factors[best], {
        "factors": factors,
        "validation_accuracy": accuracies,
        "chosen": factors[best],
        "n_fit": len(fit),
        "n_validation": len(val),
    }


def run_transfer(
    config: TransferConfig,
    init: str,
    mode: str,
    data: PreparedScenes | None = None,
    cache: FeatureCache | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate one initialisation with one transfer mode over ``config.seeds`` seeds.

    Every initialisation runs under the same protocol (``config.protocol``): one
    trunk learning-rate factor for all, or one chosen per initialisation from the
    same candidates on the same validation images (``config.trunk_lr_sweep``).

    Args:
        config: Dataset and training settings.
        init: ``random``, ``imagenet:PATH`` or a model file (optionally ``LABEL=...``).
        mode: ``linear``, ``finetune`` or ``fewshot``.
        data: The prepared dataset (scanned here when ``None``).
        cache: Frozen features shared between runs (linear and few-shot).
        progress: Receives progress and is asked about cancellation.

    Returns:
        A JSON-ready report: settings, per-seed accuracy / macro F1 / weighted
        precision, recall and F1 / confusion matrix, their mean and standard
        deviation, and the summed confusion matrix.
    """
    if mode not in MODES:
        raise ValueError(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    progress = progress or NullProgress()
    config.validate()
    spec = parse_init(init)
    init_metadata = check_init(spec)
    from backend.device import resolve_device

    device = resolve_device(config.device)
    if data is None:
        data = prepare_scenes(config, SubProgress(progress, 0.0, 0.05))
        progress = SubProgress(progress, 0.05, 1.0)
    config = settle(config, data)
    cache = {} if cache is None else cache
    seeds = config.seed_list
    sweep: dict[str, Any] | None = None
    if mode == "finetune" and len(config.trunk_lr_sweep) > 1:
        factor, sweep = choose_trunk_lr(spec, data, config, device, SubProgress(progress, 0, 0.4))
        config = dataclasses.replace(config, trunk_lr_factor=factor)
        progress = SubProgress(progress, 0.4, 1.0)
    paper_fewshot = mode == "fewshot" and config.protocol == "paper"
    runs: list[dict[str, Any]] = []
    probes: dict[int, tuple[torch.Tensor, torch.Tensor, float]] = {}
    n_train, n_test = len(data.train), len(data.test)
    for number, seed in enumerate(seeds):
        part = SubProgress(progress, number / len(seeds), (number + 1) / len(seeds))
        extra: dict[str, Any] = {}
        if mode in ("linear", "fewshot"):
            view = "paper-fewshot" if paper_fewshot else "plain"
            position, features, labels = _features_for(
                spec, seed, data, config, device, cache, SubProgress(part, 0.0, 0.9), view
            )
            if paper_fewshot:
                # the paper: k images per class from the whole set, the rest is the test
                shots, rest, used = stratified_shots(labels, data.num_classes, config.shots, seed)
                shots_t, rest_t = torch.as_tensor(shots), torch.as_tensor(rest)
                predicted = nearest_centroid_predict(
                    features[shots_t], labels[shots_t], features[rest_t], data.num_classes
                )
                truth = labels[rest_t]
                n_train, n_test = len(shots), len(rest)
                extra["shots_used"] = used
            else:
                train_rows, test_rows = _rows(position, data.train), _rows(position, data.test)
                train_f, train_y = features[train_rows], labels[train_rows]
                test_f, truth = features[test_rows], labels[test_rows]
                if mode == "linear":
                    key = id(features)  # seed-independent features give the same probe
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
        else:
            predicted, truth = _finetune(
                spec, data, config, seed, device, data.train, data.test, part
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
        "protocol": config.protocol,
        "image_size": PAPER_FEWSHOT_CROP if paper_fewshot else config.image_size,
        "split": f"{config.shots} per class from every image" if paper_fewshot else data.split,
        "n_train": n_train,
        "n_test": n_test,
        "normalization": {
            "kind": data.normalization,
            "mean": data.mean,
            "std": data.std,
            "scale": data.scale,
        },
        "skipped": data.scenes.summary(),
        "settings": training_settings(config, mode),
        **({"trunk_lr_sweep": sweep} if sweep else {}),
        "seeds": seeds,
        "runs": runs,
        "accuracy": mean_std([r["accuracy"] for r in runs]),
        "macro_f1": mean_std([r["macro_f1"] for r in runs]),
        "weighted_f1": mean_std([r["weighted_f1"] for r in runs]),
        "confusion": confusion.tolist(),
    }
