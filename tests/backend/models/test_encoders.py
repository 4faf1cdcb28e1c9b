"""Tests for the ResNet encoders and the audiovisual model."""

from __future__ import annotations

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from backend.models.encoders import (
    AudiovisualModel,
    Encoder,
    build_resnet_trunk,
    count_parameters,
    flops_per_sample,
)


@pytest.fixture(scope="module")
def model() -> AudiovisualModel:
    torch.manual_seed(0)
    return AudiovisualModel().eval()


def test_trunk_shapes_for_both_architectures() -> None:
    for arch, features in (("resnet18", 512), ("resnet50", 2048)):
        trunk, dim = build_resnet_trunk(arch, in_channels=1)
        assert dim == features
        with torch.no_grad():
            out = trunk.eval()(torch.rand(2, 1, 32, 32))
        assert out.shape == (2, features)


def test_unknown_architecture_is_named() -> None:
    with pytest.raises(ValueError, match="resnet101"):
        build_resnet_trunk("resnet101")


def test_trunk_loads_torchvision_weights_from_pth_and_safetensors(tmp_path) -> None:
    torch.manual_seed(1)
    reference = torchvision.models.resnet18(weights=None)
    state = reference.state_dict()  # includes fc.*, which must be dropped
    torch.save(state, tmp_path / "r18.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "r18.safetensors"))
    for name in ("r18.pth", "r18.safetensors"):
        trunk, _ = build_resnet_trunk("resnet18", weights_path=tmp_path / name)
        assert torch.equal(trunk.state_dict()["conv1.weight"], state["conv1.weight"])
        assert torch.equal(
            trunk.state_dict()["layer4.1.bn2.running_var"], state["layer4.1.bn2.running_var"]
        )


def test_rgb_weights_are_averaged_into_a_one_channel_first_convolution(tmp_path) -> None:
    state = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(state, tmp_path / "r18.pt")
    trunk, _ = build_resnet_trunk("resnet18", in_channels=1, weights_path=tmp_path / "r18.pt")
    expected = state["conv1.weight"].mean(1, keepdim=True) * 3
    assert torch.allclose(trunk.conv1.weight, expected)


def test_missing_weights_file_is_named(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nothere.pth"):
        build_resnet_trunk("resnet18", weights_path=tmp_path / "nothere.pth")


def test_mismatched_weights_name_the_keys(tmp_path) -> None:
    state = torchvision.models.resnet18(weights=None).state_dict()
    del state["layer1.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=r"layer1\.0\.conv1\.weight.*extra\.weight"):
        build_resnet_trunk("resnet18", weights_path=tmp_path / "bad.pth")
    # resnet18 weights into a resnet50 trunk: keys and shapes differ
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "r18.pth")
    with pytest.raises(ValueError, match="r18.pth"):
        build_resnet_trunk("resnet50", weights_path=tmp_path / "r18.pth")


def test_encoder_normalises_inputs_and_outputs(model) -> None:
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        z = model.encode_image(images)
        feats = model.image_encoder.features(images)
        # uint8 input is scaled to [0, 1] first
        z_uint8 = model.encode_image((images * 255).round().to(torch.uint8))
    assert z.shape == (2, 128)
    assert torch.allclose(z.norm(dim=1), torch.ones(2), atol=1e-5)
    assert feats.shape == (2, 512)
    assert torch.allclose(z, z_uint8, atol=1e-2)
    # the mean/std are constants of the architecture, not saved weights
    assert not any(k.endswith((".mean", ".std")) for k in model.state_dict())


def test_audiovisual_forward_and_channels_last(model) -> None:
    torch.manual_seed(2)
    images = torch.rand(2, 3, 32, 32)
    audio = torch.rand(2, 1, 128, 40)
    with torch.no_grad():
        z_img, z_snd = model(images, audio)
        cl = model.to(memory_format=torch.channels_last)
        z_img_cl, z_snd_cl = cl(
            images.to(memory_format=torch.channels_last),
            audio.to(memory_format=torch.channels_last),
        )
    model.to(memory_format=torch.contiguous_format)
    assert z_img.shape == z_snd.shape == (2, 128)
    assert torch.allclose(z_snd.norm(dim=1), torch.ones(2), atol=1e-5)
    assert torch.allclose(z_img, z_img_cl, atol=1e-4)
    assert torch.allclose(z_snd, z_snd_cl, atol=1e-4)


def test_wrong_channel_count_is_explained(model) -> None:
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        model.encode_audio(torch.rand(1, 3, 128, 32))


def test_encoder_rejects_statistics_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="mean"):
        Encoder("resnet18", in_channels=4, mean=(0.5, 0.5), std=0.2)


def test_parameter_and_flop_counts() -> None:
    trunk, _ = build_resnet_trunk("resnet18")
    assert count_parameters(trunk) == 11_176_512  # torchvision resnet18 minus fc
    trunk.conv1.weight.requires_grad_(False)
    assert count_parameters(trunk, trainable_only=True) == 11_176_512 - 64 * 3 * 7 * 7
    # ResNet-18 at 224 px: 1.82 GMACs
    assert 3.5e9 < flops_per_sample("resnet18", 224) < 3.8e9
