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
    x = _centre_crop(images, EVAL_CROP_FRACTION)
    x = _unit_float_resized(x, out_px) if x.shape[-1] != out_px else _to_unit_float(x)
    return x.clamp(0.0, 1.0)


def _centre_crop(images: torch.Tensor, fraction: float) -> torch.Tensor:
    # the central ``fraction`` of each context crop ``[B, 3, S, S]``, at least one pixel
    _check_images(images)
    s = images.shape[-1]
    crop = max(1, round(s * fraction))
    top = (s - crop) // 2
    return images[:, :, top : top + crop, top : top + crop]


# --- The paper's protocol (khdlr/SoundingEarth data_loading.py, albumentations) ---------
#
# The reference trains on: CenterCrop(512) -> RandomResizedCrop(192, scale 0.5-1) ->
# Rotate(limit 180, p 1) -> Blur(3x3 box, p 0.5) -> GridDistortion(p 0.5) ->
# HueSaturationValue(p 0.5) -> Normalize, and evaluates on CenterCrop(384) -> Resize(192).
# The centre 512 px is what the pair reader delivers as the context. The parameters
# below are albumentations 1.x defaults where the reference does not set them
# (assumed: the reference pins no version). Images stay float in [0, 1] here; the
# reference rounds to uint8 after every step, a difference of quantisation only.

#: RandomResizedCrop: area fraction and aspect ratio (w / h) ranges; attempts before the fallback
PAPER_CROP_SCALE = (0.5, 1.0)
PAPER_CROP_RATIO = (3 / 4, 4 / 3)
PAPER_CROP_ATTEMPTS = 10
#: Rotate: angle limit in degrees (uniform in +-limit), applied to every image
PAPER_ROTATE_LIMIT = 180.0
#: Blur: probability of the 3x3 box blur
PAPER_BLUR_P = 0.5
#: GridDistortion: probability, cells per side, and the limit of each cell's stretch
PAPER_GRID_P = 0.5
PAPER_GRID_STEPS = 5
PAPER_GRID_LIMIT = 0.3
#: HueSaturationValue: probability; shifts in OpenCV uint8 units (hue: half degrees)
PAPER_HSV_P = 0.5
PAPER_HUE_SHIFT = 20.0
PAPER_SAT_SHIFT = 30.0
PAPER_VAL_SHIFT = 20.0
#: evaluation: centre 384 of the 512 px context, resized to the model's input
PAPER_EVAL_CROP_FRACTION = 384 / 512


