"""Engine and precision choice: int8 with its agreement check, ONNX Runtime and its cache."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
import torch

from backend.cli import main
from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier
from backend.models.inference import int8_engine
from backend.raster import predictor as predictor_module
from backend.raster import runtime
from backend.raster.classify import classify_raster
from backend.raster.predictor import INT8_MIN_TILES, TilePredictor, classes_agree
from backend.raster.runtime import EngineError, cached_onnx, choose_engine, prepare_engine
from tests.backend.raster.fake_rasters import CLASS_COLORS, CLASS_NAMES, save_tiny_classifier

needs_int8 = pytest.mark.skipif(int8_engine() is None, reason="no quantized CPU engine")
needs_onnxruntime = pytest.mark.skipif(
    not runtime.onnxruntime_available(), reason="onnxruntime is not installed"
)


def _pixels(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)


@pytest.fixture(scope="module")
def model() -> SceneClassifier:
    torch.manual_seed(0)
    return SceneClassifier("resnet18", 4).eval()


def test_engine_choice_follows_the_precision_and_what_is_installed(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "onnxruntime_available", lambda: True)
    assert choose_engine("auto", "cpu", "fp32")[0] == "onnxruntime"
    assert choose_engine("auto", "cpu", "int8") == ("torch", "PyTorch runs it in int8")
    assert choose_engine("auto", "cpu", "bf16")[0] == "torch"
    assert choose_engine("auto", "cuda", "fp32")[0] == "torch"
    assert choose_engine("torch", "cpu", "fp32") == ("torch", "asked for")
    with pytest.raises(EngineError, match="use --device cpu"):
        choose_engine("onnxruntime", "cuda", "fp32")
    with pytest.raises(EngineError, match="--engine must be one of"):
        choose_engine("tensorrt", "cpu", "fp32")
    monkeypatch.setattr(runtime, "onnxruntime_available", lambda: False)
    assert choose_engine("auto", "cpu", "fp32") == ("torch", "onnxruntime is not installed")
    with pytest.raises(EngineError, match="pip install onnxruntime"):
        choose_engine("onnxruntime", "cpu", "fp32")


@needs_int8
def test_auto_runs_large_runs_in_int8_on_cpus_without_bf16(model, monkeypatch) -> None:
    monkeypatch.setattr(predictor_module, "cpu_supports_bf16", lambda: False)
    monkeypatch.setattr(predictor_module, "INT8_MIN_AGREEMENT", 0.0)
    pixels = _pixels(8)
    predictor = TilePredictor(
        model, 255.0, "cpu", "auto", freeze=True, allow_int8=True, tiles=INT8_MIN_TILES
    )
    assert predictor.precision == "int8"
    first = predictor(pixels)
    # the calibration batch gets its fp32 outputs
    expected = TilePredictor(model, 255.0, "cpu", "fp32", freeze=False)(pixels)
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-4)
    assert predictor.precision == "int8" and predictor.calibration_tiles == 8
    assert 0.0 <= predictor.int8_agreement <= 1.0
    assert "calibrated on 8 tiles, class agreement with fp32" in predictor.choice
    later = predictor(_pixels(4, seed=1))
    assert later.shape == (4, 4) and np.isfinite(later).all()
    # short runs, CPUs with bf16 and models int8 does not apply to never get int8
    assert (
        TilePredictor(model, 255.0, "cpu", "auto", freeze=False, allow_int8=True).precision
        == "fp32"
    )
    assert TilePredictor(model, 255.0, "cpu", "auto", freeze=True).precision == "fp32"
    fewer = TilePredictor(model, 255.0, "cpu", "auto", allow_int8=True, tiles=INT8_MIN_TILES - 1)
    assert fewer.precision == "fp32" and "too few for int8 calibration" in fewer.choice
    monkeypatch.setattr(predictor_module, "cpu_supports_bf16", lambda: True)
    assert TilePredictor(model, 255.0, "cpu", "auto", allow_int8=True).precision == "bf16"


@needs_int8
def test_int8_that_disagrees_with_fp32_falls_back_to_fp32(model, monkeypatch, caplog) -> None:
    monkeypatch.setattr(predictor_module, "cpu_supports_bf16", lambda: False)
    # no int8 model can pass a check that asks for more than every tile
    monkeypatch.setattr(predictor_module, "INT8_MIN_AGREEMENT", 1.01)
    pixels = _pixels(6, seed=3)
    predictor = TilePredictor(
        model, 255.0, "cpu", "auto", freeze=True, allow_int8=True, tiles=INT8_MIN_TILES
    )
    with caplog.at_level("WARNING"):
        out = predictor(pixels)
    assert predictor.precision == "fp32"
    assert "below 101 %" in predictor.choice and "using fp32" in caplog.text
    expected = TilePredictor(model, 255.0, "cpu", "fp32", freeze=False)(pixels)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(predictor(pixels), expected, rtol=1e-4, atol=1e-4)
    # asked for by name, int8 stays (with a warning)
    forced = TilePredictor(model, 255.0, "cpu", "int8", freeze=True, allow_int8=True)
    forced(pixels)
    assert forced.precision == "int8" and forced.int8_agreement is not None


def test_int8_is_refused_where_it_cannot_run(model) -> None:
    with pytest.raises(ValueError, match="precision int8 runs on the CPU, for classifiers"):
        TilePredictor(model, 255.0, "cpu", "int8", agree=classes_agree)  # not allowed: embeddings


@needs_onnxruntime
def test_onnx_cache_hits_and_follows_the_model_file(tmp_path) -> None:
    cache = tmp_path / "cache"
    model_file = save_tiny_classifier(tmp_path / "m.safetensors")
    first, cached = cached_onnx(model_file, cache)
    assert not cached and first.is_file()
    again, cached = cached_onnx(model_file, cache)
    assert cached and again == first
    # another model file at the same path is another key
    save_tiny_classifier(model_file, seed=1)
    changed, cached = cached_onnx(model_file, cache)
    assert not cached and changed != first
    assert sorted(p.name for p in cache.iterdir()) == sorted([first.name, changed.name])


@needs_onnxruntime
def test_a_failed_export_leaves_nothing_in_the_cache(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    model_file = save_tiny_classifier(tmp_path / "m.safetensors")

    def interrupted(self, data: bytes) -> int:
        with open(self, "wb") as handle:
            handle.write(data[: len(data) // 2])
        raise KeyboardInterrupt  # the user stopped it halfway through writing the file

    monkeypatch.setattr("pathlib.Path.write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cached_onnx(model_file, cache)
    assert list(cache.iterdir()) == []


def _unwritable_engine_cache(tmp_path, monkeypatch) -> None:
    """Point the engine cache below a file, where no folder can be made."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("SOUNDING_EARTH_ENGINE_CACHE", str(blocker / "engine"))


