"""Classification that makes sense by default: fine stride, resolution note, confidence, radiometry."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
import torch

from backend.cli import main
from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier
from backend.radiometry import prescale
from backend.raster.class_map import CLASS_NODATA
from backend.raster.classify import classify_raster
from backend.raster.grid import MIN_DEFAULT_CELLS, default_stride
from backend.raster.job import RadiometryWarning
from backend.raster.predictor import TilePredictor
from tests.backend.raster.fake_rasters import (
    CLASS_NAMES,
    save_tiny_classifier,
    smooth_image,
    write_raster,
)


def test_default_stride_gives_detail_and_bounded_work() -> None:
    assert default_stride(32, 2000, 2000) == 4  # an eighth of the tile
    # the case: a 192-px tile on a 400 x 400 raster gives 400 cells, not 2 x 2
    stride = default_stride(192, 400, 400)
    assert (400 // stride) ** 2 >= MIN_DEFAULT_CELLS
    assert default_stride(32, 20, 12) == 1  # a tiny raster: one output pixel per pixel
    # a huge raster: coarser, to bound the run time, but never coarser than the tile
    assert 4 < default_stride(32, 10_000, 10_000) <= 32
    assert default_stride(32, 200_000, 200_000) == 32


def test_unknown_model_resolution_uses_the_rasters_and_says_so(tmp_path) -> None:
    model = save_tiny_classifier(tmp_path / "nores.safetensors", resolution_m=None)
    data = smooth_image(np.random.default_rng(0), 3, 40, 48)
    raster = write_raster(tmp_path / "landsat.tif", data, resolution=28.5)
    result = classify_raster(raster, model, tmp_path / "classes.tif", device="cpu")
    assert result.tile == 32 and result.stride == 2
    assert result.width * result.height >= MIN_DEFAULT_CELLS
    assert len(result.notes) == 1
    assert "does not record its ground resolution" in result.notes[0]
    assert "28.5 m per pixel" in result.notes[0]
    with rasterio.open(result.out) as dst:
        assert dst.res == (57.0, 57.0)
    # a model that knows its resolution has nothing to say
    known = save_tiny_classifier(tmp_path / "res.safetensors", resolution_m=28.5)
    assert classify_raster(raster, known, tmp_path / "k.tif", stride=32).notes == []


def test_confidence_map_is_the_largest_probability_with_a_ramp_style(tmp_path) -> None:
    model = save_tiny_classifier(tmp_path / "m.safetensors")
    data = smooth_image(np.random.default_rng(1), 3, 96, 96).clip(1, 255)
    data[:, 64:, :] = 0
    raster = write_raster(tmp_path / "r.tif", data, nodata=0)
    result = classify_raster(
        raster, model, tmp_path / "c.tif", stride=16, probabilities=True, confidence=True
    )
    assert result.confidence == tmp_path / "c_confidence.tif"
    assert result.confidence_style == tmp_path / "c_confidence.qml"
    with (
        rasterio.open(result.out) as classes,
        rasterio.open(result.probabilities) as probs,
        rasterio.open(result.confidence) as conf,
    ):
        valid = classes.read(1) != CLASS_NODATA
        p, c = probs.read(), conf.read(1)
    assert valid.any() and (~valid).any()
    assert np.isnan(c[~valid]).all()
    np.testing.assert_allclose(c[valid], p[:, valid].max(axis=0), rtol=1e-6)
    assert (c[valid] >= 1 / len(CLASS_NAMES) - 1e-6).all() and (c[valid] <= 1).all()
    shader = ET.parse(result.confidence_style).getroot().find(".//colorrampshader")
    assert float(shader.get("minimumValue")) == pytest.approx(1 / 3)
    assert float(shader.get("maximumValue")) == 1.0


def test_rgb8_model_on_a_float_raster_warns_naming_the_mismatch(tmp_path, capsys) -> None:
    model = save_tiny_classifier(tmp_path / "rgb8.safetensors")
    data = np.random.default_rng(2).uniform(0, 0.3, (3, 32, 32)).astype(np.float32)
    raster = write_raster(tmp_path / "reflectance.tif", data)
    with pytest.warns(RadiometryWarning, match="8-bit.*float32"):
        result = classify_raster(raster, model, tmp_path / "c.tif", stride=32)
    assert len(result.warnings) == 1 and "reflectance.tif" in result.warnings[0]
    # the command prints it as one line
    code = main(
        ["classify", "--raster", str(raster), "--model", str(model)]
        + ["--out", str(tmp_path / "cli.tif"), "--device", "cpu", "--confidence"]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "warning: reflectance.tif: radiometry mismatch" in captured.err
    assert "(32 x 32 pixels, 1024 tiles of 32 px, stride 1 px" in captured.out
    assert f"wrote {tmp_path / 'cli_confidence.tif'}" in captured.out


def _robust_model(path, low: list[float], high: list[float], dtype: str) -> None:
    norm = {
        "kind": "robust",
        "low": low,
        "high": high,
        "mean": [0.5, 0.4, 0.45, 0.5],
        "std": [0.25, 0.2, 0.22, 0.3],
        "dtype": dtype,
        "bands": ["blue", "green", "red", "nir"],
    }
    torch.manual_seed(0)
    model = SceneClassifier("resnet18", 3, 4, norm["mean"], norm["std"])
    meta = classifier_metadata(
        model, CLASS_NAMES, [], [1, 2, 3, 4], 32, resolution_m=10.0, normalization=norm
    )
    save_classifier(path, model, meta)


def test_robust_normalisation_is_applied_whatever_the_data_type(tmp_path) -> None:
    rng = np.random.default_rng(3)
    counts = rng.integers(200, 5000, (4, 64, 64)).astype(np.uint16)
    low, high = [300.0, 400.0, 500.0, 600.0], [4000.0, 4200.0, 4400.0, 4600.0]
    ints = write_raster(tmp_path / "dn.tif", counts, resolution=10.0)
    floats = write_raster(tmp_path / "refl.tif", counts / np.float32(1e4), resolution=10.0)
    _robust_model(tmp_path / "dn.safetensors", low, high, "uint16")
    _robust_model(
        tmp_path / "refl.safetensors", [v / 1e4 for v in low], [v / 1e4 for v in high], "float32"
    )
    a = classify_raster(ints, tmp_path / "dn.safetensors", tmp_path / "a.tif", stride=8)
    b = classify_raster(floats, tmp_path / "refl.safetensors", tmp_path / "b.tif", stride=8)
    assert a.warnings == [] and b.warnings == []
    with rasterio.open(a.out) as one, rasterio.open(b.out) as two:
        first, second = one.read(1), two.read(1)
    # the same pixels on two scales give the same map once each model's radiometry is applied
    assert (first == second).mean() > 0.97
    assert len(np.unique(first)) > 1


def test_tile_predictor_feeds_the_model_prescaled_pixels() -> None:
    norm = {
        "kind": "robust",
        "low": [10.0] * 4,
        "high": [90.0] * 4,
        "mean": [0.5] * 4,
        "std": [0.2] * 4,
    }
    torch.manual_seed(1)
    model = SceneClassifier("resnet18", 3, 4, norm["mean"], norm["std"]).eval()
    pixels = np.random.default_rng(4).uniform(0, 100, (2, 32, 32, 4)).astype(np.float32)
    got = TilePredictor(model, norm, precision="fp32", freeze=False)(pixels)
    with torch.inference_mode():
        expected = model(prescale(pixels, norm)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_a_float_raster_on_another_scale_than_the_models_warns(tmp_path) -> None:
    rng = np.random.default_rng(5)
    reflectance = rng.uniform(0.02, 0.4, (4, 48, 48)).astype(np.float32)
    fits = write_raster(tmp_path / "fits.tif", reflectance, resolution=10.0)
    scaled = write_raster(tmp_path / "x10000.tif", reflectance * 10000, resolution=10.0)
    _robust_model(tmp_path / "m.safetensors", [0.03] * 4, [0.38] * 4, "float32")
    assert (
        classify_raster(fits, tmp_path / "m.safetensors", tmp_path / "a.tif", stride=32).warnings
        == []
    )
    with pytest.warns(RadiometryWarning, match="do not fit the range"):
        result = classify_raster(scaled, tmp_path / "m.safetensors", tmp_path / "b.tif", stride=32)
    assert "x10000.tif" in result.warnings[0] and "(model: 0.03 to 0.38)" in result.warnings[0]
