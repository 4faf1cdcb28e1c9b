"""The evaluate command reports the metrics of the embeddings it computes, both ways."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backend.audio import JPG, encoding_metadata
from backend.cli import main
from backend.data.soundingearth import scan_pairs
from backend.evaluate import embed_readable_pairs, format_report
from backend.metrics import bidirectional_metrics, paper_metrics
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelMetadata, save_audiovisual_model
from tests.backend.data.fake_soundingearth import write_fake_soundingearth


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    data = root / "pairs"
    write_fake_soundingearth(
        data, n=30, seed=4, with_audio=False, with_spectrograms=True, image_px=96
    )
    torch.manual_seed(0)
    model = AudiovisualModel("resnet18", "resnet18", 8)
    path = root / "model.safetensors"
    save_audiovisual_model(
        path,
        model,
        ModelMetadata(
            kind="audiovisual",
            audio_arch="resnet18",
            embed_dim=8,
            tile_px=32,
            spectrogram=encoding_metadata(JPG),  # the data below are spectrogram JPGs
        ),
    )
    return path, data


def test_evaluate_cli_writes_the_metrics_of_the_model(model_and_data, tmp_path: Path, capsys):
    model_path, data = model_and_data
    out = tmp_path / "metrics.json"
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(data),
                "--model",
                str(model_path),
                "--split",
                "all",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert report["n"] == 30 and report["split"] == "all"
    for direction in ("image_to_sound", "sound_to_image"):
        for key in (
            "R@1",
            "R@5",
            "R@10",
            "R@100",
            "R@500",
            "R@1000",
            "R@1%",
            "R@5%",
            "R@10%",
            "median_rank",
            "D@1",
            "D@10",
        ):
            assert key in report["topk"][direction], (direction, key)
        for key in ("R@10", "R@100", "R@1000", "median_rank", "D@100"):
            assert key in report["paper"][direction], (direction, key)
    assert set(report["conventions"]) == {"topk", "paper"}
    # the figures are those of the model's own embeddings
    from backend.models.modelfile import load_audiovisual_model

    model, _ = load_audiovisual_model(model_path)
    pairs = scan_pairs(data, split=None).pairs
    images, sounds, kept, failures = embed_readable_pairs(model, pairs, image_px=32)
    assert kept == list(range(len(pairs))) and failures == []
    lonlat = np.array([[p.recording.longitude, p.recording.latitude] for p in pairs])
    expected = {
        "topk": bidirectional_metrics(images, sounds, lonlat),
        "paper": paper_metrics(images, sounds, lonlat),
    }
    for convention, metrics in expected.items():
        for direction in ("image_to_sound", "sound_to_image"):
            for key, value in metrics[direction].items():
                got = report[convention][direction][key]
                assert got == pytest.approx(value), (convention, direction, key)
    printed = capsys.readouterr().out
    assert "median_rank" in printed and "image→sound" in printed
    assert "top-k convention" in printed and "paper convention" in printed


def test_evaluate_on_an_empty_split_says_so(model_and_data, tmp_path: Path, capsys):
    model_path, data = model_and_data
    empty = tmp_path / "empty"
    write_fake_soundingearth(
        empty, n=3, seed=1, with_audio=False, with_spectrograms=True, image_px=64
    )
    # keys 100..102: none has key % 10 == 7, so the validation split is empty
    assert (
        main(["evaluate", "--data", str(empty), "--model", str(model_path), "--split", "val"]) == 2
    )
    assert "no usable pairs in split 'val'" in capsys.readouterr().err


def test_format_report_lists_both_directions_in_both_conventions():
    metrics = {k: 0.5 for k in ("R@1", "R@5", "R@10", "R@100", "R@1%", "R@5%", "R@10%")}
    metrics.update({"median_rank": 3.0, "D@1": 12.0, "D@10": 4.0})
    paper = {"R@10": 0.25, "R@100": 0.75, "median_rank": 3.5, "D@100": 7.0}
    text = format_report(
        {
            "topk": {"image_to_sound": metrics, "sound_to_image": metrics},
            "paper": {"image_to_sound": paper, "sound_to_image": paper},
            "n": 9,
            "chance_median_rank": 5.0,
        }
    )
    assert "R@10%" in text and "chance median rank: 5.0" in text
    topk, paper_part = text.split("paper convention")
    assert "top-k convention" in topk and "0.500" in topk
    assert "0.250" in paper_part and "3.5" in paper_part and "R@1%" not in paper_part


def test_evaluate_counts_missing_and_undecodable_pairs(model_and_data, tmp_path: Path, capsys):
    import shutil

    model_path, source = model_and_data
    data = tmp_path / "pairs"
    shutil.copytree(source, data)
    images = sorted((data / "images").glob("*.jpg"))
    for path in images[:5]:
        path.unlink()
    cut = images[5].read_bytes()
    images[5].write_bytes(cut[: len(cut) // 2])
    # a spectrogram image that decodes but is no spectrogram: found only when the pair is loaded
    Image.fromarray(np.zeros((64, 200), np.uint8)).save(data / "spectrograms" / images[6].name)
    out = tmp_path / "metrics.json"
    argv = ["evaluate", "--data", str(data), "--model", str(model_path), "--split", "all"]
    assert main([*argv, "--json", str(out)]) == 0
    expected = "skipped 7 of 30 pairs: 5 missing images, 1 unreadable audio, 1 unreadable image"
    assert expected in capsys.readouterr().out.splitlines()
    report = json.loads(out.read_text())
    assert report["n"] == 23 and report["skipped"] == expected
    assert {int(key) for key, _, _ in report["skipped_pairs"]} == {int(p.stem) for p in images[:7]}
