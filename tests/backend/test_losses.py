"""Tests for the batch triplet and InfoNCE losses, against hand-worked values."""

from __future__ import annotations

import math

import pytest
import torch

from backend.losses import batch_triplet_loss, info_nce_loss, pairwise_distances


def brute_force_triplet(a: torch.Tensor, b: torch.Tensor, margin: float) -> float:
    n = a.shape[0]

    def d(i: int, j: int) -> float:
        return math.dist(a[i].tolist(), b[j].tolist())

    a_to_b = [max(0.0, d(i, i) - d(i, j) + margin) for i in range(n) for j in range(n) if j != i]
    b_to_a = [max(0.0, d(j, j) - d(i, j) + margin) for j in range(n) for i in range(n) if i != j]
    return 0.5 * (sum(a_to_b) / len(a_to_b) + sum(b_to_a) / len(b_to_a))


def test_triplet_loss_by_hand() -> None:
    # a0 = (0, 0), a1 = (0, 8); b0 = (3, 4), b1 = (0, 2)
    # d = [[|a0-b0|, |a0-b1|], [|a1-b0|, |a1-b1|]] = [[5, 2], [5, 6]]
    # margin 1, a -> b: row 0 relu(5 - 2 + 1) = 4, row 1 relu(6 - 5 + 1) = 2 -> mean 3
    #           b -> a: col 0 relu(5 - 5 + 1) = 1, col 1 relu(6 - 2 + 1) = 5 -> mean 3
    # loss = (3 + 3) / 2 = 3
    a = torch.tensor([[0.0, 0.0], [0.0, 8.0]])
    b = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert torch.allclose(pairwise_distances(a, b), torch.tensor([[5.0, 2.0], [5.0, 6.0]]))
    assert batch_triplet_loss(a, b, margin=1.0).item() == pytest.approx(3.0)
    # margin 0: a -> b: relu(3) = 3, relu(1) = 1 -> 2; b -> a: relu(0) = 0, relu(4) = 4 -> 2
    assert batch_triplet_loss(a, b, margin=0.0).item() == pytest.approx(2.0)


def test_triplet_loss_matches_brute_force_and_is_symmetric() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    for margin in (0.1, 1.0, 3.0):
        loss = batch_triplet_loss(a, b, margin)
        assert loss.item() == pytest.approx(brute_force_triplet(a, b, margin), rel=1e-5)
        assert loss.item() == pytest.approx(batch_triplet_loss(b, a, margin).item(), rel=1e-6)


def test_aligned_batch_with_far_negatives_has_zero_loss_and_finite_gradients() -> None:
    a = (10.0 * torch.eye(4)).requires_grad_()
    b = (10.0 * torch.eye(4)).requires_grad_()  # d[i, i] = 0 exactly, d[i, j] = 14.1
    loss = batch_triplet_loss(a, b)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_gradients_are_finite_when_a_positive_distance_is_zero() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    b = torch.tensor([[1.0, 0.0], [0.6, 0.8]], requires_grad=True)  # d[0, 0] = 0
    batch_triplet_loss(a, b).backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()
    assert a.grad.abs().sum() > 0


def test_single_pair_gives_zero_loss_connected_to_the_graph() -> None:
    a = torch.ones(1, 3, requires_grad=True)
    loss = batch_triplet_loss(a, torch.zeros(1, 3))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(a.grad, torch.zeros(1, 3))


def test_info_nce_by_hand() -> None:
    # a = b = identity, temperature 1: logits = [[1, 0], [0, 1]]
    # each row/column: -log(e^1 / (e^1 + e^0)) = log(1 + e^-1) = 0.3132617
    a = torch.eye(2)
    assert info_nce_loss(a, a, temperature=1.0).item() == pytest.approx(math.log1p(math.exp(-1)))
    # temperature 0.5 doubles the logits: log(1 + e^-2) = 0.1269280
    assert info_nce_loss(a, a, temperature=0.5).item() == pytest.approx(math.log1p(math.exp(-2)))


def test_info_nce_directions_and_symmetry() -> None:
    # a = [(1, 0), (1, 0)], b = [(1, 0), (0, 1)], temperature 1: logits = [[1, 0], [1, 0]]
    # rows (target 0, 1):    log(1 + e^-1), log(1 + e^1)   -> mean m1
    # columns [[1, 1], [0, 0]] (target 0, 1): log(2), log(2) -> mean log 2
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    rows = 0.5 * (math.log1p(math.exp(-1)) + math.log1p(math.exp(1)))
    expected = 0.5 * (rows + math.log(2))
    assert info_nce_loss(a, b, temperature=1.0).item() == pytest.approx(expected)
    assert info_nce_loss(b, a, 1.0).item() == pytest.approx(expected)
    x = torch.randn(4, 8, requires_grad=True)
    info_nce_loss(x, x.detach().flip(0)).backward()
    assert torch.isfinite(x.grad).all()


def test_shape_errors_are_explained() -> None:
    with pytest.raises(ValueError, match=r"\[2, 3\] and \[2, 4\]"):
        batch_triplet_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="temperature"):
        info_nce_loss(torch.zeros(2, 3), torch.zeros(2, 3), temperature=0.0)
