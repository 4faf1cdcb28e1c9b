"""Tests for the batched training augmentation and the evaluation crop."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from backend.augment import (
    color_jitter,
    crop_rotate_resize,
    eval_transform,
    gaussian_blur,
    train_augment,
)


def images(b: int = 4, s: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, s, s), generator=g, dtype=torch.uint8)


def test_train_augment_shape_dtype_range() -> None:
    for batch in (images(), images().float() / 255):
        out = train_augment(batch, out_px=16, generator=torch.Generator().manual_seed(1))
        assert out.shape == (4, 3, 16, 16) and out.dtype == torch.float32
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_train_augment_is_reproducible_per_seed() -> None:
    x = images()
    first = train_augment(x, 16, torch.Generator().manual_seed(5))
    again = train_augment(x, 16, torch.Generator().manual_seed(5))
    other = train_augment(x, 16, torch.Generator().manual_seed(6))
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    # every sample gets its own parameters
    same = images(b=1).expand(4, -1, -1, -1)
    out = train_augment(same, 16, torch.Generator().manual_seed(5))
    assert not torch.allclose(out[0], out[1])


def test_identity_crop_equals_a_plain_resize() -> None:
    x = images(b=2).float() / 255
    whole = dict(
        side=torch.ones(2),
        angle=torch.zeros(2),
        center=torch.zeros(2, 2),
        flip=torch.zeros(2, dtype=torch.bool),
    )
    out = crop_rotate_resize(x, 16, **whole)
    expected = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(crop_rotate_resize(x, 32, **whole), x, atol=1e-5)


def test_quarter_turn_flip_and_crop_geometry() -> None:
    x = images(b=1).float() / 255
    one = torch.ones(1)
    no = torch.zeros(1, dtype=torch.bool)
    # output pixel (r, c) samples input (c, S-1-r): a quarter turn, as rot90 k=1
    turned = crop_rotate_resize(x, 32, one, torch.full((1,), math.pi / 2), torch.zeros(1, 2), no)
    assert torch.allclose(turned, torch.rot90(x, k=1, dims=(2, 3)), atol=1e-5)
    flipped = crop_rotate_resize(x, 32, one, torch.zeros(1), torch.zeros(1, 2), ~no)
    assert torch.allclose(flipped, x.flip(3), atol=1e-5)
    # half side, centred on the top-left quadrant: exactly that quadrant at 16 px
    quadrant = crop_rotate_resize(
        x, 16, 0.5 * one, torch.zeros(1), torch.tensor([[-0.5, -0.5]]), no
    )
    assert torch.allclose(quadrant, x[:, :, :16, :16], atol=1e-5)


def test_blur_preserves_constants_and_smooths() -> None:
    flat = torch.full((2, 3, 16, 16), 0.3)
    assert torch.allclose(gaussian_blur(flat, torch.tensor([0.5, 2.0])), flat, atol=1e-6)
    x = images(b=2, s=16).float() / 255
    out = gaussian_blur(x, torch.tensor([0.0, 2.0]))
    assert torch.allclose(out[0], x[0], atol=1e-6)  # sigma 0: unchanged
    assert out[1].std() < x[1].std()


def test_neutral_colour_jitter_is_identity() -> None:
    x = images(b=2).float() / 255
    one, zero = torch.ones(2), torch.zeros(2)
    assert torch.allclose(color_jitter(x, one, one, one, zero), x, atol=1e-5)
    grey = color_jitter(x, one, one, torch.zeros(2), zero)
    assert torch.allclose(grey[:, 0], grey[:, 1], atol=1e-6)  # saturation 0 is greyscale


def test_eval_transform_is_a_centre_crop_and_resize() -> None:
    x = images(s=64)
    out = eval_transform(x, out_px=24)
    manual = x.float()[:, :, 8:56, 8:56] / 255  # centre 48 = 384/512 of 64
    expected = F.interpolate(
        manual, size=(24, 24), mode="bilinear", antialias=True, align_corners=False
    )
    assert out.shape == (4, 3, 24, 24) and out.dtype == torch.float32
    assert torch.allclose(out, expected, atol=1e-6)
    assert torch.equal(out, eval_transform(x, out_px=24))
    assert torch.equal(eval_transform(x, out_px=48), manual)
