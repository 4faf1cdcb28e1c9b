"""Spatially blocked k-fold split: no block of the grid (and no polygon) on both sides.

Samples close together look alike, so a random split overstates accuracy. The
raster is cut into square blocks; blocks joined by a polygon's samples form one
group; whole groups are dealt to ``k`` folds, largest first, each to the fold
where it keeps every class's share closest to even (with labels), or to the
fold with the fewest samples so far (without).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def block_ids(
    x: np.ndarray, y: np.ndarray, block_units: float, origin: tuple[float, float]
) -> np.ndarray:
    """The grid block of each position: ``int64`` ids, equal for positions in one block."""
    if block_units <= 0:
        raise ValueError(f"--block-metres must be positive, got {block_units}")
    bx = np.floor((np.asarray(x) - origin[0]) / block_units).astype(np.int64)
    by = np.floor((origin[1] - np.asarray(y)) / block_units).astype(np.int64)
    return bx * 1_000_003 + by


def _groups(blocks: np.ndarray, features: np.ndarray | None) -> np.ndarray:
    """Group id per sample: blocks linked through a shared feature (polygon) are one group."""
    unique, block_index = np.unique(blocks, return_inverse=True)
    parent = list(range(len(unique)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if features is not None:
        first: dict[int, int] = {}
        for b, f in zip(block_index.tolist(), np.asarray(features).tolist(), strict=True):
            if f in first:
                ra, rb = find(first[f]), find(b)
                if ra != rb:
                    parent[rb] = ra
            else:
                first[f] = b
    roots = np.array([find(i) for i in range(len(unique))], dtype=np.int64)
    return roots[block_index]


def blocked_folds(
    blocks: np.ndarray,
    folds: int,
    seed: int = 0,
    features: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """The fold (0 .. folds-1) of each sample; every block (and feature) lies in one fold.

    Args:
        blocks: Block id per sample (see :func:`block_ids`).
        folds: Number of folds (at least 2).
        seed: Breaks ties between equally large groups.
        features: Optional feature id per sample; a polygon's samples stay together.
        labels: Optional class per sample; folds are then balanced class by class
            (each class spread over the folds as evenly as whole groups allow).

    Raises:
        ValueError: Fewer groups of blocks than folds.
    """
    if folds < 2:
        raise ValueError(f"--folds must be at least 2, got {folds}")
    groups = _groups(np.asarray(blocks), features)
    unique, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if len(unique) < folds:
        raise ValueError(
            f"the samples fall in only {len(unique)} spatial block(s), fewer than --folds "
            f"{folds}; use smaller --block-metres or fewer folds"
        )
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(unique))
    # largest groups first; the shuffle decides among equal sizes
    order = shuffled[np.argsort(-counts[shuffled], kind="stable")]
    if labels is None:
        per_group = counts[:, None].astype(np.float64)
    else:
        classes, label_index = np.unique(np.asarray(labels), return_inverse=True)
        per_group = np.zeros((len(unique), len(classes)))
        np.add.at(per_group, (inverse, label_index), 1.0)
    # each class weighs by its share: a rare class is spread as carefully as a common one
    weight = 1.0 / np.maximum(per_group.sum(0), 1.0)
    load = np.zeros((folds, per_group.shape[1]))
    fold_of_group = np.zeros(len(unique), dtype=np.int64)
    for g in order:
        cost = (((load + per_group[g]) * weight) ** 2).sum(1) - ((load * weight) ** 2).sum(1)
        # ties (e.g. empty folds): the fold with the fewest samples, then the lowest number
        target = int(np.lexsort((np.arange(folds), load.sum(1), np.round(cost, 12)))[0])
        fold_of_group[g] = target
        load[target] += per_group[g]
    return fold_of_group[inverse]


def fold_summary(folds: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> list[dict]:
    """Per fold: its sample count and samples per class (for the report)."""
    out = []
    for k in range(int(folds.max()) + 1 if len(folds) else 0):
        members = labels[folds == k]
        per_class: dict[str, int] = defaultdict(int)
        for c in members.tolist():
            per_class[class_names[c]] += 1
        out.append({"fold": k, "samples": int(len(members)), "per_class": dict(per_class)})
    return out
