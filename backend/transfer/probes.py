"""Frozen-trunk transfer: pooled features, the linear probe (logistic regression) and few-shot."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from backend.models.classifier import SceneClassifier
from backend.progress import Progress
from backend.transfer.datasets import map_images

#: L2 strengths tried for the linear probe (chosen on a held-out part of the training split)
L2_GRID: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
# below this many multiply-adds per evaluation the linear probe runs on one CPU thread
_PARALLEL_WORK = 1 << 24


@torch.no_grad()
def extract_features(
    model: SceneClassifier,
    dataset: torch.utils.data.Dataset,
    device: torch.device,
    batch_size: int = 64,
    workers: int = 0,
    progress: Progress | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled trunk features of every image (frozen trunk, eval mode, float32).

    Returns:
        ``(features [N, F] float32 on the CPU, labels [N] int64)``.
    """
    model.eval().to(device)
    features, labels = map_images(
        lambda images: model.features(images).float().cpu(),
        dataset,
        device,
        batch_size,
        workers,
        progress,
        "features",
    )
    return features, labels.long()


def fit_logistic(
    z: torch.Tensor, y: torch.Tensor, num_classes: int, l2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression: minimise mean cross-entropy + ``l2 x |W|^2``
    (bias not penalised) with full-batch L-BFGS, from zero weights.

    scikit-learn's ``LogisticRegression(C=C)`` is ``l2 = 1 / (2 C N)`` for ``N`` samples.

    Returns:
        ``(weight [K, F], bias [K])`` in ``z``'s dtype and device.
    """
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


def holdout(labels: torch.Tensor, every: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
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
    feature_scale: torch.Tensor | None = None,
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
        feature_scale: Optional ``[F]`` multipliers of the standardised features
            (a feature scaled up is penalised less by the L2 term); e.g. to give a
            block of a few features the same total weight as a block of many.

    Returns:
        ``(weight [K, F], bias [K], l2)`` on the CPU, acting on raw (unstandardised)
        features, so they can be the classifier's ``head``.
    """
    device = torch.device(device)
    x = features.to(device, torch.float64)
    y = labels.to(device).long()
    mean = x.mean(0)
    std = x.std(0, unbiased=False).clamp_min(1e-8)
    if feature_scale is not None:
        std = std / feature_scale.to(device, torch.float64)
    z = (x - mean) / std
    with _threads_for(z.numel() * num_classes, device):
        if l2 is None:
            fit_idx, val_idx = holdout(y.cpu())
            fit_idx, val_idx = fit_idx.to(device), val_idx.to(device)
            best: tuple[float, float, float] | None = None
            if len(val_idx) and len(fit_idx):
                for candidate in L2_GRID:
                    w, b = fit_logistic(z[fit_idx], y[fit_idx], num_classes, candidate)
                    logits = z[val_idx] @ w.T + b
                    accuracy = float((logits.argmax(1) == y[val_idx]).double().mean())
                    loss = float(F.cross_entropy(logits, y[val_idx]))
                    if best is None or (accuracy, -loss) > (best[0], -best[1]):
                        best = (accuracy, loss, candidate)
            l2 = best[2] if best is not None else 1e-3
        weight, bias = fit_logistic(z, y, num_classes, l2)
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


def stratified_shots(
    labels: torch.Tensor | np.ndarray, num_classes: int, shots: int, seed: int
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``shots`` images per class drawn with a generator seeded by ``seed``; the rest.

    A class with fewer images gives all but one (so it is also tested), or its only one.

    Returns:
        ``(chosen indices, other indices, shots used per class)``, both sorted.
    """
    generator = np.random.default_rng(seed)
    labels = np.asarray(labels)
    chosen: list[int] = []
    used: list[int] = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        take = min(shots, max(1, len(members) - 1)) if len(members) else 0
        picked = generator.choice(members, size=take, replace=False) if take else []
        chosen.extend(int(i) for i in picked)
        used.append(take)
    chosen_set = set(chosen)
    rest = [i for i in range(len(labels)) if i not in chosen_set]
    return np.array(sorted(chosen), dtype=np.int64), np.array(rest, dtype=np.int64), used


def nearest_centroid_predict(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    num_classes: int,
) -> torch.Tensor:
    """Nearest class centroid by Euclidean distance on the features as they are
    (scikit-learn's ``NearestCentroid``, the paper's few-shot classifier).

    A class without training images is never predicted.
    """
    train = train_features.double()
    centroids = torch.zeros(num_classes, train.shape[1], dtype=torch.float64)
    available = torch.zeros(num_classes, dtype=torch.bool)
    for c in range(num_classes):
        members = train_labels == c
        if bool(members.any()):
            centroids[c] = train[members].mean(0)
            available[c] = True
    distance = torch.cdist(test_features.double(), centroids)
    distance[:, ~available] = math.inf
    return distance.argmin(1)
