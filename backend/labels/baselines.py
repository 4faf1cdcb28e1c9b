"""The honest baselines a classifier trained from labels is reported against.

Each gives out-of-fold predictions over the same spatially blocked folds as the
classifier: the majority class of the training folds, a linear probe on the
labelled pixel's own band values, and a pixel-wise random forest on them.
"""

from __future__ import annotations

import numpy as np
import torch

from backend.transfer.probes import fit_linear_probe

#: trees of the pixel random forest baseline
FOREST_TREES = 200


def majority_predictions(labels: np.ndarray, folds: np.ndarray, k: int) -> np.ndarray:
    """Out-of-fold predictions of the majority class of each training fold."""
    predicted = np.empty_like(labels)
    for fold in range(k):
        test = folds == fold
        train_labels = labels[~test]
        predicted[test] = np.bincount(train_labels).argmax() if train_labels.size else 0
    return predicted


def pixel_probe_predictions(
    centres: np.ndarray, labels: np.ndarray, folds: np.ndarray, k: int, num_classes: int
) -> np.ndarray:
    """Out-of-fold predictions of the linear probe on the centre pixels' band values alone.

    The hybrid head without the trunk: what the trunk's features add is the
    difference between the two.
    """
    values = torch.as_tensor(centres, dtype=torch.float32)
    target = torch.as_tensor(labels, dtype=torch.int64)
    predicted = np.empty_like(labels)
    for fold in range(k):
        test = folds == fold
        weight, bias, _ = fit_linear_probe(values[~test], target[~test], num_classes)
        predicted[test] = (values[test] @ weight.T + bias).argmax(1).numpy()
    return predicted


def random_forest_predictions(
    centres: np.ndarray, labels: np.ndarray, folds: np.ndarray, k: int, seed: int
) -> np.ndarray:
    """Out-of-fold predictions of a pixel-wise random forest on the centre pixels' band values.

    Raises:
        ValueError: scikit-learn is not installed.
    """
    try:
        from sklearn.ensemble import RandomForestClassifier
    except ImportError as exc:
        raise ValueError(
            "--compare needs scikit-learn for the pixel random forest "
            "(Debian: apt-get install python3-sklearn; pip: pip install scikit-learn)"
        ) from exc
    predicted = np.empty_like(labels)
    for fold in range(k):
        test = folds == fold
        forest = RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed, n_jobs=-1)
        forest.fit(centres[~test], labels[~test])
        predicted[test] = forest.predict(centres[test])
    return predicted
