"""Scene-classification datasets: one folder per class (UC Merced, AID, NWPU-RESISC45, EuroSAT).

Images are JPG, PNG or (Geo)TIFF, 8- or 16-bit, RGB or multiband. A scan
finds every image, opens each one completely (so truncated files are caught
here and not halfway through training), reads its size, band count, bit depth
and, for GeoTIFFs, its ground resolution, and counts the files it had to skip.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from backend.data.skipped import skip_summary, write_skipped_csv
from backend.progress import Progress, check_cancelled

log = logging.getLogger(__name__)

#: file suffixes read as images (case-insensitive)
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
#: the default band selection: the first three bands as RGB
RGB_BANDS: tuple[int, ...] = (1, 2, 3)

# reasons an image is skipped
UNREADABLE = "unreadable image"
TOO_FEW_BANDS = "too few bands"
OTHER_BIT_DEPTH = "different bit depth"
EMPTY_IMAGE = "empty image"

#: divisor that maps a pixel type to about [0, 1]
DTYPE_SCALE: dict[str, float] = {
    "uint8": 255.0,
    "uint16": 65535.0,
    "int16": 32767.0,
    "uint32": 4294967295.0,
    "int32": 2147483647.0,
    "float32": 1.0,
    "float64": 1.0,
}

_JPEG_SUFFIXES = (".jpg", ".jpeg")
_METRE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class SceneImage:
    """One readable image of a scene dataset."""

    path: Path
    #: class index (position of its folder in :attr:`SceneSet.class_names`)
    label: int
    width: int
    height: int
    #: bands in the file (after PIL's RGB conversion for JPEGs)
    band_count: int
    #: numpy name of the pixel type, e.g. ``"uint8"`` or ``"uint16"``
    dtype: str
    #: ground metres per pixel from the GeoTIFF's georeferencing (None when unknown)
    resolution_m: float | None = None

    @property
    def side(self) -> int:
        """Side of the centre square that is used (the shorter side)."""
        return min(self.width, self.height)


# Shaped like backend.transfer.advance.AdvanceSet (folder, classes, items, skipped, total), kept
# apart: a scene set also records the bands and pixel type its images share.
@dataclass
class SceneSet:
    """The readable images of a scene dataset, and the files skipped with why."""

    root: Path
    #: class names (folder names), sorted; class index = position
    class_names: list[str]
    images: list[SceneImage]
    #: ``(path, reason)`` of every skipped file
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: image files considered (readable + skipped)
    total: int = 0
    #: 1-based bands read from each image, in order
    bands: list[int] = field(default_factory=lambda: list(RGB_BANDS))
    #: pixel type shared by the images
    dtype: str = "uint8"

    @property
    def labels(self) -> np.ndarray:
        """Class index of every image, ``int64 [N]``."""
        return np.array([image.label for image in self.images], dtype=np.int64)

    @property
    def scale(self) -> float:
        """Divisor mapping this dataset's pixel type to about [0, 1] (255 for 8-bit)."""
        return DTYPE_SCALE.get(self.dtype, 1.0)

    def class_counts(self) -> list[int]:
        """Readable images per class, in class order."""
        counts = collections.Counter(image.label for image in self.images)
        return [counts.get(i, 0) for i in range(len(self.class_names))]

    def resolution_m(self) -> float | None:
        """Median ground metres per pixel of the images that record one (GeoTIFFs)."""
        values = [image.resolution_m for image in self.images if image.resolution_m]
        return float(np.median(values)) if values else None

    def summary(self) -> str:
        """One line, e.g. ``skipped 3 of 2100 images: 2 unreadable images, 1 too few bands``."""
        return skip_summary((reason for _, reason in self.skipped), self.total, "images")

    def write_skipped_csv(self, path: str | os.PathLike) -> None:
        """Write the skipped files as CSV (columns path, reason), atomically."""
        write_skipped_csv(path, ("path", "reason"), self.skipped)

    def relative_name(self, image: SceneImage) -> str:
        """``class/file`` of an image, with forward slashes (as split files name them)."""
        return image.path.relative_to(self.root).as_posix()


class SceneReadError(OSError):
    """An image cannot be read (the message names the file)."""


@contextlib.contextmanager
def _quiet_rasterio() -> Iterator[None]:
    # Plain TIFFs and PNGs carry no georeferencing; that is normal here.
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        yield


