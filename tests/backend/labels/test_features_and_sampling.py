"""Reading labels from real OGR files in another CRS, sampling them, and reading their tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from backend.labels.features import SKIP_EMPTY_CLASS, read_labels
from backend.labels.sampling import (
    SKIP_OUTSIDE,
    RasterFrame,
    read_tiles,
    sample_features,
)
from tests.backend.labels.fake_labels import (
    CRS,
    LEFT,
    PIXEL_M,
    TOP,
    pixel_centre,
    to_lonlat,
    write_raster,
    write_vector,
)


def _frame(raster: Path) -> RasterFrame:
    with rasterio.open(raster) as src:
        return RasterFrame.of(src)


def test_points_in_wgs84_land_on_the_utm_raster(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "r.tif", 64, 64)
    utm = [pixel_centre(5, 7), pixel_centre(40, 60), pixel_centre(63, 0)]
    lonlat = to_lonlat(utm)
    labels = write_vector(
        tmp_path / "p.geojson",
        [(f"POINT ({x} {y})", name) for (x, y), name in zip(lonlat, "abc", strict=True)],
    )
    layer = read_labels(labels, "class", CRS)
    samples = sample_features(layer.features, _frame(raster))
    assert samples.values == ["a", "b", "c"]
    np.testing.assert_allclose(np.c_[samples.x, samples.y], np.array(utm), atol=0.01)


def test_polygon_larger_than_the_raster_is_sampled_inside_it_and_capped(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "r.tif", 64, 64)
    big = [
        (LEFT - 5000, TOP + 5000),
        (LEFT + 9000, TOP + 5000),
        (LEFT + 9000, TOP - 9000),
        (LEFT - 5000, TOP - 9000),
    ]
    ring = ", ".join(f"{x} {y}" for x, y in [*to_lonlat(big), to_lonlat(big[:1])[0]])
    outside = [(LEFT + 20000, TOP), (LEFT + 21000, TOP), (LEFT + 21000, TOP - 1000)]
    ring2 = ", ".join(f"{x} {y}" for x, y in [*to_lonlat(outside), to_lonlat(outside[:1])[0]])
    labels = write_vector(
        tmp_path / "poly.gpkg",
        [(f"POLYGON (({ring}))", "forest"), (f"POLYGON (({ring2}))", "water")],
    )
    layer = read_labels(labels, "class", CRS)
    frame = _frame(raster)
    samples = sample_features(layer.features, frame, density_per_km2=1000, cap_per_polygon=25)
    # the raster is 0.41 km²: 410 samples wanted, capped at 25, all inside the raster
    assert len(samples) == 25
    assert frame.contains(samples.x, samples.y).all()
    assert samples.skipped[SKIP_OUTSIDE] == 1
    # a lower density samples fewer: 0.41 km² x 20 per km² = 8
    fewer = sample_features(layer.features, frame, density_per_km2=20, cap_per_polygon=25)
    assert len(fewer) == 8


def test_empty_class_values_are_counted_not_raised(tmp_path: Path) -> None:
    x, y = pixel_centre(3, 3)
    labels = write_vector(
        tmp_path / "p.shp",
        [(f"POINT ({x} {y})", "water"), (f"POINT ({x} {y})", None), (f"POINT ({x} {y})", "  ")],
        epsg=32633,
    )
    layer = read_labels(labels, "class", CRS)
    assert [f.value for f in layer.features] == ["water"]
    assert layer.total == 3 and layer.skipped[SKIP_EMPTY_CLASS] == 2


def test_integer_classes_from_a_shapefile(tmp_path: Path) -> None:
    points = [pixel_centre(c, 2) for c in (1, 2, 3)]
    labels = write_vector(
        tmp_path / "p.shp",
        [(f"POINT ({x} {y})", v) for (x, y), v in zip(points, (10, 2, 10), strict=True)],
        field_type="integer",
        epsg=32633,
    )
    layer = read_labels(labels, "class", CRS)
    assert layer.integer_classes and [f.value for f in layer.features] == ["10", "2", "10"]


def test_csv_with_lon_lat_columns(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "r.tif", 64, 64)
    (lon, lat), (lon2, lat2) = to_lonlat([pixel_centre(10, 10), pixel_centre(50, 20)])
    csv = tmp_path / "survey.csv"
    csv.write_text(
        f"id,lon,lat,cover\n1,{lon},{lat},water\n2,{lon2},{lat2},urban\n3,{lon},{lat},\n"
    )
    layer = read_labels(csv, "cover", CRS, labels_crs="EPSG:4326")
    samples = sample_features(layer.features, _frame(raster))
    assert samples.values == ["water", "urban"] and layer.skipped[SKIP_EMPTY_CLASS] == 1
    np.testing.assert_allclose(samples.x, [LEFT + 10.5 * PIXEL_M, LEFT + 50.5 * PIXEL_M], atol=0.01)


def test_unknown_field_names_the_fields_there_are(tmp_path: Path) -> None:
    x, y = pixel_centre(3, 3)
    labels = write_vector(tmp_path / "p.gpkg", [(f"POINT ({x} {y})", "water")], epsg=32633)
    with pytest.raises(ValueError, match=r"no field 'landcover'.*\['class'\]"):
        read_labels(labels, "landcover", CRS)
    with pytest.raises(FileNotFoundError, match="nothing.gpkg"):
        read_labels(tmp_path / "nothing.gpkg", "class", CRS)


@pytest.mark.parametrize(("dtype", "bands"), [("uint16", 4), ("float32", 6)])
def test_tiles_at_edges_and_on_nodata(tmp_path: Path, dtype: str, bands: int) -> None:
    raster = write_raster(tmp_path / "r.tif", 64, 64, bands=bands, dtype=dtype, nodata_rows=8)
    points = [pixel_centre(32, 20), pixel_centre(0, 0), pixel_centre(32, 62)]
    labels = write_vector(
        tmp_path / "p.gpkg", [(f"POINT ({x} {y})", "a") for x, y in points], epsg=32633
    )
    layer = read_labels(labels, "class", CRS)
    with rasterio.open(raster) as src:
        samples = sample_features(layer.features, RasterFrame.of(src))
        tiles, centres, valid = read_tiles(src, samples, list(range(1, bands + 1)), 16, 160.0)
        expected = src.read(window=((12, 28), (24, 40))).transpose(1, 2, 0).astype(np.float32)
        centre = src.read(window=((20, 21), (32, 33)))[:, 0, 0]
    assert tiles.shape == (3, 16, 16, bands)
    # the centred tile is the raster's pixels exactly; the corner tile is padded off the raster
    np.testing.assert_array_equal(tiles[0], expected)
    np.testing.assert_allclose(centres[0], centre)
    assert np.isnan(tiles[1, :8, :8]).all() and np.isfinite(tiles[1, 8:, 8:]).all()
    assert valid.tolist() == [True, True, False]
    # resampled to 20 m pixels: the same ground, half the pixels
    with rasterio.open(raster) as src:
        half, _, _ = read_tiles(src, samples, [1], 8, 160.0)
    assert half.shape == (3, 8, 8, 1)
    assert abs(float(half[0].mean()) - float(expected[..., 0].mean())) < 0.05 * abs(
        float(expected[..., 0].mean())
    )
