"""Batched image augmentations for training (crop, rotate, blur, colour jitter) and the eval crop."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: Random resized crop: fraction of the context area kept.
CROP_SCALE = (0.5, 1.0)
#: Gaussian blur: probability and sigma range (in output pixels).
BLUR_P = 0.5
BLUR_SIGMA = (0.1, 2.0)
#: Colour jitter: factors drawn from 1 +- these, hue shift in turns from +- HUE.
BRIGHTNESS = 0.4
CONTRAST = 0.4
SATURATION = 0.4
HUE = 0.05
#: Eval: centre crop of this fraction of the context side (384 of 512 px).
EVAL_CROP_FRACTION = 384 / 512

# ITU-R BT.601 luma weights, as torchvision's rgb_to_grayscale.
_LUMA = (0.299, 0.587, 0.114)
# images converted to float and downsampled together (see _unit_float_resized)
_RESIZE_CHUNK = 4


def _check_images(images: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images [B, 3, S, S], got {list(images.shape)}")
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"expected square images, got {images.shape[-2]}x{images.shape[-1]}")
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")


def _to_unit_float(images: torch.Tensor) -> torch.Tensor:
    _check_images(images)
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


def _unit_float_resized(images: torch.Tensor, out_px: int) -> torch.Tensor:
    """``_to_unit_float`` then an antialiased bilinear resize to ``out_px``, a few images at a time.

    The same values as converting the whole batch first, in about half the time: the
    float copy of a few full-size images stays in cache and its memory is reused,
    where a whole batch of them (4 bytes a pixel) would be fresh memory every step.
    """
    _check_images(images)
    chunks = [
        F.interpolate(
            _to_unit_float(images[start : start + _RESIZE_CHUNK]),
            size=(out_px, out_px),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        for start in range(0, max(1, images.shape[0]), _RESIZE_CHUNK)
    ]
    return chunks[0] if len(chunks) == 1 else torch.cat(chunks)


def _uniform(
    low: float, high: float, n: int, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, device=device, generator=generator)


def crop_rotate_resize(
    images: torch.Tensor,
    out_px: int,
    side: torch.Tensor,
    angle: torch.Tensor,
    center: torch.Tensor,
    flip: torch.Tensor,
) -> torch.Tensor:
    """Crop, rotate, optionally mirror and resize every image in one ``grid_sample`` call.

    Coordinates are normalised to [-1, 1] over the input; samples falling outside it
    (corners of rotated crops) are reflected back in.

    Args:
        images: ``[B, C, S, S]`` float images.
        out_px: Output side in pixels.
        side: ``[B]`` crop side as a fraction of the input side (1 = whole image).
        angle: ``[B]`` rotation in radians.
        center: ``[B, 2]`` crop centre (x, y) in normalised coordinates (0 = centre).
        flip: ``[B]`` bool, mirror horizontally.

    Returns:
        ``[B, C, out_px, out_px]`` bilinear samples.
    """
    cos, sin = torch.cos(angle), torch.sin(angle)
    mirror = 1.0 - 2.0 * flip.to(images.dtype)
    # theta maps output coordinates to input coordinates: x_in = side * R @ (mirror * x_out) + c
    theta = torch.stack(
        [
            torch.stack([side * cos * mirror, -side * sin, center[:, 0]], dim=1),
            torch.stack([side * sin * mirror, side * cos, center[:, 1]], dim=1),
        ],
        dim=1,
    ).to(images.dtype)
    b, c = images.shape[:2]
    grid = F.affine_grid(theta, [b, c, out_px, out_px], align_corners=False)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur every image with its own Gaussian (separable, grouped convolutions).

    Args:
        images: ``[B, C, H, W]`` float images.
        sigma: ``[B]`` standard deviations in pixels; 0 leaves the image unchanged.

    Returns:
        Blurred images, same shape.
    """
    b, c, h, w = images.shape
    radius = max(1, math.ceil(3.0 * float(sigma.max())))
    radius = min(radius, h - 1, w - 1)  # reflect padding needs pad < size
    offsets = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    safe_sigma = sigma.to(images.dtype).clamp_min(1e-6)[:, None]
    kernel = torch.exp(-0.5 * (offsets[None, :] / safe_sigma) ** 2)
    kernel = kernel / kernel.sum(1, keepdim=True)  # sigma ~ 0 gives a delta
    kernel = kernel.repeat_interleave(c, dim=0)  # one kernel per (image, channel)
    x = images.reshape(1, b * c, h, w)
    x = F.pad(x, (radius, radius, 0, 0), mode="reflect")
    x = F.conv2d(x, kernel[:, None, None, :], groups=b * c)
    x = F.pad(x, (0, 0, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel[:, None, :, None], groups=b * c)
    return x.reshape(b, c, h, w)


def _grayscale(images: torch.Tensor) -> torch.Tensor:
    weights = torch.tensor(_LUMA, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def _hue_rotation(turns: torch.Tensor) -> torch.Tensor:
    """``[B, 3, 3]`` RGB matrices rotating hue by ``turns`` around the grey axis (YIQ)."""
    to_yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
        device=turns.device,
        dtype=turns.dtype,
    )
    from_yiq = torch.linalg.inv(to_yiq)
    angle = 2.0 * math.pi * turns
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(cos), torch.zeros_like(cos)
    rotation = torch.stack(
        [
            torch.stack([one, zero, zero], dim=1),
            torch.stack([zero, cos, -sin], dim=1),
            torch.stack([zero, sin, cos], dim=1),
        ],
        dim=1,
    )
    return from_yiq @ rotation @ to_yiq


def color_jitter(
    images: torch.Tensor,
    brightness: torch.Tensor,
    contrast: torch.Tensor,
    saturation: torch.Tensor,
    hue: torch.Tensor,
) -> torch.Tensor:
    """Per-image brightness, contrast, saturation and hue changes, clamped to [0, 1].

    Args:
        images: ``[B, 3, H, W]`` float images in [0, 1].
        brightness: ``[B]`` factors (1 = unchanged).
        contrast: ``[B]`` factors (1 = unchanged).
        saturation: ``[B]`` factors (1 = unchanged).
        hue: ``[B]`` hue rotations in turns (0 = unchanged).

    Returns:
        Jittered images, same shape.
    """
    dt = images.dtype
    x = (images * brightness.to(dt).view(-1, 1, 1, 1)).clamp(0.0, 1.0)
    mean = _grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast.to(dt).view(-1, 1, 1, 1) + mean).clamp(0.0, 1.0)
    grey = _grayscale(x)
    x = ((x - grey) * saturation.to(dt).view(-1, 1, 1, 1) + grey).clamp(0.0, 1.0)
    matrices = _hue_rotation(hue.to(dt))
    x = torch.einsum("bij,bjhw->bihw", matrices, x)
    return x.clamp(0.0, 1.0)


