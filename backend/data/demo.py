"""Procedural demo data: aerial tiles and sounds that share a hidden land-cover class.

Everything the pipeline needs to run end to end without downloading anything:
image/sound pairs in the SoundingEarth layout, their hidden classes, a scene
classification set (one folder per class), and a georeferenced scene raster with
its ground-truth class raster. Images and sounds of one pair come from the same
class, with real variation inside each class (colours, orientation, scale,
mixed-in neighbouring land cover, event timing, levels, background noise), so a
cross-modal model has something to learn that is not trivial. Output is
deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime
import functools
import json
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from backend.atomic import staged_folder
from backend.data.build_pairs import write_dataset_info, write_metadata_csv
from backend.data.demo_classes import CLASS_COLORS, SCENE_CLASSES
from backend.data.demo_imagery import render_scene, render_tile
from backend.data.demo_sounds import DEMO_SAMPLE_RATE, render_sound
from backend.progress import Progress, check_cancelled

#: ground resolution of every demo image (metres per pixel)
GROUND_RESOLUTION_M = 0.5
#: shortest and longest demo recording (seconds)
DURATION_RANGE_S = (10.0, 30.0)
#: the scene raster's CRS (UTM zone 33N) and its north-west corner in that CRS
SCENE_CRS = "EPSG:32633"
SCENE_ORIGIN = (389_000.0, 5_820_000.0)
#: nodata value of the class raster
LABEL_NODATA = 255

# share of pairs (and scenes) whose tile and sound also hold a second class
_SECONDARY_SHARE = 0.25
# independent random streams, so changing one output never shifts another (the
# scene raster's, 3, is in backend.data.demo_imagery)
_PAIR_STREAM, _SCENE_STREAM, _CLASS_STREAM = 1, 2, 4
_JPEG_QUALITY = 90
# scene-set image side (pixels, at GROUND_RESOLUTION_M)
_SCENE_SET_PX = 128


_Files = TypeVar("_Files", bound="DemoFiles")


@dataclass(frozen=True)
class DemoFiles:
    """Where demo data lies in its folder: the layout both sources (procedural, real) write."""

    #: the output folder
    root: Path
    #: the pairs in the SoundingEarth layout (metadata.csv, images/, audio/)
    pairs_dir: Path
    #: ``key,class`` of every pair
    labels_csv: Path
    #: the scene classification set, one sub-folder per class
    scenes_dir: Path
    #: the georeferenced RGB scene raster
    scene_tif: Path
    #: the ground-truth class raster on the same grid (uint8 class index, nodata 255)
    scene_labels_tif: Path
    #: class names, colours and the ground resolution
    classes_json: Path

    @classmethod
    def in_folder(cls: type[_Files], root: str | os.PathLike, **more: Any) -> _Files:
        """The layout inside ``root``; a subclass passes its other fields in ``more``."""
        root = Path(root)
        return cls(
            root=root,
            pairs_dir=root / "pairs",
            labels_csv=root / "labels.csv",
            scenes_dir=root / "scenes",
            scene_tif=root / "scene.tif",
            scene_labels_tif=root / "scene_labels.tif",
            classes_json=root / "classes.json",
            **more,
        )


@dataclass(frozen=True)
class DemoSummary(DemoFiles):
    """What :func:`make_demo_data` wrote."""

    #: number of image/sound pairs
    pairs: int
    #: number of images in the scene set
    scenes: int
    #: pairs per class
    class_counts: dict[str, int] = field(default_factory=dict)
    #: metres per pixel of every image
    ground_resolution_m: float = GROUND_RESOLUTION_M

    def summary(self) -> str:
        """One line for the user."""
        return (
            f"wrote {self.pairs} demo pairs to {self.pairs_dir}, {self.scenes} scene images "
            f"to {self.scenes_dir} and the scene raster {self.scene_tif}"
        )


def write_class_labels(path: Path, labels: Iterable[tuple[int, str]]) -> None:
    """Write ``labels.csv``: the hidden class of each pair, as ``key,class`` rows."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["key", "class"])
        writer.writerows(labels)


def _save_jpeg(pixels: np.ndarray, path: Path) -> None:
    Image.fromarray(pixels).save(path, format="JPEG", quality=_JPEG_QUALITY)


def _save_flac(samples: np.ndarray, path: Path) -> None:
    import soundfile

    soundfile.write(
        path, samples, DEMO_SAMPLE_RATE, format="FLAC", subtype="PCM_16", compression_level=0.0
    )


# --------------------------------------------------------------------------- metadata

