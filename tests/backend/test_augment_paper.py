"""The paper protocol's augmentation preset: geometry of each step, shapes and seeding."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from backend.augment import (
    _random_resized_boxes,
    _rotate,
    box_blur,
    grid_distortion,
    hsv_to_rgb,
    hue_saturation_value,
    paper_eval_transform,
    paper_train_augment,
    rgb_to_hsv,
)


def images(b: int = 4, s: int = 48, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, s, s), generator=g, dtype=torch.uint8)


def test_paper_augment_shape_dtype_range_and_seeding() -> None:
    for batch in (images(), images().float() / 255):
        out = paper_train_augment(batch, out_px=16, generator=torch.Generator().manual_seed(1))
        assert out.shape == (4, 3, 16, 16) and out.dtype == torch.float32
        assert out.min() >= 0.0 and out.max() <= 1.0
    x = images(b=8)
    first = paper_train_augment(x, 16, torch.Generator().manual_seed(5))
    assert torch.equal(first, paper_train_augment(x, 16, torch.Generator().manual_seed(5)))
    assert not torch.allclose(first, paper_train_augment(x, 16, torch.Generator().manual_seed(6)))
    same = images(b=1).expand(8, -1, -1, -1)
    out = paper_train_augment(same, 16, torch.Generator().manual_seed(5))
    assert not torch.allclose(out[0], out[1])  # every image draws its own parameters


def test_random_resized_boxes_fit_and_follow_the_scale_and_ratio() -> None:
    boxes = _random_resized_boxes(2000, 100, torch.device("cpu"), torch.Generator().manual_seed(0))
    x0, y0, w, h = boxes.unbind(1)
    assert (x0 >= 0).all() and (y0 >= 0).all()
    assert (x0 + w <= 100).all() and (y0 + h <= 100).all()
    area = w * h / 100**2
    assert area.min() >= 0.48 and area.max() <= 1.0  # 0.5-1, up to rounding
    ratio = w / h
    assert ratio.min() >= 0.74 and ratio.max() <= 1.35
    assert area.std() > 0.1 and (ratio - 1).abs().max() > 0.2  # drawn, not fixed


def test_rotation_by_a_quarter_turn_is_exact_and_corners_are_mirrored() -> None:
    x = images(b=1, s=9).float() / 255
    turned = _rotate(x, torch.tensor([90.0]))
    assert torch.allclose(turned, torch.rot90(x, k=1, dims=(2, 3)), atol=1e-5) or torch.allclose(
        turned, torch.rot90(x, k=-1, dims=(2, 3)), atol=1e-5
    )
    # 45 degrees: the corners lie outside the image and are filled from inside it (no zeros)
    bright = 0.5 + 0.5 * x
    assert _rotate(bright, torch.tensor([45.0])).min() >= 0.5 - 1e-6
    assert torch.allclose(_rotate(x, torch.tensor([0.0])), x, atol=1e-5)


def test_box_blur_is_a_3x3_mean_with_mirrored_edges() -> None:
    x = torch.rand(1, 1, 6, 6)
    out = box_blur(x)
    assert torch.allclose(out[0, 0, 2, 3], x[0, 0, 1:4, 2:5].mean())
    # the corner mirrors row/column 1 (the edge pixel is not repeated)
    mirrored = x[0, 0, [1, 0, 1]][:, [1, 0, 1]]
    assert torch.allclose(out[0, 0, 0, 0], mirrored.mean())


def test_grid_distortion_moves_pixels_but_keeps_a_flat_image_flat() -> None:
    flat = torch.full((2, 3, 30, 30), 0.25)
    stretch = 1.0 + 0.3 * (torch.rand(2, 2, 6, generator=torch.Generator().manual_seed(0)) - 0.5)
    assert torch.allclose(grid_distortion(flat, stretch), flat, atol=1e-6)
    ramp = torch.linspace(0, 1, 30).view(1, 1, 1, 30).expand(2, 3, 30, 30).contiguous()
    bent = grid_distortion(ramp, stretch)
    assert bent.shape == ramp.shape
    assert (bent - ramp).abs().max() > 0.01
    # the distortion is separable: an image constant down its columns stays so
    assert torch.allclose(bent[:, :, 0], bent[:, :, -1], atol=1e-5)


def test_hsv_round_trip_and_hue_shift_match_torchvision() -> None:
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(hsv_to_rgb(rgb_to_hsv(x)), x, atol=1e-5)
    zero = torch.zeros(3)
    shifted = hue_saturation_value(x, torch.full((3,), 0.1), zero, zero)
    assert torch.allclose(shifted, TF.adjust_hue(x, 0.1), atol=1e-4)
    brighter = hue_saturation_value(x, zero, zero, torch.full((3,), 0.1))
    assert torch.allclose(brighter.amax(1), (x.amax(1) + 0.1).clamp(max=1.0), atol=1e-5)


def test_paper_eval_view_is_the_centre_384_of_512_resized_without_antialiasing() -> None:
    x = images(b=2, s=64)  # a 512 px context at 1/8 scale: centre 48 -> 24 (factor 2)
    out = paper_eval_transform(x, out_px=24)
    centre = x[:, :, 8:56, 8:56].float() / 255
    # bilinear at an exact factor 2 with half-pixel centres averages 2x2 blocks (OpenCV too)
    assert torch.allclose(out, F.avg_pool2d(centre, 2), atol=1e-6)
    assert torch.equal(out, paper_eval_transform(x, out_px=24))
