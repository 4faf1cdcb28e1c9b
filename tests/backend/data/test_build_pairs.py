"""Building SoundingEarth-layout pairs from a raster and geotagged recordings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import soundfile
from PIL import Image
from rasterio.transform import from_origin
from rasterio.warp import transform

from backend.cli import main
from backend.data.build_pairs import build_pairs, read_points
from backend.data.soundingearth import METADATA_COLUMNS, read_metadata
from backend.progress import Cancelled
from tests.cancelling import CancelAfter

# a 1 km x 1 km uint8 raster at 2 m in UTM 33N (Berlin)
WEST, NORTH, RES, SIDE = 390_000.0, 5_820_000.0, 2.0, 500


def _lonlat(easting: float, northing: float) -> tuple[float, float]:
    lons, lats = transform("EPSG:32633", "EPSG:4326", [easting], [northing])
    return lons[0], lats[0]


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """A raster whose red grows eastwards and green southwards, recordings, and points."""
    rows, cols = np.mgrid[0:SIDE, 0:SIDE]
    pixels = np.stack([cols * 255 // SIDE, rows * 255 // SIDE, np.full_like(rows, 90)])
    raster = tmp_path / "ortho.tif"
    with rasterio.open(
        raster, "w", driver="GTiff", width=SIDE, height=SIDE, count=3, dtype="uint8",
        crs="EPSG:32633", transform=from_origin(WEST, NORTH, RES, RES),
    ) as dst:  # fmt: skip
        dst.write(pixels.astype(np.uint8))
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    tone = 0.1 * np.sin(np.arange(8000 * 2) * 2 * np.pi * 440 / 8000)
    soundfile.write(sounds / "birds.flac", tone, 8000)
    soundfile.write(sounds / "street.wav", np.stack([tone, tone], axis=1), 8000)
    (sounds / "broken.wav").write_text("not a wave file")
    inside_a = _lonlat(WEST + 300, NORTH - 400)  # pixel column 150, row 200
    inside_b = _lonlat(WEST + 700, NORTH - 700)
    outside = _lonlat(WEST + 30, NORTH - 500)  # too close to the western edge
    return {
        "raster": raster,
        "dir": tmp_path,
        "points": [
            # (lon, lat, audio, title)
            (*inside_a, "sounds/birds.flac", "Birds in the park"),
            (*inside_b, str(sounds / "street.wav"), "Street corner"),
            (*outside, "sounds/birds.flac", "Too far west"),
            (*inside_a, "sounds/nothing.mp3", "Lost file"),
        ],
    }


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _csv_points(site: dict, name: str = "points.csv") -> Path:
    rows = [[lon, lat, audio, title, 30 + i] for i, (lon, lat, audio, title) in enumerate(site["points"])]  # fmt: skip
    return _write_csv(site["dir"] / name, ["Lon", "LAT", "Sound_File", "title", "Altitude"], rows)


def _geojson_points(site: dict, name: str = "points.geojson") -> Path:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"recording": audio, "title": title, "id": 100 + i, "creator": "Ana"},
        }
        for i, (lon, lat, audio, title) in enumerate(site["points"])
    ]
    path = site["dir"] / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_csv_points_become_pairs(site):
    out = site["dir"] / "pairs"
    report = build_pairs(site["raster"], _csv_points(site), "sound_file", out, 200.0, 64)
    assert (report.written, report.outside, report.missing_audio) == (2, 1, 1)
    assert report.summary() == (
        "wrote 2 pairs; skipped 1 point outside the raster, 1 missing audio file"
    )
    assert [(s.row, s.reason) for s in report.skipped] == [
        (3, "outside the raster"),
        (4, "missing audio file"),
    ]
    with open(out / "metadata.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == METADATA_COLUMNS
        rows = list(reader)
    assert [row["key"] for row in rows] == ["1", "2"]  # row numbers
    first, second = rows
    assert first["title"] == "Birds in the park" and first["altitude"] == "30"
    assert first["mp3name"] == "birds.flac" and first["mp3file"] == "sounds/birds.flac"
    assert float(first["mp3seconds"]) == pytest.approx(2.0)
    assert (first["mp3channels"], first["mp3samplerate"]) == ("1", "8000")
    assert second["mp3channels"] == "2" and second["mp3name"] == "street.wav"
    assert float(first["longitude"]) == pytest.approx(site["points"][0][0], abs=1e-6)
    assert [r.key for r in read_metadata(out / "metadata.csv")] == [1, 2]
    assert sorted(p.name for p in (out / "audio").iterdir()) == ["1.flac", "2.wav"]
    assert (out / "audio" / "1.flac").read_bytes() == (
        site["dir"] / "sounds/birds.flac"
    ).read_bytes()
    assert sorted(p.name for p in (out / "images").iterdir()) == ["1.jpg", "2.jpg"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    info = json.loads((out / "dataset.json").read_text())
    assert info["tile_resolution_m"] == pytest.approx(200.0 / 64) and info["tile_px"] == 64


def test_tile_is_centred_on_the_point_and_north_up(site):
    out = site["dir"] / "pairs"
    build_pairs(site["raster"], _csv_points(site), "Sound_File", out, tile_metres=200.0, tile_px=64)
    with Image.open(out / "images" / "1.jpg") as image:
        assert image.size == (64, 64) and image.mode == "RGB"
        tile = np.asarray(image).astype(float)
    # 200 m at 2 m per pixel = 100 raster pixels around column 150, row 200
    red_expected = np.array([100, 200]) * 255 // SIDE
    green_expected = np.array([150, 250]) * 255 // SIDE
    assert tile[32, [0, -1], 0] == pytest.approx(red_expected, abs=4)  # west -> east
    assert tile[[0, -1], 32, 1] == pytest.approx(green_expected, abs=4)  # north -> south
    assert tile[:, :, 2].mean() == pytest.approx(90, abs=3)


def test_geojson_points_with_a_key_field(site):
    out = site["dir"] / "pairs"
    report = build_pairs(
        site["raster"], _geojson_points(site), "recording", out, 200.0, 32, key_field="id"
    )
    assert (report.written, report.outside, report.missing_audio) == (2, 1, 1)
    keys = [r.key for r in read_metadata(out / "metadata.csv")]
    assert keys == [100, 101]
    assert sorted(p.name for p in (out / "images").iterdir()) == ["100.jpg", "101.jpg"]
    assert {r.creator for r in read_metadata(out / "metadata.csv")} == {"Ana"}


def test_non_byte_rasters_are_stretched(site, tmp_path):
    raster = tmp_path / "reflectance.tif"
    values = np.linspace(1000, 5000, SIDE * SIDE, dtype=np.float32).reshape(1, SIDE, SIDE)
    with rasterio.open(
        raster, "w", driver="GTiff", width=SIDE, height=SIDE, count=1, dtype="uint16",
        crs="EPSG:32633", transform=from_origin(WEST, NORTH, RES, RES),
    ) as dst:  # fmt: skip
        dst.write(values.astype(np.uint16))
    out = tmp_path / "pairs"
    build_pairs(raster, _csv_points(site), "Sound_File", out, tile_metres=400.0, tile_px=64)
    tile = np.asarray(Image.open(out / "images" / "2.jpg")).astype(float)
    assert tile.shape == (64, 64, 3)
    assert np.abs(tile[..., 0] - tile[..., 2]).max() <= 2  # one band shown as grey
    # the point sits at pixel (350, 350); the raster's 2nd and 98th percentiles become 0 and 255
    value = values.ravel()[350 * SIDE + 350]
    low, high = np.percentile(values, [2, 98])
    assert tile[32, 32, 0] == pytest.approx((value - low) / (high - low) * 255, abs=4)


def test_unreadable_audio_is_skipped(site):
    points = _write_csv(
        site["dir"] / "p.csv",
        ["lng", "lat", "audio"],
        [
            [*site["points"][0][:2], "sounds/broken.wav"],
            [*site["points"][1][:2], "sounds/birds.flac"],
        ],
    )
    report = build_pairs(site["raster"], points, "audio", site["dir"] / "out", 200.0, 32)
    assert report.summary() == "wrote 1 pair; skipped 1 unreadable audio file"


def test_missing_audio_field_lists_the_fields(site):
    with pytest.raises(ValueError, match=r"no audio field 'mp3'.*Lon, LAT, Sound_File, title"):
        build_pairs(site["raster"], _csv_points(site), "mp3", site["dir"] / "out")
    assert not (site["dir"] / "out").exists()


def test_bad_coordinates_name_the_row(site):
    rows = [[13.38, 52.51, "a.wav"], ["east", 52.5, "b.wav"]]
    points = _write_csv(site["dir"] / "bad.csv", ["x", "y", "audio"], rows)
    with pytest.raises(ValueError, match=r"bad\.csv row 2 \(line 3\): x 'east' is not a number"):
        build_pairs(site["raster"], points, "audio", site["dir"] / "out")
    points = _write_csv(site["dir"] / "far.csv", ["lon", "lat", "audio"], [[13.0, 95.0, "a.wav"]])
    with pytest.raises(ValueError, match=r"row 1 .*lat '95.0' is outside \[-90, 90\]"):
        read_points(points)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,audio\nx,a.wav\n", "no longitude/latitude columns.*the columns are: name, audio"),
        ("", "empty"),
    ],
)
def test_csv_without_coordinates(tmp_path, content, message):
    path = tmp_path / "points.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        read_points(path)


def test_geojson_errors_name_the_feature(tmp_path):
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
    path = tmp_path / "lines.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [line]}))
    with pytest.raises(
        ValueError, match="feature 1: the geometry is a LineString, expected a Point"
    ):
        read_points(path)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [], "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}))  # fmt: skip
    with pytest.raises(ValueError, match="CRS84"):
        read_points(path)


def test_keys_must_be_unique_integers(site):
    points = _write_csv(
        site["dir"] / "keys.csv",
        ["lon", "lat", "audio", "key"],
        [
            [*site["points"][0][:2], "sounds/birds.flac", "7"],
            [*site["points"][1][:2], "x", "seven"],
        ],
    )
    with pytest.raises(ValueError, match=r"row 2: key field 'key' is 'seven'"):
        build_pairs(site["raster"], points, "audio", site["dir"] / "out", key_field="key")
    with pytest.raises(ValueError, match=r"no key field 'id'.*lon, lat, audio, key"):
        build_pairs(site["raster"], points, "audio", site["dir"] / "out", key_field="id")


def test_no_point_inside_explains_the_coverage(site):
    points = _write_csv(site["dir"] / "far.csv", ["lon", "lat", "f"], [[2.35, 48.85, "a.wav"]])
    with pytest.raises(
        ValueError, match=r"no pairs written \(1 point outside the raster\).*longitude 13\.3"
    ):
        build_pairs(site["raster"], points, "f", site["dir"] / "out")


def test_rerun_replaces_only_its_own_output_and_cancel_keeps_it(site):
    out = site["dir"] / "pairs"
    (out / "images").mkdir(parents=True)
    (out / "images" / "999.jpg").write_bytes(b"stale")
    (out / "notes.txt").write_text("mine")
    build_pairs(site["raster"], _csv_points(site), "Sound_File", out, 200.0, 32)
    assert sorted(p.name for p in (out / "images").iterdir()) == ["1.jpg", "2.jpg"]
    assert (out / "notes.txt").read_text() == "mine"
    before = (out / "metadata.csv").read_bytes()

    with pytest.raises(Cancelled):
        build_pairs(site["raster"], _geojson_points(site), "recording", out, 200.0, 32, "id", CancelAfter(0))  # fmt: skip
    assert (out / "metadata.csv").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [
        "audio",
        "dataset.json",
        "images",
        "metadata.csv",
        "notes.txt",
        "skipped.csv",
    ]


def test_cli_build_pairs(site, capsys):
    out = site["dir"] / "pairs"
    argv = ["build-pairs", "--raster", str(site["raster"]), "--points", str(_csv_points(site)),
            "--audio-field", "Sound_File", "--out", str(out), "--tile-metres", "200", "--tile-px", "32"]  # fmt: skip
    assert main(argv) == 0
    assert "wrote 2 pairs; skipped 1 point outside the raster, 1 missing audio file" in (
        capsys.readouterr().out
    )
    bad = ["build-pairs", "--raster", str(site["raster"]), "--points", str(_csv_points(site)),
           "--audio-field", "nope", "--out", str(out)]  # fmt: skip
    assert main(bad) == 2
    assert "no audio field 'nope'" in capsys.readouterr().err


def test_rasters_without_georeferencing_are_refused(site, tmp_path):
    not_a_raster = tmp_path / "notes.tif"
    not_a_raster.write_text("hello")
    with pytest.raises(ValueError, match="cannot be opened as a raster"):
        build_pairs(not_a_raster, _csv_points(site), "Sound_File", tmp_path / "out")
    plain = tmp_path / "plain.tif"
    with rasterio.open(
        plain, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8"
    ) as dst:
        dst.write(np.zeros((1, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="no CRS or georeferencing"):
        build_pairs(plain, _csv_points(site), "Sound_File", tmp_path / "out")
    assert not (tmp_path / "out").exists()