# (name, longitude, latitude, altitude m) of a few places typical of each class
_PLACES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "water": (("Lake Geneva", 6.55, 46.45, 372), ("Stockholm archipelago", 18.60, 59.35, 2)),
    "forest": (("Black Forest", 8.20, 48.30, 820), ("Bialowieza", 23.85, 52.70, 165)),
    "farmland": (("Beauce", 1.60, 48.20, 140), ("Po valley", 10.50, 45.10, 30)),
    "urban": (("Berlin", 13.40, 52.52, 35), ("Lisbon", -9.14, 38.72, 60)),
    "road": (("Frankfurt ring", 8.60, 50.05, 110), ("Highland A9", -3.90, 56.90, 300)),
    "beach": (("Algarve coast", -8.20, 37.08, 4), ("Sylt", 8.30, 54.90, 3)),
}
# invented titles, five per class (rows alike in shape: a table, not repeated logic)
_TITLES: dict[str, tuple[str, ...]] = {
    "water": ("Waves at the pier", "Lake shore, early morning", "Water lapping at the jetty",
              "Harbour basin", "Rowing boat drifting"),
    "forest": ("Birdsong in the beech wood", "Forest dawn chorus", "Clearing in the pines",
               "Woodland path in May", "Spruce forest, light wind"),
    "farmland": ("Tractor in the wheat field", "Cows by the farm track", "Harvest time",
                 "Sheep on the hillside", "Fields after rain"),
    "urban": ("Market street at noon", "Rush hour on the square", "Backyard in the old town",
              "Tram stop", "Pedestrian zone, Saturday"),
    "road": ("Motorway bridge", "Cars passing on the B-road", "Lay-by on the highway",
             "Roundabout traffic", "Country road at dusk"),
    "beach": ("Surf and gulls", "Low tide at the beach", "Dunes and breakers",
              "Windy beach walk", "Fishing boats landing"),
}  # fmt: skip
_CREATORS = ("Anna Keller", "Tomasz Nowak", "Marie Dubois", "João Silva", "Sofia Rossi",
             "Lars Johansson", "Emily Clarke", "Jonas Becker", "Ines Moreau", "Pieter de Vries",
             "Hannah Fischer", "Miguel Alves")  # fmt: skip
_LICENCES = (
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-sa/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-nc-sa/3.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
)
_DEVICES = ("a Zoom H4n", "a Tascam DR-40", "a Sony PCM-D100", "a smartphone", "binaural mics")
_DAY_PARTS = ("in the morning", "around noon", "in the afternoon", "in the evening", "at dusk")


def _metadata_row(
    rng: np.random.Generator, key: int, seed: int, class_name: str, seconds: float
) -> dict[str, str]:
    place, longitude, latitude, altitude = _PLACES[class_name][rng.integers(2)]
    title = _TITLES[class_name][rng.integers(len(_TITLES[class_name]))]
    recorded = datetime.date(2008, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 5113)))
    uploaded = datetime.datetime.combine(recorded, datetime.time()) + datetime.timedelta(
        days=int(rng.integers(0, 400)), seconds=int(rng.integers(0, 86400))
    )
    return {
        "long_key": f"demo_{seed}_{key}",
        "key": str(key),
        "longitude": f"{longitude + rng.normal(0, 0.06):.6f}",
        "latitude": f"{latitude + rng.normal(0, 0.04):.6f}",
        "altitude": f"{max(0.0, altitude + rng.normal(0, 0.1 * altitude + 2)):.1f}",
        "description": (
            f"{title}, near {place}. Recorded with {_DEVICES[rng.integers(len(_DEVICES))]} "
            f"{_DAY_PARTS[rng.integers(len(_DAY_PARTS))]}. Procedurally generated demo data."
        ),
        "date_recorded": recorded.isoformat(),
        "date_uploaded": uploaded.isoformat(sep=" "),
        "creator": _CREATORS[rng.integers(len(_CREATORS))],
        "licenseurl": _LICENCES[rng.integers(len(_LICENCES))],
        "title": title,
        "mp3name": f"{key}.flac",
        "mp3mb": "",  # filled in once the file exists
        "mp3seconds": f"{seconds:.3f}",
        "mp3channels": "1",
        "mp3bitrate": "",
        "mp3samplerate": str(DEMO_SAMPLE_RATE),
        "mp3file": f"audio/{key}.flac",
    }


# --------------------------------------------------------------------------- writing


