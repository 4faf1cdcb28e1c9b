"""Writes a tiny dataset in the DeepGlobe land-cover layout: real JPEG images, RGB-coded PNG masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from backend.data.deepglobe import CLASS_NAMES, MASK_COLORS

#: what each class looks like in the fake imagery (RGB); other classes are not drawn
LOOKS: dict[str, tuple[int, int, int]] = {
    "water": (30, 60, 150),
    "agriculture": (200, 180, 70),
    "forest": (40, 110, 40),
}


def fake_scene(
    rng: np.random.Generator, size: int, first: str, second: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``[size, size, 3]`` and class indices ``[size, size]`` of two halves.

    The split is vertical or horizontal at a random place; pixels are the classes'
    looks plus noise; a small corner is "unknown".
    """
    labels = np.full((size, size), CLASS_NAMES.index(first), np.uint8)
    cut = int(rng.integers(size // 3, 2 * size // 3))
    if rng.random() < 0.5:
        labels[:, cut:] = CLASS_NAMES.index(second)
    else:
        labels[cut:, :] = CLASS_NAMES.index(second)
    looks = np.array([LOOKS.get(name, (0, 0, 0)) for name in CLASS_NAMES], np.float64)
    pixels = looks[labels] + rng.normal(0, 12, (size, size, 3))
    return pixels.clip(0, 255).astype(np.uint8), labels


def write_deepglobe(
    root: Path,
    count: int = 6,
    size: int = 96,
    seed: int = 0,
    pairs: tuple[tuple[str, str], ...] = (("water", "agriculture"), ("agriculture", "water")),
) -> Path:
    """``root/train/<id>_sat.jpg`` and ``<id>_mask.png`` for ``count`` scenes; returns ``root``.

    Scene ``k`` shows the classes ``pairs[k % len(pairs)]``, one in each half.
    """
    rng = np.random.default_rng(seed)
    folder = root / "train"
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        image_id = str(100 + 37 * k)
        pixels, labels = fake_scene(rng, size, *pairs[k % len(pairs)])
        mask = np.array(MASK_COLORS, np.uint8)[labels]
        mask[:6, :6] = 0  # unknown
        Image.fromarray(pixels).save(folder / f"{image_id}_sat.jpg", quality=95)
        Image.fromarray(mask).save(folder / f"{image_id}_mask.png")
    return root
