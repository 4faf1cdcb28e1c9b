"""The tile grid: output size, georeferencing, extents and resampling factors."""

from __future__ import annotations

import math

import pytest
from rasterio.crs import CRS
from rasterio.transform import from_origin

from backend.raster.grid import (
    Extent,
    RasterInputError,
    build_grid,
    raster_resolution_m,
    resampling_factors,
)

UTM = CRS.from_epsg(32633)
TRANSFORM = from_origin(389_000.0, 5_820_000.0, 0.5, 0.5)


def test_extent_parse_accepts_commas_and_spaces_and_rejects_nonsense() -> None:
    assert Extent.parse("1,2,3,4") == Extent(1, 2, 3, 4)
    assert Extent.parse("-1.5 2 3e2 4") == Extent(-1.5, 2, 300, 4)
    for bad in ("1,2,3", "a,b,c,d", "3,2,1,4", "1,4,3,2", "1,2,3,nan"):
        with pytest.raises(RasterInputError, match="--extent"):
            Extent.parse(bad)


def test_grid_has_one_output_pixel_per_stride_and_covers_the_raster() -> None:
    grid = build_grid(256, 192, TRANSFORM, UTM, tile=32, stride=16)
    assert (grid.out_width, grid.out_height) == (16, 12)
    assert grid.out_transform == from_origin(389_000.0, 5_820_000.0, 8.0, 8.0)
    assert grid.offset == -8  # the tile is centred on its cell
    # sizes that are not multiples of the stride round up: every pixel is covered
    grid = build_grid(100, 70, TRANSFORM, UTM, tile=32, stride=32)
    assert (grid.out_width, grid.out_height) == (4, 3)


def test_a_raster_smaller_than_a_tile_still_gives_one_pixel() -> None:
    grid = build_grid(20, 12, TRANSFORM, UTM, tile=32, stride=32)
    assert (grid.out_width, grid.out_height) == (1, 1)


def test_extent_snaps_to_raster_pixels_and_is_clipped() -> None:
    extent = Extent(389_010.2, 5_819_950.0, 389_030.0, 5_819_990.1)
    grid = build_grid(256, 192, TRANSFORM, UTM, tile=16, stride=16, extent=extent)
    assert (grid.origin_col, grid.origin_row) == (20.0, 19.0)
    assert grid.out_transform.c == 389_010.0 and grid.out_transform.f == 5_819_990.5
    # half outside: clipped to the raster
    grid = build_grid(
        256, 192, TRANSFORM, UTM, 16, 16, extent=Extent(388_900, 5_819_950, 389_016, 5_820_100)
    )
    assert (grid.origin_col, grid.origin_row) == (0.0, 0.0)
    assert grid.out_width == 2


def test_extent_outside_the_raster_is_a_clear_error() -> None:
    with pytest.raises(RasterInputError, match="outside the raster.*bounds are 389000"):
        build_grid(256, 192, TRANSFORM, UTM, 32, 32, extent=Extent(0, 0, 10, 10))


def test_stride_larger_than_tile_is_refused_unless_gaps_are_allowed() -> None:
    with pytest.raises(RasterInputError, match="--stride 64 is larger than --tile 32"):
        build_grid(256, 192, TRANSFORM, UTM, tile=32, stride=64)
    grid = build_grid(256, 192, TRANSFORM, UTM, tile=32, stride=64, allow_gaps=True)
    assert grid.cell_area == (16, 32)


def test_resolution_in_metres_for_projected_and_geographic_rasters() -> None:
    assert raster_resolution_m(UTM, TRANSFORM, 10, 10) == (0.5, 0.5)
    geographic = from_origin(13.4, 52.52, 1e-5, 1e-5)
    x, y = raster_resolution_m(CRS.from_epsg(4326), geographic, 10, 10)
    assert y == pytest.approx(1.112, rel=1e-3)
    assert x == pytest.approx(y * math.cos(math.radians(52.52)), rel=1e-3)
    assert raster_resolution_m(None, TRANSFORM, 10, 10) is None


def test_resampling_only_when_resolutions_differ_noticeably() -> None:
    assert resampling_factors((0.5, 0.5), 0.51) == (1.0, 1.0)
    assert resampling_factors((0.25, 0.25), 0.5) == (2.0, 2.0)
    assert resampling_factors(None, 0.5) == (1.0, 1.0)
    assert resampling_factors((0.5, 0.5), None) == (1.0, 1.0)


def test_resampled_grid_works_at_the_model_resolution() -> None:
    fine = from_origin(389_000.0, 5_820_000.0, 0.25, 0.25)
    grid = build_grid(256, 192, fine, UTM, tile=32, stride=32, target_resolution_m=0.5)
    assert (grid.scale_x, grid.scale_y) == (2.0, 2.0)
    assert (grid.out_width, grid.out_height) == (4, 3)
    assert grid.out_transform.a == 16.0 and grid.out_transform.e == -16.0
    assert grid.inside_cols == (0, 128)