def _write_pair(
    root: Path, seed: int, key: int, class_name: str, secondary: str | None, tile_px: int
) -> dict[str, str]:
    meta_seq, image_seq, sound_seq = np.random.SeedSequence([seed, _PAIR_STREAM, key]).spawn(3)
    meta_rng = np.random.default_rng(meta_seq)
    seconds = round(float(meta_rng.uniform(*DURATION_RANGE_S)), 2)
    row = _metadata_row(meta_rng, key, seed, class_name, seconds)
    pixels = render_tile(class_name, np.random.default_rng(image_seq), tile_px, secondary)
    _save_jpeg(pixels, root / "images" / f"{key}.jpg")
    samples = render_sound(class_name, np.random.default_rng(sound_seq), seconds, secondary)
    audio_path = root / "audio" / f"{key}.flac"
    _save_flac(samples, audio_path)
    size = audio_path.stat().st_size
    row["mp3mb"] = f"{size / 2**20:.3f}"
    row["mp3bitrate"] = str(round(size * 8 / seconds / 1000))
    return row


def _class_plan(seed: int, pairs: int) -> list[tuple[str, str | None]]:
    """The hidden (class, secondary class or None) of each pair: balanced, shuffled."""
    rng = np.random.default_rng([seed, _CLASS_STREAM])
    classes = rng.permutation(np.arange(pairs) % len(SCENE_CLASSES))
    plan: list[tuple[str, str | None]] = []
    for index in classes:
        secondary = None
        if rng.random() < _SECONDARY_SHARE:
            other = (index + rng.integers(1, len(SCENE_CLASSES))) % len(SCENE_CLASSES)
            secondary = SCENE_CLASSES[other]
        plan.append((SCENE_CLASSES[index], secondary))
    return plan


def _run_ordered(
    jobs: list[Callable[[], object]],
    workers: int,
    progress: Progress | None,
    start: float,
    end: float,
    what: str,
) -> list[object]:
    """Run ``jobs`` on a few threads (numpy, Pillow and libsndfile release the GIL).

    Results come back in job order; cancellation is checked between jobs and
    stops submitting new ones.
    """
    results: list[object] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future] = deque()
        submitted = 0
        try:
            while submitted < len(jobs) or pending:
                while submitted < len(jobs) and len(pending) < 2 * workers:
                    pending.append(pool.submit(jobs[submitted]))
                    submitted += 1
                results.append(pending.popleft().result())
                check_cancelled(progress)
                if progress is not None:
                    done = len(results)
                    fraction = start + (end - start) * done / len(jobs)
                    progress.progress(fraction, f"{what} {done}/{len(jobs)}")
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results


def _write_scene_image(root: Path, seed: int, class_index: int, number: int, size: int) -> None:
    rng = np.random.default_rng([seed, _SCENE_STREAM, class_index, number])
    secondary = None
    if rng.random() < _SECONDARY_SHARE / 2:
        other = (class_index + rng.integers(1, len(SCENE_CLASSES))) % len(SCENE_CLASSES)
        secondary = SCENE_CLASSES[other]
    name = SCENE_CLASSES[class_index]
    _save_jpeg(render_tile(name, rng, size, secondary), root / name / f"{name}_{number:03d}.jpg")


