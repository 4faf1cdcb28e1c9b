"""Labelled features from any vector file OGR reads, reprojected to a raster's CRS.

GeoPackage, Shapefile, GeoJSON, CSV with x/y columns (and every other OGR
format); points or polygons (multi-parts too); a class field of text or
integers. Features that cannot be used are counted by reason, never raised.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: CSV columns OGR takes as x and y (case-insensitive), in this order
CSV_X_NAMES = ("x", "lon", "long", "longitude", "easting", "X_COORD")
CSV_Y_NAMES = ("y", "lat", "latitude", "northing", "Y_COORD")

#: reasons a feature is skipped, as reported
SKIP_EMPTY_CLASS = "empty class"
SKIP_NO_GEOMETRY = "no geometry"
SKIP_UNSUPPORTED = "not a point or polygon"
SKIP_REPROJECTION = "could not be reprojected"


@dataclass
class LabelledFeature:
    """One usable feature: its class value and its geometry in the raster's CRS."""

    #: OGR feature id
    fid: int
    #: the class field's value, as text (integers without a decimal point)
    value: str
    #: ``"point"`` or ``"polygon"``
    kind: str
    #: the geometry as WKB, in the raster's CRS (points: one or more)
    wkb: bytes


@dataclass
class LabelLayer:
    """What :func:`read_labels` found in a vector file."""

    path: Path
    layer: str
    field: str
    #: the layer's CRS as given (WKT; empty when the file had none)
    source_crs: str
    features: list[LabelledFeature] = field(default_factory=list)
    #: features read (usable or not)
    total: int = 0
    #: skipped features by reason
    skipped: Counter = field(default_factory=Counter)
    #: whether every non-empty class value is an integer
    integer_classes: bool = False


def _ogr() -> Any:
    from osgeo import ogr

    return ogr


def _srs_from_text(text: str) -> Any:
    """An OSR spatial reference from WKT, ``EPSG:n`` or a PROJ string, in x/y order."""
    from osgeo import osr

    srs = osr.SpatialReference()
    if srs.SetFromUserInput(text) != 0:
        raise ValueError(f"not a coordinate reference system: {text!r}")
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _open(path: Path) -> Any:
    from osgeo import gdal

    options: list[str] = []
    if path.suffix.lower() == ".csv":
        options = [
            "X_POSSIBLE_NAMES=" + ",".join(CSV_X_NAMES),
            "Y_POSSIBLE_NAMES=" + ",".join(CSV_Y_NAMES),
            "KEEP_GEOM_COLUMNS=NO",
            "AUTODETECT_TYPE=YES",
        ]
    dataset = gdal.OpenEx(str(path), gdal.OF_VECTOR, open_options=options)
    if dataset is None:
        raise ValueError(f"{path}: not a vector file OGR can read ({gdal.GetLastErrorMsg()})")
    return dataset


def class_text(value: Any) -> str:
    """A class field's value as text: ``3.0`` -> ``"3"``, ``" forest "`` -> ``"forest"``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_labels(
    path: str | os.PathLike,
    field_name: str,
    target_crs: str,
    layer: str | None = None,
    labels_crs: str | None = None,
) -> LabelLayer:
    """Read the labelled points and polygons of a vector file, in the raster's CRS.

    Args:
        path: Any vector file OGR reads; a ``.csv`` needs x/y (or lon/lat,
            easting/northing) columns.
        field_name: The attribute holding the class (text or integer).
        target_crs: The raster's CRS (WKT, ``EPSG:n`` ...).
        layer: The layer to read (default: the first).
        labels_crs: The labels' CRS when the file has none (CSV) or to override it;
            default: the file's own, else the raster's.

    Returns:
        The usable features and the count of skipped ones by reason.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: Not a vector file, no such layer, or no such field (the
            message lists the fields there are).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: labels file not found")
    ogr = _ogr()
    dataset = _open(path)
    source = dataset.GetLayerByName(layer) if layer else dataset.GetLayer(0)
    if source is None:
        names = [dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount())]
        raise ValueError(f"{path}: no layer {layer!r}; the layers are {names}")
    definition = source.GetLayerDefn()
    fields = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
    if field_name not in fields:
        matches = [f for f in fields if f.lower() == field_name.lower()]
        if len(matches) != 1:
            raise ValueError(
                f"{path}: layer {source.GetName()!r} has no field {field_name!r}; "
                f"its fields are {fields}"
            )
        field_name = matches[0]
    index = definition.GetFieldIndex(field_name)
    file_srs = source.GetSpatialRef()
    source_wkt = file_srs.ExportToWkt() if file_srs is not None else ""
    if labels_crs:
        src_srs = _srs_from_text(labels_crs)
    elif file_srs is not None:
        src_srs = file_srs.Clone()
        src_srs.SetAxisMappingStrategy(_traditional_order())
    else:
        src_srs = None
    dst_srs = _srs_from_text(target_crs)
    transform = None
    if src_srs is not None and not src_srs.IsSame(dst_srs):
        from osgeo import osr

        transform = osr.CoordinateTransformation(src_srs, dst_srs)
    result = LabelLayer(path, source.GetName(), field_name, source_wkt)
    integers = True
    source.ResetReading()
    for feature in source:
        result.total += 1
        value = class_text(feature.GetField(index)) if feature.IsFieldSet(index) else ""
        if not value:
            result.skipped[SKIP_EMPTY_CLASS] += 1
            continue
        geometry = feature.GetGeometryRef()
        if geometry is None or geometry.IsEmpty():
            result.skipped[SKIP_NO_GEOMETRY] += 1
            continue
        flat = ogr.GT_Flatten(geometry.GetGeometryType())
        if flat in (ogr.wkbPoint, ogr.wkbMultiPoint):
            kind = "point"
        elif flat in (ogr.wkbPolygon, ogr.wkbMultiPolygon):
            kind = "polygon"
        else:
            result.skipped[SKIP_UNSUPPORTED] += 1
            continue
        geometry = geometry.Clone()
        geometry.FlattenTo2D()
        if transform is not None and geometry.Transform(transform) != 0:
            result.skipped[SKIP_REPROJECTION] += 1
            continue
        try:
            int(value)
        except ValueError:
            integers = False
        result.features.append(
            LabelledFeature(int(feature.GetFID()), value, kind, bytes(geometry.ExportToWkb()))
        )
    result.integer_classes = integers and bool(result.features)
    return result


def _traditional_order() -> int:
    from osgeo import osr

    return osr.OAMS_TRADITIONAL_GIS_ORDER
