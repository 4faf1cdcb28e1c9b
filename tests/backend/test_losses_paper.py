"""The paper protocol's triplet loss: the reference's TripletLoss on unnormalised embeddings."""

from __future__ import annotations

import math

import pytest
import torch

from backend.losses import batch_triplet_loss


def reference_triplet(images: torch.Tensor, sounds: torch.Tensor, margin: float = 1.0) -> float:
    """The reference's TripletLoss written out with loops (raw Euclidean distances)."""
    n = len(images)
    d = [[math.dist(images[i].tolist(), sounds[j].tolist()) for j in range(n)] for i in range(n)]
    anchor_sound = sum(max(0.0, d[j][j] - d[i][j] + margin) for i in range(n) for j in range(n))
    anchor_image = sum(max(0.0, d[i][i] - d[i][j] + margin) for i in range(n) for j in range(n))
    return 0.5 * (anchor_sound + anchor_image) / (n * n)


def test_all_pairs_mean_is_the_reference_loss_on_unnormalised_embeddings() -> None:
    g = torch.Generator().manual_seed(0)
    for scale in (0.3, 1.0, 4.0):  # raw embeddings of any norm: nothing is normalised
        images = scale * torch.randn(9, 5, generator=g, dtype=torch.float64)
        sounds = images + 0.7 * scale * torch.randn(9, 5, generator=g, dtype=torch.float64)
        got = batch_triplet_loss(images, sounds, margin=1.0, mean_over="all_pairs")
        assert float(got) == pytest.approx(reference_triplet(images, sounds), rel=1e-5)
    # the loss depends on the embeddings' scale (a unit-sphere loss would not)
    one = batch_triplet_loss(images, sounds, mean_over="all_pairs")
    two = batch_triplet_loss(2 * images, 2 * sounds, mean_over="all_pairs")
    assert float(one) != pytest.approx(float(two), rel=1e-3)


def test_all_pairs_gradient_is_the_triplet_gradient_scaled() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 4, generator=g, requires_grad=True)
    b = torch.randn(6, 4, generator=g, requires_grad=True)
    (grad_all,) = torch.autograd.grad(batch_triplet_loss(a, b, mean_over="all_pairs"), a)
    (grad_neg,) = torch.autograd.grad(batch_triplet_loss(a, b), a)
    assert torch.allclose(grad_all, grad_neg * 5 / 6, atol=1e-6)
    # the diagonal adds exactly the margin / B to each direction
    loss_all = batch_triplet_loss(a, b, margin=1.0, mean_over="all_pairs").detach()
    loss_neg = batch_triplet_loss(a, b, margin=1.0).detach()
    assert float(loss_all) == pytest.approx(float(loss_neg) * 5 / 6 + 1 / 6, rel=1e-5)


def test_unknown_mean_is_refused() -> None:
    with pytest.raises(ValueError, match="mean_over"):
        batch_triplet_loss(torch.zeros(2, 3), torch.zeros(2, 3), mean_over="batch")
