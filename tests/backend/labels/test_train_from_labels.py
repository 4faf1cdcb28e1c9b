"""train-from-labels end to end on tiny real GeoTIFFs and vector files (ResNet-18 on 16 px tiles)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from backend.cli import main
from backend.labels import LabelsConfig, train_from_labels
from backend.models.classifier import load_classifier
from backend.progress import Cancelled
from backend.raster.runtime import cached_onnx_path, onnxruntime_available
from tests.backend.labels.fake_labels import (
    LEFT,
    TOP,
    labels_config,
    stripe_of,
    stripe_points,
    to_lonlat,
    write_raster,
    write_vector,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIDE = 144


def _labels(tmp_path: Path, per_class: int = 16) -> Path:
    """Points of the three stripes in EPSG:4326, one with an empty class, one off the raster."""
    points = stripe_points(SIDE, SIDE, per_class, seed=1, margin=4)
    lonlat = to_lonlat([(x, y) for x, y, _ in points])
    features = [
        (f"POINT ({lon} {lat})", name)
        for (lon, lat), (_, _, name) in zip(lonlat, points, strict=True)
    ]
    (off_lon, off_lat), (empty_lon, empty_lat) = to_lonlat(
        [(LEFT - 3000, TOP + 3000), (points[0][0], points[0][1])]
    )
    features += [
        (f"POINT ({off_lon} {off_lat})", "water"),
        (f"POINT ({empty_lon} {empty_lat})", ""),
    ]
    return write_vector(tmp_path / "survey.gpkg", features)


def _config(tmp_path: Path, raster: Path, labels: Path, **changes) -> LabelsConfig:
    return labels_config(
        tmp_path, raster, labels, **({"tile_metres": 160.0, "batch_size": 16} | changes)
    )


def test_linear_probe_with_compare_writes_model_and_report(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=4, dtype="uint16")
    config = _config(tmp_path, raster, _labels(tmp_path), compare=True)
    result = train_from_labels(config)
    report = json.loads(result.report_json.read_text())
    assert report["samples"] == 48
    # the engine cache already holds its ONNX Runtime export (the first map opens it)
    assert cached_onnx_path(result.model).is_file() == onnxruntime_available()
    assert report["skipped"] == {"empty class": 1, "outside the raster": 1}
    assert [c["name"] for c in report["classes"]] == ["forest", "urban", "water"]
    names = [m["name"] for m in report["methods"]]
    assert names == [
        "random (linear)",
        "pixel random forest",
        "pixel logistic regression",
        "majority class",
    ]
    assert report["head"] == "hybrid" and report["methods"][0]["head"] == "hybrid"
    accuracy = {m["name"]: m["overall_accuracy"] for m in report["methods"]}
    # the stripes' spectra differ: a pixel forest separates them, the majority class cannot
    # (measured over seeds 0-3: forest 1.0, random-trunk probe 0.98-1.0, pixel logistic
    # regression 1.0, majority 0.29-0.31)
    assert accuracy["pixel random forest"] > 0.9
    assert accuracy["pixel logistic regression"] > 0.9
    assert accuracy["majority class"] < 0.5
    for method in report["methods"]:
        assert np.asarray(method["confusion"]).sum() == 48
        assert len(method["per_fold_accuracy"]) == 3
        assert set(method["per_class"]["water"]) == {"precision", "recall", "f1", "support"}
    assert result.report_html.read_text().count("<tr>") >= 4
    assert result.confusion_png.read_bytes()[:4] == b"\x89PNG"
    assert "pixel random forest" in result.summary

    model, meta = load_classifier(result.model)
    assert meta.class_names == ["forest", "urban", "water"]
    # customary land-cover colours: forest green, urban red/grey, water blue
    assert meta.class_colors[2] != meta.class_colors[0]
    assert meta.normalization["kind"] == "robust" and meta.normalization["dtype"] == "uint16"
    assert meta.bands == [1, 2, 3, 4] and meta.tile_px == 16 and meta.resolution_m == 10.0
    # the final model, fed as the raster engine feeds it, finds each stripe's class
    from backend.radiometry import prescale

    with rasterio.open(raster) as src:
        pixels = src.read().transpose(1, 2, 0)
    centres = [(SIDE // 2, c) for c in (24, SIDE // 2, SIDE - 24)]
    tiles = np.stack([pixels[r - 8 : r + 8, c - 8 : c + 8] for r, c in centres])
    predicted = model(prescale(tiles, meta.normalization)).argmax(1).tolist()
    truth = [["water", "forest", "urban"][int(stripe_of(np.array(c), SIDE))] for _, c in centres]
    assert [meta.class_names[p] for p in predicted] == truth


def test_finetune_on_six_float_bands_resampled(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=6, dtype="float32")
    config = _config(
        tmp_path,
        raster,
        _labels(tmp_path, per_class=8),
        mode="finetune",
        epochs=1,
        resolution=20.0,
        folds=2,
    )
    result = train_from_labels(config)
    _, meta = load_classifier(result.model)
    assert meta.tile_px == 8 and meta.resolution_m == 20.0 and len(meta.bands) == 6
    assert meta.normalization["dtype"] == "float32"
    assert [m["name"] for m in result.report["methods"]] == ["random (finetune)", "majority class"]


@pytest.mark.parametrize("head", ["hybrid", "trunk"])
def test_int16_bands_and_the_head_the_model_file_keeps(tmp_path: Path, head: str) -> None:
    """The default hybrid head also sees the centre pixel's bands; the file says so."""
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=4, dtype="int16")
    changes = {} if head == "hybrid" else {"head": "trunk"}
    config = _config(
        tmp_path, raster, _labels(tmp_path, per_class=6), cross_validate=False, **changes
    )
    assert config.head == head
    result = train_from_labels(config)
    assert result.report["head"] == head and result.report["raster_dtype"] == "int16"
    model, meta = load_classifier(result.model)
    assert meta.normalization["dtype"] == "int16" and meta.tile_px == 16
    centre = 2 if head == "hybrid" else 0
    assert model.centre_px == centre and meta.extra.get("centre_px", 0) == centre
    assert model.head.in_features == 512 + (4 if head == "hybrid" else 0)
    with rasterio.open(raster) as src:
        tile = src.read(window=((64, 80), (8, 24))).transpose(1, 2, 0)[None]
    from backend.radiometry import prescale

    x = prescale(tile, meta.normalization)
    features = model.features(x)
    if head == "hybrid":
        # the last four features are the normalised bands of the centre 2 x 2 pixels
        expected = model.normalize(x)[:, :, 7:9, 7:9].mean((2, 3))
        assert torch.allclose(features[:, 512:], expected, atol=1e-5)
    assert model(x).shape == (1, 3)


