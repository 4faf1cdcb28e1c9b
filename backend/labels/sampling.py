"""Samples from labelled features (points as they are, polygons at a density) and their tiles.

Each sample is a position in the raster's CRS with a class; its tile is the
square of a fixed ground size centred on it, read at the raster's resolution or
resampled to another. Samples outside the raster or on nodata are counted and
dropped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.labels.features import LabelledFeature
from backend.progress import Progress, check_cancelled

SKIP_OUTSIDE = "outside the raster"
SKIP_NODATA = "on nodata"

#: default polygon sampling density (samples per km²) and cap per polygon
DEFAULT_DENSITY = 100.0
DEFAULT_CAP = 50


@dataclass
class Samples:
    """Sample positions (raster CRS) with their class values and the feature they came from."""

    x: np.ndarray
    y: np.ndarray
    values: list[str]
    #: index of the feature (in the list given to :func:`sample_features`) of each sample
    feature: np.ndarray
    #: skipped features or samples by reason
    skipped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class RasterFrame:
    """What sampling needs to know of a raster: its bounds and pixel grid."""

    left: float
    bottom: float
    right: float
    top: float
    #: ground units (metres for projected CRSs) per unit of the CRS, at the raster's centre
    metres_per_unit: float

    @classmethod
    def of(cls, src: Any) -> RasterFrame:
        """The frame of an open rasterio dataset."""
        b = src.bounds
        factor = 1.0
        if src.crs is not None and src.crs.is_geographic:
            # degrees: metres along a parallel at the centre latitude (an approximation)
            lat = math.radians((b.bottom + b.top) / 2)
            factor = 111_320.0 * max(0.1, math.cos(lat))
        elif src.crs is not None and src.crs.linear_units_factor:
            factor = float(src.crs.linear_units_factor[1])
        return cls(b.left, b.bottom, b.right, b.top, factor)

    def polygon(self) -> Any:
        """The raster's footprint as an OGR polygon."""
        from osgeo import ogr

        ring = ogr.Geometry(ogr.wkbLinearRing)
        for x, y in (
            (self.left, self.bottom),
            (self.right, self.bottom),
            (self.right, self.top),
            (self.left, self.top),
            (self.left, self.bottom),
        ):
            ring.AddPoint_2D(x, y)
        polygon = ogr.Geometry(ogr.wkbPolygon)
        polygon.AddGeometry(ring)
        return polygon

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each position lies inside the raster."""
        return (x >= self.left) & (x < self.right) & (y > self.bottom) & (y <= self.top)


def _points_in(geometry: Any, count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Up to ``count`` uniform random points inside a polygon (rejection sampling)."""
    from osgeo import ogr

    min_x, max_x, min_y, max_y = geometry.GetEnvelope()
    chosen: list[tuple[float, float]] = []
    point = ogr.Geometry(ogr.wkbPoint)
    for _ in range(50):
        batch = max(16, 4 * (count - len(chosen)))
        xs = rng.uniform(min_x, max_x, batch)
        ys = rng.uniform(min_y, max_y, batch)
        for x, y in zip(xs, ys, strict=True):
            point.SetPoint_2D(0, float(x), float(y))
            if geometry.Contains(point):
                chosen.append((float(x), float(y)))
                if len(chosen) == count:
                    return chosen
    if not chosen:
        inside = geometry.PointOnSurface()
        if inside is not None and not inside.IsEmpty():
            chosen.append((inside.GetX(), inside.GetY()))
    return chosen


