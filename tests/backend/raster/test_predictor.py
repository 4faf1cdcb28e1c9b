"""The tile predictor: layout, scaling, frozen graphs and the bf16 check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.models.classifier import SceneClassifier
from backend.raster.predictor import (
    TilePredictor,
    argmax_agreement,
    classes_agree,
    embeddings_agree,
)


@pytest.fixture(scope="module")
def model() -> SceneClassifier:
    torch.manual_seed(0)
    return SceneClassifier("resnet18", 4).eval()


def _pixels(n: int, seed: int = 0, dtype=np.uint8, high: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, (n, 32, 32, 3)).astype(dtype)


def test_fp32_outputs_equal_the_model_on_scaled_pixels(model) -> None:
    pixels = _pixels(5)
    expected = model(torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 255.0).detach().numpy()
    for freeze in (False, True):
        predictor = TilePredictor(model, 255.0, precision="fp32", freeze=freeze)
        np.testing.assert_allclose(predictor(pixels), expected, rtol=1e-4, atol=1e-4)
        # a frozen graph serves other batch sizes too (the last batch is usually smaller)
        np.testing.assert_allclose(predictor(pixels[:2]), expected[:2], rtol=1e-4, atol=1e-4)
        assert predictor.precision == "fp32"


def test_sixteen_bit_pixels_use_the_model_scale(model) -> None:
    pixels = _pixels(3, high=4096, dtype=np.uint16)
    predictor = TilePredictor(model, 4095.0, precision="fp32", freeze=False)
    x = torch.from_numpy(pixels.astype(np.float32)).permute(0, 3, 1, 2) / 4095.0
    np.testing.assert_allclose(predictor(pixels), model(x).detach().numpy(), rtol=1e-4, atol=1e-4)


#: bf16 against fp32 logits (|logit| up to 0.92): measured at most 0.014 over 3 model seeds x
#: 3 pixel seeds, the same with native bf16 (AMD AVX512-BF16) and emulated (ONEDNN_MAX_CPU_ISA=AVX2)
BF16_ATOL = 0.05


def test_bf16_is_close_to_fp32(model) -> None:
    # asked for by name, bf16 runs on every CPU (emulated where it has no bf16 instructions)
    pixels = _pixels(8, seed=1)
    fp32 = TilePredictor(model, 255.0, precision="fp32", freeze=False)(pixels)
    bf16 = TilePredictor(model, 255.0, precision="bf16", freeze=True)(pixels)
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(bf16, fp32, atol=BF16_ATOL)


def test_auto_falls_back_to_fp32_when_bf16_disagrees(model, monkeypatch) -> None:
    monkeypatch.setattr("backend.raster.predictor.cpu_supports_bf16", lambda: True)
    pixels = _pixels(4, seed=2)
    predictor = TilePredictor(model, 255.0, precision="auto", agree=lambda a, b: False)
    assert predictor.precision == "bf16"
    out = predictor(pixels)
    assert predictor.agreement is False and predictor.precision == "fp32"
    expected = TilePredictor(model, 255.0, precision="fp32", freeze=False)(pixels)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # short runs (not frozen) and CPUs without bf16 stay fp32
    assert TilePredictor(model, 255.0, precision="auto", freeze=False).precision == "fp32"
    monkeypatch.setattr("backend.raster.predictor.cpu_supports_bf16", lambda: False)
    assert TilePredictor(model, 255.0, precision="auto").precision == "fp32"


def test_agreement_checks() -> None:
    a = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.1]])
    assert argmax_agreement(a, a[:, ::-1]) == pytest.approx(0.0)
    assert classes_agree(a, a + 1e-3)
    assert embeddings_agree(a, a * 2) and not embeddings_agree(a, a[:, ::-1])
