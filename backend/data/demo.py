"""Procedural demo data: aerial tiles and sounds that share a hidden land-cover class.

Everything the pipeline needs to run end to end without downloading anything:
image/sound pairs in the SoundingEarth layout, their hidden classes, a scene
classification set (one folder per class), and a georeferenced scene raster with
its ground-truth class raster. Images and sounds of one pair come from the same
class, with real variation inside each class (colours, orientation, scale,
mixed-in neighbouring land cover, event timing, levels, background noise), so a
cross-modal model has something to learn that is not trivial. Output is
deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime
import functools
import json
import os
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from backend.atomic import staged_folder
from backend.data.build_pairs import write_dataset_info, write_metadata_csv
from backend.progress import Progress, check_cancelled

#: the hidden land-cover classes, in class-index order
SCENE_CLASSES: tuple[str, ...] = ("water", "forest", "farmland", "urban", "road", "beach")
#: a land-cover palette, one hex colour per class
CLASS_COLORS: dict[str, str] = {
    "water": "#2b7bba",
    "forest": "#1b7a3a",
    "farmland": "#e0c55b",
    "urban": "#d7301f",
    "road": "#5a5a5a",
    "beach": "#f5deb3",
}
#: ground resolution of every demo image (metres per pixel)
GROUND_RESOLUTION_M = 0.5
#: sample rate of the demo recordings (the audio reader resamples)
DEMO_SAMPLE_RATE = 16000
#: shortest and longest demo recording (seconds)
DURATION_RANGE_S = (10.0, 30.0)
#: the scene raster's CRS (UTM zone 33N) and its north-west corner in that CRS
SCENE_CRS = "EPSG:32633"
SCENE_ORIGIN = (389_000.0, 5_820_000.0)
#: nodata value of the class raster
LABEL_NODATA = 255

# share of pairs (and scenes) whose tile and sound also hold a second class
_SECONDARY_SHARE = 0.25
# independent random streams, so changing one output never shifts another
_PAIR_STREAM, _SCENE_STREAM, _RASTER_STREAM, _CLASS_STREAM = 1, 2, 3, 4
_JPEG_QUALITY = 90
# tiles at least this wide are drawn at half resolution and upsampled
_HALF_RESOLUTION_FROM_PX = 256
# scene-set image side (pixels, at GROUND_RESOLUTION_M)
_SCENE_SET_PX = 128


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`make_demo_data` wrote."""

    #: the output folder
    root: Path
    #: the pairs in the SoundingEarth layout (metadata.csv, images/, audio/)
    pairs_dir: Path
    #: ``key,class`` of every pair
    labels_csv: Path
    #: the scene classification set, one sub-folder per class
    scenes_dir: Path
    #: the georeferenced RGB scene raster
    scene_tif: Path
    #: the ground-truth class raster on the same grid (uint8 class index, nodata 255)
    scene_labels_tif: Path
    #: class names, colours and the ground resolution
    classes_json: Path
    #: number of image/sound pairs
    pairs: int
    #: number of images in the scene set
    scenes: int
    #: pairs per class
    class_counts: dict[str, int] = field(default_factory=dict)
    #: metres per pixel of every image
    ground_resolution_m: float = GROUND_RESOLUTION_M

    def summary(self) -> str:
        """One line for the user."""
        return (
            f"wrote {self.pairs} demo pairs to {self.pairs_dir}, {self.scenes} scene images "
            f"to {self.scenes_dir} and the scene raster {self.scene_tif}"
        )


# --------------------------------------------------------------------------- images
# Texture generators take a Generator and a _Canvas and return float RGB,
# channels first (3, n, n), values about 0..1; channels-first keeps numpy's
# inner loops long. Feature sizes are in base pixels (GROUND_RESOLUTION_M),
# so tiles, scenes and the scene raster show the same ground scale. Patterns
# are centred on the middle of the square, where the recording was made.


