"""How the demo's outputs compare with the ground truth it knows: chance levels, map accuracy.

The demo data carries its hidden classes (``labels.csv``, ``scene_labels.tif``),
so the pipeline can say how good each output is: retrieval against chance,
the class map against the true classes on the same grid, the sound map per
true class.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backend.metrics import DEFAULT_KS, PAPER_KS, bidirectional_metrics

#: nodata of class rasters (ground truth and predictions)
CLASS_NODATA = 255


def chance_retrieval(
    lonlat: np.ndarray,
    ks: Sequence[int] = DEFAULT_KS,
    draws: int = 20,
    seed: int = 0,
    paper_ks: Sequence[int] = PAPER_KS,
) -> dict[str, dict[str, dict[str, float]]]:
    """Retrieval figures of a model that ranks at random, for a gallery of ``len(lonlat)``.

    Top-k convention: ``R@k`` is exactly ``k / N`` and the median rank ``(N + 1) / 2``;
    ``D@k`` (which depends on where the recordings are) is the mean over ``draws``
    random embeddings. Paper convention (ranks 1..N, ``R@k`` = rank < k): ``R@k`` is
    ``(k - 1) / N`` and the median rank ``(N + 1) / 2``.

    Returns:
        ``{"topk": {"image_to_sound": {...}, "sound_to_image": {...}}, "paper": {...}}``,
        like the sections of :func:`backend.evaluate.retrieval_report`.
    """
    n = len(lonlat)
    rng = np.random.default_rng(seed)
    distances: dict[str, list[float]] = {}
    for _ in range(draws):
        images = rng.standard_normal((n, 16))
        sounds = rng.standard_normal((n, 16))
        drawn = bidirectional_metrics(images, sounds, lonlat, ks=ks)["image_to_sound"]
        for key, value in drawn.items():
            if key.startswith("D@"):
                distances.setdefault(key, []).append(value)
    chance = {f"R@{k}": min(1.0, k / n) for k in ks}
    chance["median_rank"] = (n + 1) / 2
    chance.update({key: float(np.mean(values)) for key, values in distances.items()})
    paper = {f"R@{k}": min(1.0, (k - 1) / n) for k in paper_ks}
    paper["median_rank"] = (n + 1) / 2
    return {
        "topk": {"image_to_sound": dict(chance), "sound_to_image": dict(chance)},
        "paper": {"image_to_sound": dict(paper), "sound_to_image": dict(paper)},
    }


def raster_class_names(path: str | os.PathLike) -> list[str]:
    """The class names a class raster carries in its ``CLASS_NAMES`` tag."""
    import rasterio

    with rasterio.open(path) as dataset:
        text = dataset.tags().get("CLASS_NAMES")
    if not text:
        raise ValueError(f"{path}: no CLASS_NAMES tag: not a class raster")
    return list(json.loads(text))


def labels_on_grid(
    labels_tif: str | os.PathLike, shape: tuple[int, int], transform, crs
) -> np.ndarray:
    """The ground-truth class of every cell of a grid: the most common label inside it.

    Args:
        labels_tif: the class raster (uint8, nodata 255).
        shape: ``(rows, cols)`` of the grid.
        transform: the grid's affine transform.
        crs: the grid's CRS.

    Returns:
        uint8 ``[rows, cols]`` label indices (255 where the cell holds no label).
    """
    import rasterio
    from rasterio.warp import Resampling, reproject

    truth = np.full(shape, CLASS_NODATA, np.uint8)
    with rasterio.open(labels_tif) as src:
        # (a keyword call shaped like extent_query's embed_extent call; nothing shared)
        reproject(
            source=rasterio.band(src, 1),
            destination=truth,
            src_nodata=CLASS_NODATA,
            dst_transform=transform,
            dst_crs=crs,
            dst_nodata=CLASS_NODATA,
            resampling=Resampling.mode,
        )
    return truth


def class_map_accuracy(
    classes_tif: str | os.PathLike, labels_tif: str | os.PathLike, label_names: Sequence[str]
) -> dict[str, Any]:
    """Overall and per-class accuracy of a class map against the ground truth, cell by cell.

    Every output cell of ``classes_tif`` is compared with the majority ground-truth
    label of the pixels it covers. Classes are matched by name, so the two rasters
    may number them differently.

    Returns:
        ``overall_accuracy``, ``cells`` compared, ``per_class`` (name → ``accuracy``,
        the share of that class's cells labelled correctly, and ``cells``),
        ``majority_baseline`` (the accuracy of always answering the most common
        class), ``confusion`` (rows true, columns predicted, in ``class_names``
        order) and ``class_names``.
    """
    import rasterio

    names = raster_class_names(classes_tif)
    with rasterio.open(classes_tif) as dataset:
        predicted = dataset.read(1)
        truth = labels_on_grid(labels_tif, predicted.shape, dataset.transform, dataset.crs)
    position = {name: i for i, name in enumerate(names)}
    # ground-truth index -> classifier index (-1: a class the classifier does not know)
    lookup = np.full(256, -1, np.int64)
    for index, name in enumerate(label_names):
        lookup[index] = position.get(name, -1)
    true_index = lookup[truth]
    valid = (truth != CLASS_NODATA) & (predicted != CLASS_NODATA) & (true_index >= 0)
    t = true_index[valid]
    p = predicted[valid].astype(np.int64)
    k = len(names)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (t, p), 1)
    cells = int(valid.sum())
    per_class = {}
    for i, name in enumerate(names):
        count = int(confusion[i].sum())
        if count:
            per_class[name] = {"accuracy": float(confusion[i, i] / count), "cells": count}
    return {
        "overall_accuracy": float(np.trace(confusion) / cells) if cells else float("nan"),
        "cells": cells,
        "per_class": per_class,
        "majority_baseline": float(confusion.sum(1).max() / cells) if cells else float("nan"),
        "confusion": confusion.tolist(),
        "class_names": names,
    }


def similarity_by_class(
    soundmap_tif: str | os.PathLike, labels_tif: str | os.PathLike, label_names: Sequence[str]
) -> dict[str, float]:
    """Mean similarity of the sound map over the cells of each ground-truth class."""
    import rasterio

    with rasterio.open(soundmap_tif) as dataset:
        values = dataset.read(1)
        truth = labels_on_grid(labels_tif, values.shape, dataset.transform, dataset.crs)
    means = {}
    for index, name in enumerate(label_names):
        chosen = (truth == index) & np.isfinite(values)
        if chosen.any():
            means[name] = float(values[chosen].mean())
    return means


def purest_window(
    labels_tif: str | os.PathLike,
    label_names: Sequence[str],
    side_m: float,
    prefer: Sequence[str] = ("water",),
    min_share: float = 0.9,
) -> dict[str, Any]:
    """A square extent of ``side_m`` metres that one ground-truth class dominates.

    The first class of ``prefer`` that fills at least ``min_share`` of some window
    is chosen; otherwise the class with the purest window. Windows are searched
    on a grid of an eighth of their side.

    Returns:
        ``extent`` (xmin, ymin, xmax, ymax in the raster's CRS), ``crs``, ``class``
        and ``share`` (the fraction of the extent's pixels of that class).
    """
    import rasterio
    from affine import Affine
    from rasterio.transform import array_bounds

    with rasterio.open(labels_tif) as dataset:
        labels = dataset.read(1)
        transform = dataset.transform
        crs = dataset.crs
    pixel_m = abs(transform.a)
    height, width = labels.shape
    side = max(1, min(height, width, int(round(side_m / pixel_m))))
    step = max(1, side // 8)
    best: dict[str, tuple[float, int, int]] = {}
    for index, name in enumerate(label_names):
        mask = (labels == index).astype(np.int64)
        if not mask.any():
            continue
        integral = np.zeros((height + 1, width + 1), np.int64)
        integral[1:, 1:] = mask.cumsum(0).cumsum(1)
        rows = np.arange(0, height - side + 1, step)
        cols = np.arange(0, width - side + 1, step)
        r, c = np.meshgrid(rows, cols, indexing="ij")
        counts = (
            integral[r + side, c + side] - integral[r, c + side] - integral[r + side, c]
        ) + integral[r, c]
        at = np.unravel_index(int(np.argmax(counts)), counts.shape)
        best[name] = (float(counts[at]) / side**2, int(r[at]), int(c[at]))
    if not best:
        raise ValueError(f"{labels_tif}: no labelled pixels")
    chosen = next((n for n in prefer if n in best and best[n][0] >= min_share), None)
    if chosen is None:
        chosen = max(best, key=lambda n: best[n][0])
    share, row, col = best[chosen]
    window_transform = transform @ Affine.translation(col, row)
    south_north = array_bounds(side, side, window_transform)
    return {
        "extent": [float(v) for v in south_north],
        "crs": str(crs) if crs is not None else None,
        "class": chosen,
        "share": share,
        "pixels": [col, row, side, side],
    }


def read_class_list(classes_json: str | os.PathLike) -> tuple[list[str], dict[str, str]]:
    """Class names (in label order) and their colours from a demo's ``classes.json``."""
    info = json.loads(Path(classes_json).read_text(encoding="utf-8"))
    names = list(info["classes"])
    colours = dict(info.get("colors") or {})
    return names, colours
