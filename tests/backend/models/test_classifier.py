"""Tests for the scene classifier, its model file and weight transfer from pretrained files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import torchvision

from backend.models.classifier import (
    SceneClassifier,
    classifier_from_model_file,
    classifier_metadata,
    default_statistics,
    load_classifier,
    save_classifier,
    trunk_state_from_model_file,
)
from backend.models.encoders import IMAGE_MEAN, IMAGE_STD, AudiovisualModel
from backend.models.modelfile import (
    ModelFileError,
    ModelMetadata,
    load_audiovisual_model,
    load_model_metadata,
    save_audiovisual_model,
)

CLASSES = ["water", "forest", "urban"]
COLOURS = ["#2b7bba", "#1b7a3a", "#d7301f"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors run faster on one thread (and are immune to busy neighbouring processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _classifier(in_channels: int = 3, seed: int = 0, **kwargs) -> SceneClassifier:
    torch.manual_seed(seed)
    return SceneClassifier("resnet18", len(CLASSES), in_channels, **kwargs).eval()


def _save(path: Path, model: SceneClassifier, bands: list[int], **kwargs) -> ModelMetadata:
    metadata = classifier_metadata(model, CLASSES, COLOURS, bands, tile_px=32, **kwargs)
    save_classifier(path, model, metadata)
    return metadata


@pytest.fixture(scope="module")
def audiovisual_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An (untrained) audiovisual model file."""
    torch.manual_seed(1)
    model = AudiovisualModel()
    path = tmp_path_factory.mktemp("av") / "model.safetensors"
    save_audiovisual_model(
        path, model, ModelMetadata(kind="audiovisual", audio_arch="resnet18", tile_px=64)
    )
    return path


def test_forward_gives_logits_and_normalises_inside() -> None:
    model = _classifier()
    x = torch.rand(2, 3, 32, 32)
    logits = model(x)
    assert logits.shape == (2, 3)
    assert model.features(x).shape == (2, 512)
    mean = torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD).view(1, 3, 1, 1)
    expected = model.head(model.trunk((x - mean) / std))
    torch.testing.assert_close(logits, expected)
    with pytest.raises(ValueError, match="expected input"):
        model(torch.rand(2, 4, 32, 32))
    with pytest.raises(ValueError, match="float"):
        model(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))


def test_default_statistics() -> None:
    assert default_statistics(3) == (list(IMAGE_MEAN), list(IMAGE_STD))
    mean, std = default_statistics(5)
    assert len(mean) == len(std) == 5 and len(set(mean)) == 1
    model = SceneClassifier("resnet18", 2, 4, mean=0.25, std=[0.1, 0.2, 0.3, 0.4])
    assert model.mean_values == [0.25] * 4 and model.std_values == [0.1, 0.2, 0.3, 0.4]
    with pytest.raises(ValueError, match="std must be positive"):
        SceneClassifier("resnet18", 2, 3, std=0.0)
    with pytest.raises(ValueError, match="mean needs"):
        SceneClassifier("resnet18", 2, 3, mean=[0.1, 0.2])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = _classifier(in_channels=4, mean=[0.1, 0.2, 0.3, 0.4], std=[0.5, 0.6, 0.7, 0.8])
    path = tmp_path / "cls.safetensors"
    written = _save(
        path, model, [4, 3, 2, 8], scale=10000.0, resolution_m=1.5, provenance={"seed": 3}
    )
    loaded, metadata = load_classifier(path)
    assert not loaded.training
    assert metadata == written
    assert metadata.kind == "classifier"
    assert metadata.class_names == CLASSES and metadata.class_colors == COLOURS
    assert metadata.bands == [4, 3, 2, 8]
    assert metadata.normalization == {
        "mean": [0.1, 0.2, 0.3, 0.4],
        "std": [0.5, 0.6, 0.7, 0.8],
        "scale": 10000.0,
    }
    assert metadata.tile_px == 32 and metadata.resolution_m == 1.5
    assert metadata.provenance == {"seed": 3}
    assert load_model_metadata(path) == written
    # the raster engine's contract: pixels / scale -> softmax(model(x))
    raw = torch.randint(0, 10000, (2, 4, 32, 32)).float()
    x = raw / metadata.normalization["scale"]
    with torch.no_grad():
        probabilities = torch.softmax(loaded(x), dim=1)
        torch.testing.assert_close(loaded(x), model(x))
    torch.testing.assert_close(probabilities.sum(1), torch.ones(2))


