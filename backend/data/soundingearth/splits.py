"""Train, validation and test splits of the recordings: the paper's (by key) or by place."""

from __future__ import annotations

import collections
import math
import random
from collections.abc import Iterable, Sequence

import numpy as np

from backend.data.soundingearth.metadata import Recording

#: split names
SPLITS = ("train", "val", "test")
_KM_PER_DEGREE = 111.32


def reference_split(key: int) -> str:
    """The paper's split of a recording: ``key % 10`` 7 is "val", 2 and 5 are "test", else "train"."""
    remainder = key % 10
    if remainder == 7:
        return "val"
    if remainder in (2, 5):
        return "test"
    return "train"


def _grid_cell(longitude: float, latitude: float, cell_km: float) -> tuple[int, int]:
    """An approximately equal-area cell: latitude bands, longitude steps widened by 1/cos(lat)."""
    band_degrees = cell_km / _KM_PER_DEGREE
    band = math.floor((latitude + 90.0) / band_degrees)
    centre = min(90.0, -90.0 + (band + 0.5) * band_degrees)
    shrink = max(math.cos(math.radians(centre)), 1e-6)
    step = min(360.0, band_degrees / shrink)
    wrapped = (longitude + 180.0) % 360.0  # 180 and -180 are the same meridian
    return band, math.floor(wrapped / step)


def geographic_split(
    recordings: Iterable[Recording],
    cell_km: float,
    seed: int = 0,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
) -> dict[int, str]:
    """Split recordings by place: whole grid cells go to one split.

    The cells (about ``cell_km`` by ``cell_km``) are shuffled with ``seed`` and
    filled into train, val and test in that order until each holds about its
    fraction of the recordings, so nearby recordings never straddle splits.

    Args:
        recordings: the recordings to split.
        cell_km: cell side in kilometres.
        seed: shuffle seed; the same inputs and seed give the same split.
        fractions: target shares of train, val and test.

    Returns:
        ``{key: "train" | "val" | "test"}``.
    """
    if not cell_km > 0:
        raise ValueError(f"cell_km must be positive, got {cell_km}")
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative shares, got {tuple(fractions)}")
    cells: dict[tuple[int, int], list[int]] = collections.defaultdict(list)
    for recording in recordings:
        cells[_grid_cell(recording.longitude, recording.latitude, cell_km)].append(recording.key)
    order = sorted(cells)
    random.Random(seed).shuffle(order)
    total = sum(len(keys) for keys in cells.values())
    scale = sum(fractions)
    bounds = np.cumsum([f / scale for f in fractions])
    assignment: dict[int, str] = {}
    placed = 0
    for cell in order:
        keys = cells[cell]
        # a cell goes where its midpoint falls along the cumulative fractions
        midpoint = (placed + len(keys) / 2) / total
        index = min(int(np.searchsorted(bounds, midpoint, side="right")), len(SPLITS) - 1)
        for key in keys:
            assignment[key] = SPLITS[index]
        placed += len(keys)
    return assignment