def sample_features(
    features: Sequence[LabelledFeature],
    frame: RasterFrame,
    density_per_km2: float = DEFAULT_DENSITY,
    cap_per_polygon: int = DEFAULT_CAP,
    seed: int = 0,
    progress: Progress | None = None,
) -> Samples:
    """Sample positions: one per point, ``density x area`` (1 to ``cap``) per polygon.

    Only the part of a polygon inside the raster is sampled (its area counts from
    that part), so a polygon larger than the raster gives at most ``cap`` samples.
    Points and polygons wholly outside the raster are counted as
    ``"outside the raster"``.
    """
    from osgeo import ogr

    if density_per_km2 <= 0:
        raise ValueError(f"--density must be positive, got {density_per_km2}")
    if cap_per_polygon < 1:
        raise ValueError(f"--max-per-polygon must be at least 1, got {cap_per_polygon}")
    rng = np.random.default_rng(seed)
    footprint = frame.polygon()
    xs: list[float] = []
    ys: list[float] = []
    values: list[str] = []
    origin: list[int] = []
    skipped: Counter = Counter()
    km2_per_unit2 = (frame.metres_per_unit / 1000.0) ** 2
    for index, feature in enumerate(features):
        if index % 256 == 0:
            check_cancelled(progress)
        geometry = ogr.CreateGeometryFromWkb(feature.wkb)
        if feature.kind == "point":
            points = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
            coords = [(p.GetX(), p.GetY()) for p in points] or [(geometry.GetX(), geometry.GetY())]
            inside = [c for c in coords if frame.contains(np.array([c[0]]), np.array([c[1]]))[0]]
            if not inside:
                skipped[SKIP_OUTSIDE] += 1
        else:
            part = geometry.Intersection(footprint) if geometry.IsValid() else None
            if part is None:
                part = geometry.Buffer(0).Intersection(footprint)
            if part is None or part.IsEmpty() or part.GetArea() <= 0:
                skipped[SKIP_OUTSIDE] += 1
                continue
            wanted = round(part.GetArea() * km2_per_unit2 * density_per_km2)
            inside = _points_in(part, int(min(cap_per_polygon, max(1, wanted))), rng)
        for x, y in inside:
            xs.append(x)
            ys.append(y)
            values.append(feature.value)
            origin.append(index)
    return Samples(
        np.asarray(xs, dtype=np.float64),
        np.asarray(ys, dtype=np.float64),
        values,
        np.asarray(origin, dtype=np.int64),
        skipped,
    )


def read_tiles(
    src: Any,
    samples: Samples,
    bands: Sequence[int],
    tile_px: int,
    tile_units: float,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The tile around each sample, and its centre pixel's band values.

    Args:
        src: An open rasterio dataset.
        samples: Positions in its CRS.
        bands: 1-based bands to read.
        tile_px: Tile side in output pixels.
        tile_units: Tile side in CRS units (its ground size); resampled
            (bilinear) when it is not ``tile_px`` source pixels.
        progress: Asked about cancellation.

    Returns:
        ``(tiles [N, T, T, C] float32 with NaN off the raster or on nodata,
        centre values [N, C] float64, valid [N] bool)``; a sample is invalid when
        its centre pixel is nodata or not finite.
    """
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    n, c = len(samples), len(bands)
    tiles = np.full((n, tile_px, tile_px, c), np.nan, dtype=np.float32)
    centres = np.full((n, c), np.nan, dtype=np.float64)
    valid = np.zeros(n, dtype=bool)
    res_x, res_y = abs(src.transform.a), abs(src.transform.e)
    side_x, side_y = tile_units / res_x, tile_units / res_y
    native = abs(side_x - tile_px) < 1e-6 and abs(side_y - tile_px) < 1e-6
    inverse = ~src.transform
    # read in raster row order: neighbouring windows share blocks
    cols = inverse.a * samples.x + inverse.b * samples.y + inverse.c
    rows = inverse.d * samples.x + inverse.e * samples.y + inverse.f
    order = np.lexsort((cols, rows))
    for done, i in enumerate(order):
        if done % 64 == 0:
            check_cancelled(progress)
            if progress is not None:
                progress.progress(done / max(1, n), f"tiles {done}/{n}")
        col, row = float(cols[i]), float(rows[i])
        centre = src.read(
            list(bands), window=Window(math.floor(col), math.floor(row), 1, 1), masked=True
        )
        value = np.ma.filled(centre.astype(np.float64), np.nan)[:, 0, 0]
        if np.ma.getmaskarray(centre).any() or not np.isfinite(value).all():
            continue
        centres[i] = value
        valid[i] = True
        if native:
            window = Window(round(col - tile_px / 2), round(row - tile_px / 2), tile_px, tile_px)
        else:
            window = Window(col - side_x / 2, row - side_y / 2, side_x, side_y)
        inside = (
            window.col_off >= 0
            and window.row_off >= 0
            and window.col_off + window.width <= src.width
            and window.row_off + window.height <= src.height
        )
        data = src.read(
            list(bands),
            window=window,
            out_shape=(c, tile_px, tile_px),
            resampling=Resampling.nearest if native else Resampling.bilinear,
            masked=True,
            boundless=not inside,
            fill_value=0,
        )
        tiles[i] = np.ma.filled(data.astype(np.float32), np.nan).transpose(1, 2, 0)
    return tiles, centres, valid