def test_loading_draws_no_random_weights_and_gives_the_files_own(tmp_path: Path) -> None:
    """A model file's weights replace the constructor's, so loading skips drawing them:
    the random generator is where it was (a seeded run draws the same after a load),
    every tensor is the file's, and the skipping ends with the load."""
    model = _classifier(in_channels=4, centre_px=3)
    path = tmp_path / "cls.safetensors"
    _save(path, model, [1, 2, 3, 4])
    torch.manual_seed(7)
    state_before = torch.random.get_rng_state()
    loaded, _ = load_classifier(path)
    assert torch.equal(torch.random.get_rng_state(), state_before)
    saved = model.state_dict()
    got = loaded.state_dict()
    assert saved.keys() == got.keys()
    assert all(torch.equal(saved[name], got[name]) for name in saved)
    # the band statistics are not in the file: built from its metadata as before
    assert torch.equal(loaded.mean, model.mean) and torch.equal(loaded.std, model.std)
    # outside the load, models draw their weights again
    torch.manual_seed(0)
    again = SceneClassifier("resnet18", len(CLASSES), 4, centre_px=3)
    assert all(
        torch.equal(a, b) for a, b in zip(again.parameters(), model.parameters(), strict=True)
    )


def test_save_refuses_metadata_that_does_not_describe_the_model(tmp_path: Path) -> None:
    model = _classifier()
    good = classifier_metadata(model, CLASSES, COLOURS, [1, 2, 3], 32)
    for change, message in (
        ({"class_names": ["a", "b"], "class_colors": []}, "2 class names for 3 outputs"),
        ({"image_arch": "resnet50"}, "image_arch"),
        (
            {
                "bands": [1, 2],
                "normalization": {"mean": [0.5, 0.5], "std": [0.2, 0.2], "scale": 255.0},
            },
            "2 bands for 3 input channels",
        ),
        ({"normalization": {**good.normalization, "mean": [0.0, 0.0, 0.0]}}, "normalization mean"),
        ({"normalization": {**good.normalization, "scale": 0}}, "scale"),
    ):
        with pytest.raises(ValueError, match=message):
            save_classifier(tmp_path / "x.safetensors", model, dataclasses.replace(good, **change))
    assert not (tmp_path / "x.safetensors").exists()


def test_load_classifier_refuses_other_kinds_and_missing_files(
    tmp_path: Path, audiovisual_file: Path
) -> None:
    with pytest.raises(ModelFileError, match="not a classifier"):
        load_classifier(audiovisual_file)
    with pytest.raises(FileNotFoundError):
        load_classifier(tmp_path / "missing.safetensors")


def test_trunk_weights_transfer_from_an_audiovisual_model_file(audiovisual_file: Path) -> None:
    av, _ = load_audiovisual_model(audiovisual_file)
    trunk, metadata = trunk_state_from_model_file(audiovisual_file)
    assert metadata.kind == "audiovisual"
    assert set(trunk) == set(av.image_encoder.trunk.state_dict())
    model = classifier_from_model_file(audiovisual_file, num_classes=5)
    for name, value in av.image_encoder.trunk.state_dict().items():
        torch.testing.assert_close(model.trunk.state_dict()[name], value)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval().features(x), av.image_encoder.features(x))
    assert model(x).shape == (2, 5)


def test_trunk_transfer_adapts_the_first_convolution_to_other_band_counts(
    audiovisual_file: Path,
) -> None:
    av_conv = trunk_state_from_model_file(audiovisual_file)[0]["conv1.weight"]
    model = classifier_from_model_file(audiovisual_file, num_classes=2, in_channels=4)
    conv = model.trunk.conv1.weight.detach()
    assert conv.shape == (64, 4, 7, 7)
    expected = av_conv.mean(dim=1, keepdim=True).repeat(1, 4, 1, 1) * 3 / 4
    torch.testing.assert_close(conv, expected)
    # a classifier file is also a valid starting point
    single = classifier_from_model_file(audiovisual_file, num_classes=2, in_channels=1)
    assert single.trunk.conv1.weight.shape == (64, 1, 7, 7)


def test_imagenet_style_state_dict_initialises_the_trunk(tmp_path: Path) -> None:
    torch.manual_seed(2)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = SceneClassifier("resnet18", 3, 3, weights_path=path)
    torch.testing.assert_close(model.trunk.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
    with pytest.raises(ValueError, match="resnet50"):
        SceneClassifier("resnet50", 3, 3, weights_path=path)


def test_load_trunk_state_names_the_problem() -> None:
    model = _classifier()
    with pytest.raises(ValueError, match="missing"):
        model.load_trunk_state({"conv1.weight": torch.zeros(64, 3, 7, 7)}, "file.pth")
