"""The tile grid: which pixels each model tile sees, and where each output pixel lies on the map.

The model looks at the raster on a *working grid*: the raster's own pixels, or
the raster resampled to the model's ground resolution when the two differ. The
working grid is cut into square cells of ``stride`` pixels; each cell becomes
one output pixel, computed from the ``tile`` pixel window centred on the cell.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from affine import Affine

log = logging.getLogger(__name__)

#: the raster is resampled only when its resolution differs from the model's by more than this
RESAMPLE_TOLERANCE = 0.05
#: metres per degree of latitude (and of longitude at the equator) on a sphere of Earth's mean radius
METRES_PER_DEGREE = math.pi * 6371008.8 / 180.0
#: a default stride gives at least this many output pixels (when the raster has as many)
MIN_DEFAULT_CELLS = 400
#: the default stride is the tile divided by this (tile 32 -> stride 4) ...
DEFAULT_STRIDE_DIVISOR = 8
#: ... unless the run would then read more tile pixels than this in all (about five
#: minutes of ResNet-18 on two CPU cores); then the stride grows, never past the tile
MAX_DEFAULT_TILE_PIXELS = 2_000_000_000
# snapping tolerance (pixels) when an extent lands a hair beside a pixel edge
_SNAP = 1e-6


class RasterInputError(ValueError):
    """Input that cannot be used as given (bands, extent, tile settings); the message says how to fix it."""


@dataclass(frozen=True)
class Extent:
    """A map rectangle ``xmin, ymin, xmax, ymax`` in some CRS."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @classmethod
    def parse(cls, text: str) -> Extent:
        """Parse ``"xmin,ymin,xmax,ymax"`` (commas or spaces).

        Raises:
            RasterInputError: Not four numbers, or min is not below max.
        """
        parts = [p for p in text.replace(",", " ").split() if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = []
        if len(values) != 4 or not all(math.isfinite(v) for v in values):
            raise RasterInputError(f"--extent {text!r}: expected four numbers xmin,ymin,xmax,ymax")
        extent = cls(*values)
        if not (extent.xmin < extent.xmax and extent.ymin < extent.ymax):
            raise RasterInputError(
                f"--extent {text!r}: xmin must be below xmax and ymin below ymax"
            )
        return extent

    def as_tuple(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)``."""
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def centre(self) -> tuple[float, float]:
        """The centre point ``(x, y)``."""
        return ((self.xmin + self.xmax) / 2, (self.ymin + self.ymax) / 2)


def reproject_extent(extent: Extent, src_crs, dst_crs) -> Extent:
    """``extent`` in ``src_crs`` as the bounding box of its (densified) outline in ``dst_crs``."""
    from rasterio.warp import transform_bounds

    if src_crs is None or dst_crs is None or src_crs == dst_crs:
        return extent
    return Extent(*transform_bounds(src_crs, dst_crs, *extent.as_tuple(), densify_pts=21))


def raster_resolution_m(
    crs, transform: Affine, width: int, height: int
) -> tuple[float, float] | None:
    """Ground metres per pixel ``(x, y)`` of a raster, or None when unknown (no CRS).

    Geographic rasters use the spherical metres per degree at the raster's centre
    latitude, which is close enough to decide whether and how much to resample.
    """
    if crs is None:
        return None
    pixel_x = math.hypot(transform.a, transform.d)
    pixel_y = math.hypot(transform.b, transform.e)
    if crs.is_geographic:
        centre_y = (transform @ (width / 2, height / 2))[1]
        shrink = max(math.cos(math.radians(max(-89.9, min(89.9, centre_y)))), 1e-6)
        return pixel_x * METRES_PER_DEGREE * shrink, pixel_y * METRES_PER_DEGREE
    try:
        unit = float(crs.linear_units_factor[1])
    except Exception:  # CRS without a linear unit (engineering, unknown)
        return None
    return pixel_x * unit, pixel_y * unit


def resampling_factors(
    raster_resolution: tuple[float, float] | None,
    target_resolution: float | None,
    tolerance: float = RESAMPLE_TOLERANCE,
) -> tuple[float, float]:
    """Raster pixels per working pixel ``(x, y)``: 1 when no resampling is needed or possible."""
    if raster_resolution is None or target_resolution is None:
        return 1.0, 1.0
    factors = []
    for res in raster_resolution:
        factor = target_resolution / res
        factors.append(1.0 if abs(factor - 1.0) <= tolerance else factor)
    return factors[0], factors[1]


@dataclass(frozen=True)
class Strip:
    """A run of output rows computed together, and the working pixels they need."""

    #: position in the sequence of strips
    index: int
    #: first output row and number of rows
    out_row: int
    out_rows: int
    #: working-grid rows ``[top, bottom)`` and columns ``[left, right)`` the tiles cover
    #: (may extend past the raster; those pixels are padded)
    top: int
    bottom: int
    left: int
    right: int


@dataclass(frozen=True)
class TileGrid:
    """Output grid over a raster: one output pixel per ``stride`` working pixels.

    Working pixel ``(row, col)`` covers the raster pixels from
    ``(origin_row + row * scale_y, origin_col + col * scale_x)`` over
    ``scale_y x scale_x`` raster pixels (fractions allowed).
    """

    #: raster size and georeferencing
    raster_width: int
    raster_height: int
    raster_transform: Affine
    crs: object | None
    #: raster pixel of working pixel (0, 0)'s top-left corner
    origin_col: float
    origin_row: float
    #: raster pixels per working pixel
    scale_x: float
    scale_y: float
    #: model tile and stride, working pixels
    tile: int
    stride: int
    #: output size
    out_width: int
    out_height: int
    #: working pixels covering the raster (or extent); 0 when not known
    work_width: int = 0
    work_height: int = 0

    @property
    def resampled(self) -> bool:
        """True when working pixels are not raster pixels."""
        return self.scale_x != 1.0 or self.scale_y != 1.0

    @property
    def offset(self) -> int:
        """Tile top-left relative to its cell's top-left (≤ 0: the tile is centred on the cell)."""
        return (self.stride - self.tile) // 2

    @property
    def cell_area(self) -> tuple[int, int]:
        """``(start, size)`` of the pixels inside a cell that decide whether it is nodata.

        The whole cell when tiles overlap or touch; the tile itself when there are gaps.
        """
        return max(0, self.offset), min(self.stride, self.tile)

    @property
    def work_transform(self) -> Affine:
        """Working pixel → map coordinates."""
        return (
            self.raster_transform
            @ Affine.translation(self.origin_col, self.origin_row)
            @ Affine.scale(self.scale_x, self.scale_y)
        )

    @property
    def out_transform(self) -> Affine:
        """Output pixel → map coordinates (pixel size = stride working pixels)."""
        return self.work_transform @ Affine.scale(self.stride, self.stride)

    @property
    def cells(self) -> int:
        """Number of output pixels."""
        return self.out_width * self.out_height

    @property
    def inside_cols(self) -> tuple[int, int]:
        """Working columns ``[lo, hi)`` that lie wholly inside the raster."""
        lo = math.ceil(-self.origin_col / self.scale_x - _SNAP)
        hi = math.floor((self.raster_width - self.origin_col) / self.scale_x + _SNAP)
        return lo, hi

    @property
    def inside_rows(self) -> tuple[int, int]:
        """Working rows ``[lo, hi)`` that lie wholly inside the raster."""
        lo = math.ceil(-self.origin_row / self.scale_y - _SNAP)
        hi = math.floor((self.raster_height - self.origin_row) / self.scale_y + _SNAP)
        return lo, hi

    def strip(self, index: int, out_row: int, out_rows: int) -> Strip:
        """The strip of ``out_rows`` output rows starting at ``out_row``."""
        top = out_row * self.stride + self.offset
        bottom = (out_row + out_rows - 1) * self.stride + self.offset + self.tile
        left = self.offset
        right = (self.out_width - 1) * self.stride + self.offset + self.tile
        return Strip(index, out_row, out_rows, top, bottom, left, right)

    def strips(self, rows_per_strip: int) -> list[Strip]:
        """The strips covering every output row, ``rows_per_strip`` rows each (the last may be shorter)."""
        rows_per_strip = max(1, rows_per_strip)
        return [
            self.strip(i, row, min(rows_per_strip, self.out_height - row))
            for i, row in enumerate(range(0, self.out_height, rows_per_strip))
        ]

    def source_window(self, rows: tuple[int, int], cols: tuple[int, int]):
        """The raster window (fractional where resampled) under working rows and columns."""
        from rasterio.windows import Window

        return Window(
            self.origin_col + cols[0] * self.scale_x,
            self.origin_row + rows[0] * self.scale_y,
            (cols[1] - cols[0]) * self.scale_x,
            (rows[1] - rows[0]) * self.scale_y,
        )

    def describe(self) -> str:
        """One line for logs: size, tile, stride and resampling."""
        text = (
            f"{self.out_width} x {self.out_height} output pixels, tile {self.tile} px, "
            f"stride {self.stride} px"
        )
        if self.resampled:
            text += f", resampled by {1 / self.scale_x:.3g} x {1 / self.scale_y:.3g}"
        return text


def _format_bounds(bounds: Sequence[float]) -> str:
    return ", ".join(f"{v:.10g}" for v in bounds)


def extent_window(
    extent: Extent, transform: Affine, width: int, height: int, crs=None
) -> tuple[int, int, int, int]:
    """Raster pixels ``(col0, row0, col1, row1)`` covering ``extent`` (in the raster's CRS).

    The extent is clipped to the raster and widened to whole pixels.

    Raises:
        RasterInputError: The extent does not overlap the raster.
    """
    from rasterio.transform import array_bounds
    from rasterio.windows import from_bounds

    window = from_bounds(*extent.as_tuple(), transform=transform)
    col0 = max(0, math.floor(window.col_off + _SNAP))
    row0 = max(0, math.floor(window.row_off + _SNAP))
    col1 = min(width, math.ceil(window.col_off + window.width - _SNAP))
    row1 = min(height, math.ceil(window.row_off + window.height - _SNAP))
    if col1 <= col0 or row1 <= row0:
        west, south, east, north = array_bounds(height, width, transform)
        where = f" (in {crs})" if crs is not None else ""
        raise RasterInputError(
            f"the extent {_format_bounds(extent.as_tuple())}{where} lies outside the raster, "
            f"whose bounds are {_format_bounds((west, south, east, north))} "
            "(xmin, ymin, xmax, ymax); give an extent that overlaps it"
        )
    return col0, row0, col1, row1


def default_stride(tile: int, work_width: int, work_height: int) -> int:
    """The stride classification uses when none is given: a map with useful detail.

    About an eighth of the tile (tile 32 -> 4), smaller when the raster would give
    fewer than :data:`MIN_DEFAULT_CELLS` output pixels, larger (up to the tile) when a
    very large raster would take too long.
    """
    area = max(1, work_width) * max(1, work_height)
    stride = max(1, tile // DEFAULT_STRIDE_DIVISOR)
    fastest = math.ceil(math.sqrt(area * tile * tile / MAX_DEFAULT_TILE_PIXELS))
    stride = max(stride, min(fastest, tile))
    finest = max(1, math.floor(math.sqrt(area / MIN_DEFAULT_CELLS)))
    return max(1, min(stride, finest, tile))


def build_grid(
    width: int,
    height: int,
    transform: Affine,
    crs,
    tile: int,
    stride: int | None,
    target_resolution_m: float | None = None,
    extent: Extent | None = None,
    allow_gaps: bool = False,
) -> TileGrid:
    """The tile grid of a raster (or of the part inside ``extent``).

    Args:
        width: Raster width, pixels.
        height: Raster height, pixels.
        transform: Raster pixel → map transform.
        crs: Raster CRS (rasterio ``CRS``) or None for a raster without one.
        tile: Model tile side, working pixels.
        stride: Output pixel side, working pixels (1 ≤ stride ≤ tile); None:
            :func:`default_stride`.
        target_resolution_m: Ground metres per working pixel (the model's); None keeps
            the raster's pixels.
        extent: Optional area in the raster's CRS; the grid starts at its top-left
            raster pixel and covers it.
        allow_gaps: Accept a stride larger than the tile (tiles then sample the raster
            with gaps between them, e.g. to summarise a large extent quickly).

    Returns:
        The grid: ``ceil(size / stride)`` output pixels each way, so a raster smaller
        than one tile still gives one output pixel.

    Raises:
        RasterInputError: Bad tile or stride, or an extent outside the raster.
    """
    if tile < 1 or (stride is not None and stride < 1):
        raise RasterInputError(
            f"tile and stride must be positive, got tile {tile}, stride {stride}"
        )
    if stride is not None and stride > tile and not allow_gaps:
        raise RasterInputError(
            f"--stride {stride} is larger than --tile {tile}: the tiles would leave gaps; "
            "use a stride no larger than the tile"
        )
    if extent is not None:
        col0, row0, col1, row1 = extent_window(extent, transform, width, height, crs)
    else:
        col0, row0, col1, row1 = 0, 0, width, height
    scale_x, scale_y = resampling_factors(
        raster_resolution_m(crs, transform, width, height), target_resolution_m
    )
    work_width = max(1, math.ceil((col1 - col0) / scale_x - _SNAP))
    work_height = max(1, math.ceil((row1 - row0) / scale_y - _SNAP))
    if stride is None:
        stride = default_stride(tile, work_width, work_height)
    return TileGrid(
        raster_width=width,
        raster_height=height,
        raster_transform=transform,
        crs=crs,
        origin_col=float(col0),
        origin_row=float(row0),
        scale_x=scale_x,
        scale_y=scale_y,
        tile=tile,
        stride=stride,
        out_width=math.ceil(work_width / stride),
        out_height=math.ceil(work_height / stride),
        work_width=work_width,
        work_height=work_height,
    )