def _random_resized_boxes(
    b: int, size: int, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    """``[B, 4]`` crop boxes ``(x0, y0, w, h)`` in pixels, drawn as RandomResizedCrop does.

    Each attempt draws an area fraction and a log-uniform aspect ratio; the first
    attempt whose box fits is used, at a uniformly drawn position; if none fits, the
    whole (square) image.
    """
    n = PAPER_CROP_ATTEMPTS
    area = size * size * _uniform(*PAPER_CROP_SCALE, b * n, device, generator).view(b, n)
    log_lo, log_hi = math.log(PAPER_CROP_RATIO[0]), math.log(PAPER_CROP_RATIO[1])
    ratio = torch.exp(_uniform(log_lo, log_hi, b * n, device, generator).view(b, n))
    w = torch.round(torch.sqrt(area * ratio))
    h = torch.round(torch.sqrt(area / ratio))
    fits = (w > 0) & (w <= size) & (h > 0) & (h <= size)
    first = torch.where(fits.any(1), fits.float().argmax(1), -1)
    pos = torch.rand(b, n, 2, device=device, generator=generator)
    rows = torch.arange(b, device=device)
    pick = first.clamp_min(0)
    w, h, pos = w[rows, pick], h[rows, pick], pos[rows, pick]
    x0 = torch.floor(pos[:, 0] * (size - w + 1))
    y0 = torch.floor(pos[:, 1] * (size - h + 1))
    whole = first < 0
    full = torch.full_like(w, float(size))
    zero = torch.zeros_like(w)
    return torch.stack(
        [
            torch.where(whole, zero, x0),
            torch.where(whole, zero, y0),
            torch.where(whole, full, w),
            torch.where(whole, full, h),
        ],
        dim=1,
    )


def _crop_resize(images: torch.Tensor, boxes: torch.Tensor, out_px: int) -> torch.Tensor:
    """Crop each image to its box and resize it to ``out_px`` (bilinear, no antialiasing).

    The sampling positions are those of OpenCV's ``INTER_LINEAR`` resize (pixel
    centres at half-integers), with edge pixels repeated outside the image.
    """
    b, _, h, w = images.shape
    steps = (torch.arange(out_px, device=images.device, dtype=images.dtype) + 0.5) / out_px
    x0, y0, bw, bh = (boxes[:, i : i + 1].to(images.dtype) for i in range(4))
    xs = x0 + steps[None, :] * bw - 0.5  # [B, out] source pixel coordinates
    ys = y0 + steps[None, :] * bh - 0.5
    # normalise for align_corners=False: pixel i's centre is at (2i + 1) / size - 1
    xn = (2.0 * xs + 1.0) / w - 1.0
    yn = (2.0 * ys + 1.0) / h - 1.0
    grid = torch.stack(
        [xn[:, None, :].expand(b, out_px, out_px), yn[:, :, None].expand(b, out_px, out_px)],
        dim=-1,
    )
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate each image about its centre; corners are filled by reflection at the edge pixels."""
    angle = torch.deg2rad(degrees.to(images.dtype))
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    theta = torch.stack(
        [torch.stack([cos, -sin, zero], dim=1), torch.stack([sin, cos, zero], dim=1)], dim=1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=True)
    # align_corners=True reflects about the edge pixels' centres (OpenCV's BORDER_REFLECT_101)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="reflection", align_corners=True
    )


def box_blur(images: torch.Tensor) -> torch.Tensor:
    """3x3 mean filter of every image, edges mirrored without repeating the edge pixel."""
    padded = F.pad(images, (1, 1, 1, 1), mode="reflect")
    return F.avg_pool2d(padded, kernel_size=3, stride=1)


def _grid_axis(size: int, stretch: torch.Tensor) -> torch.Tensor:
    """Source coordinates along one axis for GridDistortion's per-cell stretch factors.

    The axis is cut into cells of ``size // steps`` pixels; cell ``k`` of the output
    covers ``stretch[k]`` times its width of the source, the last cell running to the
    image's end.
    """
    steps = stretch.shape[0] - 1
    cell = size // steps
    coords = torch.zeros(size, dtype=stretch.dtype, device=stretch.device)
    previous = torch.zeros((), dtype=stretch.dtype, device=stretch.device)
    for k in range(steps + 1):
        start, end = k * cell, k * cell + cell
        if start >= size:
            break
        if end > size:
            end, current = size, torch.tensor(float(size), dtype=stretch.dtype)
        else:
            current = previous + cell * stretch[k]
        n = end - start
        t = torch.linspace(0.0, 1.0, n, dtype=stretch.dtype, device=stretch.device)
        coords[start:end] = previous + (current - previous) * t if n > 1 else previous
        previous = current
    return coords


def grid_distortion(images: torch.Tensor, stretch: torch.Tensor) -> torch.Tensor:
    """Albumentations-style GridDistortion with given stretch factors.

    Args:
        images: ``[B, C, H, W]`` float images (square).
        stretch: ``[B, 2, steps + 1]`` factors of each cell along x (0) and y (1);
            all ones leaves an image as it is.

    Returns:
        Distorted images, same shape (edges mirrored as in ``box_blur``).
    """
    b, _, h, w = images.shape
    grids = []
    for i in range(b):
        # a few hundred coordinates: built on the CPU, then moved with the grid
        xs = _grid_axis(w, stretch[i, 0].detach().cpu().to(images.dtype))
        ys = _grid_axis(h, stretch[i, 1].detach().cpu().to(images.dtype))
        xn = 2.0 * xs / max(1, w - 1) - 1.0  # pixel centres at integers: align_corners=True
        yn = 2.0 * ys / max(1, h - 1) - 1.0
        grids.append(torch.stack([xn[None, :].expand(h, w), yn[:, None].expand(h, w)], dim=-1))
    grid = torch.stack(grids).to(images.device)
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="reflection", align_corners=True
    )


def rgb_to_hsv(images: torch.Tensor) -> torch.Tensor:
    """``[B, 3, H, W]`` RGB in [0, 1] -> HSV, hue in turns [0, 1), saturation and value in [0, 1]."""
    r, g, b = images.unbind(1)
    value, _ = images.max(1)
    low, _ = images.min(1)
    chroma = value - low
    safe = torch.where(chroma > 0, chroma, torch.ones_like(chroma))
    hue = torch.where(
        value == r,
        ((g - b) / safe) % 6.0,
        torch.where(value == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = torch.where(chroma > 0, hue / 6.0, torch.zeros_like(hue)) % 1.0
    saturation = torch.where(value > 0, chroma / torch.where(value > 0, value, 1.0), 0.0)
    return torch.stack([hue, saturation, value], dim=1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """The inverse of ``rgb_to_hsv``."""
    hue, saturation, value = hsv.unbind(1)
    channels = []
    for n in (5.0, 3.0, 1.0):  # r, g, b
        k = (n + hue * 6.0) % 6.0
        channels.append(value - value * saturation * torch.clamp(torch.minimum(k, 4.0 - k), 0, 1))
    return torch.stack(channels, dim=1)


def hue_saturation_value(
    images: torch.Tensor, hue: torch.Tensor, saturation: torch.Tensor, value: torch.Tensor
) -> torch.Tensor:
    """Shift hue (in turns, cyclic), saturation and value (additive, clipped to [0, 1])."""
    hsv = rgb_to_hsv(images.clamp(0.0, 1.0))
    dt = images.dtype
    h = (hsv[:, 0] + hue.to(dt).view(-1, 1, 1)) % 1.0
    s = (hsv[:, 1] + saturation.to(dt).view(-1, 1, 1)).clamp(0.0, 1.0)
    v = (hsv[:, 2] + value.to(dt).view(-1, 1, 1)).clamp(0.0, 1.0)
    return hsv_to_rgb(torch.stack([h, s, v], dim=1))


def paper_train_augment(
    images: torch.Tensor, out_px: int = 192, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The reference's training augmentation (``--protocol paper``) of a batch of contexts.

    Per image, in the reference's order: a RandomResizedCrop (50-100 % of the context's
    area, aspect ratio 3/4-4/3) resized to ``out_px`` without antialiasing; a rotation
    by an angle uniform in +-180 degrees (corners mirrored); with p = 0.5 a 3x3 box
    blur; with p = 0.5 a grid distortion (5 x 5 cells, each stretched by 1 +- 0.3);
    with p = 0.5 hue, saturation and value shifts (+-20 OpenCV hue units, i.e. +-40
    degrees; +-30/255; +-20/255). The input is the centre 512 px context the pair
    reader delivers (at ``out_px`` 192); no flip, unlike the product's
    :func:`train_augment`.

    Args:
        images: ``[B, 3, S, S]`` uint8 (0-255) or float (0-1) context crops.
        out_px: Output side in pixels.
        generator: Random generator on the images' device (``None``: the global one).

    Returns:
        ``[B, 3, out_px, out_px]`` float32 in [0, 1].
    """
    x = _to_unit_float(images)
    b, size, device = x.shape[0], x.shape[-1], x.device
    x = _crop_resize(x, _random_resized_boxes(b, size, device, generator), out_px)
    x = _rotate(x, _uniform(-PAPER_ROTATE_LIMIT, PAPER_ROTATE_LIMIT, b, device, generator))

    blur = torch.rand(b, device=device, generator=generator) < PAPER_BLUR_P
    if blur.any():
        x = torch.where(blur.view(-1, 1, 1, 1), box_blur(x), x)

    steps = PAPER_GRID_STEPS + 1
    distort = torch.rand(b, device=device, generator=generator) < PAPER_GRID_P
    stretch = 1.0 + _uniform(-PAPER_GRID_LIMIT, PAPER_GRID_LIMIT, b * 2 * steps, device, generator)
    stretch = torch.where(distort.view(-1, 1), stretch.view(b, 2 * steps), 1.0).view(b, 2, steps)
    if distort.any():
        x = grid_distortion(x, stretch)

    shift = torch.rand(b, device=device, generator=generator) < PAPER_HSV_P
    hue = _uniform(-PAPER_HUE_SHIFT, PAPER_HUE_SHIFT, b, device, generator) / 180.0
    sat = _uniform(-PAPER_SAT_SHIFT, PAPER_SAT_SHIFT, b, device, generator) / 255.0
    val = _uniform(-PAPER_VAL_SHIFT, PAPER_VAL_SHIFT, b, device, generator) / 255.0
    if shift.any():
        shifted = hue_saturation_value(x, hue * shift, sat * shift, val * shift)
        x = torch.where(shift.view(-1, 1, 1, 1), shifted, x)
    return x.clamp(0.0, 1.0)


def paper_eval_transform(images: torch.Tensor, out_px: int = 192) -> torch.Tensor:
    """The reference's evaluation view: centre 384/512 of the context, resized without antialiasing.

    Takes and gives what :func:`eval_transform` does.
    """
    x = _to_unit_float(_centre_crop(images, PAPER_EVAL_CROP_FRACTION))
    if x.shape[-1] != out_px:
        x = F.interpolate(x, size=(out_px, out_px), mode="bilinear", align_corners=False)
    return x.clamp(0.0, 1.0)