@needs_onnxruntime
def test_an_unwritable_engine_cache_costs_speed_not_the_map(
    tmp_path, utm_raster, classifier_file, monkeypatch, caplog
) -> None:
    _unwritable_engine_cache(tmp_path, monkeypatch)
    # fp32 on the CPU: auto would run ONNX Runtime, whose export cannot be written
    with caplog.at_level("WARNING", logger="backend.raster.classify"):
        result = classify_raster(
            utm_raster, classifier_file, tmp_path / "c.tif", device="cpu", precision="fp32"
        )
    assert result.engine == "torch" and "could not be written" in result.choice
    assert result.out.is_file() and "ONNX Runtime not used" in caplog.text
    with pytest.raises(OSError):  # asked for by name: the error is the user's to see
        classify_raster(
            utm_raster,
            classifier_file,
            tmp_path / "o.tif",
            device="cpu",
            engine="onnxruntime",
            precision="fp32",
        )
    assert not (tmp_path / "o.tif").exists()


@needs_onnxruntime
def test_a_classifier_just_written_is_ready_for_its_first_classification(
    tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("SOUNDING_EARTH_ENGINE_CACHE", str(tmp_path / "cache"))
    model_file = save_tiny_classifier(tmp_path / "m.safetensors")
    made = prepare_engine(model_file)
    assert made == runtime.cached_onnx_path(model_file) and made.is_file()
    assert cached_onnx(model_file) == (made, True)  # the first classification opens it
    # where the cache cannot be written: a warning, the model file as it was
    _unwritable_engine_cache(tmp_path, monkeypatch)
    with caplog.at_level("WARNING", logger="backend.raster.runtime"):
        assert prepare_engine(model_file) is None
    assert "could not prepare ONNX Runtime" in caplog.text and model_file.is_file()
    # where classify would not use ONNX Runtime, nothing is exported
    monkeypatch.setenv("SOUNDING_EARTH_ENGINE_CACHE", str(tmp_path / "other"))
    monkeypatch.setattr(runtime, "onnxruntime_available", lambda: False)
    assert prepare_engine(model_file) is None and not (tmp_path / "other").exists()


@needs_onnxruntime
def test_classify_with_onnxruntime_matches_torch(tmp_path, utm_raster, classifier_file) -> None:
    torch_run = classify_raster(
        utm_raster,
        classifier_file,
        tmp_path / "t.tif",
        device="cpu",
        stride=16,
        engine="torch",
        precision="fp32",
        probabilities=True,
    )
    ort_run = classify_raster(
        utm_raster,
        classifier_file,
        tmp_path / "o.tif",
        device="cpu",
        stride=16,
        engine="onnxruntime",
        precision="fp32",
        probabilities=True,
    )
    assert (torch_run.engine, ort_run.engine) == ("torch", "onnxruntime")
    assert ort_run.precision == "fp32" and "asked for" in ort_run.choice
    with rasterio.open(torch_run.probabilities) as a, rasterio.open(ort_run.probabilities) as b:
        np.testing.assert_allclose(a.read(), b.read(), atol=1e-4)
    with pytest.raises(EngineError, match="runs fp32 or int8, not --precision bf16"):
        classify_raster(
            utm_raster,
            classifier_file,
            tmp_path / "x.tif",
            device="cpu",
            engine="onnxruntime",
            precision="bf16",
        )
    assert not (tmp_path / "x.tif").exists()


@needs_onnxruntime
def test_a_reference_trunk_runs_in_every_engine(tmp_path, utm_raster) -> None:
    # the paper's final layout (32 stem, 64/182/256/512 stages), as after import + fine-tuning
    torch.manual_seed(0)
    model = SceneClassifier("resnet18", 3, family="reference")
    metadata = classifier_metadata(
        model, CLASS_NAMES, CLASS_COLORS, [1, 2, 3], 32, resolution_m=0.5
    )
    path = tmp_path / "reference.safetensors"
    save_classifier(path, model, metadata)
    outputs = {}
    for engine, precision in (("torch", "fp32"), ("onnxruntime", "fp32"), ("torch", "int8")):
        if precision == "int8" and int8_engine() is None:
            continue
        result = classify_raster(
            utm_raster,
            path,
            tmp_path / f"{engine}-{precision}.tif",
            device="cpu",
            stride=16,
            engine=engine,
            precision=precision,
            probabilities=True,
        )
        assert (result.engine, result.precision) == (engine, precision)
        with rasterio.open(result.probabilities) as src:
            outputs[engine, precision] = src.read()
    np.testing.assert_allclose(outputs["onnxruntime", "fp32"], outputs["torch", "fp32"], atol=1e-4)


@needs_int8
def test_classify_int8_reports_its_agreement(tmp_path, utm_raster, classifier_file) -> None:
    result = classify_raster(
        utm_raster,
        classifier_file,
        tmp_path / "q.tif",
        device="cpu",
        stride=16,
        batch_size=8,
        precision="int8",
        engine="torch",
    )
    assert result.precision == "int8" and result.int8_agreement is not None
    assert "calibrated on 8 tiles" in result.choice
    with rasterio.open(result.out) as src:
        assert src.read(1).max() < 3  # every pixel got one of the 3 classes


@needs_onnxruntime
def test_classify_command_takes_engine_and_precision(tmp_path, utm_raster, classifier_file, capsys):
    common = ["classify", "--raster", str(utm_raster), "--model", str(classifier_file)]
    common += ["--device", "cpu", "--stride", "16"]
    fp32 = ["--engine", "onnxruntime", "--precision", "fp32"]
    assert main([*common, "--out", str(tmp_path / "a.tif"), *fp32]) == 0
    assert "engine: onnxruntime (asked for), fp32 (asked for)" in capsys.readouterr().out
    assert main([*common, "--out", str(tmp_path / "b.tif"), "--engine", "onnxruntime"]) == 0
    assert "engine: onnxruntime (asked for), int8 (" in capsys.readouterr().out
    code = main(
        [*common, "--out", str(tmp_path / "x.tif"), "--engine", "onnxruntime"]
        + ["--precision", "bf16"]
    )
    assert code == 2
    assert "runs fp32 or int8, not --precision bf16" in capsys.readouterr().err
    if int8_engine() is not None:
        torch_int8 = ["--engine", "torch", "--precision", "int8"]
        assert main([*common, "--out", str(tmp_path / "c.tif"), *torch_int8]) == 0
        assert "int8 (asked for); calibrated on" in capsys.readouterr().out


def test_the_engine_cache_drops_least_recently_used_models_first(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    digests = [f"{i:064x}" for i in range(4)]
    for age, digest in enumerate(digests):  # digests[0] is the most recent
        for suffix, size in ((".onnx", 400), (".int8.onnx", 100), (".int8.json", 10)):
            path = cache / f"{digest}{suffix}"
            path.write_bytes(b"x" * size)
            os.utime(path, (1_000_000 - age * 100, 1_000_000 - age * 100))
    (cache / "notes.txt").write_text("not ours")
    # 4 models of 510 bytes; 1100 fits two: the two least recently used go, whole
    removed = runtime.prune_cache(cache, limit_bytes=1100, keep=cache / f"{digests[3]}.onnx")
    # digests[3] is the oldest but kept (just exported), so digests[2] and digests[1] go
    assert removed == [digests[2], digests[1]]
    names = sorted(p.name for p in cache.iterdir())
    assert names == sorted(
        ["notes.txt"]
        + [
            f"{d}{s}"
            for d in (digests[0], digests[3])
            for s in (".onnx", ".int8.onnx", ".int8.json")
        ]
    )
    monkeypatch.setenv(runtime.CACHE_LIMIT_ENV, "0.0006")  # 600 bytes: one model
    assert runtime.prune_cache(cache) == [digests[3]]
    assert runtime.prune_cache(cache) == []


@needs_onnxruntime
def test_a_cache_hit_counts_as_use(tmp_path) -> None:
    cache = tmp_path / "cache"
    model_file = save_tiny_classifier(tmp_path / "m.safetensors")
    path, _ = cached_onnx(model_file, cache)
    os.utime(path, (1_000, 1_000))
    cached_onnx(model_file, cache)
    assert path.stat().st_mtime > 1_000
