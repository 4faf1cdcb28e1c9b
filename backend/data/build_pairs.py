"""Build image/sound pairs in the SoundingEarth layout from a raster and geotagged recordings.

For every point (a CSV with longitude/latitude columns, or a GeoJSON
FeatureCollection of points) that names an audio file, crop a square tile of the
raster centred on the point, and write the tile, a copy of the recording and a
row of metadata.csv, so the result trains and evaluates exactly like
SoundingEarth.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.atomic import atomic_path, staged_folder
from backend.data.skipped import write_skipped_csv
from backend.data.soundingearth import AUDIO_EXTENSIONS, DESCRIPTION_COLUMNS, METADATA_COLUMNS
from backend.progress import Progress, check_cancelled

#: column names (case-insensitive) accepted for the points' longitude and latitude, by preference
LONGITUDE_NAMES = ("longitude", "lon", "lng", "long", "x")
LATITUDE_NAMES = ("latitude", "lat", "y")
#: attribute names (case-insensitive) read as the recording's altitude
ALTITUDE_NAMES = ("altitude", "alt", "elevation", "z")
#: metadata columns copied from same-named point attributes when present
COPIED_COLUMNS = ("long_key", *DESCRIPTION_COLUMNS)
# skip reasons
OUTSIDE = "outside the raster"
MISSING_AUDIO = "missing audio file"
UNREADABLE_AUDIO = "unreadable audio file"
UNREADABLE_RASTER = "unreadable raster area"
_JPEG_QUALITY = 95
# longest side of the decimated read that estimates the contrast stretch
_STRETCH_SAMPLE_PX = 1024
_METRES_PER_DEGREE_LAT = 110_574.0
_METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
_CRS84_NAMES = ("urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:epsg::4326", "epsg:4326", "crs84")


# --------------------------------------------------------------------------- output helpers


def write_dataset_info(
    folder: str | os.PathLike, tile_resolution_m: float, tile_px: int, **extra: object
) -> Path:
    """``dataset.json`` beside ``metadata.csv``: the tiles' ground metres per pixel and size.

    Pretraining copies the resolution into the model file, so the raster engine
    later resamples imagery to the scale the model learned from.
    """
    path = Path(folder) / "dataset.json"
    info = {"tile_resolution_m": float(tile_resolution_m), "tile_px": int(tile_px), **extra}
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return path


def write_metadata_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, object]]) -> None:
    """Write a SoundingEarth metadata.csv (all 18 columns, in order), atomically.

    Args:
        path: the CSV file to write.
        rows: one mapping per recording; missing columns are written empty.

    Raises:
        ValueError: a row has a column that is not a metadata column.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=METADATA_COLUMNS, lineterminator="\n")
            writer.writeheader()
            for number, row in enumerate(rows, start=1):
                extra = sorted(set(row) - set(METADATA_COLUMNS))
                if extra:
                    raise ValueError(
                        f"metadata row {number} has columns that are not metadata columns: "
                        f"{', '.join(extra)} (expected only {', '.join(METADATA_COLUMNS)})"
                    )
                writer.writerow(row)


# --------------------------------------------------------------------------- points


@dataclass(frozen=True)
class Point:
    """One geotagged recording read from the points file."""

    #: 1-based number of the data row (CSV) or feature (GeoJSON)
    row: int
    longitude: float
    latitude: float
    #: every attribute of the row/feature as text (None and missing read as "")
    attributes: dict[str, str] = field(default_factory=dict)
    #: the third GeoJSON coordinate, if any
    altitude: float | None = None


def _find_name(fields: Iterable[str], candidates: Iterable[str]) -> str | None:
    """The first field equal (case-insensitively) to a candidate, in candidate order."""
    by_lower = {}
    for name in fields:
        by_lower.setdefault(name.strip().lower(), name)
    for candidate in candidates:
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None


def _coordinate(text: object, name: str, low: float, high: float, where: str) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(
            f"{where}: {name} {text!r} is outside [{low:g}, {high:g}] "
            "(points must be in longitude/latitude degrees, EPSG:4326)"
        )
    return value