def _rasterio_resolution(src) -> float | None:
    """Ground metres per pixel of an open rasterio dataset, if it is georeferenced."""
    transform = src.transform
    if src.crs is None or transform.is_identity:
        return None
    # pixel sides along the two image axes (handles rotated transforms)
    size_x = math.hypot(transform.a, transform.d)
    size_y = math.hypot(transform.b, transform.e)
    size = (size_x + size_y) / 2
    try:
        if src.crs.is_projected:
            _, factor = src.crs.linear_units_factor
            return float(size * factor)
        if src.crs.is_geographic:
            # degrees: metres per degree of latitude, and of longitude at the centre
            lat = math.radians(
                transform.f + transform.e * src.height / 2 + transform.d * src.width / 2
            )
            metres_per_degree = 111_320.0
            return float(
                (size_x * metres_per_degree * math.cos(lat) + size_y * metres_per_degree) / 2
            )
    except Exception:  # odd CRSs without units: the resolution stays unknown
        return None
    return None


def _uses_pil(path: Path) -> bool:
    return path.suffix.lower() in _JPEG_SUFFIXES


def _pil_rgb(path: Path, draft_px: int | None = None):
    """A JPEG (or palette PNG) converted to RGB, decoded at reduced scale when possible."""
    from PIL import Image

    with Image.open(path) as image:
        if draft_px is not None and image.format == "JPEG":
            image.draft("RGB", (draft_px, draft_px))
        return image.convert("RGB")


def _palette_png(src) -> bool:
    from rasterio.enums import ColorInterp

    return src.count == 1 and src.colorinterp[0] == ColorInterp.palette


def probe_scene_image(path: str | os.PathLike) -> tuple[int, int, int, str, float | None]:
    """Decode an image completely and describe it.

    Returns:
        ``(width, height, band_count, dtype, resolution_m)``.

    Raises:
        SceneReadError: The file cannot be read.
    """
    path = Path(path)
    try:
        if _uses_pil(path):
            from PIL import Image

            with Image.open(path) as image:
                width, height = image.size
                # a reduced-scale decode still reads every byte: truncation shows up
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
            return width, height, 3, "uint8", None
        import rasterio

        if path.suffix.lower() == ".png":
            from PIL import Image

            # GDAL reads a truncated PNG without complaint (the missing rows come back
            # empty); PIL's decoder notices
            with Image.open(path) as image:
                image.load()
        with _quiet_rasterio(), rasterio.open(path) as src:
            if _palette_png(src):
                rgb = _pil_rgb(path)
                return rgb.size[0], rgb.size[1], 3, "uint8", None
            src.read()  # decode everything
            dtype = str(np.dtype(src.dtypes[0]))
            return src.width, src.height, src.count, dtype, _rasterio_resolution(src)
    except Exception as error:  # PIL, GDAL and numpy all raise their own kinds
        raise SceneReadError(f"{path}: cannot read image ({error})") from error


def read_scene_pixels(
    path: str | os.PathLike, bands: Sequence[int] | None = None, draft_px: int | None = None
) -> np.ndarray:
    """The selected bands of an image, ``[C, H, W]`` in the file's pixel type.

    Args:
        path: JPG, PNG or (Geo)TIFF.
        bands: 1-based band numbers; ``None`` means RGB (bands 1-3, or band 1 three
            times for single-band files, as PIL converts greyscale).
        draft_px: For JPEGs, decode at a reduced scale that keeps at least this side.

    Raises:
        SceneReadError: The file cannot be read or lacks a selected band.
    """
    path = Path(path)
    try:
        if _uses_pil(path):
            rgb = np.asarray(_pil_rgb(path, draft_px)).transpose(2, 0, 1)
            return _select(rgb, bands, path)
        import rasterio

        with _quiet_rasterio(), rasterio.open(path) as src:
            if _palette_png(src):
                rgb = np.asarray(_pil_rgb(path)).transpose(2, 0, 1)
                return _select(rgb, bands, path)
            count = src.count
            wanted = _resolve_bands(bands, count, path)
            return src.read(wanted)
    except SceneReadError:
        raise
    except Exception as error:
        raise SceneReadError(f"{path}: cannot read image ({error})") from error


def _resolve_bands(bands: Sequence[int] | None, count: int, path: Path) -> list[int]:
    if bands is None:
        return list(RGB_BANDS) if count >= 3 else [1, 1, 1]
    if max(bands) > count:
        raise SceneReadError(f"{path}: band {max(bands)} requested, the image has {count}")
    return list(bands)


