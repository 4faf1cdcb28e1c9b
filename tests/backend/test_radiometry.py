"""Radiometry: statistics measured from real GeoTIFFs, applied to pixels, and mismatch warnings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.models.classifier import (
    SceneClassifier,
    classifier_metadata,
    load_classifier,
    save_classifier,
)
from backend.models.modelfile import ModelFileError, ModelMetadata
from backend.radiometry import (
    check_normalization,
    measure_band_statistics,
    normalise,
    prescale,
    radiometry_warning,
    range_warning,
)
from tests.backend.raster.fake_rasters import write_raster


def _reflectance(rng: np.random.Generator, bands: int, size: int) -> np.ndarray:
    """uint16 reflectance-like bands: band b around 1000 * (b + 1), with a few bright outliers."""
    data = np.stack([rng.normal(1000.0 * (b + 1), 100.0, (size, size)) for b in range(bands)])
    data[:, :2, :2] = 60000  # saturated pixels the robust range must ignore
    return data.clip(0, 65535).astype(np.uint16)


def test_statistics_of_a_uint16_raster_follow_its_values(tmp_path):
    rng = np.random.default_rng(0)
    path = write_raster(tmp_path / "refl.tif", _reflectance(rng, 4, 128))
    stats = measure_band_statistics(path, window_px=64, max_windows=4)
    assert stats["kind"] == "robust" and stats["dtype"] == "uint16"
    assert len(stats["bands"]) == len(stats["low"]) == len(stats["mean"]) == 4
    for b in range(4):
        centre = 1000.0 * (b + 1)
        # 2nd/98th percentiles of N(centre, 100): about centre -/+ 205; outliers ignored
        assert centre - 260 < stats["low"][b] < centre - 150
        assert centre + 150 < stats["high"][b] < centre + 260
        assert 0.4 < stats["mean"][b] < 0.6 and 0.1 < stats["std"][b] < 0.3


def test_statistics_exclude_nodata_and_are_seeded(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.normal(0.2, 0.05, (6, 300, 300)).astype(np.float32)
    data[:, :, :150] = -9999.0  # half of the raster is nodata
    path = write_raster(tmp_path / "float.tif", data, nodata=-9999.0)
    first = measure_band_statistics(path, window_px=64, max_windows=8, seed=3)
    again = measure_band_statistics(path, window_px=64, max_windows=8, seed=3)
    assert first == again
    assert first["dtype"] == "float32" and len(first["low"]) == 6
    assert all(
        0.0 < low < 0.2 < high < 0.4 for low, high in zip(first["low"], first["high"], strict=True)
    )
    chosen = measure_band_statistics(path, bands=[2, 5])
    assert chosen["bands"] == ["band 2", "band 5"]


def test_statistics_errors_name_the_problem(tmp_path):
    path = write_raster(tmp_path / "rgb.tif", np.zeros((3, 32, 32), np.uint8), nodata=0)
    with pytest.raises(ValueError, match="band 1 has no valid pixel"):
        measure_band_statistics(path)
    with pytest.raises(ValueError, match="out of range"):
        measure_band_statistics(path, bands=[4])
    with pytest.raises(FileNotFoundError, match="missing.tif"):
        measure_band_statistics(tmp_path / "missing.tif")


def test_prescale_and_normalise_robust():
    norm = {
        "kind": "robust",
        "low": [100.0, 0.0],
        "high": [300.0, 1.0],
        "mean": [0.5, 0.25],
        "std": [0.25, 0.5],
        "dtype": "uint16",
        "bands": ["a", "b"],
    }
    pixels = np.array([[[[50, 0], [200, 1], [400, 0]]]], dtype=np.uint16)  # [1, 1, 3, 2]
    scaled = prescale(pixels, norm)
    assert scaled.shape == (1, 2, 1, 3) and scaled.dtype == torch.float32
    assert scaled[0, 0, 0].tolist() == [0.0, 0.5, 1.0]
    assert scaled[0, 1, 0].tolist() == [0.0, 1.0, 0.0]
    full = normalise(pixels, norm)
    assert full[0, 0, 0].tolist() == pytest.approx([-2.0, 0.0, 2.0])
    assert full[0, 1, 0].tolist() == pytest.approx([-0.5, 1.5, -0.5])
    nan = prescale(np.full((1, 1, 1, 2), np.nan, np.float32), norm)
    assert nan.flatten().tolist() == [0.0, 0.0]


def test_prescale_legacy_divides_by_scale():
    norm = {"mean": [0.5] * 3, "std": [0.25] * 3, "scale": 255.0}
    pixels = np.full((2, 4, 4, 3), 255, np.uint8)
    assert torch.allclose(prescale(pixels, norm), torch.ones(2, 3, 4, 4))
    assert torch.allclose(normalise(pixels, norm), torch.full((2, 3, 4, 4), 2.0))


def test_rgb8_model_warns_on_float_and_uint16_rasters():
    rgb8 = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": 255.0}
    assert radiometry_warning(rgb8, "uint8", 3) is None
    message = radiometry_warning(rgb8, "float32", 3)
    assert message and "8-bit" in message and "float32" in message
    message = radiometry_warning(rgb8, "uint16", 6)
    assert "uint16" in message and "6 bands" in message and "reads 3" in message
    robust8 = {
        "kind": "robust",
        "low": [3.0] * 3,
        "high": [250.0] * 3,
        "mean": [0.5] * 3,
        "std": [0.2] * 3,
        "dtype": "uint8",
    }
    assert "float64" in radiometry_warning(robust8, "float64", 3)
    robust16 = {**robust8, "low": [200.0] * 3, "high": [4000.0] * 3, "dtype": "uint16"}
    assert radiometry_warning(robust16, "uint16", 3) is None
    assert "uint8" in radiometry_warning(robust16, "uint8", 3)


def test_model_files_keep_a_robust_normalisation(tmp_path):
    norm = {
        "kind": "robust",
        "low": [0.01, 0.02, 0.0, 0.05],
        "high": [0.3, 0.35, 0.4, 0.6],
        "mean": [0.4, 0.45, 0.5, 0.55],
        "std": [0.2, 0.21, 0.22, 0.23],
        "dtype": "float32",
        "bands": ["blue", "green", "red", "nir"],
    }
    torch.manual_seed(0)
    model = SceneClassifier("resnet18", 2, 4, norm["mean"], norm["std"])
    metadata = classifier_metadata(
        model, ["water", "forest"], ["#1f78b4", "#1b7a3a"], [1, 2, 3, 4], 32, normalization=norm
    )
    path = tmp_path / "robust.safetensors"
    save_classifier(path, model, metadata)
    loaded, meta = load_classifier(path)
    assert meta.normalization == norm
    assert loaded.mean_values == pytest.approx(norm["mean"])
    bad = {**norm, "high": [0.0, 0.35, 0.4, 0.6]}
    assert "high" in check_normalization(bad, 4)
    with pytest.raises(ModelFileError, match="'low'"):
        ModelMetadata(kind="classifier", bands=[1, 2, 3, 4], normalization={**norm, "low": [0.0]})


def test_range_warning_names_the_bands_whose_values_do_not_fit():
    model = {
        "kind": "robust",
        "low": [0.02, 0.03],
        "high": [0.3, 0.4],
        "mean": [0.5, 0.5],
        "std": [0.2, 0.2],
        "dtype": "float32",
    }
    fits = {"low": [0.01, 0.05], "high": [0.25, 0.45], "bands": ["blue", "nir"]}
    assert range_warning(model, fits) is None
    # the same reflectance scaled by 10000 (another product's convention)
    scaled = {"low": [100.0, 0.05], "high": [3000.0, 0.45], "bands": ["blue", "nir"]}
    message = range_warning(model, scaled)
    assert "blue 100 to 3000 (model: 0.02 to 0.3)" in message and "nir" not in message
    legacy = {"mean": [0.5], "std": [0.2], "scale": 255.0}
    assert range_warning(legacy, {"low": [3.0], "high": [240.0]}) is None
    assert "band 1 0 to 2" in range_warning(legacy, {"low": [0.0], "high": [2.0]})