def _read_csv_points(path: Path) -> tuple[list[Point], list[str]]:
    from backend.data.soundingearth.metadata import MAX_FIELD_BYTES

    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_BYTES))
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [name for name in (reader.fieldnames or []) if name is not None]
        if not fields:
            raise ValueError(f"{path}: the file is empty (expected a header line)")
        lon_name = _find_name(fields, LONGITUDE_NAMES)
        lat_name = _find_name(fields, LATITUDE_NAMES)
        if lon_name is None or lat_name is None:
            raise ValueError(
                f"{path}: no longitude/latitude columns (expected one of "
                f"{', '.join(LONGITUDE_NAMES)} and one of {', '.join(LATITUDE_NAMES)}, "
                f"case-insensitive); the columns are: {', '.join(fields)}"
            )
        points = []
        for number, record in enumerate(reader, start=1):
            if not any(
                (value or "").strip() for value in record.values() if isinstance(value, str)
            ):
                continue  # blank line
            where = f"{path} row {number} (line {reader.line_num})"
            lon = _coordinate((record[lon_name] or "").strip(), lon_name, -180, 180, where)
            lat = _coordinate((record[lat_name] or "").strip(), lat_name, -90, 90, where)
            attributes = {name: (record.get(name) or "") for name in fields}
            points.append(Point(number, lon, lat, attributes))
    return points, fields