def _select(pixels: np.ndarray, bands: Sequence[int] | None, path: Path) -> np.ndarray:
    wanted = _resolve_bands(bands, pixels.shape[0], path)
    return pixels[[b - 1 for b in wanted]]


def load_scene(
    path: str | os.PathLike, size: int, bands: Sequence[int] | None = None, scale: float = 255.0
) -> torch.Tensor:
    """An image's centre square, resized (antialiased) to ``size`` and divided by ``scale``.

    Returns:
        float32 ``[C, size, size]`` (about [0, 1] for the matching ``scale``).

    Raises:
        SceneReadError: The file cannot be read.
    """
    pixels = read_scene_pixels(path, bands, draft_px=size)
    x = torch.from_numpy(pixels.astype(np.float32, copy=False)) / float(scale)
    _, height, width = x.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    x = x[:, top : top + side, left : left + side]
    if side != size:
        x = F.interpolate(
            x[None], size=(size, size), mode="bilinear", antialias=side > size, align_corners=False
        )[0]
    return x.contiguous()


def _class_folders(root: Path) -> list[Path]:
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def _image_files(folder: Path) -> list[Path]:
    found = [
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    # the same order as torchvision's ImageFolder (sorted names), which the reference split uses
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def parse_bands(text: str | None) -> list[int] | None:
    """``"4,3,2"`` -> ``[4, 3, 2]``; ``None``/empty -> ``None`` (RGB).

    Raises:
        ValueError: Not a comma-separated list of band numbers >= 1.
    """
    if text is None or not str(text).strip():
        return None
    try:
        bands = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError as error:
        raise ValueError(f"--bands {text!r}: expected band numbers like 4,3,2") from error
    if not bands or any(b < 1 for b in bands):
        raise ValueError(f"--bands {text!r}: band numbers start at 1")
    return bands


def scan_scenes(
    root: str | os.PathLike,
    bands: Sequence[int] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> SceneSet:
    """Find the readable images of a scene dataset (one sub-folder per class).

    Images in nested folders below a class folder belong to that class. Files
    that cannot be decoded, lack a selected band, or have another pixel type than
    most images are skipped and counted.

    Args:
        root: The dataset folder.
        bands: 1-based bands to use; ``None`` for RGB.
        workers: Threads decoding images (default: up to 8).
        progress: Receives progress and is asked about cancellation.

    Raises:
        FileNotFoundError: ``root`` is not a folder.
        ValueError: No class folders, or no readable image.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: scene dataset folder not found")
    folders = _class_folders(root)
    files = [(label, path) for label, folder in enumerate(folders) for path in _image_files(folder)]
    if not files:
        raise ValueError(
            f"{root}: no images found; a scene dataset holds one sub-folder per class with "
            f"{', '.join(IMAGE_SUFFIXES)} files"
        )
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    probes: list[tuple[int, int, int, str, float | None] | str] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        chunk = 256
        for start in range(0, len(files), chunk):
            check_cancelled(progress)
            batch = files[start : start + chunk]
            probes.extend(pool.map(_probe_or_reason, [path for _, path in batch]))
            if progress is not None:
                done = start + len(batch)
                progress.progress(done / len(files), f"checked {done} of {len(files)} images")

    readable = [p for p in probes if not isinstance(p, str)]
    if not readable:
        raise ValueError(f"{root}: none of the {len(files)} images could be read")
    dtype = collections.Counter(p[3] for p in readable).most_common(1)[0][0]
    need = max(bands) if bands else 1
    images: list[SceneImage] = []
    skipped: list[tuple[str, str]] = []
    for (label, path), probe in zip(files, probes, strict=True):
        if isinstance(probe, str):
            skipped.append((str(path), probe))
            continue
        width, height, count, image_dtype, resolution = probe
        if width < 1 or height < 1:
            skipped.append((str(path), EMPTY_IMAGE))
        elif count < need:
            skipped.append((str(path), TOO_FEW_BANDS))
        elif image_dtype != dtype:
            skipped.append((str(path), OTHER_BIT_DEPTH))
        else:
            images.append(SceneImage(path, label, width, height, count, image_dtype, resolution))
    if not images:
        raise ValueError(f"{root}: no usable images ({len(skipped)} skipped)")
    return SceneSet(
        root=root,
        class_names=[folder.name for folder in folders],
        images=images,
        skipped=skipped,
        total=len(files),
        bands=list(bands) if bands else list(RGB_BANDS),
        dtype=dtype,
    )


def _probe_or_reason(path: Path) -> tuple[int, int, int, str, float | None] | str:
    try:
        return probe_scene_image(path)
    except SceneReadError:
        return UNREADABLE


def reference_split(scenes: SceneSet) -> tuple[list[int], list[int]]:
    """The reference's deterministic 50/50 split: alternating within each class.

    Within every class, in file-name order, the 1st, 3rd, 5th... image is for
    training and the 2nd, 4th... for testing. For classes with an even count
    (UC Merced, AID, NWPU-RESISC45) this is exactly the reference
    implementation's even/odd split of the ``ImageFolder`` order.

    Returns:
        ``(train_indices, test_indices)`` into ``scenes.images``.
    """
    position: collections.Counter[int] = collections.Counter()
    train: list[int] = []
    test: list[int] = []
    for index, image in enumerate(scenes.images):
        (train if position[image.label] % 2 == 0 else test).append(index)
        position[image.label] += 1
    return train, test


def read_split_file(scenes: SceneSet, path: str | os.PathLike) -> tuple[list[int], list[int]]:
    """A split from a file of ``class/file,train`` lines (comma, tab or space separated).

    Paths are relative to the dataset folder; the split is ``train`` or ``test``
    (``val``/``validation`` lines are ignored). Images the file does not name are
    left out; named images that were skipped or do not exist are ignored.

    Returns:
        ``(train_indices, test_indices)`` into ``scenes.images``.

    Raises:
        FileNotFoundError: The split file does not exist.
        ValueError: A line cannot be parsed, or one of the splits is empty.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split file not found")
    by_name = {scenes.relative_name(image): i for i, image in enumerate(scenes.images)}
    train: list[int] = []
    test: list[int] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for separator in (",", "\t", " "):
            if separator in line:
                name, _, split = line.rpartition(separator)
                break
        else:
            raise ValueError(f"{path}:{number}: expected 'class/file,train' or 'class/file,test'")
        name, split = name.strip().replace("\\", "/"), split.strip().lower()
        if number == 1 and split in ("split", "set"):
            continue  # a header
        if split in ("val", "validation"):
            continue
        if split not in ("train", "test"):
            raise ValueError(f"{path}:{number}: split {split!r} is neither train nor test")
        index = by_name.get(name)
        if index is not None:
            (train if split == "train" else test).append(index)
    if not train or not test:
        raise ValueError(
            f"{path}: the split names {len(train)} usable training and {len(test)} test images; "
            f"both must be non-empty (paths are class/file relative to {scenes.root})"
        )
    return sorted(set(train)), sorted(set(test))


#: substitutes tried for an image that fails to load after the scan
_SUBSTITUTE_TRIES = 16


class SceneDataset(torch.utils.data.Dataset):
    """Images of a :class:`SceneSet` as ``(float [C, size, size], label)`` pairs.

    The scan decodes every image, so a read error here means a file changed
    since; the item is then replaced by another image of the same class, chosen
    by its position alone (the same in every worker and every run), with a
    warning naming the file, and the run goes on.
    """

    def __init__(self, scenes: SceneSet, indices: Sequence[int], size: int, scale: float) -> None:
        """Select ``indices`` of ``scenes``, loaded at ``size`` px and divided by ``scale``."""
        self.images = [scenes.images[i] for i in indices]
        self.bands = None if scenes.bands == list(RGB_BANDS) else list(scenes.bands)
        self.size = size
        self.scale = scale

    def __len__(self) -> int:
        return len(self.images)

    def _same_class(self, index: int) -> list[int]:
        label = self.images[index].label
        return [i for i, image in enumerate(self.images) if image.label == label and i != index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index]
        try:
            return load_scene(image.path, self.size, self.bands, self.scale), image.label
        except SceneReadError as error:
            first_error = error
        log.warning("%s; using another image of its class", first_error)
        others = self._same_class(index)
        start = index % len(others) if others else 0
        for other in (others[start:] + others[:start])[:_SUBSTITUTE_TRIES]:
            try:
                substitute = self.images[other]
                return load_scene(substitute.path, self.size, self.bands, self.scale), image.label
            except SceneReadError as error:
                log.warning("%s", error)
        raise first_error
