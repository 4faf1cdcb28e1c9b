"""Classification metrics: overall accuracy, per-class precision/recall/F1, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def classification_metrics(
    y_true: Sequence[int] | torch.Tensor | np.ndarray,
    y_pred: Sequence[int] | torch.Tensor | np.ndarray,
    num_classes: int,
) -> dict[str, Any]:
    """Overall accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix.

    Macro F1 averages the per-class F1 over the classes that occur among the true
    or the predicted labels (as scikit-learn does by default).

    The weighted precision, recall and F1 average the per-class values weighted by
    each class's number of true samples (scikit-learn's ``average="weighted"``, the
    paper's ADVANCE and few-shot figures).

    Returns:
        ``{"accuracy", "macro_f1", "weighted_precision", "weighted_recall",
        "weighted_f1", "per_class_precision", "per_class_recall",
        "per_class_f1", "support", "confusion"}``; ``confusion[i][j]`` counts
        samples of class ``i`` predicted as ``j``; a class never predicted has
        precision 0, one never present recall 0.
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
    precision = np.divide(tp, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(num_classes), where=support > 0)
    weights = support / max(1, support.sum())
    return {
        "accuracy": float(tp.sum() / max(1, t.size)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "weighted_precision": float((weights * precision).sum()),
        "weighted_recall": float((weights * recall).sum()),
        "weighted_f1": float((weights * f1).sum()),
        "per_class_precision": [float(v) for v in precision],
        "per_class_recall": [float(v) for v in recall],
        "per_class_f1": [float(v) for v in f1],
        "support": [int(v) for v in support],
        "confusion": confusion.tolist(),
    }


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single value) of repeated runs."""
    array = np.asarray(values, dtype=np.float64)
    # sample standard deviation over seeds (0 for a single run)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return {"mean": float(array.mean()), "std": std}
