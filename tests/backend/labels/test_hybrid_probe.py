"""The linear probe's block balancing, which a hybrid head's few band values rely on."""

from __future__ import annotations

import torch

from backend.transfer.probes import fit_linear_probe


def _data(seed: int, n: int = 400, noise_features: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """Many uninformative features, then one feature that gives the class away."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=generator)
    noise = torch.randn(n, noise_features, generator=generator)
    signal = labels.float()[:, None] * 2.0 + 0.5 * torch.randn(n, 1, generator=generator)
    return torch.cat([noise, signal], 1), labels


def test_scaling_a_block_up_lets_the_probe_use_it_under_a_strong_penalty() -> None:
    features, labels = _data(0)
    test_features, test_labels = _data(1)
    scale = torch.ones(features.shape[1], dtype=torch.float64)
    scale[-1] = (features.shape[1] - 1) ** 0.5  # the one-feature block weighs as much as the rest

    def accuracy(weight: torch.Tensor, bias: torch.Tensor) -> float:
        return float(((test_features @ weight.T + bias).argmax(1) == test_labels).float().mean())

    plain = accuracy(*fit_linear_probe(features, labels, 2, l2=1.0)[:2])
    balanced = accuracy(*fit_linear_probe(features, labels, 2, l2=1.0, feature_scale=scale)[:2])
    # the weights act on raw features either way; the balanced block survives the penalty
    # (measured on data seeds 0-7: plain 0.85-0.88, balanced 0.98-0.99)
    assert balanced > 0.9 and balanced > plain + 0.05
    unit = torch.ones_like(scale)
    same = fit_linear_probe(features, labels, 2, l2=1e-2, feature_scale=unit)
    assert torch.allclose(same[0], fit_linear_probe(features, labels, 2, l2=1e-2)[0], atol=1e-6)