@functools.lru_cache(maxsize=4)
def _grid(size: int, stride: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates relative to the square's centre (x right, y down).

    ``stride`` is the distance between neighbouring pixels in base pixels.
    """
    axis = (np.arange(size, dtype=np.float32) - np.float32((size - 1) / 2)) * np.float32(stride)
    x, y = np.meshgrid(axis, axis)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _rotated(size: int, theta: float, stride: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    x, y = _grid(size, stride)
    c, s = np.float32(np.cos(theta)), np.float32(np.sin(theta))
    return x * c + y * s, y * c - x * s


@functools.lru_cache(maxsize=64)
def _ramp(steps: int) -> np.ndarray:
    """Linear interpolation weights 0, 1/steps, ..., (steps - 1)/steps."""
    ramp = np.arange(steps, dtype=np.float32) / np.float32(steps)
    ramp.setflags(write=False)
    return ramp


@functools.lru_cache(maxsize=64)
def _bspline_weights(steps: int) -> np.ndarray:
    """Cubic B-spline weights of the four neighbouring knots, shaped (4, steps)."""
    t = np.arange(steps, dtype=np.float64) / steps
    weights = np.stack(
        [(1 - t) ** 3, 3 * t**3 - 6 * t**2 + 4, -3 * t**3 + 3 * t**2 + 3 * t + 1, t**3]
    )
    weights = (weights / 6).astype(np.float32)
    weights.setflags(write=False)
    return weights


def _upsample_rows(coarse: np.ndarray, factor: int) -> np.ndarray:
    """Cubic B-spline interpolation along axis 0: (m, w) -> ((m - 3) * factor, w)."""
    weights = _bspline_weights(factor)[:, None, :, None]
    m = coarse.shape[0]
    fine = coarse[0 : m - 3, None, :] * weights[0]
    for q in range(1, 4):
        fine += coarse[q : m - 3 + q, None, :] * weights[q]
    return fine.reshape(-1, coarse.shape[1])


def _smooth_noise(rng: np.random.Generator, size: int, cell: float) -> np.ndarray:
    """Smooth value noise (about unit variance) with blobs about ``cell`` pixels wide."""
    factor = max(1, int(round(cell)))
    m = size // factor + 5
    # uniform knots; 7.24 = unit variance after B-spline smoothing in two dimensions
    coarse = (rng.random((m, m), dtype=np.float32) - np.float32(0.5)) * np.float32(7.24)
    r0, c0 = rng.integers(0, factor, 2)
    if factor == 1:
        return coarse[:size, :size] * np.float32(0.48)
    columns = _upsample_rows(np.ascontiguousarray(coarse.T), factor).T  # (m, w)
    columns = np.ascontiguousarray(columns[:, c0 : c0 + size])
    return _upsample_rows(columns, factor)[r0 : r0 + size]


@dataclass(frozen=True)
class _Canvas:
    """A square being drawn: ``n`` pixels a side, each ``stride`` base pixels wide.

    Textures are drawn in base-pixel units (GROUND_RESOLUTION_M); a stride of 2
    draws a quarter of the pixels, to be upsampled afterwards.
    """

    n: int
    stride: float = 1.0

    @property
    def extent(self) -> float:
        """Side length in base pixels."""
        return self.n * self.stride

    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        return _grid(self.n, self.stride)

    def rotated(self, theta: float) -> tuple[np.ndarray, np.ndarray]:
        return _rotated(self.n, theta, self.stride)

    def noise(self, rng: np.random.Generator, cell: float) -> np.ndarray:
        return _smooth_noise(rng, self.n, cell / self.stride)


def _nearest(x: np.ndarray, y: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed point for every pixel (Voronoi cells), one seed at a time."""
    best = np.full(x.shape, np.inf, np.float32)
    index = np.zeros(x.shape, np.int64)
    for number, (sx, sy) in enumerate(seeds):
        distance = (x - sx) ** 2 + (y - sy) ** 2
        closer = distance < best
        best = np.where(closer, distance, best)
        index[closer] = number
    return index


def _colour(rng: np.random.Generator, rgb: tuple[float, float, float], amount: float) -> np.ndarray:
    """``rgb`` with a random brightness and hue shift, shaped (3, 1, 1)."""
    base = np.asarray(rgb, dtype=np.float32)
    tint = 1 + amount * rng.standard_normal(3).astype(np.float32)
    return (base * tint * np.float32(1 + 0.5 * amount * rng.standard_normal()))[:, None, None]


def _clip01(values: np.ndarray) -> np.ndarray:
    # np.clip is several times slower than this in numpy 1.x
    return np.minimum(np.maximum(values, np.float32(0)), np.float32(1))


def _blend(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``a`` where weight is 0, ``b`` where it is 1 (images (3, h, w), weight (h, w))."""
    return a + (b - a) * weight


def _paint(image: np.ndarray, mask: np.ndarray, colour: np.ndarray | float) -> None:
    """Set the masked pixels of a (3, h, w) image to one colour."""
    image[:, mask] = np.reshape(colour, (-1, 1)) if np.ndim(colour) else colour


def _water(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    u, v = c.rotated(rng.uniform(0, np.pi))
    period = rng.uniform(10, 40)
    warp = c.noise(rng, period * 4) * np.float32(period * 0.3)
    waves = np.sin((u + warp) * np.float32(2 * np.pi / period))
    waves += np.float32(0.5) * np.sin(
        (u * np.float32(0.6) + v * np.float32(0.8)) * np.float32(2 * np.pi / (period * 0.55))
        + np.float32(rng.uniform(0, 2 * np.pi))
    )
    deep = [(0.05, 0.20, 0.36), (0.09, 0.30, 0.33), (0.12, 0.26, 0.42), (0.16, 0.30, 0.28)]
    base = _colour(rng, deep[rng.integers(len(deep))], 0.12)
    shade = np.float32(rng.uniform(0.012, 0.05)) * waves
    shade += np.float32(0.05) * c.noise(rng, 220)
    image = base + shade * np.array([0.5, 0.8, 1.0], np.float32)[:, None, None]
    if rng.random() < 0.6:  # sun glint on the wave crests, in one part of the tile
        glint = np.maximum(waves - np.float32(rng.uniform(0.9, 1.35)), np.float32(0))
        glint *= _clip01(c.noise(rng, 160) + np.float32(0.3))
        image += glint * np.float32(rng.uniform(0.8, 2.5))
    return image


def _forest(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    crown = rng.uniform(5, 12)
    canopy = c.noise(rng, crown) + np.float32(0.4) * c.noise(rng, crown / 2.5)
    large = c.noise(rng, 160)
    greens = [(0.09, 0.20, 0.08), (0.12, 0.24, 0.10), (0.07, 0.16, 0.09), (0.14, 0.22, 0.12)]
    base = _colour(rng, greens[rng.integers(len(greens))], 0.07)
    light = 1 + np.float32(0.45) * np.tanh(np.float32(1.5) * canopy) + np.float32(0.12) * large
    light *= np.where(canopy < -0.9, np.float32(0.55), np.float32(1.0))  # gaps between crowns
    image = base * light
    if rng.random() < 0.3:  # autumn or dry patches
        patch = _clip01(large - np.float32(0.4))
        image = _blend(image, _colour(rng, (0.32, 0.26, 0.09), 0.1) * light, patch)
    if rng.random() < 0.3:  # a clearing
        clearing = _clip01((c.noise(rng, 140) - np.float32(1.0)) * np.float32(3))
        meadow = _colour(rng, (0.32, 0.42, 0.16), 0.1) * (1 + np.float32(0.05) * canopy)
        image = _blend(image, meadow, clearing)
    return image


_CROP_COLOURS = (
    (0.42, 0.55, 0.20),  # young crop
    (0.60, 0.62, 0.28),  # ripening
    (0.80, 0.72, 0.40),  # wheat
    (0.52, 0.40, 0.27),  # ploughed
    (0.36, 0.50, 0.22),  # pasture
    (0.70, 0.62, 0.46),  # stubble
)


def _farmland(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    x, y = c.grid()
    mean_field = rng.uniform(150, 320)
    count = max(2, int(round(c.extent * c.extent / mean_field**2 * rng.uniform(0.7, 1.4))))
    half = c.extent / 2 + 40
    field_of = _nearest(x, y, rng.uniform(-half, half, (count, 2)).astype(np.float32))
    colours = np.concatenate(
        [
            _colour(rng, _CROP_COLOURS[i], 0.08)
            for i in rng.integers(len(_CROP_COLOURS), size=count)
        ],
        axis=1,
    )[:, :, 0]  # (3, count)
    theta0 = rng.uniform(0, np.pi)
    thetas = theta0 + rng.choice([0.0, np.pi / 2], count) + rng.normal(0, 0.15, count)
    frequency = 2 * np.pi / rng.uniform(3.5, 12, count)
    cos_t = (np.cos(thetas) * frequency).astype(np.float32)
    sin_t = (np.sin(thetas) * frequency).astype(np.float32)
    amplitude = rng.uniform(0.03, 0.12, count).astype(np.float32)
    stripes = 1 + amplitude[field_of] * np.sin(x * cos_t[field_of] + y * sin_t[field_of])
    stripes *= 1 + np.float32(0.05) * c.noise(rng, 24)
    image = colours[:, field_of] * stripes
    # hedges or tracks along field boundaries
    edge = np.zeros((c.n, c.n), bool)
    edge[1:] |= field_of[1:] != field_of[:-1]
    edge[:, 1:] |= field_of[:, 1:] != field_of[:, :-1]
    edge[:-1] |= edge[1:].copy()
    edge[:, :-1] |= edge[:, 1:].copy()
    boundary = (0.14, 0.24, 0.10) if rng.random() < 0.6 else (0.62, 0.57, 0.47)
    _paint(image, edge, _colour(rng, boundary, 0.05))
    return image


def _urban(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    u, v = c.rotated(rng.uniform(0, np.pi / 2))
    block_u, block_v = rng.uniform(28, 70), rng.uniform(28, 70)
    street = rng.uniform(4, 10)
    u = u + np.float32(rng.uniform(0, block_u) + c.extent)
    v = v + np.float32(rng.uniform(0, block_v) + c.extent)
    cell_u, cell_v = np.floor(u / np.float32(block_u)), np.floor(v / np.float32(block_v))
    in_u, in_v = u - cell_u * np.float32(block_u), v - cell_v * np.float32(block_v)
    # two buildings per block, each with its own roof
    building_u = (cell_u * 2 + (in_u > block_u / 2)).astype(np.int64)
    building_v = cell_v.astype(np.int64)
    building_u -= building_u.min()
    building_v -= building_v.min()
    rows, cols = int(building_u.max()) + 1, int(building_v.max()) + 1
    grey = rng.uniform(0.38, 0.75, rows * cols).astype(np.float32)
    roofs = grey * (1 + 0.03 * rng.standard_normal((3, rows * cols))).astype(np.float32)
    red = rng.random(rows * cols) < rng.choice([0.0, rng.uniform(0.1, 0.7)])
    roofs[:, red] = _colour(rng, (0.62, 0.30, 0.22), 0.06)[:, :, 0] * rng.uniform(
        0.8, 1.15, int(red.sum())
    ).astype(np.float32)
    image = roofs[:, building_u * cols + building_v]
    # light from one side: the two roof slopes differ
    image *= np.where(
        in_v - np.float32(street) > np.float32((block_v - street) / 2),
        np.float32(0.85),
        np.float32(1.0),
    )
    _paint(image, (in_u < street) | (in_v < street), _colour(rng, (0.24, 0.24, 0.26), 0.06))
    if rng.random() < 0.6:  # street trees and small parks
        trees = c.noise(rng, 7) + np.float32(0.8) * c.noise(rng, 120)
        green = _clip01((trees - np.float32(rng.uniform(1.3, 2.2))) * np.float32(3))
        image = _blend(image, _colour(rng, (0.14, 0.26, 0.11), 0.1), green)
    return image


def _vegetation(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    grass = _colour(rng, (0.33, 0.45, 0.20), 0.1)
    dry = _colour(rng, (0.55, 0.54, 0.32), 0.1)
    mix = _clip01(c.noise(rng, 180) * np.float32(0.5) + np.float32(0.5))
    return _blend(grass, dry, mix) * (1 + np.float32(0.08) * c.noise(rng, 4))


def _road(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    image = _vegetation(rng, c)
    # one road through the centre, sometimes a crossing one; more on large canvases
    for number in range(1 + int(rng.random() < 0.35) + c.extent // 600):
        u, v = c.rotated(rng.uniform(0, np.pi))
        offset = (
            rng.normal(0, c.extent * 0.05) if number == 0 else rng.uniform(-0.4, 0.4) * c.extent
        )
        bend = np.float32(rng.normal(0, 0.4 / c.extent))
        across = v - np.float32(offset) - bend * u * u
        d = np.abs(across)
        half = rng.uniform(4, 12)
        _paint(image, d < half + rng.uniform(1.5, 5), _colour(rng, (0.55, 0.52, 0.45), 0.06))
        _paint(image, d < half, _colour(rng, (0.29, 0.29, 0.31), 0.08))
        dash = np.float32(2 * np.pi / rng.uniform(12, 30))
        _paint(image, (d < max(0.7, 0.6 * c.stride)) & (np.sin(u * dash) > 0), 0.85)
        if rng.random() < 0.5:
            _paint(image, (d > half - 1 - c.stride) & (d < half - 1), 0.8)
        for _ in range(rng.integers(0, 5)):  # cars
            along, lane = rng.uniform(-c.extent / 2, c.extent / 2), rng.choice([-1, 1]) * half / 2
            car = (np.abs(u - np.float32(along)) < 4.5) & (np.abs(across - np.float32(lane)) < 2)
            _paint(image, car, rng.uniform(0.1, 0.9, 3).astype(np.float32))
    return image


def _beach(rng: np.random.Generator, c: _Canvas) -> np.ndarray:
    _, v = c.rotated(rng.uniform(0, 2 * np.pi))
    s = v - np.float32(rng.normal(0, c.extent * 0.08))  # > 0: water
    s += c.noise(rng, 120) * np.float32(rng.uniform(5, 20))
    sand = _colour(rng, (0.86, 0.78, 0.58), 0.06)
    wet = np.exp(np.minimum(s, np.float32(0)) * np.float32(1 / rng.uniform(10, 40)))
    land = _blend(sand, sand * np.float32(0.72), wet)
    land *= 1 + np.float32(0.04) * c.noise(rng, 3)
    if rng.random() < 0.5:  # dune grass far from the water
        dunes = _clip01((-s - np.float32(c.extent * rng.uniform(0.2, 0.4))) * np.float32(1 / 30))
        dunes *= _clip01(c.noise(rng, 20) + np.float32(0.5))
        land = _blend(land, _colour(rng, (0.50, 0.55, 0.32), 0.08), dunes)
    shallow = _colour(rng, (0.30, 0.65, 0.66), 0.08)
    deep = _colour(rng, (0.08, 0.30, 0.48), 0.08)
    depth = 1 - np.exp(-np.maximum(s, np.float32(0)) * np.float32(1 / rng.uniform(40, 150)))
    sea = _blend(shallow, deep, depth)
    sea *= 1 + np.float32(0.04) * np.sin(v * np.float32(2 * np.pi / rng.uniform(15, 40)))
    image = _blend(land, sea, _clip01(s * np.float32(0.7) + np.float32(0.5)))
    foam_at, foam_width = np.float32(rng.uniform(1, 6)), np.float32(rng.uniform(1.5, 5))
    foam = np.exp(-(((s - foam_at) / foam_width) ** 2))
    foam += np.float32(0.5) * np.exp(-(((s - np.float32(rng.uniform(15, 45))) / 3) ** 2))
    foam *= _clip01(np.float32(0.6) + np.float32(0.5) * c.noise(rng, 10))
    return _blend(image, np.float32(0.95), _clip01(foam))


_TEXTURES: dict[str, Callable[[np.random.Generator, _Canvas], np.ndarray]] = {
    "water": _water,
    "forest": _forest,
    "farmland": _farmland,
    "urban": _urban,
    "road": _road,
    "beach": _beach,
}


def render_tile(
    class_name: str, rng: np.random.Generator, size: int, secondary: str | None = None
) -> np.ndarray:
    """An aerial-looking RGB tile of one class.

    Tiles of 256 pixels and more are drawn at half resolution and upsampled
    (bilinear), which keeps generation fast.

    Args:
        class_name: one of :data:`SCENE_CLASSES`.
        rng: the random source (the tile is a function of its state).
        size: side length in pixels (at :data:`GROUND_RESOLUTION_M`).
        secondary: another class that fills a strip along one edge (up to 40 %
            of the tile), or None.

    Returns:
        ``(size, size, 3)`` uint8.
    """
    stride = 2 if size >= _HALF_RESOLUTION_FROM_PX else 1
    canvas = _Canvas(-(-size // stride), stride)
    image = _TEXTURES[class_name](rng, canvas)
    if secondary is not None:
        other = _TEXTURES[secondary](rng, canvas)
        u, _ = canvas.rotated(rng.uniform(0, 2 * np.pi))
        edge = np.float32(canvas.extent * (0.5 - rng.uniform(0.15, 0.4)))
        edge_noise = canvas.noise(rng, 60) * np.float32(8)
        image = _blend(image, other, _clip01((u - edge + edge_noise) * np.float32(1 / 3)))
    # illumination and haze differ between flights; sensor noise on top
    image = image * np.float32(255 * rng.uniform(0.85, 1.15))
    noise = rng.random((canvas.n, canvas.n), dtype=np.float32) * np.float32(10)
    image += noise + np.float32(255 * rng.uniform(0, 0.06) - 5 + 0.5)
    np.maximum(image, 0, out=image)
    np.minimum(image, 255, out=image)
    pixels = np.ascontiguousarray(image.astype(np.uint8).transpose(1, 2, 0))
    if canvas.n != size:
        resized = Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(resized)
    return pixels


def _save_jpeg(pixels: np.ndarray, path: Path) -> None:
    Image.fromarray(pixels).save(path, format="JPEG", quality=_JPEG_QUALITY)


# --------------------------------------------------------------------------- sounds
# Sound generators take a Generator and a length in samples and return float32
# audio at DEMO_SAMPLE_RATE, roughly unit RMS. Cheap vectorised building blocks:
# interpolated noise (low-pass), noise times a carrier (band-pass), wavetable
# oscillators following frequency tracks (tones, harmonics, formants).

_SR = DEMO_SAMPLE_RATE
_TABLE = 2048
# envelopes are computed at _SR / _CONTROL_STEP points per second, then interpolated
_CONTROL_STEP = 320


def _upsample(points: np.ndarray, factor: int, n: int) -> np.ndarray:
    """Linear interpolation of ``points`` by an integer ``factor``, cut to ``n`` samples."""
    if factor == 1:
        return points[:n]
    base, step = points[:-1], points[1:] - points[:-1]
    fine = np.empty((len(base), factor), points.dtype)
    ramp = _ramp(factor)
    if factor <= 16:  # a few long strided passes beat broadcasting over short rows
        for j in range(factor):
            np.multiply(step, ramp[j], out=fine[:, j])
            fine[:, j] += base
    else:
        np.multiply(step[:, None], ramp[None, :], out=fine)
        fine += base[:, None]
    return fine.reshape(-1)[:n]


def _white(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance white noise (uniform: four times cheaper than Gaussian)."""
    return (rng.random(n, dtype=np.float32) - np.float32(0.5)) * np.float32(3.4641)


def _lowpass_noise(rng: np.random.Generator, n: int, cutoff_hz: float) -> np.ndarray:
    """Noise with most energy below ``cutoff_hz`` (about unit RMS)."""
    factor = max(1, int(round(_SR / (2 * cutoff_hz))))
    if factor == 1:
        return _white(rng, n)
    points = _white(rng, n // factor + 2) * np.float32(1.22)
    return _upsample(points, factor, n)


def _band_noise(rng: np.random.Generator, n: int, centre_hz: float, width_hz: float) -> np.ndarray:
    carrier = np.cos(np.arange(n, dtype=np.float32) * np.float32(2 * np.pi * centre_hz / _SR))
    return _lowpass_noise(rng, n, width_hz / 2) * carrier * np.float32(1.41)


def _slow(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """A slowly wandering control signal (about unit variance) changing at ``rate_hz``."""
    factor = max(1, int(round(_SR / rate_hz)))
    return _upsample(_white(rng, n // factor + 2), factor, n)


@functools.lru_cache(maxsize=256)
def _wavetable(amplitudes: tuple[float, ...]) -> np.ndarray:
    phase = np.arange(_TABLE) * (2 * np.pi / _TABLE)
    table = sum(a * np.sin((k + 1) * phase) for k, a in enumerate(amplitudes))
    table = np.asarray(table, dtype=np.float32)
    table /= max(float(np.sqrt(np.mean(table**2))), 1e-6)
    table.setflags(write=False)
    return table


def _oscillator(amplitudes: tuple[float, ...], frequency: np.ndarray | float, n: int) -> np.ndarray:
    """A periodic tone with the given harmonic amplitudes following ``frequency`` (Hz)."""
    if np.isscalar(frequency):
        # fixed-point phase: exact and cheap for any length
        step = int(round(float(frequency) * _TABLE * 65536 / _SR))
        index = (np.arange(n, dtype=np.int64) * step >> 16) & (_TABLE - 1)
    else:
        cycles = np.cumsum(np.asarray(frequency, dtype=np.float64) * (1 / _SR))
        index = (cycles * _TABLE).astype(np.int64) & (_TABLE - 1)
    return _wavetable(amplitudes)[index]


@functools.lru_cache(maxsize=1024)
def _formants(
    f0: float, formants: tuple[tuple[float, float], ...], count: int
) -> tuple[float, ...]:
    """Harmonic amplitudes of a voice-like source at ``f0`` through the given formants."""
    amplitudes = []
    for k in range(1, count + 1):
        f = k * f0
        gain = sum(np.exp(-(((f - centre) / width) ** 2)) for centre, width in formants)
        amplitudes.append(round(float(0.05 + gain) / k**0.5, 2))
    return tuple(amplitudes)


def _hann(n: int) -> np.ndarray:
    return np.sin(np.linspace(0, np.pi, n, dtype=np.float32)) ** 2


def _add(signal: np.ndarray, event: np.ndarray, start: int) -> None:
    """Add ``event`` into ``signal`` starting at sample ``start`` (clipped at both ends)."""
    skip = max(0, -start)
    start = max(0, start)
    end = min(len(signal), start + len(event) - skip)
    if start < end:
        signal[start:end] += event[skip : skip + end - start]


def _event_times(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Start samples of a Poisson process with ``rate_hz`` events per second."""
    count = rng.poisson(rate_hz * n / _SR)
    return np.sort(rng.integers(0, n, count))


def _control_times(n: int) -> np.ndarray:
    return np.arange(n // _CONTROL_STEP + 2, dtype=np.float32) * np.float32(_CONTROL_STEP / _SR)


def _swells(
    rng: np.random.Generator, n: int, period_s: float, rise_s: float, fall_s: float
) -> np.ndarray:
    """An envelope of repeated swells (waves): quick rise, slow decay."""
    t = _control_times(n)
    envelope = np.zeros_like(t)
    start = -rng.uniform(0, period_s)
    while start < t[-1]:
        rise = np.clip((t - start) / rise_s, 0, 1) ** 2
        fall = np.exp(-np.clip(t - start - rise_s, 0, None) / fall_s)
        envelope += np.float32(rng.uniform(0.5, 1.2)) * rise * fall
        start += period_s * rng.uniform(0.7, 1.3)
    return _upsample(envelope, _CONTROL_STEP, n)


def _birds(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Song phrases of one to three synthetic bird species (frequency-modulated chirps)."""
    signal = np.zeros(n, np.float32)
    for _ in range(rng.integers(1, 4)):
        f0, sweep = rng.uniform(2000, 6000), rng.uniform(-2500, 2500)
        chirp_s, gap_s = rng.uniform(0.04, 0.25), rng.uniform(0.04, 0.2)
        notes = rng.integers(2, 9)
        trill_hz, trill_depth = rng.uniform(15, 40), rng.choice([0.0, rng.uniform(150, 600)])
        length = int(chirp_s * _SR)
        t = np.arange(length, dtype=np.float32) / _SR
        frequency = f0 + sweep * t / chirp_s + trill_depth * np.sin(2 * np.pi * trill_hz * t)
        note = _oscillator((1.0, 0.15), np.clip(frequency, 500, 7800), length) * _hann(length)
        for start in _event_times(rng, n, rate_hz / 2):
            level = np.float32(rng.uniform(0.3, 1.0))
            for i in range(notes):
                _add(signal, note * level, int(start + i * (chirp_s + gap_s) * _SR))
    return signal


def _waves(rng: np.random.Generator, n: int, surf: bool) -> np.ndarray:
    if surf:  # breaking surf: long period, broadband crash and hiss
        envelope = _swells(rng, n, rng.uniform(6, 12), rng.uniform(0.5, 1.2), rng.uniform(1.5, 4))
        body = _lowpass_noise(rng, n, rng.uniform(3000, 7000)) * np.float32(0.7)
        body += _lowpass_noise(rng, n, rng.uniform(200, 500))
        return body * (np.float32(0.25) + envelope)
    # lapping water: short period, dull, with small splashes
    envelope = _swells(rng, n, rng.uniform(1.2, 4), rng.uniform(0.2, 0.6), rng.uniform(0.4, 1.5))
    signal = _lowpass_noise(rng, n, rng.uniform(500, 1800)) * (np.float32(0.15) + envelope)
    for start in _event_times(rng, n, rng.uniform(0.3, 3)):
        length = int(rng.uniform(0.03, 0.12) * _SR)
        splash = _band_noise(rng, length, rng.uniform(800, 3500), 1500) * _hann(length)
        _add(signal, splash * np.float32(rng.uniform(0.5, 2)), int(start))
    return signal


def _engine(rng: np.random.Generator, n: int, f0: float, harmonics: int) -> np.ndarray:
    """A combustion engine hum: harmonic series with a wandering pitch."""
    amplitudes = tuple(
        round(float(rng.uniform(0.3, 1.0) / k ** rng.uniform(0.4, 1.1)), 1)
        for k in range(1, harmonics + 1)
    )
    frequency = np.float32(f0) * (1 + np.float32(rng.uniform(0.01, 0.06)) * _slow(rng, n, 0.3))
    return _oscillator(amplitudes, frequency, n)


def _animal_calls(rng: np.random.Generator, n: int) -> np.ndarray:
    """Cattle moos and sheep bleats (formant-shaped harmonic tones)."""
    signal = np.zeros(n, np.float32)
    for start in _event_times(rng, n, rng.uniform(0.02, 0.15)):
        if rng.random() < 0.6:  # moo: low, gliding
            f0 = round(rng.uniform(90, 160), -1)
            length = int(rng.uniform(0.8, 2.0) * _SR)
            glide = np.sin(np.linspace(0, np.pi, length, dtype=np.float32)) * 0.25 + 0.85
            call = _oscillator(_formants(f0, ((300, 150), (800, 250)), 24), f0 * glide, length)
        else:  # bleat: higher, with vibrato
            f0 = round(rng.uniform(300, 500), -1)
            length = int(rng.uniform(0.5, 1.0) * _SR)
            t = np.arange(length, dtype=np.float32) / _SR
            vibrato = 1 + 0.04 * np.sin(2 * np.pi * rng.uniform(6, 9) * t)
            call = _oscillator(_formants(f0, ((600, 200), (1800, 300)), 12), f0 * vibrato, length)
        ramp = np.minimum(np.arange(length), length - np.arange(length)) / 1600
        envelope = np.minimum(1, ramp).astype(np.float32)
        _add(signal, call * envelope * np.float32(rng.uniform(0.4, 1)), int(start))
    return signal


_VOWELS = (((730, 90), (1090, 110)), ((270, 60), (2290, 150)), ((300, 70), (870, 100)),
           ((530, 80), (1840, 130)), ((660, 90), (1720, 120)))  # fmt: skip


def _voices(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Speech-like utterances: syllables of formant-shaped harmonics with falling intonation."""
    signal = np.zeros(n, np.float32)
    for start in _event_times(rng, n, rate_hz):
        f0, position = round(rng.uniform(100, 260), -1), int(start)
        for _ in range(rng.integers(2, 11)):
            length = int(rng.uniform(0.08, 0.3) * _SR)
            vowel = _VOWELS[rng.integers(len(_VOWELS))]
            contour = f0 * np.linspace(1.1, 0.9, length, dtype=np.float32)
            syllable = _oscillator(_formants(f0, vowel, 16), contour, length)
            _add(signal, syllable * _hann(length) * np.float32(rng.uniform(0.5, 1)), position)
            position += length + int(rng.uniform(0.03, 0.15) * _SR)
    return signal


def _horns(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = np.zeros(n, np.float32)
    square = tuple(1.0 / k if k % 2 else 0.0 for k in range(1, 12))
    for start in _event_times(rng, n, rng.uniform(0.0, 0.15)):
        f = rng.uniform(350, 520)
        position = int(start)
        for _ in range(rng.integers(1, 4)):
            length = int(rng.uniform(0.15, 0.7) * _SR)
            tone = _oscillator(square, f, length) + 0.7 * _oscillator(square, f * 1.26, length)
            _add(signal, tone * _hann(length) ** 0.2, position)
            position += length + int(rng.uniform(0.08, 0.25) * _SR)
    return signal


def _car_passes(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Vehicles driving past: tyre noise swelling and fading, engine pitch dropping (Doppler)."""
    signal = np.zeros(n, np.float32)
    t_control = _control_times(n)
    loudness = np.zeros_like(t_control)
    for centre in _event_times(rng, n, rate_hz):
        truck = rng.random() < 0.2
        closest_s = rng.uniform(0.4, 1.5) * (1.5 if truck else 1.0)  # nearest distance / speed
        level = rng.uniform(0.5, 1.5) * (1.6 if truck else 1.0)
        distance = (t_control - np.float32(centre / _SR)) / np.float32(closest_s)
        loudness += np.float32(level) / (1 + distance * distance)
        # the engine is heard only near the point of passing
        length = int(3 * closest_s * _SR)
        t = (np.arange(length, dtype=np.float32) - np.float32(length / 2)) * np.float32(1 / _SR)
        approach = t / np.sqrt(t * t + np.float32(closest_s**2))
        f0 = rng.uniform(30, 55) if truck else rng.uniform(60, 140)
        pitch = np.float32(f0) / (1 + np.float32(rng.uniform(0.04, 0.1)) * approach)
        engine = _oscillator((1.0, 0.6, 0.4, 0.3, 0.2, 0.15), pitch, length)
        _add(signal, engine * _hann(length) * np.float32(0.5 * level), int(centre) - length // 2)
    tyres = _lowpass_noise(rng, n, rng.uniform(1500, 5000))
    signal += tyres * _upsample(loudness, _CONTROL_STEP, n)
    return signal


def _gulls(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = np.zeros(n, np.float32)
    for start in _event_times(rng, n, rng.uniform(0.05, 0.4)):
        f0, position = rng.uniform(700, 1400), int(start)
        for _ in range(rng.integers(2, 7)):
            length = int(rng.uniform(0.2, 0.6) * _SR)
            t = np.linspace(0, 1, length, dtype=np.float32)
            contour = f0 * (1 + 0.35 * np.sin(np.pi * np.minimum(t * 1.6, 1)) - 0.25 * t)
            call = _oscillator((0.6, 1.0, 0.7, 0.4, 0.25), contour, length)
            call *= 1 + np.float32(0.3) * _white(rng, length)  # raspy
            _add(signal, call * _hann(length) * np.float32(rng.uniform(0.4, 1)), position)
            position += length + int(rng.uniform(0.08, 0.3) * _SR)
    return signal


def _wind(rng: np.random.Generator, n: int, cutoff_hz: float) -> np.ndarray:
    return _lowpass_noise(rng, n, cutoff_hz) * (1 + np.float32(0.6) * _slow(rng, n, 0.2))


def _sound_water(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _waves(rng, n, surf=False)
    if rng.random() < 0.25:  # a boat motor in the distance
        signal += np.float32(rng.uniform(0.1, 0.4)) * _engine(rng, n, rng.uniform(30, 60), 8)
    return signal


def _sound_forest(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _birds(rng, n, rng.uniform(0.2, 1.0)) * np.float32(rng.uniform(0.6, 1.5))
    signal += _wind(rng, n, rng.uniform(2000, 6000)) * np.float32(rng.uniform(0.05, 0.3))
    return signal


def _sound_farmland(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _wind(rng, n, rng.uniform(300, 800)) * np.float32(rng.uniform(0.1, 0.4))
    if rng.random() < 0.8:  # a tractor working nearby, coming and going
        t = _control_times(n)
        centre, spread = rng.uniform(0, n / _SR), rng.uniform(3, 15)
        nearness = 0.2 + 1 / (1 + ((t - np.float32(centre)) / np.float32(spread)) ** 2)
        engine = _engine(rng, n, rng.uniform(25, 60), 20)
        signal += engine * _upsample(nearness.astype(np.float32), _CONTROL_STEP, n)
    if rng.random() < 0.7:
        signal += _animal_calls(rng, n) * np.float32(rng.uniform(0.5, 1.5))
    if rng.random() < 0.4:  # skylarks
        signal += _birds(rng, n, rng.uniform(0.1, 0.4)) * np.float32(rng.uniform(0.1, 0.3))
    return signal


def _sound_urban(rng: np.random.Generator, n: int) -> np.ndarray:
    rumble = _lowpass_noise(rng, n, rng.uniform(400, 1200))
    rumble += _white(rng, n) * np.float32(rng.uniform(0.1, 0.3))
    signal = rumble * (1 + np.float32(0.3) * _slow(rng, n, 0.1))
    signal += _voices(rng, n, rng.uniform(0.05, 0.3)) * np.float32(rng.uniform(0.5, 1.5))
    signal += _horns(rng, n) * np.float32(rng.uniform(0.3, 1.0))
    if rng.random() < 0.1:  # a siren
        wail = np.float32(rng.uniform(650, 800)) * (
            1 + np.float32(0.25) * np.sin(_slow(rng, n, 0.5) * 3)
        )
        signal += _oscillator((1.0, 0.3, 0.1), wail, n) * np.float32(rng.uniform(0.2, 0.6))
    return signal


def _sound_road(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _car_passes(rng, n, rng.uniform(0.1, 0.5))
    signal += _lowpass_noise(rng, n, rng.uniform(150, 400)) * np.float32(rng.uniform(0.1, 0.3))
    if rng.random() < 0.3:
        signal += _birds(rng, n, rng.uniform(0.1, 0.4)) * np.float32(rng.uniform(0.1, 0.3))
    return signal


def _sound_beach(rng: np.random.Generator, n: int) -> np.ndarray:
    signal = _waves(rng, n, surf=True)
    if rng.random() < 0.8:
        signal += _gulls(rng, n) * np.float32(rng.uniform(0.4, 1.2))
    if rng.random() < 0.3:  # people on the beach
        signal += _voices(rng, n, rng.uniform(0.03, 0.15)) * np.float32(rng.uniform(0.1, 0.4))
    return signal


_SOUNDS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "water": _sound_water,
    "forest": _sound_forest,
    "farmland": _sound_farmland,
    "urban": _sound_urban,
    "road": _sound_road,
    "beach": _sound_beach,
}


def _rms(signal: np.ndarray) -> float:
    return max(float(np.sqrt(np.mean(np.square(signal), dtype=np.float64))), 1e-9)


def render_sound(
    class_name: str, rng: np.random.Generator, seconds: float, secondary: str | None = None
) -> np.ndarray:
    """A mono field recording typical of one class, at :data:`DEMO_SAMPLE_RATE`.

    Args:
        class_name: one of :data:`SCENE_CLASSES`.
        rng: the random source (the sound is a function of its state).
        seconds: duration.
        secondary: another class heard faintly in the background, or None.

    Returns:
        int16 samples.
    """
    n = int(round(seconds * _SR))
    signal = _SOUNDS[class_name](rng, n)
    signal *= np.float32(1 / _rms(signal))
    if secondary is not None:
        other = _SOUNDS[secondary](rng, n)
        signal += other * np.float32(rng.uniform(0.15, 0.45) / _rms(other))
    # the recorder's own noise floor and a random recording level
    signal += _white(rng, n) * np.float32(10 ** rng.uniform(-2.5, -1.5))
    signal *= np.float32(32767 * 10 ** (rng.uniform(-26, -14) / 20) / _rms(signal))
    peak = float(np.max(np.abs(signal)))
    if peak > 0.95 * 32767:
        signal *= np.float32(0.95 * 32767 / peak)
    return np.rint(signal).astype(np.int16)


def _save_flac(samples: np.ndarray, path: Path) -> None:
    import soundfile

    soundfile.write(path, samples, _SR, format="FLAC", subtype="PCM_16", compression_level=0.0)


# --------------------------------------------------------------------------- metadata

# (name, longitude, latitude, altitude m) of a few places typical of each class
_PLACES: dict[str, tuple[tuple[str, float, float, float], ...]] = {
    "water": (("Lake Geneva", 6.55, 46.45, 372), ("Stockholm archipelago", 18.60, 59.35, 2)),
    "forest": (("Black Forest", 8.20, 48.30, 820), ("Bialowieza", 23.85, 52.70, 165)),
    "farmland": (("Beauce", 1.60, 48.20, 140), ("Po valley", 10.50, 45.10, 30)),
    "urban": (("Berlin", 13.40, 52.52, 35), ("Lisbon", -9.14, 38.72, 60)),
    "road": (("Frankfurt ring", 8.60, 50.05, 110), ("Highland A9", -3.90, 56.90, 300)),
    "beach": (("Algarve coast", -8.20, 37.08, 4), ("Sylt", 8.30, 54.90, 3)),
}
_TITLES: dict[str, tuple[str, ...]] = {
    "water": ("Waves at the pier", "Lake shore, early morning", "Water lapping at the jetty",
              "Harbour basin", "Rowing boat drifting"),
    "forest": ("Birdsong in the beech wood", "Forest dawn chorus", "Clearing in the pines",
               "Woodland path in May", "Spruce forest, light wind"),
    "farmland": ("Tractor in the wheat field", "Cows by the farm track", "Harvest time",
                 "Sheep on the hillside", "Fields after rain"),
    "urban": ("Market street at noon", "Rush hour on the square", "Backyard in the old town",
              "Tram stop", "Pedestrian zone, Saturday"),
    "road": ("Motorway bridge", "Cars passing on the B-road", "Lay-by on the highway",
             "Roundabout traffic", "Country road at dusk"),
    "beach": ("Surf and gulls", "Low tide at the beach", "Dunes and breakers",
              "Windy beach walk", "Fishing boats landing"),
}  # fmt: skip
_CREATORS = ("Anna Keller", "Tomasz Nowak", "Marie Dubois", "João Silva", "Sofia Rossi",
             "Lars Johansson", "Emily Clarke", "Jonas Becker", "Ines Moreau", "Pieter de Vries",
             "Hannah Fischer", "Miguel Alves")  # fmt: skip
_LICENCES = (
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-sa/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-nc-sa/3.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
)
_DEVICES = ("a Zoom H4n", "a Tascam DR-40", "a Sony PCM-D100", "a smartphone", "binaural mics")
_DAY_PARTS = ("in the morning", "around noon", "in the afternoon", "in the evening", "at dusk")


def _metadata_row(
    rng: np.random.Generator, key: int, seed: int, class_name: str, seconds: float
) -> dict[str, str]:
    place, longitude, latitude, altitude = _PLACES[class_name][rng.integers(2)]
    title = _TITLES[class_name][rng.integers(len(_TITLES[class_name]))]
    recorded = datetime.date(2008, 1, 1) + datetime.timedelta(days=int(rng.integers(0, 5113)))
    uploaded = datetime.datetime.combine(recorded, datetime.time()) + datetime.timedelta(
        days=int(rng.integers(0, 400)), seconds=int(rng.integers(0, 86400))
    )
    return {
        "long_key": f"demo_{seed}_{key}",
        "key": str(key),
        "longitude": f"{longitude + rng.normal(0, 0.06):.6f}",
        "latitude": f"{latitude + rng.normal(0, 0.04):.6f}",
        "altitude": f"{max(0.0, altitude + rng.normal(0, 0.1 * altitude + 2)):.1f}",
        "description": (
            f"{title}, near {place}. Recorded with {_DEVICES[rng.integers(len(_DEVICES))]} "
            f"{_DAY_PARTS[rng.integers(len(_DAY_PARTS))]}. Procedurally generated demo data."
        ),
        "date_recorded": recorded.isoformat(),
        "date_uploaded": uploaded.isoformat(sep=" "),
        "creator": _CREATORS[rng.integers(len(_CREATORS))],
        "licenseurl": _LICENCES[rng.integers(len(_LICENCES))],
        "title": title,
        "mp3name": f"{key}.flac",
        "mp3mb": "",  # filled in once the file exists
        "mp3seconds": f"{seconds:.3f}",
        "mp3channels": "1",
        "mp3bitrate": "",
        "mp3samplerate": str(_SR),
        "mp3file": f"audio/{key}.flac",
    }


# --------------------------------------------------------------------------- writing


def _write_pair(
    root: Path, seed: int, key: int, class_name: str, secondary: str | None, tile_px: int
) -> dict[str, str]:
    meta_seq, image_seq, sound_seq = np.random.SeedSequence([seed, _PAIR_STREAM, key]).spawn(3)
    meta_rng = np.random.default_rng(meta_seq)
    seconds = round(float(meta_rng.uniform(*DURATION_RANGE_S)), 2)
    row = _metadata_row(meta_rng, key, seed, class_name, seconds)
    pixels = render_tile(class_name, np.random.default_rng(image_seq), tile_px, secondary)
    _save_jpeg(pixels, root / "images" / f"{key}.jpg")
    samples = render_sound(class_name, np.random.default_rng(sound_seq), seconds, secondary)
    audio_path = root / "audio" / f"{key}.flac"
    _save_flac(samples, audio_path)
    size = audio_path.stat().st_size
    row["mp3mb"] = f"{size / 2**20:.3f}"
    row["mp3bitrate"] = str(round(size * 8 / seconds / 1000))
    return row


def _class_plan(seed: int, pairs: int) -> list[tuple[str, str | None]]:
    """The hidden (class, secondary class or None) of each pair: balanced, shuffled."""
    rng = np.random.default_rng([seed, _CLASS_STREAM])
    classes = rng.permutation(np.arange(pairs) % len(SCENE_CLASSES))
    plan: list[tuple[str, str | None]] = []
    for index in classes:
        secondary = None
        if rng.random() < _SECONDARY_SHARE:
            other = (index + rng.integers(1, len(SCENE_CLASSES))) % len(SCENE_CLASSES)
            secondary = SCENE_CLASSES[other]
        plan.append((SCENE_CLASSES[index], secondary))
    return plan


def _run_ordered(
    jobs: list[Callable[[], object]],
    workers: int,
    progress: Progress | None,
    start: float,
    end: float,
    what: str,
) -> list[object]:
    """Run ``jobs`` on a few threads (numpy, Pillow and libsndfile release the GIL).

    Results come back in job order; cancellation is checked between jobs and
    stops submitting new ones.
    """
    results: list[object] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future] = deque()
        submitted = 0
        try:
            while submitted < len(jobs) or pending:
                while submitted < len(jobs) and len(pending) < 2 * workers:
                    pending.append(pool.submit(jobs[submitted]))
                    submitted += 1
                results.append(pending.popleft().result())
                check_cancelled(progress)
                if progress is not None:
                    done = len(results)
                    fraction = start + (end - start) * done / len(jobs)
                    progress.progress(fraction, f"{what} {done}/{len(jobs)}")
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results


def _write_scene_image(root: Path, seed: int, class_index: int, number: int, size: int) -> None:
    rng = np.random.default_rng([seed, _SCENE_STREAM, class_index, number])
    secondary = None
    if rng.random() < _SECONDARY_SHARE / 2:
        other = (class_index + rng.integers(1, len(SCENE_CLASSES))) % len(SCENE_CLASSES)
        secondary = SCENE_CLASSES[other]
    name = SCENE_CLASSES[class_index]
    _save_jpeg(render_tile(name, rng, size, secondary), root / name / f"{name}_{number:03d}.jpg")


def render_scene(seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A square scene of class regions and its class raster.

    Regions are Voronoi cells with wiggly borders; every class appears at least
    once; each region is textured like its class' tiles, centred on the region.

    Args:
        seed: the random seed.
        size: side length in pixels.

    Returns:
        ``(rgb, labels)``: ``(3, size, size)`` uint8 and ``(size, size)`` uint8
        class indices into :data:`SCENE_CLASSES`.
    """
    rng = np.random.default_rng([seed, _RASTER_STREAM])
    count = max(len(SCENE_CLASSES), int(round((size / 300) ** 2)))
    classes = np.concatenate(
        [rng.permutation(len(SCENE_CLASSES)), rng.integers(0, len(SCENE_CLASSES), count)]
    )[:count]
    seeds = rng.uniform(0, size, (count, 2)).astype(np.float32)
    x, y = _grid(size)
    x = x + np.float32(size / 2) + _smooth_noise(rng, size, 90) * np.float32(size / 40)
    y = y + np.float32(size / 2) + _smooth_noise(rng, size, 90) * np.float32(size / 40)
    region = _nearest(x, y, seeds)
    labels = classes[region].astype(np.uint8)
    rgb = np.zeros((size, size, 3), np.uint8)
    for index in range(count):
        rows, cols = np.nonzero(region == index)
        if rows.size == 0:
            continue
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        side = int(max(bottom - top, right - left))
        texture = render_tile(SCENE_CLASSES[classes[index]], rng, side)
        # centre the texture on the region's bounding box
        row0 = (top + bottom - side) // 2
        col0 = (left + right - side) // 2
        rgb[rows, cols] = texture[rows - row0, cols - col0]
    return np.moveaxis(rgb, -1, 0), labels


def _write_scene_rasters(root: Path, seed: int, size: int) -> None:
    import rasterio
    from rasterio.enums import ColorInterp, Resampling
    from rasterio.transform import from_origin

    rgb, labels = render_scene(seed, size)
    transform = from_origin(*SCENE_ORIGIN, GROUND_RESOLUTION_M, GROUND_RESOLUTION_M)
    block = 256 if size > 256 else max(16, size // 2 // 16 * 16)  # GDAL tiles are multiples of 16
    common = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "crs": SCENE_CRS,
        "transform": transform,
        "dtype": "uint8",
        "tiled": size >= 16,
        "blockxsize": block,
        "blockysize": block,
        "compress": "deflate",
    }
    overviews = [f for f in (2, 4, 8) if size // f >= 64]
    with rasterio.open(root / "scene.tif", "w", count=3, photometric="RGB", **common) as dst:
        dst.write(rgb)
        dst.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
        for band, name in enumerate(("red", "green", "blue"), start=1):
            dst.set_band_description(band, name)
        dst.update_tags(
            GROUND_RESOLUTION_M=str(GROUND_RESOLUTION_M), SOURCE="Sounding Earth demo data"
        )
        if overviews:
            dst.build_overviews(overviews, Resampling.average)
    with rasterio.open(
        root / "scene_labels.tif", "w", count=1, nodata=LABEL_NODATA, **common
    ) as dst:
        dst.write(labels, 1)
        dst.set_band_description(1, "class: " + ", ".join(SCENE_CLASSES))
        dst.update_tags(
            CLASS_NAMES=json.dumps(list(SCENE_CLASSES)), SOURCE="Sounding Earth demo data"
        )
        dst.update_tags(1, **{f"CLASS_{i}": name for i, name in enumerate(SCENE_CLASSES)})
        dst.write_colormap(
            1, {i: _hex_to_rgba(CLASS_COLORS[name]) for i, name in enumerate(SCENE_CLASSES)}
        )
        if overviews:
            dst.build_overviews(overviews, Resampling.mode)


def _hex_to_rgba(colour: str) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255


def _check_positive(name: str, value: int, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def make_demo_data(
    out: str | os.PathLike,
    pairs: int = 1000,
    seed: int = 0,
    tile_px: int = 512,
    scenes_per_class: int = 40,
    scene_tif_px: int = 1024,
    progress: Progress | None = None,
    workers: int | None = None,
) -> DemoSummary:
    """Write the procedural demo dataset into ``out``.

    Layout::

        out/pairs/metadata.csv          the 18 SoundingEarth columns
        out/pairs/images/{key}.jpg      tile_px x tile_px RGB aerial tiles
        out/pairs/audio/{key}.flac      mono 16 kHz recordings, 10-30 s
        out/labels.csv                  key,class (the hidden class of each pair)
        out/scenes/<class>/<class>_NNN.jpg   128 px scene-classification set
        out/scene.tif                   georeferenced RGB scene (UTM 33N, 0.5 m)
        out/scene_labels.tif            its class raster (uint8, nodata 255, colour table)
        out/classes.json                class names, colours, ground resolution

    Keys run from 1 to ``pairs``, so the reference split (``key % 10``) gives
    about 10 % validation and 20 % test pairs. Classes are balanced. Everything
    is first written to a hidden folder inside ``out``; the finished entries
    then replace any previous ones of the same name, so a cancelled or failed
    run leaves earlier output untouched.

    Args:
        out: the output folder (created if needed).
        pairs: number of image/sound pairs.
        seed: random seed; the same seed gives the same bytes.
        tile_px: side of the pair tiles in pixels (at 0.5 m per pixel).
        scenes_per_class: images per class in the scene set.
        scene_tif_px: side of the scene raster in pixels.
        progress: receives progress and is asked about cancellation.
        workers: threads to use (default: up to 4, no more than the CPUs).

    Returns:
        The paths written and the counts.

    Raises:
        ValueError: a count or size is out of range.
        Cancelled: ``progress`` asked to stop.
    """
    _check_positive("pairs", pairs)
    _check_positive("tile_px", tile_px, 16)
    _check_positive("scenes_per_class", scenes_per_class)
    _check_positive("scene_tif_px", scene_tif_px, 64)
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if workers is None:
        workers = max(1, min(4, os.cpu_count() or 1))
    _check_positive("workers", workers)
    out = Path(out)
    plan = _class_plan(seed, pairs)
    keys = list(range(1, pairs + 1))
    total_work = pairs + len(SCENE_CLASSES) * scenes_per_class / 4 + (scene_tif_px / 512) ** 2 * 10
    pairs_end = pairs / total_work
    scenes_end = pairs_end + len(SCENE_CLASSES) * scenes_per_class / 4 / total_work

    with staged_folder(out) as stage:
        pair_root = stage / "pairs"
        (pair_root / "images").mkdir(parents=True)
        (pair_root / "audio").mkdir()
        jobs = [
            functools.partial(_write_pair, pair_root, seed, key, cls, secondary, tile_px)
            for key, (cls, secondary) in zip(keys, plan, strict=True)
        ]
        rows = _run_ordered(jobs, workers, progress, 0.0, pairs_end, "pairs")
        write_metadata_csv(pair_root / "metadata.csv", rows)  # type: ignore[arg-type]
        write_dataset_info(pair_root, GROUND_RESOLUTION_M, tile_px, source="procedural demo")
        with open(stage / "labels.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["key", "class"])
            writer.writerows((key, cls) for key, (cls, _) in zip(keys, plan, strict=True))

        scene_jobs = []
        for class_index, class_name in enumerate(SCENE_CLASSES):
            (stage / "scenes" / class_name).mkdir(parents=True)
            scene_jobs += [
                functools.partial(
                    _write_scene_image, stage / "scenes", seed, class_index, number, _SCENE_SET_PX
                )
                for number in range(scenes_per_class)
            ]
        _run_ordered(scene_jobs, workers, progress, pairs_end, scenes_end, "scene images")

        check_cancelled(progress)
        if progress is not None:
            progress.progress(scenes_end, "scene raster")
        _write_scene_rasters(stage, seed, scene_tif_px)
        classes = {
            "classes": list(SCENE_CLASSES),
            "colors": dict(CLASS_COLORS),
            "ground_resolution_m": GROUND_RESOLUTION_M,
            "crs": SCENE_CRS,
            "seed": int(seed),
        }
        (stage / "classes.json").write_text(json.dumps(classes, indent=2) + "\n", encoding="utf-8")
        check_cancelled(progress)
    if progress is not None:
        progress.progress(1.0, f"{pairs} pairs")
    return DemoSummary(
        root=out,
        pairs_dir=out / "pairs",
        labels_csv=out / "labels.csv",
        scenes_dir=out / "scenes",
        scene_tif=out / "scene.tif",
        scene_labels_tif=out / "scene_labels.tif",
        classes_json=out / "classes.json",
        pairs=pairs,
        scenes=len(SCENE_CLASSES) * scenes_per_class,
        class_counts=dict(Counter(cls for cls, _ in plan)),
    )
