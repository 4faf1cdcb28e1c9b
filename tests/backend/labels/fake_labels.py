"""Tiny real GeoTIFFs and vector files for the train-from-labels tests (seeded, made with GDAL/OGR).

The raster is in UTM 33N (EPSG:32633) with 10 m pixels. Its land cover is three
vertical stripes: "water" (left), "forest" (middle), "urban" (right); each class
has its own spectrum plus noise, so a pixel's band values identify its class.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

CRS = "EPSG:32633"
LEFT, TOP = 500_000.0, 5_000_000.0
PIXEL_M = 10.0
CLASSES = ("water", "forest", "urban")


def stripe_of(col: np.ndarray, width: int) -> np.ndarray:
    """The class index (0, 1, 2) of a raster column."""
    return np.minimum(2, (col * 3) // width)


def write_raster(
    path: Path,
    width: int = 192,
    height: int = 192,
    bands: int = 4,
    dtype: str = "uint16",
    seed: int = 0,
    nodata_rows: int = 0,
) -> Path:
    """A GeoTIFF whose three stripes have distinct spectra; the last ``nodata_rows`` are nodata."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    cls = stripe_of(np.arange(width), width)[None, :].repeat(height, 0)
    spectra = rng.uniform(0.05, 0.6, size=(3, bands))
    values = spectra[cls].transpose(2, 0, 1) + rng.normal(0, 0.02, size=(bands, height, width))
    if dtype == "uint16":
        data = np.clip(values * 10000, 0, 65535).astype(np.uint16)
        nodata = 0
    elif dtype == "int16":
        data = np.clip(values * 10000 - 1000, -32767, 32767).astype(np.int16)
        nodata = -32768
    elif dtype == "uint8":
        data = np.clip(values * 255, 1, 255).astype(np.uint8)
        nodata = 0
    else:
        data = values.astype(dtype)
        nodata = -9999.0
    if nodata_rows:
        data[:, height - nodata_rows :, :] = nodata
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=bands,
        dtype=dtype,
        crs=CRS,
        transform=from_origin(LEFT, TOP, PIXEL_M, PIXEL_M),
        nodata=nodata,
    ) as dst:
        dst.write(data)
    return path


def pixel_centre(col: float, row: float) -> tuple[float, float]:
    """The UTM position of a pixel centre."""
    return LEFT + (col + 0.5) * PIXEL_M, TOP - (row + 0.5) * PIXEL_M


def to_lonlat(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """UTM 33N -> (lon, lat)."""
    from osgeo import osr

    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(32633)
    dst.ImportFromEPSG(4326)
    for srs in (src, dst):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(src, dst)
    return [transform.TransformPoint(x, y)[:2] for x, y in points]


def write_vector(
    path: Path,
    features: Sequence[tuple[str, object]],
    field_type: str = "string",
    epsg: int = 4326,
    field: str = "class",
) -> Path:
    """Write ``(wkt, value)`` features (value ``None`` = unset) with any OGR driver by suffix."""
    from osgeo import ogr, osr

    drivers = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON"}
    driver = ogr.GetDriverByName(drivers[path.suffix])
    dataset = driver.CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    first = ogr.CreateGeometryFromWkt(features[0][0])
    layer = dataset.CreateLayer("labels", srs, first.GetGeometryType())
    kind = ogr.OFTInteger if field_type == "integer" else ogr.OFTString
    layer.CreateField(ogr.FieldDefn(field, kind))
    for wkt, value in features:
        feature = ogr.Feature(layer.GetLayerDefn())
        if value is not None:
            feature.SetField(field, value)
        feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(feature)
    dataset = None
    return path


def stripe_points(
    width: int, height: int, per_class: int, seed: int = 0, margin: int = 2
) -> list[tuple[float, float, str]]:
    """``per_class`` random pixel-centre positions (UTM) well inside each stripe, with its class."""
    rng = np.random.default_rng(seed)
    out = []
    third = width // 3
    for c, name in enumerate(CLASSES):
        cols = rng.integers(c * third + margin, (c + 1) * third - margin, per_class)
        rows = rng.integers(margin, height - margin, per_class)
        for col, row in zip(cols, rows, strict=True):
            x, y = pixel_centre(col, row)
            out.append((x, y, name))
    return out


def labels_config(tmp_path: Path, raster: Path, labels: Path, **changes):
    """A ``LabelsConfig`` for the stripe scene: field ``class``, blocks of 360 m, 3 folds,
    the model under ``tmp_path/out``; ``changes`` override or add settings."""
    from backend.labels.config import LabelsConfig

    settings = dict(
        raster=str(raster),
        labels=str(labels),
        field="class",
        out=str(tmp_path / "out" / "model.safetensors"),
        block_metres=360.0,
        folds=3,
    )
    settings.update(changes)
    return LabelsConfig(**settings)
