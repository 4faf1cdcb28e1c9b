"""Labelled areas of the real demo's scene, and points sampled inside them, balanced by class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backend.data.geopackage import LabelledFeature
from backend.data.real_sources import REAL_CLASSES, RealDataError

#: labelled points count as a square of this many source pixels a side
POINT_SIDE_PX = 3


@dataclass(frozen=True)
class LabelledRegion:
    """One labelled area in the raster's CRS: a polygon, or a square around a point."""

    class_name: str
    #: rings (exterior and holes of every part), each (n, 2)
    rings: tuple[np.ndarray, ...]
    bounds: tuple[float, float, float, float]
    area: float
    #: a square around a labelled point (not a polygon)
    from_point: bool = False


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Area enclosed by one ring (shoelace formula)."""
    xy = np.asarray(ring, np.float64)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _inside(rings: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test over all rings (holes and parts included)."""
    inside = np.zeros(x.shape, bool)
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
            if ay == by:
                continue
            crosses = (ay > y) != (by > y)
            at = ax + (y - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (x < at)
    return inside


def labelled_regions(
    features: Sequence[LabelledFeature], labels: dict[str, str], crs: object, pixel_m: float
) -> list[LabelledRegion]:
    """The labelled features of known labels as regions in ``crs`` (anything rasterio accepts).

    Points become squares of :data:`POINT_SIDE_PX` pixels of ``pixel_m`` metres.
    """
    from rasterio.warp import transform_geom

    regions = []
    for feature in features:
        class_name = labels.get(feature.label)
        if class_name is None:
            continue
        geometry = transform_geom(feature.crs, crs, feature.geometry)
        kind = geometry["type"]
        if kind in ("Point", "MultiPoint"):
            points = [geometry["coordinates"]] if kind == "Point" else geometry["coordinates"]
            half = POINT_SIDE_PX * pixel_m / 2
            for px, py in points:
                square = np.array(
                    [[px - half, py - half], [px + half, py - half], [px + half, py + half],
                     [px - half, py + half], [px - half, py - half]]
                )  # fmt: skip
                bounds = (px - half, py - half, px + half, py + half)
                regions.append(LabelledRegion(class_name, (square,), bounds, (2 * half) ** 2, True))
            continue
        polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
        rings = tuple(np.asarray(ring, np.float64)[:, :2] for poly in polygons for ring in poly)
        rings = tuple(ring for ring in rings if len(ring) >= 3)
        if not rings:
            continue
        stacked = np.concatenate(rings)
        bounds = (*stacked.min(axis=0), *stacked.max(axis=0))
        # exteriors minus holes
        area = sum(_ring_area(p[0]) - sum(_ring_area(hole) for hole in p[1:]) for p in polygons)
        if area > 0:
            regions.append(LabelledRegion(class_name, rings, tuple(map(float, bounds)), area))
    return regions


def _sample(rng: np.random.Generator, region: LabelledRegion, count: int) -> np.ndarray:
    """``count`` points uniformly inside a region, shaped (count, 2)."""
    xmin, ymin, xmax, ymax = region.bounds
    found: list[np.ndarray] = []
    have = 0
    for _ in range(1000):
        if have >= count:
            break
        draws = max(64, 4 * (count - have))
        x = rng.uniform(xmin, xmax, draws)
        y = rng.uniform(ymin, ymax, draws)
        keep = _inside(region.rings, x, y)
        found.append(np.stack([x[keep], y[keep]], axis=1))
        have += int(keep.sum())
    if have < count:
        raise RealDataError(f"could not sample points inside a {region.class_name} polygon")
    return np.concatenate(found)[:count]


def _allocate(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal counts (the first ones one larger)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def sample_classes(
    regions: Sequence[LabelledRegion], per_class: int, seed: int, stream: int
) -> list[tuple[str, float, float]]:
    """``per_class`` points per class, split equally over the class's regions.

    Each region draws from its own random stream (seed, stream, class, region).
    """
    points = []
    for class_index, class_name in enumerate(REAL_CLASSES):
        own = [(number, r) for number, r in enumerate(regions) if r.class_name == class_name]
        if not own:
            continue
        for (number, region), count in zip(own, _allocate(per_class, len(own)), strict=True):
            if count == 0:
                continue
            rng = np.random.default_rng([seed, stream, class_index, number])
            points += [(class_name, float(x), float(y)) for x, y in _sample(rng, region, count)]
    return points


def supported_pairs_per_class(regions: Sequence[LabelledRegion], pixel_m: float) -> int:
    """Pairs per class the labels support: the labelled source pixels of the smallest class.

    One pair per labelled source pixel: more would repeat nearly the same tile.
    Balanced, so no class dominates training.
    """
    counts = []
    for class_name in REAL_CLASSES:
        area = sum(r.area for r in regions if r.class_name == class_name)
        if area > 0:
            counts.append(max(1, int(area / pixel_m**2)))
    if not counts:
        raise RealDataError("no labelled polygons or points of a known class")
    return min(counts)
