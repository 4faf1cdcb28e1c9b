"""Tests for the ONNX export: ONNX Runtime matches torch, and the metadata travels along."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from backend.cli.transfer_commands import add_commands
from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelFileError, ModelMetadata, save_audiovisual_model
from backend.onnx_export import OUTPUT_NAMES, append_metadata_props, export_onnx

CLASSES = ["water", "forest", "farmland", "urban"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors run faster on one thread (and are immune to busy neighbouring processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-band, 16-bit classifier model file (random weights, BN statistics perturbed)."""
    torch.manual_seed(0)
    model = SceneClassifier("resnet18", len(CLASSES), 4, mean=[0.1, 0.2, 0.3, 0.4], std=0.2)
    # non-trivial batch-norm statistics, as after training
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    metadata = classifier_metadata(
        model,
        CLASSES,
        ["#2b7bba", "#1b7a3a", "#e0c55b", "#d7301f"],
        [4, 3, 2, 8],
        tile_px=48,
        scale=10000.0,
        resolution_m=2.5,
    )
    path = tmp_path_factory.mktemp("cls") / "cls.safetensors"
    save_classifier(path, model.eval(), metadata)
    return path


def test_onnx_runtime_matches_torch_and_carries_the_metadata(
    classifier_file: Path, tmp_path: Path
) -> None:
    from backend.models.classifier import load_classifier

    out = tmp_path / "model.onnx"
    props = export_onnx(classifier_file, out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == list(OUTPUT_NAMES)
    model, metadata = load_classifier(classifier_file)
    generator = torch.Generator().manual_seed(1)
    for batch, side in ((1, 48), (3, 48), (2, 64)):  # batch and size are dynamic
        raw = torch.randint(0, 10000, (batch, 4, side, side), generator=generator).float()
        x = raw / metadata.normalization["scale"]
        logits, probabilities = session.run(None, {"image": x.numpy()})
        with torch.no_grad():
            expected = model(x)
        np.testing.assert_allclose(logits, expected.numpy(), atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(
            probabilities, torch.softmax(expected, 1).numpy(), atol=1e-4, rtol=1e-4
        )

    meta = session.get_modelmeta().custom_metadata_map
    assert meta == props
    assert json.loads(meta["class_names"]) == CLASSES
    assert json.loads(meta["class_colors"])[0] == "#2b7bba"
    assert json.loads(meta["bands"]) == [4, 3, 2, 8]
    assert json.loads(meta["normalization"]) == {
        "mean": [0.1, 0.2, 0.3, 0.4],
        "std": [0.2] * 4,
        "scale": 10000.0,
    }
    assert int(meta["tile_px"]) == 48
    assert float(meta["resolution_m"]) == 2.5
    assert meta["kind"] == "classifier"
    assert "clipped to [low, high]" in meta["input_description"]
    assert "divided by scale" in meta["input_description"]


def test_metadata_props_are_appended_to_any_model_proto() -> None:
    # an empty ModelProto plus one entry, encoded by hand: field 14, key 1, value 2
    assert append_metadata_props(b"", {"a": "b"}) == bytes([0x72, 6, 0x0A, 1, 97, 0x12, 1, 98])
    long_value = "x" * 200  # needs a two-byte length
    encoded = append_metadata_props(b"", {"k": long_value})
    assert encoded[:3] == bytes([0x72, 0xCE, 0x01])


def test_export_refuses_an_audiovisual_model(tmp_path: Path) -> None:
    path = tmp_path / "av.safetensors"
    save_audiovisual_model(
        path, AudiovisualModel(), ModelMetadata(kind="audiovisual", audio_arch="resnet18")
    )
    with pytest.raises(ModelFileError, match="not a classifier"):
        export_onnx(path, tmp_path / "av.onnx")
    assert not (tmp_path / "av.onnx").exists()


def test_cli_export_onnx(classifier_file: Path, tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    out = tmp_path / "cli.onnx"
    args = parser.parse_args(["export-onnx", "--model", str(classifier_file), "--out", str(out)])
    assert args.func(args) == 0
    assert out.is_file()
    assert "4 classes: water, forest, farmland, urban" in capsys.readouterr().out