def _geojson_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _read_geojson_points(path: Path) -> tuple[list[Point], list[str]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a GeoJSON FeatureCollection object")
    crs = document.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name", "")).lower()
        if name and name not in _CRS84_NAMES:
            raise ValueError(
                f"{path}: the GeoJSON CRS is {name!r}; points must be in longitude/latitude "
                "(CRS84 / EPSG:4326) as RFC 7946 requires"
            )
    if document.get("type") == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise ValueError(f"{path}: the FeatureCollection has no 'features' list")
    elif document.get("type") == "Feature":
        features = [document]
    else:
        raise ValueError(
            f"{path}: expected a GeoJSON FeatureCollection, got type {document.get('type')!r}"
        )
    fields: dict[str, None] = {}
    points = []
    for number, feature in enumerate(features, start=1):
        where = f"{path} feature {number}"
        if not isinstance(feature, dict):
            raise ValueError(f"{where}: expected a Feature object")
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            raise ValueError(f"{where}: has no geometry (expected a Point)")
        if geometry.get("type") != "Point":
            raise ValueError(f"{where}: the geometry is a {geometry.get('type')}, expected a Point")
        coordinates = geometry.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            raise ValueError(f"{where}: coordinates {coordinates!r} are not [longitude, latitude]")
        lon = _coordinate(coordinates[0], "longitude", -180, 180, where)
        lat = _coordinate(coordinates[1], "latitude", -90, 90, where)
        altitude = None
        if len(coordinates) > 2 and isinstance(coordinates[2], int | float):
            altitude = float(coordinates[2])
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise ValueError(f"{where}: properties must be an object")
        fields.update(dict.fromkeys(properties))
        attributes = {str(k): _geojson_text(v) for k, v in properties.items()}
        points.append(Point(number, lon, lat, attributes, altitude))
    for point in points:
        for name in fields:
            point.attributes.setdefault(name, "")
    return points, list(fields)


def read_points(path: str | os.PathLike) -> tuple[list[Point], list[str]]:
    """Read geotagged points from a CSV or GeoJSON file.

    CSV: a header line; longitude and latitude (EPSG:4326) in columns named
    longitude/lon/lng/long/x and latitude/lat/y (case-insensitive). GeoJSON
    (``.geojson``/``.json``): a FeatureCollection of Points in CRS84.

    Args:
        path: the points file.

    Returns:
        The points in file order, and the attribute field names.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: no coordinate columns, a row with a bad coordinate (the
            message names the row), or a geometry that is not a point.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: points file not found")
    with open(path, "rb") as handle:
        start = handle.read(4096)
    if b"\0" in start:
        raise ValueError(
            f"{path}: not a points file (binary content); build-pairs reads CSV with "
            "longitude/latitude columns or GeoJSON; export a GeoPackage or shapefile to one first"
        )
    if path.suffix.lower() in (".geojson", ".json"):
        return _read_geojson_points(path)
    return _read_csv_points(path)


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class SkippedPoint:
    """A point that produced no pair, and why."""

    #: 1-based data row (CSV) or feature number (GeoJSON)
    row: int
    key: int
    #: OUTSIDE, MISSING_AUDIO or UNREADABLE_AUDIO
    reason: str
    #: what exactly (a path, an error message)
    detail: str


# (counters shaped like backend.raster.engine.TileStats; the two count different things)
@dataclass
class BuildReport:
    """What :func:`build_pairs` wrote and skipped."""

    #: the output folder (SoundingEarth layout)
    out: Path
    written: int = 0
    outside: int = 0
    missing_audio: int = 0
    unreadable_audio: int = 0
    unreadable_raster: int = 0
    skipped: list[SkippedPoint] = field(default_factory=list)

    def summary(self) -> str:
        """One line, e.g. ``wrote 40 pairs; skipped 3 points outside the raster, 1 missing audio file``."""
        head = f"wrote {self.written} pair{'' if self.written == 1 else 's'}"
        parts = self.skip_counts()
        return f"{head}; skipped {', '.join(parts)}" if parts else head

    def skip_counts(self) -> list[str]:
        """The non-zero skip counts in words, e.g. ``["3 points outside the raster"]``."""
        parts = []
        if self.outside:
            parts.append(f"{self.outside} point{'' if self.outside == 1 else 's'} {OUTSIDE}")
        for count, reason in (
            (self.missing_audio, MISSING_AUDIO),
            (self.unreadable_audio, UNREADABLE_AUDIO),
            (self.unreadable_raster, UNREADABLE_RASTER),
        ):
            if count:
                parts.append(f"{count} {reason}{'' if count == 1 else 's'}")
        return parts

    def _skip(self, point: Point, key: int, reason: str, detail: str) -> None:
        self.skipped.append(SkippedPoint(point.row, key, reason, detail))
        if reason == OUTSIDE:
            self.outside += 1
        elif reason == MISSING_AUDIO:
            self.missing_audio += 1
        elif reason == UNREADABLE_RASTER:
            self.unreadable_raster += 1
        else:
            self.unreadable_audio += 1


# --------------------------------------------------------------------------- raster


def _stretch_limits(dataset, indexes: list[int]) -> np.ndarray | None:
    """Per-band 2nd and 98th percentiles from a decimated read (None for uint8 rasters)."""
    if dataset.dtypes[indexes[0] - 1] == "uint8":
        return None
    scale = max(dataset.width, dataset.height) / _STRETCH_SAMPLE_PX
    shape = (
        len(indexes),
        max(1, int(round(dataset.height / max(scale, 1)))),
        max(1, int(round(dataset.width / max(scale, 1)))),
    )
    sample = dataset.read(indexes, out_shape=shape, masked=True)
    limits = np.zeros((len(indexes), 2), np.float64)
    for band in range(len(indexes)):
        values = np.ma.compressed(sample[band]).astype(np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            limits[band] = (0.0, 1.0)
            continue
        low, high = np.percentile(values, [2, 98])
        limits[band] = (low, high if high > low else low + 1)
    return limits


def _to_uint8(tile: np.ndarray, limits: np.ndarray | None) -> np.ndarray:
    if limits is None:
        return tile.astype(np.uint8)
    low = limits[:, 0, None, None]
    high = limits[:, 1, None, None]
    scaled = (tile.astype(np.float64) - low) / (high - low) * 255
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).round().astype(np.uint8)


def _tile_size_in_crs(crs, tile_metres: float, latitude: float) -> tuple[float, float]:
    """Tile width and height in the raster CRS's units."""
    if crs.is_geographic:
        # a small tile: degrees per metre at the point's latitude
        cos_lat = max(math.cos(math.radians(latitude)), 1e-6)
        return (
            tile_metres / (_METRES_PER_DEGREE_LON_EQUATOR * cos_lat),
            tile_metres / _METRES_PER_DEGREE_LAT,
        )
    _, metres_per_unit = crs.linear_units_factor
    size = tile_metres / metres_per_unit
    return size, size


def _audio_info(path: Path) -> tuple[object | None, str]:
    import soundfile

    if path.suffix.lower() not in AUDIO_EXTENSIONS:
        return None, f"{path}: unsupported format (expected {', '.join(AUDIO_EXTENSIONS)})"
    try:
        info = soundfile.info(str(path))
    except Exception as error:  # libsndfile raises several kinds
        return None, f"{path}: {error}"
    if info.frames <= 0 or info.samplerate <= 0:
        return None, f"{path}: no audio frames"
    return info, ""


def _parse_key(value: str, key_field: str, where: str) -> int:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or number < 0:
        raise ValueError(
            f"{where}: key field {key_field!r} is {value!r}; keys must be non-negative integers"
        )
    return int(number)


def build_pairs(
    raster: str | os.PathLike,
    points: str | os.PathLike,
    audio_field: str,
    out: str | os.PathLike,
    tile_metres: float = 256.0,
    tile_px: int = 512,
    key_field: str | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Crop a tile around every recording and write the pairs in the SoundingEarth layout.

    Points are given in longitude/latitude and reprojected to the raster's CRS.
    Each tile is ``tile_metres`` on a side, centred on its point, resampled
    (bilinear) to ``tile_px`` pixels; points whose tile does not lie wholly inside
    the raster are skipped. The first three bands become the JPEG's RGB (a
    single band is repeated); bands that are not uint8 are stretched between the
    raster's 2nd and 98th percentiles. Audio paths may be absolute or relative to
    the points file's folder; each file is copied to ``audio/{key}.{ext}``.

    Args:
        raster: a georeferenced raster (anything GDAL reads).
        points: CSV or GeoJSON points, see :func:`read_points`.
        audio_field: the attribute holding each recording's audio file path.
        out: the output folder; ``metadata.csv``, ``dataset.json``, ``images/`` and ``audio/``
            in it are replaced, nothing else is touched.
        tile_metres: ground size of a tile in metres.
        tile_px: tile side in pixels.
        key_field: an attribute holding integer keys; by default the 1-based
            row number is the key.
        progress: receives progress and is asked about cancellation.

    Returns:
        Counts of written and skipped points and the skipped rows.

    Raises:
        FileNotFoundError: the raster or points file does not exist.
        ValueError: bad parameters, an unknown field (the message lists the
            available ones), a bad coordinate or key (naming the row), a raster
            without georeferencing, or no point that yields a pair.
        Cancelled: ``progress`` asked to stop.
    """
    import rasterio
    import rasterio.warp
    import rasterio.windows

    if not (
        isinstance(tile_metres, int | float) and math.isfinite(tile_metres) and tile_metres > 0
    ):
        raise ValueError(f"tile_metres must be a positive number, got {tile_metres!r}")
    if isinstance(tile_px, bool) or not isinstance(tile_px, int) or tile_px < 16:
        raise ValueError(f"tile_px must be an integer >= 16, got {tile_px!r}")
    raster, points_path, out = Path(raster), Path(points), Path(out)
    if not raster.exists():
        raise FileNotFoundError(f"{raster}: raster not found")
    records, fields = read_points(points_path)
    audio_name = _find_name(fields, [audio_field])
    if audio_name is None:
        raise ValueError(
            f"{points_path}: no audio field {audio_field!r}; available fields: {', '.join(fields)}"
        )
    key_name = None
    if key_field is not None:
        key_name = _find_name(fields, [key_field])
        if key_name is None:
            raise ValueError(
                f"{points_path}: no key field {key_field!r}; available fields: {', '.join(fields)}"
            )
    keys: list[int] = []
    first_row: dict[int, int] = {}
    for point in records:
        where = f"{points_path} row {point.row}"
        key = (
            point.row
            if key_name is None
            else _parse_key(point.attributes[key_name], key_name, where)
        )
        if key in first_row:
            raise ValueError(f"{where}: duplicate key {key} (first in row {first_row[key]})")
        first_row[key] = point.row
        keys.append(key)
    altitude_name = _find_name(fields, ALTITUDE_NAMES)
    copied = {column: _find_name(fields, [column]) for column in COPIED_COLUMNS}

    try:
        dataset = rasterio.open(raster)
    except rasterio.errors.RasterioIOError as error:
        raise ValueError(f"{raster}: cannot be opened as a raster ({error})") from None
    with dataset:
        if dataset.crs is None or dataset.transform.is_identity:
            raise ValueError(f"{raster}: the raster has no CRS or georeferencing")
        if not dataset.transform.is_rectilinear:
            raise ValueError(f"{raster}: rotated rasters are not supported; warp it north-up first")
        return _build(
            dataset,
            raster,
            records,
            keys,
            points_path,
            audio_name,
            altitude_name,
            copied,
            out,
            tile_metres,
            tile_px,
            progress,
        )


def _build(
    dataset,
    raster: Path,
    records: list[Point],
    keys: list[int],
    points_path: Path,
    audio_name: str,
    altitude_name: str | None,
    copied: dict[str, str | None],
    out: Path,
    tile_metres: float,
    tile_px: int,
    progress: Progress | None,
) -> BuildReport:
    import rasterio.errors
    import rasterio.warp
    import rasterio.windows
    from PIL import Image
    from rasterio.enums import Resampling

    report = BuildReport(out=out)
    with staged_folder(out) as stage:
        indexes = [1, 2, 3] if dataset.count >= 3 else [1]
        try:
            limits = _stretch_limits(dataset, indexes)
        except rasterio.errors.RasterioIOError as error:
            raise ValueError(f"{raster}: cannot be read as a raster ({error})") from None
        if records:
            xs, ys = rasterio.warp.transform(
                "EPSG:4326",
                dataset.crs,
                [p.longitude for p in records],
                [p.latitude for p in records],
            )
        else:
            xs, ys = [], []
        (stage / "images").mkdir()
        (stage / "audio").mkdir()
        rows = []
        eps = 1e-6
        for number, (point, key, x, y) in enumerate(zip(records, keys, xs, ys, strict=True)):
            check_cancelled(progress)
            if progress is not None:
                progress.progress(number / len(records), f"point {number + 1}/{len(records)}")
            width, height = _tile_size_in_crs(dataset.crs, tile_metres, point.latitude)
            window = rasterio.windows.from_bounds(
                x - width / 2, y - height / 2, x + width / 2, y + height / 2, dataset.transform
            )
            inside = (
                math.isfinite(x)
                and math.isfinite(y)
                and window.col_off >= -eps
                and window.row_off >= -eps
                and window.col_off + window.width <= dataset.width + eps
                and window.row_off + window.height <= dataset.height + eps
            )
            if not inside:
                report._skip(point, key, OUTSIDE, f"({point.longitude}, {point.latitude})")
                continue
            audio_value = point.attributes.get(audio_name, "").strip()
            if not audio_value:
                report._skip(point, key, MISSING_AUDIO, f"{audio_name!r} is empty")
                continue
            audio_path = Path(audio_value)
            if not audio_path.is_absolute():
                audio_path = points_path.parent / audio_path
            if not audio_path.is_file():
                report._skip(point, key, MISSING_AUDIO, str(audio_path))
                continue
            info, problem = _audio_info(audio_path)
            if info is None:
                report._skip(point, key, UNREADABLE_AUDIO, problem)
                continue
            try:
                tile = dataset.read(
                    indexes,
                    window=window,
                    out_shape=(len(indexes), tile_px, tile_px),
                    resampling=Resampling.bilinear,
                    boundless=False,
                )
            except rasterio.errors.RasterioIOError as error:
                # a damaged block of the raster: this point's tile cannot be cut
                report._skip(point, key, UNREADABLE_RASTER, f"{raster}: {error}")
                continue
            pixels = _to_uint8(tile, limits)
            if len(indexes) == 1:
                pixels = np.repeat(pixels, 3, axis=0)
            Image.fromarray(np.ascontiguousarray(np.moveaxis(pixels, 0, -1))).save(
                stage / "images" / f"{key}.jpg", format="JPEG", quality=_JPEG_QUALITY
            )
            suffix = audio_path.suffix.lower()
            shutil.copyfile(audio_path, stage / "audio" / f"{key}{suffix}")
            rows.append(
                _metadata_row(
                    point, key, points_path, audio_path, audio_value, info, altitude_name, copied
                )
            )
            report.written += 1
        if report.written == 0:
            bounds = rasterio.warp.transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds)
            reasons = ", ".join(report.skip_counts()) or "the points file has no points"
            raise ValueError(
                f"no pairs written ({reasons}); the raster {raster.name} covers longitude "
                f"{bounds[0]:.5f} to {bounds[2]:.5f}, latitude {bounds[1]:.5f} to {bounds[3]:.5f}"
            )
        write_metadata_csv(stage / "metadata.csv", rows)
        # always written, so a list from an earlier run never outlives it
        write_skipped_csv(
            stage / "skipped.csv",
            ("row", "key", "reason", "detail"),
            [(p.row, p.key, p.reason, p.detail) for p in report.skipped],
        )
        write_dataset_info(stage, tile_metres / tile_px, tile_px, source=raster.name)
        check_cancelled(progress)
    if progress is not None:
        progress.progress(1.0, report.summary())
    return report


def _metadata_row(
    point: Point,
    key: int,
    points_path: Path,
    audio_path: Path,
    audio_value: str,
    info: object,
    altitude_name: str | None,
    copied: dict[str, str | None],
) -> dict[str, str]:
    attributes = point.attributes
    row = {column: attributes.get(name, "") if name else "" for column, name in copied.items()}
    row["long_key"] = row["long_key"] or f"{points_path.stem}_{key}"
    row["title"] = row["title"] or audio_path.stem
    altitude = attributes.get(altitude_name, "") if altitude_name else ""
    if not altitude and point.altitude is not None:
        altitude = f"{point.altitude:g}"
    size = audio_path.stat().st_size
    duration = float(info.duration)  # type: ignore[attr-defined]
    row.update(
        key=str(key),
        longitude=f"{point.longitude:.7f}",
        latitude=f"{point.latitude:.7f}",
        altitude=altitude,
        mp3name=audio_path.name,
        mp3mb=f"{size / 2**20:.3f}",
        mp3seconds=f"{duration:.3f}",
        mp3channels=str(info.channels),  # type: ignore[attr-defined]
        mp3bitrate=str(round(size * 8 / duration / 1000)) if duration > 0 else "",
        mp3samplerate=str(info.samplerate),  # type: ignore[attr-defined]
        mp3file=audio_value,
    )
    return row
