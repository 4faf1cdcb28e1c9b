"""The streaming engine: band checks, strip reads, padding, nodata cells, batching, block writes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from backend.raster.engine import (
    BlockWriter,
    RasterReadError,
    StripReader,
    iter_strips,
    open_raster,
    parse_bands,
    predict_strips,
    resolve_bands,
)
from backend.raster.grid import RasterInputError, build_grid
from tests.backend.raster.fake_rasters import corrupt_block, smooth_image, write_raster


def _grid(path, tile=32, stride=32, resolution=None):
    with rasterio.open(path) as src:
        return build_grid(src.width, src.height, src.transform, src.crs, tile, stride, resolution)


def test_parse_bands() -> None:
    assert parse_bands("3,2,1") == [3, 2, 1]
    assert parse_bands("1 1 1") == [1, 1, 1]
    for bad in ("", "0,1,2", "a,b"):
        with pytest.raises(RasterInputError, match="--bands"):
            parse_bands(bad)


def test_band_count_mismatch_names_the_expected_bands_and_the_option(tmp_path) -> None:
    grey = write_raster(tmp_path / "grey.tif", smooth_image(np.random.default_rng(0), 1, 64, 64))
    with open_raster(grey) as src:
        with pytest.raises(RasterInputError) as info:
            resolve_bands(src, [1, 2, 3])
        message = str(info.value)
        assert "has 1 band" in message and "1 (red), 2 (green), 3 (blue)" in message
        assert "--bands 1,1,1" in message
        assert resolve_bands(src, [1, 2, 3], [1, 1, 1]) == [1, 1, 1]
        with pytest.raises(RasterInputError, match="--bands lists 2 band"):
            resolve_bands(src, [1, 2, 3], [1, 1])


def test_band_order_mismatch_suggests_the_mapping(tmp_path) -> None:
    data = smooth_image(np.random.default_rng(0), 3, 64, 64)
    bgr = write_raster(tmp_path / "bgr.tif", data, colorinterp=["blue", "green", "red"])
    with open_raster(bgr) as src:
        with pytest.raises(RasterInputError, match="labelled blue, green, red.*--bands 3,2,1"):
            resolve_bands(src, [1, 2, 3])
        assert resolve_bands(src, [1, 2, 3], [3, 2, 1]) == [3, 2, 1]
    rgba = write_raster(
        tmp_path / "rgba.tif",
        smooth_image(np.random.default_rng(0), 4, 64, 64),
        colorinterp=["red", "green", "blue", "alpha"],
    )
    with open_raster(rgba) as src:
        assert resolve_bands(src, [1, 2, 3]) == [1, 2, 3]


def test_strip_pixels_are_the_raster_with_reflection_past_its_edges(tmp_path) -> None:
    data = smooth_image(np.random.default_rng(1), 3, 40, 48)
    path = write_raster(tmp_path / "small.tif", data)
    grid = _grid(path, tile=32, stride=16)
    reader = StripReader(path, grid, [1, 2, 3])
    try:
        strip = grid.strips(1)[0]
        got = reader.read(strip)
    finally:
        reader.close()
    # the strip starts 8 px above and left of the raster (tile centred on the first cell)
    assert (strip.top, strip.left) == (-8, -8)
    assert got.pixels.shape == (32, 16 * 2 + 32, 3)
    inner = np.moveaxis(data[:, :24, :48], 0, -1)
    np.testing.assert_array_equal(got.pixels[8:32, 8:56], inner)
    padded = np.pad(np.moveaxis(data, 0, -1), ((8, 8), (8, 8), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(got.pixels, padded[:32, :64])
    assert got.valid.all()


def test_cells_that_are_mostly_nodata_are_not_computed(tmp_path) -> None:
    data = smooth_image(np.random.default_rng(2), 3, 64, 96).clip(1, 255)
    data[:, :, 64:] = 0  # the right third nodata
    data[:, :20, :40] = 0  # most of the first cell too (20 of 32 rows)
    path = write_raster(tmp_path / "holes.tif", data, nodata=0)
    grid = _grid(path)
    reader = StripReader(path, grid, [1, 2, 3])
    try:
        assert reader.has_mask
        valid = np.concatenate([reader.read(s).valid for s in grid.strips(1)])
    finally:
        reader.close()
    expected = np.array([[False, True, False], [True, True, False]])
    np.testing.assert_array_equal(valid, expected)


def test_unreadable_block_is_an_error_naming_the_window(tmp_path) -> None:
    path = write_raster(
        tmp_path / "broken.tif", smooth_image(np.random.default_rng(3), 3, 128, 128)
    )
    corrupt_block(path, block_col=1, block_row=0)
    grid = _grid(path)
    strips = grid.strips(1)
    with pytest.raises(
        RasterReadError, match=r"broken\.tif: cannot read the raster window at column"
    ):
        list(iter_strips(path, grid, [1, 2, 3], strips))


def test_batches_span_strips_and_results_come_out_in_order(tmp_path) -> None:
    path = write_raster(tmp_path / "r.tif", smooth_image(np.random.default_rng(4), 3, 96, 160))
    grid = _grid(path)
    sizes: list[int] = []

    def predict(pixels: np.ndarray) -> np.ndarray:
        sizes.append(pixels.shape[0])
        # output: the tile's mean red value and its size
        return np.stack(
            [pixels[..., 0].mean(axis=(1, 2)), np.full(len(pixels), pixels.shape[1])], 1
        )

    strips = iter_strips(path, grid, [1, 2, 3], grid.strips(1))
    results = list(predict_strips(strips, predict, 7, 32, 32, grid.cells))
    assert [r.strip.out_row for r in results] == [0, 1, 2]
    assert sizes == [7, 7, 1]  # 15 tiles: full batches across strip boundaries
    with rasterio.open(path) as src:
        red = src.read(1).astype(np.float64)
    values = np.concatenate([r.values for r in results])
    expected = red.reshape(3, 32, 5, 32).mean(axis=(1, 3))
    np.testing.assert_allclose(values[..., 0], expected, rtol=1e-5)
    assert (values[..., 1] == 32).all()


def test_block_writer_writes_whole_blocks_in_order(tmp_path) -> None:
    profile = {"driver": "GTiff", "width": 20, "height": 40, "count": 2, "dtype": "uint8"}
    profile.update(tiled=True, blockxsize=16, blockysize=16, nodata=255)
    rows = np.arange(40 * 20 * 2, dtype=np.int64).reshape(2, 40, 20) % 250
    with rasterio.open(tmp_path / "w.tif", "w", **profile) as dst:
        writer = BlockWriter(dst, 255, 16)
        for start in range(0, 40, 3):
            writer.write(start, rows[:, start : start + 3].astype(np.uint8))
        with pytest.raises(ValueError, match="in order"):
            writer.write(0, rows[:, :1].astype(np.uint8))
        writer.flush()
    with rasterio.open(tmp_path / "w.tif") as src:
        np.testing.assert_array_equal(src.read(), rows.astype(np.uint8))
