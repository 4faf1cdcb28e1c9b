"""One transfer experiment: an initialisation judged by one mode over several seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from backend.progress import NullProgress, Progress, SubProgress
from backend.transfer.datasets import PreparedScenes, TransferConfig, prepare_scenes
from backend.transfer.finetuning import finetune_model, predict, training_settings
from backend.transfer.inits import InitSpec, build_classifier, check_init, parse_init
from backend.transfer.metrics import classification_metrics, mean_std
from backend.transfer.probes import extract_features, fewshot_predict, fit_linear_probe

MODES: tuple[str, ...] = ("linear", "finetune", "fewshot")
#: column titles of the transfer table
MODE_TITLES: dict[str, str] = {
    "linear": "Linear probe",
    "finetune": "Fine-tuning",
    "fewshot": "Few-shot",
}


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
        "settings": training_settings(config, mode),
        "seeds": seeds,
        "runs": runs,
        "accuracy": mean_std([r["accuracy"] for r in runs]),
        "macro_f1": mean_std([r["macro_f1"] for r in runs]),
        "confusion": confusion.tolist(),
    }