def train_augment(
    images: torch.Tensor, out_px: int = 192, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The paper's training augmentation of a batch of context crops, on their device.

    Per image: a random square crop of 50-100 % of the context area at a random position,
    rotated by a random angle (any), mirrored with p = 0.5 and resized to ``out_px`` (one
    batched ``grid_sample``, reflection at the borders); a Gaussian blur with p = 0.5 and
    sigma in (0.1, 2.0) px; and colour jitter (brightness, contrast, saturation +-0.4,
    hue +-0.05 turns).

    Args:
        images: ``[B, 3, S, S]`` uint8 (0-255) or float (0-1) context crops.
        out_px: Output side in pixels.
        generator: Random generator on the images' device, for reproducible batches
            (``None``: the global generator).

    Returns:
        ``[B, 3, out_px, out_px]`` float32 in [0, 1].
    """
    _check_images(images)
    # grid_sample does not low-pass filter: first bring the context down (antialiased)
    # to the size at which even the smallest crop maps to out_px at about 1:1.
    context_px = math.ceil(out_px / math.sqrt(CROP_SCALE[0]))
    if images.shape[-1] > context_px:
        x = _unit_float_resized(images, context_px)
    else:
        x = _to_unit_float(images)
    b, device = x.shape[0], x.device

    side = _uniform(*CROP_SCALE, b, device, generator).sqrt()
    center = (1.0 - side)[:, None] * _uniform(-1.0, 1.0, 2 * b, device, generator).view(b, 2)
    angle = _uniform(0.0, 2.0 * math.pi, b, device, generator)
    flip = torch.rand(b, device=device, generator=generator) < 0.5
    x = crop_rotate_resize(x, out_px, side, angle, center, flip)

    blur = torch.rand(b, device=device, generator=generator) < BLUR_P
    sigma = _uniform(*BLUR_SIGMA, b, device, generator) * blur
    if blur.any():
        x = gaussian_blur(x, sigma)

    x = color_jitter(
        x,
        _uniform(1.0 - BRIGHTNESS, 1.0 + BRIGHTNESS, b, device, generator),
        _uniform(1.0 - CONTRAST, 1.0 + CONTRAST, b, device, generator),
        _uniform(1.0 - SATURATION, 1.0 + SATURATION, b, device, generator),
        _uniform(-HUE, HUE, b, device, generator),
    )
    return x.clamp(0.0, 1.0)


def eval_transform(images: torch.Tensor, out_px: int = 192) -> torch.Tensor:
    """Deterministic evaluation view: the centre 384/512 of the context, resized to ``out_px``.

    Args:
        images: ``[B, 3, S, S]`` uint8 (0-255) or float (0-1) context crops.
        out_px: Output side in pixels.

    Returns:
        ``[B, 3, out_px, out_px]`` float32 in [0, 1].
    """
    _check_images(images)
    s = images.shape[-1]
    crop = max(1, round(s * EVAL_CROP_FRACTION))
    top = (s - crop) // 2
    x = images[:, :, top : top + crop, top : top + crop]
    x = _unit_float_resized(x, out_px) if crop != out_px else _to_unit_float(x)
    return x.clamp(0.0, 1.0)
