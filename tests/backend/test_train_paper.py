"""pretrain --protocol paper: the reference's settings, a tiny real run, and evaluate on its file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from backend.augment import paper_eval_transform, paper_train_augment
from backend.cli import main
from backend.models.modelfile import load_audiovisual_model, load_model_metadata
from backend.models.reference import ReferenceAudiovisualModel
from backend.train import (
    PAPER_SETTINGS,
    PretrainConfig,
    build_loss,
    build_model,
    build_optimizer,
    eval_view,
    protocol_config,
    train_view,
)
from tests.backend.data.fake_soundingearth import write_fake_soundingearth


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Path:
    """72 pairs (about 50 train, 7 val) with precomputed spectrograms and small tiles."""
    root = tmp_path_factory.mktemp("pairs")
    write_fake_soundingearth(
        root, n=72, seed=1, with_audio=False, with_spectrograms=True, image_px=96
    )
    return root


def test_paper_protocol_takes_the_reference_settings_unless_overridden():
    config = protocol_config("paper", "d", "o")
    assert (config.epochs, config.batch_size, config.image_arch) == (300, 256, "resnet50")
    assert (config.lr, config.weight_decay, config.margin, config.loss) == (
        1e-3,
        0.0,
        1.0,
        "triplet",
    )
    assert config.precision == "fp32"
    config = protocol_config("paper", "d", "o", epochs=1, batch_size=8, lr=None)
    assert (config.epochs, config.batch_size, config.lr) == (1, 8, PAPER_SETTINGS["lr"])
    product = protocol_config("product", "d", "o")
    assert product == PretrainConfig(data="d", out="o")  # the default stays the product's
    assert product.weight_decay > 0 and product.image_arch == "resnet18"
    assert train_view(config) is paper_train_augment and eval_view(config) is paper_eval_transform


def test_paper_protocol_optimiser_is_adam_at_a_constant_rate():
    config = protocol_config("paper", "d", "o")
    model = torch.nn.Linear(3, 2)
    optimizer, scheduler = build_optimizer(config, model, total_steps=10)
    assert type(optimizer) is torch.optim.Adam
    assert optimizer.param_groups[0]["weight_decay"] == 0.0
    rates = []
    for _ in range(10):
        optimizer.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    assert rates == [1e-3] * 10
    product, _ = build_optimizer(protocol_config("product", "d", "o"), model, 10)
    assert type(product) is torch.optim.AdamW


def test_paper_loss_is_the_reference_triplet_on_unnormalised_embeddings():
    g = torch.Generator().manual_seed(0)
    images, sounds = 3 * torch.randn(5, 4, generator=g), 3 * torch.randn(5, 4, generator=g)
    paper = build_loss(protocol_config("paper", "d", "o"))
    d = torch.cdist(images, sounds)
    pos = d.diagonal()
    expected = 0.5 * (
        torch.relu(pos[None, :] - d + 1).mean() + torch.relu(pos[:, None] - d + 1).mean()
    )
    assert float(paper(images, sounds)) == pytest.approx(float(expected), rel=1e-5)


def test_paper_protocol_refuses_what_it_does_not_have(tiny_data: Path, tmp_path: Path, capsys):
    for extra, message in (
        (["--loss", "infonce"], "triplet"),
        (["--image-weights", str(tmp_path / "w.pth")], "--image-weights"),
    ):
        code = main(
            ["pretrain", "--protocol", "paper", "--data", str(tiny_data)]
            + ["--out", str(tmp_path / "run"), "--workers", "0", *extra]
        )
        assert code == 2
        assert message in capsys.readouterr().err


def test_pretrain_paper_trains_and_evaluate_reads_its_model_file(
    tiny_data: Path, tmp_path: Path, capsys
):
    out = tmp_path / "run"
    args = ["pretrain", "--protocol", "paper", "--data", str(tiny_data), "--out", str(out)]
    args += ["--epochs", "1", "--batch-size", "8", "--image-size", "32", "--embed-dim", "16"]
    args += ["--workers", "0", "--seed", "3"]
    assert main(args) == 0, capsys.readouterr().err
    capsys.readouterr()
    # what follows reads the model file: the checkpoint (a ResNet-50's weights and Adam's
    # two moments, 440 MB) goes now rather than with the test's folder
    shutil.rmtree(out / "checkpoints")

    saved = json.loads((out / "config.json").read_text())
    assert saved["protocol"] == "paper" and saved["image_arch"] == "resnet50"
    assert saved["weight_decay"] == 0.0 and saved["batch_size"] == 8 and saved["epochs"] == 1
    metadata = load_model_metadata(out / "model.safetensors")
    assert metadata.family == "reference" and metadata.provenance["protocol"] == "paper"
    assert (metadata.image_arch, metadata.audio_arch, metadata.embed_dim) == (
        "resnet50",
        "resnet18",
        16,
    )
    # the reference's final layout, the one its published weights have
    assert metadata.widths == {"image": [32, 64, 182, 256, 512], "audio": [32, 64, 182, 256, 512]}

    model, _ = load_audiovisual_model(out / "model.safetensors")
    assert isinstance(model, ReferenceAudiovisualModel)
    torch.manual_seed(3)  # the run's seed: the same initial weights
    untrained = build_model(protocol_config("paper", "d", "o", embed_dim=16))
    changed = [
        name
        for name, value in model.state_dict().items()
        if value.dtype.is_floating_point and not torch.equal(value, untrained.state_dict()[name])
    ]
    assert len(changed) > 50
    # unnormalised embeddings, as the reference's
    with torch.no_grad():
        norms = model.encode_image(torch.rand(4, 3, 32, 32)).norm(dim=1)
    assert not torch.allclose(norms, torch.ones(4), atol=1e-3)

    report = tmp_path / "eval.json"
    code = main(
        ["evaluate", "--data", str(tiny_data), "--model", str(out / "model.safetensors")]
        + ["--split", "all", "--json", str(report), "--device", "cpu"]
    )
    assert code == 0, capsys.readouterr().err
    metrics = json.loads(report.read_text())
    assert metrics["n"] == 72
    for convention in ("topk", "paper"):
        for direction in ("image_to_sound", "sound_to_image"):
            assert 1 <= metrics[convention][direction]["median_rank"] <= 72


def test_paper_models_start_from_the_reference_initialisation():
    torch.manual_seed(0)
    model = build_model(protocol_config("paper", "d", "o", image_arch="resnet18"))
    conv = model.image_encoder.net.layer2[0].conv1.weight  # 3x3, 182 out channels (final layout)
    fan_out = conv.shape[0] * conv.shape[2] * conv.shape[3]
    # He-normal with fan-out: std sqrt(2 / fan_out) (PyTorch's default would be far smaller)
    assert float(conv.std()) == pytest.approx((2 / fan_out) ** 0.5, rel=0.1)
