"""ONNX Runtime int8: calibrated on a raster's first batch, checked, cached, and refused."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from backend.raster import onnx_int8
from backend.raster.classify import classify_raster
from backend.raster.onnx_int8 import (
    CALIBRATE_MIN_TILES,
    Int8Record,
    int8_paths,
    plan_precision,
    quantization_available,
    recheck_tiles,
)
from backend.raster.runtime import cached_onnx_path
from tests.backend.raster.fake_rasters import save_tiny_classifier

pytestmark = pytest.mark.skipif(
    not quantization_available(), reason="onnxruntime and onnx are not installed"
)

# utm_raster at stride 16 with the 32 px tiny classifier: 16 x 12 output pixels
TILES = 192


def _classify(raster, model, out, **options):
    options.setdefault("device", "cpu")
    options.setdefault("stride", 16)
    options.setdefault("probabilities", True)
    return classify_raster(raster, model, out, **options)


def _classes(path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def test_plan_follows_the_request_the_cache_and_the_run_size(tmp_path, monkeypatch) -> None:
    fp32 = tmp_path / "abc.onnx"
    int8, record_path = int8_paths(fp32)
    assert (int8.name, record_path.name) == ("abc.int8.onnx", "abc.int8.json")
    assert plan_precision(fp32, "fp32", 10_000, 32) == ("fp32", "asked for")
    assert plan_precision(fp32, "int8", 10, 32) == ("int8", "asked for")
    small = plan_precision(fp32, "auto", CALIBRATE_MIN_TILES - 1, 32)
    assert small[0] == "fp32" and "too few for an int8 build" in small[1]
    assert plan_precision(fp32, "auto", CALIBRATE_MIN_TILES, 32)[0] == "int8"
    # a calibration that failed its check is remembered: auto stays fp32, int8 still runs it
    int8.write_bytes(b"model")
    Int8Record(0.9, 32, False, "a.tif", "1.22.1", 1.0).write(record_path)
    refused = plan_precision(fp32, "auto", 10_000, 32)
    assert refused == (
        "fp32",
        "int8 agreed with fp32 on only 90.0 % of 32 tiles of a.tif when calibrated",
    )
    assert plan_precision(fp32, "int8", 10_000, 32) == ("int8", "asked for")
    Int8Record(0.995, 200, True, "a.tif", "1.22.1", 1.0).write(record_path)
    assert "checked on this run's first tiles" in plan_precision(fp32, "auto", 33, 32)[1]
    # the later check: one tile in eight of the run, at least 8, at most a batch
    assert [recheck_tiles(t, 32) for t in (33, 121, 256, 257, 1849)] == [8, 16, 32, 32, 32]
    assert recheck_tiles(40, 4) == 4
    assert "not checked again" in plan_precision(fp32, "auto", 32, 32)[1]
    # without the onnx package nothing new is built
    monkeypatch.setattr(onnx_int8, "quantization_available", lambda: False)
    other = tmp_path / "def.onnx"
    assert plan_precision(other, "auto", 10_000, 32) == (
        "fp32",
        "int8 needs the onnx package (pip install onnx)",
    )
    with pytest.raises(ValueError, match="needs the onnx package"):
        plan_precision(other, "int8", 10, 32)


def test_auto_calibrates_once_then_reuses_and_checks(tmp_path, utm_raster, engine_cache):
    model = save_tiny_classifier(tmp_path / "m.safetensors", seed=3)
    reference = _classify(utm_raster, model, tmp_path / "t.tif", engine="torch", precision="fp32")
    first = _classify(utm_raster, model, tmp_path / "a.tif")
    int8, record_path = int8_paths(cached_onnx_path(model))
    record = Int8Record.read(record_path)
    assert record is not None and record.tiles == 32 and record.raster == utm_raster.name
    assert first.engine == "onnxruntime" and first.int8_agreement == record.agreement
    assert first.precision == ("int8" if record.accepted else "fp32")
    assert "calibrated on this run's first batch" in first.choice or not record.accepted
    # the first batch's outputs are fp32's; the map agrees with PyTorch's fp32 map
    agreement = float((_classes(first.out) == _classes(reference.out)).mean())
    assert agreement >= 0.95, agreement
    built = int8.stat().st_mtime_ns
    second = _classify(utm_raster, model, tmp_path / "b.tif")
    assert int8.stat().st_mtime_ns == built  # not built again
    if record.accepted:
        assert second.precision == "int8" and "checked on this run's first tiles" in second.choice
        assert f"of {recheck_tiles(second.stats.tiles, 32)} tiles" in second.choice
        # a one-batch run (a small window) uses the recorded model without a check
        small = _classify(utm_raster, model, tmp_path / "c.tif", batch_size=TILES)
        assert small.precision == "int8" and "not checked again" in small.choice
    # nothing but the export, the int8 model and its record in the cache
    names = {p.name for p in engine_cache.iterdir() if p.name.startswith(int8.name[:64])}
    assert names == {cached_onnx_path(model).name, int8.name, record_path.name}


def test_a_later_run_whose_check_fails_runs_fp32_throughout(
    tmp_path, utm_raster, engine_cache, monkeypatch
):
    model = save_tiny_classifier(tmp_path / "m.safetensors", seed=3)
    fp32 = _classify(utm_raster, model, tmp_path / "f.tif", engine="onnxruntime", precision="fp32")
    _classify(utm_raster, model, tmp_path / "a.tif")  # calibrates
    record = Int8Record.read(int8_paths(cached_onnx_path(model))[1])
    assert record is not None and record.accepted  # this model's int8 passes here
    monkeypatch.setattr(onnx_int8, "INT8_MIN_AGREEMENT", 1.01)  # this raster's check fails
    later = _classify(utm_raster, model, tmp_path / "b.tif")
    assert (later.engine, later.precision) == ("onnxruntime", "fp32")
    assert "this run's first tiles" in later.choice and "below 101 %" in later.choice
    # the checked tiles and the rest of their batch ran fp32, like every later batch
    # (the batch in two calls: equal up to the kernels' summation order)
    with rasterio.open(fp32.probabilities) as a, rasterio.open(later.probabilities) as b:
        np.testing.assert_allclose(a.read(), b.read(), atol=1e-5)
    assert (_classes(fp32.out) == _classes(later.out)).all()


def test_a_rejected_int8_model_runs_fp32_under_auto(
    tmp_path, utm_raster, engine_cache, monkeypatch
):
    monkeypatch.setattr(onnx_int8, "INT8_MIN_AGREEMENT", 1.01)  # no int8 can pass
    model = save_tiny_classifier(tmp_path / "m.safetensors", seed=4)
    fp32 = _classify(utm_raster, model, tmp_path / "f.tif", engine="onnxruntime", precision="fp32")
    rejected = _classify(utm_raster, model, tmp_path / "a.tif")
    assert (rejected.engine, rejected.precision) == ("onnxruntime", "fp32")
    assert "below 101 %" in rejected.choice
    # every batch ran fp32: the same outputs as ONNX Runtime's fp32
    with rasterio.open(fp32.probabilities) as a, rasterio.open(rejected.probabilities) as b:
        np.testing.assert_array_equal(a.read(), b.read())
    later = _classify(utm_raster, model, tmp_path / "b.tif")
    assert later.precision != "int8"  # PyTorch's bf16 where the CPU has it, else fp32
    later = _classify(utm_raster, model, tmp_path / "b.tif", engine="onnxruntime")
    assert later.precision == "fp32" and "when calibrated" in later.choice
    forced = _classify(
        utm_raster, model, tmp_path / "c.tif", engine="onnxruntime", precision="int8"
    )
    assert forced.precision == "int8" and forced.int8_agreement is not None


def test_a_failed_build_leaves_no_int8_file_and_auto_finishes_in_fp32(
    tmp_path, utm_raster, engine_cache, monkeypatch
):
    import onnxruntime.quantization

    def broken(model_input, model_output, *args, **kwargs):
        with open(model_output, "wb") as handle:
            handle.write(b"half a model")
        raise RuntimeError("quantizer stopped")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_static", broken)
    model = save_tiny_classifier(tmp_path / "m.safetensors", seed=5)
    result = _classify(utm_raster, model, tmp_path / "a.tif")
    assert result.precision == "fp32" and "int8 build failed" in result.choice
    int8, record_path = int8_paths(cached_onnx_path(model))
    assert not int8.exists() and not record_path.exists()
    assert not [p for p in engine_cache.iterdir() if "partial" in p.name]
    with pytest.raises(RuntimeError, match="quantizer stopped"):
        _classify(utm_raster, model, tmp_path / "b.tif", engine="onnxruntime", precision="int8")
    assert not (tmp_path / "b.tif").exists()
