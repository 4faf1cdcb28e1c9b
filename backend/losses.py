"""Contrastive losses between paired image and audio embeddings: batch triplet and InfoNCE."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Squared distances below this are treated as this, so sqrt has a finite gradient at 0.
_MIN_SQUARED_DISTANCE = 1e-12


def _check_pairs(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"expected two [B, D] embedding batches of the same shape, got "
            f"{list(a.shape)} and {list(b.shape)}"
        )


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``d[i, j] = ||a_i - b_j||`` in float32, with a safe gradient at 0.

    Args:
        a: ``[N, D]`` embeddings.
        b: ``[M, D]`` embeddings.

    Returns:
        ``[N, M]`` distances.
    """
    # Under autocast the matmul would run in half precision, which ruins the
    # |a|^2 + |b|^2 - 2ab expansion for nearby points.
    with torch.autocast(device_type=a.device.type, enabled=False):
        a = a.float()
        b = b.float()
        squared = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2.0 * (a @ b.T)
        return squared.clamp_min(_MIN_SQUARED_DISTANCE).sqrt()


#: how batch_triplet_loss averages: over the B(B-1) triplets, or as the reference's
#: TripletLoss over all B*B pairs (the positive pair itself adding the constant margin)
TRIPLET_MEANS = ("negatives", "all_pairs")


def batch_triplet_loss(
    a: torch.Tensor, b: torch.Tensor, margin: float = 1.0, mean_over: str = "negatives"
) -> torch.Tensor:
    """The paper's batch triplet loss with all in-batch negatives, in both directions.

    Pair ``(a_i, b_i)`` is positive; every ``b_j`` (``j != i``) is a negative for anchor
    ``a_i``, and every ``a_i`` (``i != j``) for anchor ``b_j``. Each direction averages
    ``relu(d_pos - d_neg + margin)`` over all ``B * (B - 1)`` triplets; the loss is the
    mean of the two directions.

    The embeddings are taken as given: this project's encoders L2-normalise them (so
    the margin is on the unit sphere); the paper protocol's reference encoders do not,
    as in the reference code, where distances and the margin of 1 are in the raw
    embedding space.

    Args:
        a: ``[B, D]`` embeddings (e.g. images).
        b: ``[B, D]`` embeddings (e.g. sounds), ``b[i]`` paired with ``a[i]``.
        margin: Triplet margin.
        mean_over: ``"negatives"`` (the B(B-1) triplets) or ``"all_pairs"``: the
            reference's ``TripletLoss``, which averages over all ``B * B`` pairs, the
            diagonal adding ``margin`` each (a constant: the gradient is that of
            ``"negatives"`` times ``(B - 1) / B``).

    Returns:
        Scalar loss (float32). A batch of one pair has no negatives: the loss is then 0,
        still attached to the graph so every parameter receives a (zero) gradient.
    """
    _check_pairs(a, b)
    if mean_over not in TRIPLET_MEANS:
        raise ValueError(f"mean_over must be one of {TRIPLET_MEANS}, got {mean_over!r}")
    d = pairwise_distances(a, b)
    n = d.shape[0]
    positive = d.diagonal()
    if mean_over == "all_pairs":
        a_to_b = F.relu(positive[:, None] - d + margin).mean()
        b_to_a = F.relu(positive[None, :] - d + margin).mean()
        return 0.5 * (a_to_b + b_to_a)
    if n < 2:
        return d.sum() * 0.0
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=d.device)
    # Rows: anchor a_i, positive d[i, i], negatives d[i, j].
    a_to_b = F.relu(positive[:, None] - d + margin)[off_diagonal].mean()
    # Columns: anchor b_j, positive d[j, j], negatives d[i, j].
    b_to_a = F.relu(positive[None, :] - d + margin)[off_diagonal].mean()
    return 0.5 * (a_to_b + b_to_a)


def info_nce_loss(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Symmetric InfoNCE (CLIP-style) loss of paired embeddings.

    The logits are ``a @ b.T / temperature`` (pass L2-normalised embeddings for cosine
    similarities); the targets are the diagonal. The loss is the mean of the cross-entropy
    over rows (a -> b) and over columns (b -> a).

    Args:
        a: ``[B, D]`` embeddings.
        b: ``[B, D]`` embeddings, ``b[i]`` paired with ``a[i]``.
        temperature: Softmax temperature (> 0).

    Returns:
        Scalar loss (float32).
    """
    _check_pairs(a, b)
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    with torch.autocast(device_type=a.device.type, enabled=False):
        logits = (a.float() @ b.float().T) / temperature
    targets = torch.arange(logits.shape[0], device=logits.device)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))
