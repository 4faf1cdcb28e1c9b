"""Inference forms of a ResNet trunk: batch norm folded by hand, and int8 from recorded ranges."""

from __future__ import annotations

import pytest
import torch

from backend.models.classifier import SceneClassifier
from backend.models.encoders import Encoder
from backend.models.inference import (
    FoldedTrunk,
    Int8Trunk,
    UnsupportedTrunk,
    int8_engine,
    observing,
    supports_folding,
    with_trunk,
)
from backend.models.reference import FINAL_WIDTHS, ReferenceResNet


def _classifier(arch: str, family: str) -> SceneClassifier:
    torch.manual_seed(0)
    model = SceneClassifier(arch, 5, 3, family=family).eval()
    # batch norms away from their initial values, as after training
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            shape = module.running_mean.shape
            module.running_mean.copy_(0.1 * torch.randn(shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(shape, generator=generator))
            module.weight.data.copy_(0.5 + torch.rand(shape, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(shape, generator=generator))
    return model


@pytest.mark.parametrize(
    ("arch", "family"),
    [
        ("resnet18", "native"),
        ("resnet50", "native"),
        ("resnet18", "reference"),
        ("resnet50", "reference"),
    ],
)
def test_folded_trunk_equals_the_trunk(arch, family) -> None:
    model = _classifier(arch, family)
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        expected = model(x)
        folded = with_trunk(model, FoldedTrunk(model.trunk))
        got = folded(x)
        # the original model is untouched
        assert not isinstance(model.trunk, FoldedTrunk)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_int8_trunk_is_close_to_fp32_and_reports_ranges() -> None:
    if int8_engine() is None:
        pytest.skip("this PyTorch has no quantized CPU engine")
    model = _classifier("resnet18", "reference")
    assert model.trunk.widths == FINAL_WIDTHS
    x = torch.rand(8, 3, 64, 64)
    with torch.inference_mode():
        folded = FoldedTrunk(model.trunk)
        ranges: dict = {}
        fp32 = with_trunk(model, observing(folded, ranges))(x)
        # every activation that int8 needs has a range: input, stem, each conv and block output
        assert {"input", "stem", "block0.conv0", "block0.out", "block2.shortcut"} <= set(ranges)
        int8 = with_trunk(model, Int8Trunk(folded, ranges))(x)
        features = torch.nn.functional.cosine_similarity(
            Int8Trunk(folded, ranges)(model.normalize(x)), folded(model.normalize(x))
        )
    assert int8.shape == fp32.shape and int8.dtype == torch.float32
    assert features.min() > 0.98


def test_only_classifier_trunks_are_folded() -> None:
    assert supports_folding(SceneClassifier("resnet18", 2).trunk)
    # an audiovisual encoder's reference trunk has an output convolution
    assert not supports_folding(ReferenceResNet("resnet18", 3, 16))
    assert not supports_folding(Encoder("resnet18", 3, 16))
    with pytest.raises(UnsupportedTrunk, match="not a ResNet trunk"):
        FoldedTrunk(torch.nn.Conv2d(3, 3, 3))
