"""The DeepGlobe 2018 land-cover layout: ``<id>_sat.jpg`` images, RGB-coded ``<id>_mask.png`` masks.

The released training folder (``train/``; ``valid/`` and ``test/`` come without
masks) holds 803 RGB satellite images of 2448 x 2448 pixels at 50 cm and one mask
per image whose colours code seven classes. As in the paper's own code
(khdlr/SoundingEarth ``downstream/deepglobe.py``) each mask channel is
thresholded at 128, six classes are learned and "unknown" (black) pixels are
ignored in training and evaluation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.data.skipped import skip_summary, write_skipped_csv

log = logging.getLogger(__name__)

#: the six learned classes, their mask colours (the dataset's) and map colours (the same)
CLASS_NAMES: tuple[str, ...] = ("urban", "agriculture", "rangeland", "forest", "water", "barren")
MASK_COLORS: tuple[tuple[int, int, int], ...] = (
    (0, 255, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 255),
)
#: black pixels: clouds and anything else; not learned and not scored
UNKNOWN_COLOR = (0, 0, 0)
#: label of pixels that do not count (unknown, or a colour outside the legend)
IGNORE = 255
SAT_SUFFIX = "_sat.jpg"
MASK_SUFFIX = "_mask.png"


def class_colors_hex() -> list[str]:
    """The classes' mask colours as ``#rrggbb`` (used for the class map's style)."""
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in MASK_COLORS]


def decode_mask(rgb: np.ndarray) -> np.ndarray:
    """Class labels ``[H, W]`` (uint8; :data:`IGNORE` for unknown) of an RGB mask ``[H, W, 3]``.

    Each channel is thresholded at 128 first, so JPEG-like noise in a mask does not matter.
    """
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an RGB mask [H, W, 3], got shape {list(rgb.shape)}")
    bits = (rgb[..., :3] >= 128).astype(np.uint8)
    code = bits[..., 0] * 4 + bits[..., 1] * 2 + bits[..., 2]
    table = np.full(8, IGNORE, np.uint8)
    for index, (r, g, b) in enumerate(MASK_COLORS):
        table[(r > 0) * 4 + (g > 0) * 2 + (b > 0)] = index
    return table[code]


@dataclass
class DeepGlobeSet:
    """The usable image/mask pairs of a DeepGlobe training folder, and what was left out."""

    root: Path
    #: image ids, sorted numerically where they are numbers
    ids: list[str]
    images: list[Path]
    masks: list[Path]
    #: (file, reason) of every pair left out
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: image side (pixels) of each pair
    sizes: list[tuple[int, int]] = field(default_factory=list)

    def summary(self) -> str:
        """One line counting the pairs left out, by cause."""
        return skip_summary(
            [reason for _, reason in self.skipped], len(self.ids) + len(self.skipped), "images"
        )

    def write_skipped_csv(self, path: str | os.PathLike) -> None:
        """List the pairs left out (file, reason)."""
        write_skipped_csv(path, ("file", "reason"), self.skipped)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixels ``[H, W, 3]`` uint8 and labels ``[H, W]`` uint8 of pair ``index``."""
        from PIL import Image

        with Image.open(self.images[index]) as image:
            pixels = np.asarray(image.convert("RGB"))
        with Image.open(self.masks[index]) as mask:
            labels = decode_mask(np.asarray(mask.convert("RGB")))
        return pixels, labels


def _training_folder(root: Path) -> Path:
    if (root / "train").is_dir() and not any(root.glob(f"*{SAT_SUFFIX}")):
        return root / "train"
    return root


def _sort_key(image_id: str) -> tuple[int, int | str]:
    return (0, int(image_id)) if image_id.isdigit() else (1, image_id)


def scan_deepglobe(root: str | os.PathLike) -> DeepGlobeSet:
    """Find the image/mask pairs under ``root`` (the dataset folder or its ``train/``).

    Images without a mask, and files that cannot be decoded or whose sizes differ,
    are left out and counted.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: It holds no ``<id>_sat.jpg`` image with a mask.
    """
    from PIL import Image

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: DeepGlobe folder not found")
    folder = _training_folder(root)
    found = sorted(
        (p.name[: -len(SAT_SUFFIX)], p) for p in folder.glob(f"*{SAT_SUFFIX}") if p.is_file()
    )
    found.sort(key=lambda item: _sort_key(item[0]))
    ids, images, masks, sizes = [], [], [], []
    skipped: list[tuple[str, str]] = []
    for image_id, image in found:
        mask = folder / f"{image_id}{MASK_SUFFIX}"
        if not mask.is_file():
            skipped.append((str(image), "missing mask"))
            continue
        try:
            with Image.open(image) as im:
                size = im.size
                # decode at an eighth of the size: finds truncated or corrupt JPEG data fast
                im.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
                im.load()
            with Image.open(mask) as mk:
                mk.verify()
                mask_size = mk.size
        except Exception as exc:  # PIL raises many types for broken files
            log.warning("%s: unreadable (%s)", image, exc)
            skipped.append((str(image), "unreadable image"))
            continue
        if size != mask_size:
            skipped.append((str(mask), "mask of another size"))
            continue
        ids.append(image_id)
        images.append(image)
        masks.append(mask)
        sizes.append((size[1], size[0]))
    if not ids:
        raise ValueError(
            f"{folder}: no DeepGlobe image/mask pairs (expected <id>{SAT_SUFFIX} with "
            f"<id>{MASK_SUFFIX} beside it, in the folder or its train/ sub-folder)"
        )
    return DeepGlobeSet(folder, ids, images, masks, skipped, sizes)


def read_test_ids(path: str | os.PathLike, ids: Sequence[str]) -> list[int]:
    """Indices into ``ids`` of the held-out images listed in ``path`` (one id per line).

    Raises:
        FileNotFoundError: No such file.
        ValueError: A line names an id the dataset lacks, or the file names none.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: test id file not found")
    where = {image_id: i for i, image_id in enumerate(ids)}
    chosen: list[int] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        text = text.removesuffix(SAT_SUFFIX)
        key = text if text in where else str(int(text)) if text.isdigit() else text
        if key not in where:
            raise ValueError(
                f"{path}, line {number}: image id {text!r} is not among the usable DeepGlobe pairs"
            )
        chosen.append(where[key])
    if not chosen:
        raise ValueError(f"{path}: lists no image ids (expected one id per line)")
    return sorted(set(chosen))


def default_test_indices(count: int, every: int = 5) -> list[int]:
    """Every ``every``-th image (sorted by id, starting with the third): a fixed 20 % hold-out."""
    return list(range(min(2, count - 1), count, every))
