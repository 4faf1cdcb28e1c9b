"""The procedural demo dataset: layout, georeferencing, determinism, class signal."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import rasterio
import soundfile
from PIL import Image

from backend.cli import main
from backend.data.demo import GROUND_RESOLUTION_M, LABEL_NODATA, make_demo_data
from backend.data.demo_classes import CLASS_COLORS, SCENE_CLASSES
from backend.data.demo_sounds import DEMO_SAMPLE_RATE
from backend.data.soundingearth import METADATA_COLUMNS, read_metadata, reference_split
from backend.progress import Cancelled

PAIRS = 24


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo")
    return make_demo_data(out, pairs=PAIRS, seed=3, scenes_per_class=3, scene_tif_px=256)


def _labels(path: Path) -> dict[int, str]:
    with open(path, newline="") as handle:
        return {int(row["key"]): row["class"] for row in csv.DictReader(handle)}


def test_pairs_follow_the_soundingearth_layout(demo):
    with open(demo.pairs_dir / "metadata.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == METADATA_COLUMNS
        rows = list(reader)
    assert [int(row["key"]) for row in rows] == list(range(1, PAIRS + 1))
    assert all(row[column] for row in rows for column in METADATA_COLUMNS)
    assert {row["licenseurl"].split("/")[2] for row in rows} == {"creativecommons.org"}
    info = json.loads((demo.pairs_dir / "dataset.json").read_text())
    assert info["tile_resolution_m"] == GROUND_RESOLUTION_M and info["tile_px"] == 512
    recordings = read_metadata(demo.pairs_dir / "metadata.csv")
    assert {reference_split(r.key) for r in recordings} == {"train", "val", "test"}
    for row in rows:
        key = row["key"]
        with Image.open(demo.pairs_dir / "images" / f"{key}.jpg") as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert image.size == (512, 512)
        info = soundfile.info(demo.pairs_dir / "audio" / f"{key}.flac")
        assert info.format == "FLAC" and info.channels == 1
        assert info.samplerate == DEMO_SAMPLE_RATE == int(row["mp3samplerate"])
        assert 10.0 <= info.duration <= 30.0
        assert float(row["mp3seconds"]) == pytest.approx(info.duration, abs=1e-3)
        assert row["mp3file"] == f"audio/{key}.flac"
        assert -180 <= float(row["longitude"]) <= 180 and -90 <= float(row["latitude"]) <= 90


def test_labels_are_balanced_and_outside_the_layout(demo):
    labels = _labels(demo.labels_csv)
    assert demo.labels_csv.parent == demo.root
    assert sorted(labels) == list(range(1, PAIRS + 1))
    assert Counter(labels.values()) == {name: PAIRS // len(SCENE_CLASSES) for name in SCENE_CLASSES}
    assert demo.class_counts == Counter(labels.values())


def test_scene_set_has_one_folder_per_class(demo):
    assert sorted(p.name for p in demo.scenes_dir.iterdir()) == sorted(SCENE_CLASSES)
    for name in SCENE_CLASSES:
        files = sorted((demo.scenes_dir / name).glob("*.jpg"))
        assert [f.name for f in files] == [f"{name}_{i:03d}.jpg" for i in range(3)]
        with Image.open(files[0]) as image:
            assert image.size == (128, 128) and image.mode == "RGB"
    assert demo.scenes == 3 * len(SCENE_CLASSES)


def test_scene_rasters_are_georeferenced_on_one_grid(demo):
    with rasterio.open(demo.scene_tif) as rgb, rasterio.open(demo.scene_labels_tif) as labels:
        assert rgb.crs.to_epsg() == 32633 and labels.crs == rgb.crs
        assert rgb.res == (GROUND_RESOLUTION_M, GROUND_RESOLUTION_M)
        assert labels.transform == rgb.transform and labels.shape == rgb.shape == (256, 256)
        assert rgb.count == 3 and rgb.dtypes == ("uint8",) * 3
        assert rgb.profile["tiled"] and rgb.compression is not None
        assert labels.nodata == LABEL_NODATA and labels.dtypes == ("uint8",)
        classes = labels.read(1)
        assert set(np.unique(classes)) == set(range(len(SCENE_CLASSES)))
        assert json.loads(labels.tags()["CLASS_NAMES"]) == list(SCENE_CLASSES)
        colormap = labels.colormap(1)
        for index, name in enumerate(SCENE_CLASSES):
            hex_colour = "#{:02x}{:02x}{:02x}".format(*colormap[index][:3])
            assert hex_colour == CLASS_COLORS[name]
        # regions look like their class: water regions are bluer than forest regions
        pixels = rgb.read().astype(float)
    blue_minus_green = pixels[2] - pixels[1]
    water = blue_minus_green[classes == SCENE_CLASSES.index("water")].mean()
    forest = blue_minus_green[classes == SCENE_CLASSES.index("forest")].mean()
    assert water > forest + 10
    document = json.loads(demo.classes_json.read_text())
    assert document["classes"] == list(SCENE_CLASSES)
    assert document["colors"] == CLASS_COLORS
    assert document["ground_resolution_m"] == GROUND_RESOLUTION_M


def _spectral_features(path: Path) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32")
    frames = samples[: len(samples) // 1024 * 1024].reshape(-1, 1024) * np.hanning(1024)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
    frequency = np.fft.rfftfreq(1024, 1 / rate)
    edges = np.geomspace(50, rate / 2, 9)
    bands = np.log([power[(frequency >= a) & (frequency < b)].sum() + 1e-12 for a, b in zip(edges[:-1], edges[1:], strict=True)])  # fmt: skip
    return bands - bands.mean()


def _leave_one_out_accuracy(features: np.ndarray, classes: np.ndarray) -> float:
    """Nearest class mean, each sample left out of its own class mean."""
    correct = 0
    for i in range(len(features)):
        keep = np.arange(len(features)) != i
        means = np.stack(
            [features[keep & (classes == c)].mean(0) for c in range(len(SCENE_CLASSES))]
        )
        correct += int(np.argmin(((means - features[i]) ** 2).sum(1)) == classes[i])
    return correct / len(features)


def test_images_and_sounds_carry_the_hidden_class_but_not_trivially(demo):
    labels = _labels(demo.labels_csv)
    keys = sorted(labels)
    classes = np.array([SCENE_CLASSES.index(labels[k]) for k in keys])
    colours = np.stack(
        [
            np.asarray(Image.open(demo.pairs_dir / "images" / f"{k}.jpg")).reshape(-1, 3).mean(0)
            for k in keys
        ]
    )
    sounds = np.stack([_spectral_features(demo.pairs_dir / "audio" / f"{k}.flac") for k in keys])
    chance = 1 / len(SCENE_CLASSES)
    # simple features already beat chance clearly, in both modalities ...
    assert _leave_one_out_accuracy(colours, classes) >= 2.5 * chance
    assert _leave_one_out_accuracy(sounds, classes) >= 2.5 * chance
    # ... and no class is a single colour: tiles vary within a class
    for c in range(len(SCENE_CLASSES)):
        assert colours[classes == c].std(axis=0).max() > 2
    # birdsong is high, tractors and traffic rumble are low
    centroid = {}
    for c, name in enumerate(SCENE_CLASSES):
        values = []
        for k in np.array(keys)[classes == c]:
            samples, rate = soundfile.read(demo.pairs_dir / "audio" / f"{k}.flac")
            power = np.abs(np.fft.rfft(samples)) ** 2
            values.append((power * np.fft.rfftfreq(len(samples), 1 / rate)).sum() / power.sum())
        centroid[name] = np.mean(values)
    assert centroid["forest"] > centroid["urban"] and centroid["forest"] > centroid["farmland"]
    assert centroid["beach"] > centroid["farmland"]


def _small(out: Path, seed: int, workers: int | None = None):
    return make_demo_data(
        out, pairs=6, seed=seed, tile_px=256, scenes_per_class=1, scene_tif_px=64, workers=workers
    )


SAMPLED_FILES = (
    "pairs/metadata.csv",
    "pairs/images/1.jpg",
    "pairs/images/4.jpg",
    "pairs/audio/2.flac",
    "pairs/audio/6.flac",
    "labels.csv",
    "scenes/road/road_000.jpg",
    "scene.tif",
    "scene_labels.tif",
)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    _small(tmp_path / "a", seed=5, workers=1)
    _small(tmp_path / "b", seed=5, workers=2)
    _small(tmp_path / "c", seed=6, workers=2)
    for name in SAMPLED_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    for name in ("pairs/images/1.jpg", "pairs/audio/2.flac", "scene.tif"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes(), name


class _Recorder:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.fractions: list[float] = []
        self.cancel_after = cancel_after

    def progress(self, fraction: float, message: str = "") -> None:
        self.fractions.append(fraction)

    def is_cancelled(self) -> bool:
        return self.cancel_after is not None and len(self.fractions) >= self.cancel_after


def test_progress_is_reported_and_cancel_leaves_previous_output(tmp_path):
    recorder = _Recorder()
    _small(tmp_path, seed=1)
    before = (tmp_path / "pairs" / "metadata.csv").read_bytes()
    with pytest.raises(Cancelled):
        make_demo_data(
            tmp_path, pairs=6, seed=2, tile_px=256, scene_tif_px=64, progress=_Recorder(2)
        )
    assert (tmp_path / "pairs" / "metadata.csv").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    make_demo_data(
        tmp_path / "fresh", pairs=6, tile_px=256, scenes_per_class=1, scene_tif_px=64,
        progress=recorder,
    )  # fmt: skip
    assert recorder.fractions == sorted(recorder.fractions)
    assert recorder.fractions[-1] == 1.0


@pytest.mark.parametrize(
    ("argument", "value"), [("pairs", 0), ("tile_px", 8), ("scene_tif_px", 10), ("seed", -1)]
)
def test_bad_arguments_are_named(tmp_path, argument, value):
    with pytest.raises(ValueError, match=argument):
        make_demo_data(tmp_path, **{argument: value})
    assert not (tmp_path / "pairs").exists()


def test_cli_make_demo_data(tmp_path, capsys):
    code = main(
        ["make-demo-data", "--out", str(tmp_path), "--pairs", "6", "--seed", "4",
         "--tile-px", "256", "--scenes-per-class", "1", "--scene-px", "64"]
    )  # fmt: skip
    assert code == 0
    assert "wrote 6 demo pairs" in capsys.readouterr().out
    assert len(list((tmp_path / "pairs" / "images").glob("*.jpg"))) == 6
    with pytest.raises(SystemExit):
        main(["make-demo-data", "--out", str(tmp_path), "--pairs", "0"])
    assert "expected a number >= 1" in capsys.readouterr().err
