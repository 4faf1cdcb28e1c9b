"""``--tile-metres auto``: the tile side chosen by nested, spatially blocked validation.

Real GeoTIFFs and GeoPackages made in the test; ResNet-18 with random weights on
16/32/64 px tiles of the three-stripe scene.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from backend.cli import main
from backend.labels.config import TILE_CANDIDATES_PX, LabelsConfig
from backend.labels.sampling import Samples, read_tiles
from backend.labels.split import blocked_folds
from backend.labels.training import (
    _FitSettings,
    _Trainer,
    choose_tile,
    crop_centre,
    prepare_tiles,
    tile_candidates,
    train_from_labels,
)
from backend.models.classifier import load_classifier
from backend.transfer.inits import parse_init
from tests.backend.labels.fake_labels import (
    LEFT,
    PIXEL_M,
    TOP,
    labels_config,
    stripe_points,
    write_raster,
    write_vector,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIDE = 144


def _points(tmp_path: Path, side: int, per_class: int, name: str = "p.gpkg") -> Path:
    points = stripe_points(side, side, per_class, seed=3, margin=2)
    return write_vector(
        tmp_path / name, [(f"POINT ({x} {y})", c) for x, y, c in points], epsg=32633
    )


def _config(tmp_path: Path, raster: Path, labels: Path, **changes) -> LabelsConfig:
    return labels_config(
        tmp_path, raster, labels, **({"auto_tile": True, "batch_size": 32} | changes)
    )


def test_crop_from_the_largest_tile_equals_reading_the_smaller_one(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "scene.tif", 96, 80, bands=3, dtype="uint16")
    # pixel centres, pixel corners and positions in between; inside and past the edges
    cols = np.array([40.5, 40.0, 41.3, 3.7, 94.2, 10.5, 60.9])
    rows = np.array([30.5, 30.0, 29.6, 2.2, 77.9, 78.5, 5.5])
    samples = Samples(
        LEFT + cols * PIXEL_M,
        TOP - rows * PIXEL_M,
        ["a"] * len(cols),
        np.arange(len(cols)),
    )
    with rasterio.open(raster) as src:
        read = {
            px: read_tiles(src, samples, [1, 2, 3], px, px * PIXEL_M)[0]
            for px in TILE_CANDIDATES_PX
        }
    largest = torch.from_numpy(read[64]).permute(0, 3, 1, 2)
    for px in (16, 32):
        cropped = crop_centre(largest, px).permute(0, 2, 3, 1).numpy()
        np.testing.assert_array_equal(cropped, read[px])  # NaN (off the raster) included
    assert np.isnan(read[64][3]).any()  # the corner sample's tile reaches past the edge


def test_a_raster_too_small_for_64_px_drops_that_candidate(tmp_path: Path) -> None:
    assert tile_candidates(48) == [16, 32] and tile_candidates(64) == [16, 32, 64]
    assert tile_candidates(12) == []
    raster = write_raster(tmp_path / "small.tif", 60, 48, bands=4)
    config = _config(tmp_path, raster, _points(tmp_path, 48, 4))
    data = prepare_tiles(config)
    assert data.candidates_px == [16, 32] and data.tile_px == 32
    assert data.tiles.shape[-2:] == (32, 32) and data.tiles_at(16).shape[-2:] == (16, 16)
    # the blocks do not depend on the tile chosen: 4 x 32 px by default
    assert (
        prepare_tiles(_config(tmp_path, raster, config.labels, block_metres=None)).block_metres
        == 4 * 32 * PIXEL_M
    )
    # a fixed tile reads one size, as before
    fixed = prepare_tiles(_config(tmp_path, raster, config.labels, auto_tile=False))
    assert fixed.candidates_px == [32] and fixed.tile_px == 32


def test_the_choice_for_a_fold_comes_from_its_training_samples_only(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=4)
    data = prepare_tiles(_config(tmp_path, raster, _points(tmp_path, SIDE, 12)))
    assert data.candidates_px == list(TILE_CANDIDATES_PX)
    # a fixed L2 (one probe fit each, not one per L2 candidate) keeps the test fast
    settings = _FitSettings(data.tile_px, 1, 32, 1e-3, 1.0, 1e-4, "fp32", 0, 1e-2)
    config = _config(tmp_path, raster, Path(""))
    spec = parse_init("random")
    group = {
        px: _Trainer(spec, data, config, settings, torch.device("cpu"), px)
        for px in data.candidates_px
    }
    labels = data.labels.numpy()
    folds = blocked_folds(data.blocks, 3, 0, data.features, labels)
    train, test = np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)
    before = choose_tile(group, train, 3, 0)
    assert before["chosen_px"] in TILE_CANDIDATES_PX and before["inner_folds"] >= 2
    assert set(before["accuracy"]) == set(TILE_CANDIDATES_PX)
    original = data.labels.clone()
    # scramble the test fold's labels: the fold's choice and scores do not move
    data.labels[test] = (data.labels[test] + 1) % 3
    assert choose_tile(group, train, 3, 0) == before
    # the same scramble of training labels does change the scores (the check can fail)
    data.labels.copy_(original)
    data.labels[train[::2]] = (data.labels[train[::2]] + 1) % 3
    assert choose_tile(group, train, 3, 0)["accuracy"] != before["accuracy"]


def test_report_and_model_record_candidates_and_choices(tmp_path: Path, capsys) -> None:
    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=4)
    labels = _points(tmp_path, SIDE, 8)
    out = tmp_path / "cli.safetensors"
    code = main(
        [
            "train-from-labels",
            "--raster",
            str(raster),
            "--labels",
            str(labels),
            "--field",
            "class",
            "--out",
            str(out),
            "--tile-metres",
            "auto",
            "--folds",
            "3",
            "--block-metres",
            "360",
            "--compare",
            "--l2",
            "0.01",
        ]  # fmt: skip
    )
    assert code == 0
    report = json.loads(out.with_name("cli.report.json").read_text())
    selection = report["tile_selection"]
    assert selection["candidates_px"] == [16, 32, 64]
    assert selection["candidates_metres"] == [160.0, 320.0, 640.0]
    assert [f["fold"] for f in selection["per_fold"]] == [0, 1, 2]
    for choice in [*selection["per_fold"], selection["final"]]:
        assert set(choice["accuracy"]) == {"16", "32", "64"}
        best = max(choice["accuracy"].values())
        # the best inner accuracy wins, ties to the smaller tile
        assert choice["chosen_px"] == min(
            int(p) for p, a in choice["accuracy"].items() if a == best
        )
    trunk = report["methods"][0]
    assert trunk["tile_selection"] == selection["per_fold"]
    assert "tile_selection" not in report["methods"][1]  # the pixel forest has no tile
    assert report["tile_px"] == selection["final"]["chosen_px"]
    assert report["split"]["block_metres"] == 360.0
    _, meta = load_classifier(out)
    assert meta.tile_px == report["tile_px"] and meta.resolution_m == PIXEL_M
    assert meta.provenance["tile_candidates_px"] == [16, 32, 64]
    page = out.with_name("cli.report.html").read_text()
    assert "Tile size, chosen by nested validation" in page and "(chosen)" in page
    with pytest.raises(SystemExit) as exited:
        main(["train-from-labels", "--raster", str(raster), "--labels", str(labels),
              "--field", "class", "--out", str(out), "--tile-metres", "big"])  # fmt: skip
    assert exited.value.code == 2
    assert "expected a number of metres or auto, got 'big'" in capsys.readouterr().err


def test_finetune_chooses_by_the_probe_then_finetunes_at_that_size(tmp_path: Path) -> None:
    raster = write_raster(tmp_path / "small.tif", 48, 48, bands=3, dtype="uint8")
    config = _config(
        tmp_path,
        raster,
        _points(tmp_path, 48, 6),
        mode="finetune",
        epochs=1,
        block_metres=160.0,
        folds=2,
    )
    result = train_from_labels(config)
    selection = result.report["tile_selection"]
    assert selection["candidates_px"] == [16, 32]
    assert len(selection["per_fold"]) == 2
    _, meta = load_classifier(result.model)
    assert meta.tile_px == selection["final"]["chosen_px"]
    assert result.report["methods"][0]["name"] == "random (finetune)"


def test_auto_and_a_number_of_metres_together_is_an_error(tmp_path: Path) -> None:
    config = _config(tmp_path, Path("r.tif"), Path("l.gpkg"), tile_metres=100.0)
    with pytest.raises(ValueError, match="give a tile side or auto, not both"):
        config.validate()


class _CancelAt:
    """Asks to stop once a progress message contains ``text``."""

    def __init__(self, text: str) -> None:
        self.text, self.seen = text, False

    def progress(self, fraction: float, message: str = "") -> None:
        self.seen = self.seen or self.text in message

    def is_cancelled(self) -> bool:
        return self.seen


def test_cancel_during_the_choice_leaves_no_file(tmp_path: Path) -> None:
    from backend.progress import Cancelled

    raster = write_raster(tmp_path / "scene.tif", SIDE, SIDE, bands=4)
    config = _config(tmp_path, raster, _points(tmp_path, SIDE, 6), l2=1e-2)
    with pytest.raises(Cancelled):
        train_from_labels(config, _CancelAt("fold 2/"))
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []
