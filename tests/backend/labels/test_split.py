"""The spatially blocked split: no block, and no polygon, on both sides of any fold."""

from __future__ import annotations

import numpy as np
import pytest

from backend.labels.split import block_ids, blocked_folds


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_block_is_on_both_sides(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10_000, 500)
    y = rng.uniform(-10_000, 0, 500)
    blocks = block_ids(x, y, 1000.0, (0.0, 0.0))
    folds = blocked_folds(blocks, 4, seed)
    for block in np.unique(blocks):
        assert len(np.unique(folds[blocks == block])) == 1
    # every fold used, sizes balanced to within the largest block
    sizes = np.bincount(folds, minlength=4)
    assert (sizes > 0).all()
    assert sizes.max() - sizes.min() <= np.bincount(np.unique(blocks, return_inverse=True)[1]).max()
    # positions in one 1 km square share a block; 1 km apart they do not
    assert block_ids(np.array([10.0, 990.0]), np.array([-10.0, -990.0]), 1000.0, (0, 0)).ptp() == 0
    assert block_ids(np.array([10.0, 1010.0]), np.array([-10.0, -10.0]), 1000.0, (0, 0)).ptp() != 0


def test_a_polygon_straddling_blocks_stays_in_one_fold() -> None:
    # samples 0-3 come from one polygon across blocks A and B; block B also holds sample 4
    blocks = np.array([1, 1, 2, 2, 2, 3, 4, 5, 6])
    features = np.array([0, 0, 0, 0, 1, 2, 3, 4, 5])
    folds = blocked_folds(blocks, 3, 0, features)
    assert len(set(folds[:5].tolist())) == 1


def test_too_few_blocks_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="only 2 spatial block"):
        blocked_folds(np.array([1, 1, 2]), 4)


def test_classes_are_spread_over_the_folds() -> None:
    # 12 one-sample blocks: 6 of class 0, 3 of class 1, 3 of class 2
    labels = np.array([0] * 6 + [1] * 3 + [2] * 3)
    folds = blocked_folds(np.arange(12), 3, 0, labels=labels)
    for c in range(3):
        assert (
            np.bincount(folds[labels == c], minlength=3).tolist()
            == [len(labels[labels == c]) // 3] * 3
        )
