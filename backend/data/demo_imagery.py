"""Procedural aerial imagery of the demo's land-cover classes: textured tiles and a scene of regions.

Texture generators take a Generator and a _Canvas and return float RGB,
channels first (3, n, n), values about 0..1; channels-first keeps numpy's
inner loops long. Feature sizes are in base pixels
(:data:`backend.data.demo.GROUND_RESOLUTION_M`), so tiles, scenes and the scene
raster show the same ground scale. Patterns are centred on the middle of the
square, where the recording was made.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.data.demo_classes import SCENE_CLASSES

# tiles at least this wide are drawn at half resolution and upsampled
_HALF_RESOLUTION_FROM_PX = 256
# the scene raster's random stream (the writer's pair, scene-set and class streams
# are 1, 2 and 4: independent streams, so changing one output never shifts another)
_RASTER_STREAM = 3


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
