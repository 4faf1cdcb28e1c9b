"""Labelled features of a GeoPackage, read with ``sqlite3`` (no OGR or Fiona needed)."""

from __future__ import annotations

import os
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path

from backend.data.real_sources import RealDataError


# (A small frozen record like backend.archive.Member; the two share a shape, not a meaning.)
@dataclass(frozen=True)
class LabelledFeature:
    """A polygon or point with a land-cover label, in its file's CRS."""

    label: str
    #: GeoJSON-like: Point, Polygon or MultiPolygon
    geometry: dict
    crs: str


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parse_wkb(data: bytes, offset: int = 0) -> tuple[dict, int]:
    """One WKB geometry (ISO or EWKB Z/M flags; Points and Polygons and their Multi forms)."""
    order = "<" if data[offset] == 1 else ">"
    (code,) = struct.unpack_from(order + "I", data, offset + 1)
    offset += 5
    has_z, has_m = bool(code & 0x80000000), bool(code & 0x40000000)
    code &= 0x0FFFFFFF
    if code >= 1000:
        has_z, has_m = code // 1000 in (1, 3), code // 1000 in (2, 3)
        code %= 1000
    dims = 2 + has_z + has_m

    def coords(count: int) -> list[list[float]]:
        nonlocal offset
        values = struct.unpack_from(f"{order}{count * dims}d", data, offset)
        offset += 8 * dims * count
        return [list(values[i * dims : i * dims + 2]) for i in range(count)]

    def count() -> int:
        nonlocal offset
        (value,) = struct.unpack_from(order + "I", data, offset)
        offset += 4
        return value

    if code == 1:
        return {"type": "Point", "coordinates": coords(1)[0]}, offset
    if code == 3:
        return {"type": "Polygon", "coordinates": [coords(count()) for _ in range(count())]}, offset
    if code in (4, 6):
        parts = []
        for _ in range(count()):
            part, offset = _parse_wkb(data, offset)
            parts.append(part["coordinates"])
        kind = "MultiPoint" if code == 4 else "MultiPolygon"
        return {"type": kind, "coordinates": parts}, offset
    raise ValueError(f"WKB geometry type {code} is not supported (points and polygons only)")


def _gpkg_wkb(blob: bytes) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (None for an empty geometry)."""
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry (no 'GP' magic)")
    flags = blob[3]
    if flags & 0b10000:
        return None
    envelope = (flags >> 1) & 0b111
    sizes = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
    if envelope not in sizes:
        raise ValueError(f"invalid GeoPackage envelope indicator {envelope}")
    return blob[8 + sizes[envelope] :]


def read_labelled_features(path: str | os.PathLike, label_field: str) -> list[LabelledFeature]:
    """Every feature of a GeoPackage's feature tables with its label, in file order.

    Read with ``sqlite3`` (a GeoPackage is an SQLite file), so no OGR/Fiona is needed.

    Raises:
        RealDataError: not a GeoPackage, no such field, or an unsupported geometry.
    """
    path = Path(path)
    if not path.is_file():
        raise RealDataError(f"{path}: GeoPackage not found")
    features = []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = db.execute(
                "SELECT table_name, column_name, srs_id FROM gpkg_geometry_columns"
            ).fetchall()
            for table, column, srs_id in tables:
                organization, number, definition = db.execute(
                    "SELECT organization, organization_coordsys_id, definition "
                    "FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
                    (srs_id,),
                ).fetchone()
                crs = f"EPSG:{number}" if str(organization).upper() == "EPSG" else definition
                names = [row[1] for row in db.execute(f"PRAGMA table_info({_quote(table)})")]
                if label_field not in names:
                    raise RealDataError(
                        f"{path}: table {table} has no field {label_field!r} "
                        f"(fields: {', '.join(names)})"
                    )
                rows = db.execute(
                    f"SELECT {_quote(label_field)}, {_quote(column)} FROM {_quote(table)} "
                    "ORDER BY rowid"
                )
                for label, blob in rows:
                    wkb = _gpkg_wkb(blob) if blob is not None else None
                    if wkb is None or label is None:
                        continue
                    geometry, _ = _parse_wkb(wkb)
                    features.append(LabelledFeature(str(label), geometry, crs))
    except (sqlite3.Error, ValueError, struct.error, TypeError) as error:
        if isinstance(error, RealDataError):
            raise
        raise RealDataError(f"{path}: cannot read as a GeoPackage ({error})") from None
    return features