def test_imagenet_file_as_trunk_and_in_the_comparison(tmp_path: Path) -> None:
    import torch
    import torchvision

    weights = tmp_path / "resnet18-imagenet.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=6, dtype="float32")
    labels = _labels(tmp_path, per_class=8)
    config = _config(tmp_path, raster, labels, folds=2, compare=True, imagenet=str(weights))
    names = [m["name"] for m in train_from_labels(config).report["methods"]]
    assert names == [
        "random (linear)",
        "ImageNet (linear)",
        "pixel random forest",
        "pixel logistic regression",
        "majority class",
    ]
    config = _config(tmp_path, raster, labels, folds=2, init=f"imagenet:{weights}")
    result = train_from_labels(config)
    assert result.report["methods"][0]["name"] == "ImageNet (linear)"
    _, meta = load_classifier(result.model)
    assert meta.provenance["init"] == f"imagenet:{weights}" and len(meta.bands) == 6


class _CancelAt:
    """Asks to stop once a progress message contains ``text``."""

    def __init__(self, text: str, after: float = 0.0) -> None:
        self.text, self.after, self.seen = text, after, False

    def progress(self, fraction: float, message: str = "") -> None:
        self.seen = self.seen or (self.text in message and fraction >= self.after)

    def is_cancelled(self) -> bool:
        return self.seen


@pytest.mark.parametrize("when", ["tiles", "fold 2/", "epoch 1/"])
def test_cancel_leaves_no_file(tmp_path: Path, when: str) -> None:
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE)
    config = _config(tmp_path, raster, _labels(tmp_path, per_class=8))
    if when == "epoch 1/":
        # while the final model trains, after the cross-validation
        config.mode, config.epochs, config.folds = "finetune", 1, 2
    with pytest.raises(Cancelled):
        # the final model trains over 0.8-0.97 of the progress
        train_from_labels(config, _CancelAt(when, 0.8 if when == "epoch 1/" else 0.0))
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


def test_cli_runs_and_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE)
    labels = _labels(tmp_path, per_class=8)
    out = tmp_path / "cli.safetensors"
    common = ["--raster", str(raster), "--labels", str(labels), "--out", str(out)]
    assert main(["train-from-labels", *common, "--field", "kind"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no field 'kind'" in err and "['class']" in err and len(err.splitlines()) == 1
    assert not out.exists()
    broken = tmp_path / "broken.tif"
    broken.write_text("not a raster")
    assert (
        main(["train-from-labels", *common[2:], "--raster", str(broken), "--field", "class"]) == 2
    )
    assert "broken.tif: not a raster GDAL can read" in capsys.readouterr().err
    code = main(
        [
            "train-from-labels",
            *common,
            "--field",
            "class",
            "--tile-metres",
            "160",
            "--block-metres",
            "360",
            "--folds",
            "2",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and out.exists()
    assert "majority class" in printed and "cli.report.html" in printed


@pytest.mark.parametrize("head", ["hybrid", "trunk"])
def test_an_imported_reference_model_as_trunk(tmp_path: Path, head: str) -> None:
    """The paper's final layout (64/182/256/512) as the trunk, with either head."""
    from backend.models.reference_import import import_reference_checkpoint
    from tests.backend.models.fake_reference_checkpoint import write_fake_checkpoint

    write_fake_checkpoint(tmp_path / "latest.pt", embed_dim=8, seed=7)
    model = tmp_path / "reference.safetensors"
    import_reference_checkpoint(tmp_path / "latest.pt", model)
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=3, dtype="uint8")
    config = _config(
        tmp_path, raster, _labels(tmp_path, per_class=8), folds=2, init=str(model), head=head
    )
    result = train_from_labels(config)
    assert result.report["methods"][0]["name"].endswith("(linear)")
    assert result.report["head"] == head
    classifier, meta = load_classifier(result.model)
    assert meta.family == "reference" and classifier.family == "reference"
    assert meta.widths == {"image": [32, 64, 182, 256, 512]}
    assert classifier.trunk_dim == 512
    assert meta.provenance["init"] == str(model)
