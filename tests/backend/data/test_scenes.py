"""Tests for the scene-dataset reader: formats, bit depths, bands, resolution, splits, skips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from PIL import Image

from backend.data.scenes import (
    OTHER_BIT_DEPTH,
    TOO_FEW_BANDS,
    UNREADABLE,
    SceneDataset,
    SceneReadError,
    load_scene,
    parse_bands,
    read_scene_pixels,
    read_split_file,
    reference_split,
    scan_scenes,
)

# the fake PNGs and plain TIFFs carry no georeferencing, as in UC Merced
pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

#: colour of each fake class (RGB, 0-1), so a classifier has something to learn
FAKE_CLASS_COLORS = {
    "beach": (0.9, 0.8, 0.6),
    "forest": (0.1, 0.5, 0.2),
    "water": (0.1, 0.3, 0.8),
}


def class_texture(rng: np.random.Generator, name: str, size: int, bands: int = 3) -> np.ndarray:
    """``[bands, size, size]`` float in [0, 1]: the class colour, stripes and noise."""
    colour = np.array(FAKE_CLASS_COLORS[name] + (0.5,) * max(0, bands - 3))[:bands]
    y, x = np.mgrid[0:size, 0:size] / size
    period = {"beach": 0.5, "forest": 0.15, "water": 0.3}[name]
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (x + y * rng.uniform(-1, 1)) / period)
    image = colour[:, None, None] * (0.75 + 0.25 * stripes[None])
    image = image + rng.normal(0, 0.05, image.shape)
    return np.clip(image, 0, 1)


def write_fake_scenes(
    root: Path,
    per_class: int = 6,
    size: int = 32,
    fmt: str = "jpg",
    bands: int = 3,
    dtype: str = "uint8",
    seed: int = 0,
    pixel_m: float | None = None,
) -> Path:
    """Write ``root/<class>/<class>_NN.<fmt>`` images, one folder per class.

    Args:
        fmt: ``jpg``, ``png`` or ``tif`` (GeoTIFF, georeferenced when ``pixel_m`` is set).
        bands: bands per image (JPEG: 3).
        dtype: ``uint8`` or ``uint16``.
        pixel_m: ground metres per pixel of the GeoTIFFs (UTM 33N).
    """
    rng = np.random.default_rng(seed)
    peak = 255 if dtype == "uint8" else 65535
    for name in FAKE_CLASS_COLORS:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = (class_texture(rng, name, size, bands) * peak).round().astype(dtype)
            path = folder / f"{name}_{i:02d}.{fmt}"
            if fmt == "jpg":
                Image.fromarray(pixels.transpose(1, 2, 0)).save(path, quality=95)
            else:
                profile = {
                    "driver": "PNG" if fmt == "png" else "GTiff",
                    "width": size,
                    "height": size,
                    "count": bands,
                    "dtype": dtype,
                }
                if fmt == "tif" and pixel_m:
                    profile["crs"] = "EPSG:32633"
                    profile["transform"] = Affine(pixel_m, 0, 389_000, 0, -pixel_m, 5_820_000)
                with rasterio.open(path, "w", **profile) as dst:
                    dst.write(pixels)
    return root


def test_scan_finds_classes_in_sorted_order_and_counts(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=4)
    (root / "notes.txt").write_text("not a class folder")
    (root / "water" / "readme.txt").write_text("ignored: not an image")
    scenes = scan_scenes(root)
    assert scenes.class_names == ["beach", "forest", "water"]
    assert scenes.class_counts() == [4, 4, 4]
    assert scenes.total == 12 and not scenes.skipped
    assert scenes.summary() == "skipped 0 of 12 images"
    assert scenes.dtype == "uint8" and scenes.scale == 255.0
    assert scenes.bands == [1, 2, 3]
    assert scenes.resolution_m() is None
    assert list(scenes.labels) == [0] * 4 + [1] * 4 + [2] * 4


def test_unreadable_files_are_skipped_counted_and_listed(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=3)
    (root / "beach" / "garbage.jpg").write_bytes(b"this is no image")
    good = (root / "forest" / "forest_00.jpg").read_bytes()
    (root / "forest" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "water" / "empty.png").write_bytes(b"")
    scenes = scan_scenes(root)
    assert len(scenes.images) == 9
    assert scenes.total == 12
    assert sorted(Path(p).name for p, _ in scenes.skipped) == [
        "empty.png",
        "garbage.jpg",
        "truncated.jpg",
    ]
    assert {reason for _, reason in scenes.skipped} == {UNREADABLE}
    assert scenes.summary() == "skipped 3 of 12 images: 3 unreadable images"
    scenes.write_skipped_csv(tmp_path / "skipped.csv")
    with open(tmp_path / "skipped.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 and rows[0]["reason"] == UNREADABLE


def test_no_images_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no images found"):
        scan_scenes(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        scan_scenes(tmp_path / "missing")


def test_16_bit_multiband_geotiff_with_band_selection_and_resolution(tmp_path: Path) -> None:
    root = write_fake_scenes(
        tmp_path / "scenes", per_class=2, size=20, fmt="tif", bands=5, dtype="uint16", pixel_m=10.0
    )
    scenes = scan_scenes(root, bands=[4, 3, 2])
    assert scenes.dtype == "uint16" and scenes.scale == 65535.0
    assert scenes.bands == [4, 3, 2]
    assert scenes.resolution_m() == pytest.approx(10.0)
    path = scenes.images[0].path
    with rasterio.open(path) as src:
        raw = src.read()
    pixels = read_scene_pixels(path, [4, 3, 2])
    assert pixels.dtype == np.uint16
    np.testing.assert_array_equal(pixels, raw[[3, 2, 1]])
    x = load_scene(path, 20, [4, 3, 2], 65535.0)
    assert x.dtype == torch.float32 and x.shape == (3, 20, 20)
    np.testing.assert_allclose(x.numpy(), raw[[3, 2, 1]] / 65535.0, rtol=1e-6)


def test_geographic_geotiff_resolution_is_converted_to_metres(tmp_path: Path) -> None:
    path = tmp_path / "scenes" / "a" / "one.tif"
    path.parent.mkdir(parents=True)
    (tmp_path / "scenes" / "b").mkdir()
    degrees = 1e-4  # about 11 m of latitude
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=8,
        height=8,
        count=3,
        dtype="uint8",
        crs="EPSG:4326",
        transform=Affine(degrees, 0, 0.0, 0, -degrees, 0.0004),  # at the equator
    ) as dst:
        dst.write(np.zeros((3, 8, 8), np.uint8))
    scenes = scan_scenes(tmp_path / "scenes")
    assert scenes.images[0].resolution_m == pytest.approx(11.13, rel=0.01)


def test_bands_beyond_the_file_and_other_bit_depths_are_skipped(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=3, fmt="tif", bands=4, dtype="uint16")
    write_fake_scenes(tmp_path / "three", per_class=1, fmt="tif", bands=3, dtype="uint16", seed=1)
    write_fake_scenes(tmp_path / "eight", per_class=1, fmt="png", bands=4, dtype="uint8", seed=2)
    for source in ("three", "eight"):
        for file in (tmp_path / source).rglob("*.*"):
            file.rename(root / file.parent.name / f"{source}_{file.name}")
    scenes = scan_scenes(root, bands=[4, 3, 2])
    reasons = sorted(reason for _, reason in scenes.skipped)
    assert reasons == [OTHER_BIT_DEPTH] * 3 + [TOO_FEW_BANDS] * 3
    assert len(scenes.images) == 9
    assert scenes.summary() == "skipped 6 of 15 images: 3 different bit depth, 3 too few bands"


def test_16_bit_rgb_png_keeps_its_precision(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=1, fmt="png", dtype="uint16")
    scenes = scan_scenes(root)
    assert scenes.dtype == "uint16"
    path = scenes.images[0].path
    with rasterio.open(path) as src:
        raw = src.read()
    pixels = read_scene_pixels(path)
    np.testing.assert_array_equal(pixels, raw)
    assert pixels.max() > 255


def test_palette_png_and_greyscale_jpeg_become_rgb(tmp_path: Path) -> None:
    folder = tmp_path / "scenes" / "a"
    folder.mkdir(parents=True)
    (tmp_path / "scenes" / "b").mkdir()
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:, :4] = (200, 10, 30)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "pal.png")
    Image.fromarray(np.full((8, 8), 77, np.uint8)).save(folder / "grey.jpg")
    scenes = scan_scenes(tmp_path / "scenes")
    assert not scenes.skipped
    palette = read_scene_pixels(folder / "pal.png")
    assert palette.shape == (3, 8, 8)
    np.testing.assert_array_equal(palette[:, 0, 0], [200, 10, 30])
    grey = read_scene_pixels(folder / "grey.jpg")
    assert grey.shape == (3, 8, 8)
    assert abs(int(grey[0, 0, 0]) - 77) <= 1 and (grey[0] == grey[2]).all()


def test_load_scene_takes_the_centre_square_and_resizes(tmp_path: Path) -> None:
    folder = tmp_path / "a"
    folder.mkdir()
    pixels = np.zeros((3, 20, 40), np.uint8)  # 40 wide, 20 high
    pixels[:, :, 10:30] = 255  # the centre square is white
    with rasterio.open(
        folder / "wide.tif", "w", driver="GTiff", width=40, height=20, count=3, dtype="uint8"
    ) as dst:
        dst.write(pixels)
    x = load_scene(folder / "wide.tif", 10)
    assert x.shape == (3, 10, 10)
    assert torch.allclose(x, torch.ones_like(x))
    with pytest.raises(SceneReadError, match="band 5 requested"):
        read_scene_pixels(folder / "wide.tif", [5])


def test_reference_split_alternates_within_each_class(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=4)
    (root / "water" / "water_03.jpg").unlink()  # an odd class size
    scenes = scan_scenes(root)
    train, test = reference_split(scenes)
    names = [scenes.relative_name(scenes.images[i]) for i in train]
    assert names == [
        "beach/beach_00.jpg",
        "beach/beach_02.jpg",
        "forest/forest_00.jpg",
        "forest/forest_02.jpg",
        "water/water_00.jpg",
        "water/water_02.jpg",
    ]
    assert len(test) == 5 and not set(train) & set(test)
    # with even class sizes it is the reference's even/odd split of the ImageFolder order
    even = scan_scenes(write_fake_scenes(tmp_path / "even", per_class=4))
    assert reference_split(even) == (list(range(0, 12, 2)), list(range(1, 12, 2)))


def test_split_file(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=2)
    scenes = scan_scenes(root)
    split = tmp_path / "split.csv"
    split.write_text(
        "path,split\n"
        "# comment\n"
        "beach/beach_00.jpg,train\n"
        "beach/beach_01.jpg,test\n"
        "forest/forest_00.jpg\ttrain\n"
        "forest/forest_01.jpg val\n"
        "water/missing.jpg,train\n"
        "water/water_01.jpg,TEST\n"
    )
    train, test = read_split_file(scenes, split)
    assert [scenes.relative_name(scenes.images[i]) for i in train] == [
        "beach/beach_00.jpg",
        "forest/forest_00.jpg",
    ]
    assert [scenes.relative_name(scenes.images[i]) for i in test] == [
        "beach/beach_01.jpg",
        "water/water_01.jpg",
    ]
    split.write_text("beach/beach_00.jpg,holdout\n")
    with pytest.raises(ValueError, match="neither train nor test"):
        read_split_file(scenes, split)
    split.write_text("beach/beach_00.jpg,train\n")
    with pytest.raises(ValueError, match="must be non-empty"):
        read_split_file(scenes, split)
    with pytest.raises(FileNotFoundError):
        read_split_file(scenes, tmp_path / "nope.csv")


def test_parse_bands() -> None:
    assert parse_bands("4,3,2") == [4, 3, 2]
    assert parse_bands(None) is None and parse_bands("") is None
    with pytest.raises(ValueError):
        parse_bands("0,1")
    with pytest.raises(ValueError):
        parse_bands("red")


def test_dataset_items(tmp_path: Path) -> None:
    root = write_fake_scenes(tmp_path / "scenes", per_class=2, size=24)
    scenes = scan_scenes(root)
    dataset = SceneDataset(scenes, [0, 5], 16, 255.0)
    assert len(dataset) == 2
    image, label = dataset[1]
    assert image.shape == (3, 16, 16) and label == 2
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0


def test_an_image_that_breaks_after_the_scan_is_replaced_by_one_of_its_class(
    tmp_path: Path, caplog
) -> None:
    from backend.data.scenes import SceneDataset

    root = tmp_path / "scenes"
    for name in ("forest", "water"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            pixels = np.full((40, 40, 3), 30 + 100 * (name == "water") + i, np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.jpg", quality=95)
    scenes = scan_scenes(root)
    dataset = SceneDataset(scenes, range(6), size=16, scale=255.0)
    broken = root / "water" / "1.jpg"
    broken.write_bytes(broken.read_bytes()[:100])
    index = [i for i, image in enumerate(dataset.images) if image.path == broken][0]
    with caplog.at_level("WARNING"):
        pixels, label = dataset[index]
    assert scenes.class_names[label] == "water" and pixels.shape == (3, 16, 16)
    assert float(pixels.mean()) > 0.4  # a water image (bright), not a forest one
    assert "1.jpg" in caplog.text
    assert torch.equal(dataset[index][0], pixels)  # the same substitute every time