def _write_scene_rasters(files: DemoFiles, seed: int, size: int) -> None:
    import rasterio
    from rasterio.enums import ColorInterp, Resampling
    from rasterio.transform import from_origin

    rgb, labels = render_scene(seed, size)
    transform = from_origin(*SCENE_ORIGIN, GROUND_RESOLUTION_M, GROUND_RESOLUTION_M)
    block = 256 if size > 256 else max(16, size // 2 // 16 * 16)  # GDAL tiles are multiples of 16
    common = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "crs": SCENE_CRS,
        "transform": transform,
        "dtype": "uint8",
        "tiled": size >= 16,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
    }
    overviews = [f for f in (2, 4, 8) if size // f >= 64]
    with rasterio.open(files.scene_tif, "w", count=3, photometric="RGB", **common) as dst:
        dst.write(rgb)
        dst.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        for band, name in enumerate(("red", "green", "blue"), start=1):
            dst.set_band_description(band, name)
        dst.update_tags(
            GROUND_RESOLUTION_M=str(GROUND_RESOLUTION_M), SOURCE="Sounding Earth demo data"
        )
        if overviews:
            dst.build_overviews(overviews, Resampling.average)
    with rasterio.open(files.scene_labels_tif, "w", count=1, nodata=LABEL_NODATA, **common) as dst:
        dst.write(labels, 1)
        dst.set_band_description(1, "class: " + ", ".join(SCENE_CLASSES))
        dst.update_tags(
            CLASS_NAMES=json.dumps(list(SCENE_CLASSES)), SOURCE="Sounding Earth demo data"
        )
        dst.update_tags(1, **{f"CLASS_{i}": name for i, name in enumerate(SCENE_CLASSES)})
        dst.write_colormap(
            1, {i: _hex_to_rgba(CLASS_COLORS[name]) for i, name in enumerate(SCENE_CLASSES)}
        )
        if overviews:
            dst.build_overviews(overviews, Resampling.mode)


def _hex_to_rgba(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255


def _check_positive(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def make_demo_data(
    out: str | os.PathLike,
    pairs: int = 1000,
    seed: int = 0,
    tile_px: int = 512,
    scenes_per_class: int = 40,
    scene_tif_px: int = 1024,
    progress: Progress | None = None,
    workers: int | None = None,
) -> DemoSummary:
    """Write the procedural demo dataset into ``out``.

    Layout::

        out/pairs/metadata.csv          the 18 SoundingEarth columns
        out/pairs/images/{key}.jpg      tile_px x tile_px RGB aerial tiles
        out/pairs/audio/{key}.flac      mono 16 kHz recordings, 10-30 s
        out/labels.csv                  key,class (the hidden class of each pair)
        out/scenes/<class>/<class>_NNN.jpg   128 px scene-classification set
        out/scene.tif                   georeferenced RGB scene (UTM 33N, 0.5 m)
        out/scene_labels.tif            its class raster (uint8, nodata 255, colour table)
        out/classes.json                class names, colours, ground resolution

    Keys run from 1 to ``pairs``, so the reference split (``key % 10``) gives
    about 10 % validation and 20 % test pairs. Classes are balanced. Everything
    is first written to a hidden folder inside ``out``; the finished entries
    then replace any previous ones of the same name, so a cancelled or failed
    run leaves earlier output untouched.

    Args:
        out: the output folder (created if needed).
        pairs: number of image/sound pairs.
        seed: random seed; the same seed gives the same bytes.
        tile_px: side of the pair tiles in pixels (at 0.5 m per pixel).
        scenes_per_class: images per class in the scene set.
        scene_tif_px: side of the scene raster in pixels.
        progress: receives progress and is asked about cancellation.
        workers: threads to use (default: up to 4, no more than the CPUs).

    Returns:
        The paths written and the counts.

    Raises:
        ValueError: a count or size is out of range.
        Cancelled: ``progress`` asked to stop.
    """
    _check_positive("pairs", pairs)
    _check_positive("tile_px", tile_px, 16)
    _check_positive("scenes_per_class", scenes_per_class)
    _check_positive("scene_tif_px", scene_tif_px, 64)
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))
    _check_positive("workers", workers)
    out = Path(out)
    plan = _class_plan(seed, pairs)
    keys = list(range(1, pairs + 1))
    total_work = pairs + len(SCENE_CLASSES) * scenes_per_class / 4 + (scene_tif_px / 512) ** 2 * 10
    pairs_end = pairs / total_work
    scenes_end = pairs_end + len(SCENE_CLASSES) * scenes_per_class / 4 / total_work

    with staged_folder(out) as stage:
        files = DemoFiles.in_folder(stage)
        pair_root = files.pairs_dir
        (pair_root / "images").mkdir(parents=True)
        (pair_root / "audio").mkdir()
        jobs = [
            functools.partial(_write_pair, pair_root, seed, key, cls, secondary, tile_px)
            for key, (cls, secondary) in zip(keys, plan, strict=True)
        ]
        rows = _run_ordered(jobs, workers, progress, 0.0, pairs_end, "pairs")
        write_metadata_csv(pair_root / "metadata.csv", rows)  # type: ignore[arg-type]
        write_dataset_info(pair_root, GROUND_RESOLUTION_M, tile_px, source="procedural demo")
        write_class_labels(
            files.labels_csv, ((key, cls) for key, (cls, _) in zip(keys, plan, strict=True))
        )

        scene_jobs = []
        for class_index, class_name in enumerate(SCENE_CLASSES):
            (files.scenes_dir / class_name).mkdir(parents=True)
            scene_jobs += [
                functools.partial(
                    _write_scene_image, files.scenes_dir, seed, class_index, number, _SCENE_SET_PX
                )
                for number in range(scenes_per_class)
            ]
        _run_ordered(scene_jobs, workers, progress, pairs_end, scenes_end, "scene images")

        check_cancelled(progress)
        if progress is not None:
            progress.progress(scenes_end, "scene raster")
        _write_scene_rasters(files, seed, scene_tif_px)
        classes = {
            "classes": list(SCENE_CLASSES),
            "colors": dict(CLASS_COLORS),
            "ground_resolution_m": GROUND_RESOLUTION_M,
            "crs": SCENE_CRS,
            "seed": int(seed),
        }
        files.classes_json.write_text(json.dumps(classes, indent=2) + "\n", encoding="utf-8")
        check_cancelled(progress)
    if progress is not None:
        progress.progress(1.0, f"{pairs} pairs")
    return DemoSummary.in_folder(
        out,
        pairs=pairs,
        scenes=len(SCENE_CLASSES) * scenes_per_class,
        class_counts=dict(Counter(cls for cls, _ in plan)),
    )
