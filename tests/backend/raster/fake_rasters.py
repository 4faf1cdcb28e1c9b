"""Writes small seeded rasters and tiny model files for the raster tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.transform import from_origin

from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelMetadata, save_audiovisual_model

#: a projected CRS (UTM 33N) and a point in it, as the demo scene uses
UTM = "EPSG:32633"
UTM_ORIGIN = (389_000.0, 5_820_000.0)
#: a geographic origin (near Berlin)
LONLAT_ORIGIN = (13.40, 52.52)
CLASS_NAMES = ["water", "forest", "urban"]
CLASS_COLORS = ["#2b7bba", "#1b7a3a", "#d7301f"]


def smooth_image(rng: np.random.Generator, bands: int, height: int, width: int) -> np.ndarray:
    """Smooth random uint8 pixels ``[bands, height, width]`` (compress well, vary in space)."""
    coarse = rng.uniform(0, 255, (bands, height // 16 + 2, width // 16 + 2))
    rows = np.linspace(0, coarse.shape[1] - 1.001, height)
    cols = np.linspace(0, coarse.shape[2] - 1.001, width)
    r0, c0 = rows.astype(int), cols.astype(int)
    fr, fc = (rows - r0)[:, None], (cols - c0)[None, :]
    out = np.empty((bands, height, width), np.float64)
    for b in range(bands):
        g = coarse[b]
        out[b] = (
            g[r0][:, c0] * (1 - fr) * (1 - fc)
            + g[r0 + 1][:, c0] * fr * (1 - fc)
            + g[r0][:, c0 + 1] * (1 - fr) * fc
            + g[r0 + 1][:, c0 + 1] * fr * fc
        )
    return out.clip(0, 255).astype(np.uint8)


def write_raster(
    path: Path,
    data: np.ndarray,
    crs: str | None = UTM,
    resolution: float = 0.5,
    origin: tuple[float, float] = UTM_ORIGIN,
    nodata: float | None = None,
    colorinterp: list[str] | None = None,
    block: int = 64,
) -> Path:
    """A tiled, deflate-compressed GeoTIFF of ``data`` ``[bands, h, w]`` (north up)."""
    from rasterio.enums import ColorInterp

    bands, height, width = data.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": bands,
        "dtype": data.dtype.name,
        "transform": from_origin(*origin, resolution, resolution),
        "nodata": nodata,
        "compress": "deflate",
    }
    if crs is not None:
        profile["crs"] = crs
    if width >= block and height >= block:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if colorinterp is not None:
            dst.colorinterp = [ColorInterp[name] for name in colorinterp]
        elif bands == 3:
            dst.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
    return path


def save_tiny_classifier(
    path: Path,
    tile: int = 32,
    resolution_m: float | None = 0.5,
    seed: int = 0,
    names: list[str] | None = None,
    colors: list[str] | None = None,
) -> Path:
    """A random-weight ResNet-18 classifier model file (3 bands)."""
    names = names or CLASS_NAMES
    colors = colors or CLASS_COLORS
    torch.manual_seed(seed)
    model = SceneClassifier("resnet18", len(names))
    metadata = classifier_metadata(model, names, colors, [1, 2, 3], tile, resolution_m=resolution_m)
    save_classifier(path, model, metadata)
    return path


def save_tiny_audiovisual(
    path: Path,
    tile: int = 32,
    resolution_m: float | None = 0.5,
    seed: int = 0,
    spectrogram: str | None = None,
    window_frames: int = 128,
) -> Path:
    """A random-weight audiovisual model file (ResNet-18 both sides, 16-d embeddings).

    ``spectrogram``: the encoding it records (``"logmel"`` or ``"jpg"``); None writes
    no encoding, like a file from before encodings were recorded. ``window_frames``:
    the sound window length it records (with an encoding).
    """
    from backend.audio import encoding_metadata

    torch.manual_seed(seed)
    model = AudiovisualModel("resnet18", "resnet18", embed_dim=16)
    metadata = ModelMetadata(
        kind="audiovisual",
        image_arch="resnet18",
        audio_arch="resnet18",
        embed_dim=16,
        tile_px=tile,
        resolution_m=resolution_m,
        spectrogram=encoding_metadata(spectrogram, window_frames) if spectrogram else None,
    )
    save_audiovisual_model(path, model, metadata)
    return path


def train_scene_classifier(
    path: Path,
    rgb: np.ndarray,
    labels: np.ndarray,
    tile: int = 32,
    samples: int = 2000,
    seed: int = 0,
) -> Path:
    """A classifier fitted to one demo scene: a random ResNet-18 trunk and a fitted head.

    The head is a ridge-regression fit (closed form, one-hot targets) on the trunk
    features of tiles cut at random positions from ``rgb`` whose centre is one class
    in ``labels``. It knows this scene's textures (random features do not carry over
    to other scenes), which is what a test of where the classes land needs.
    """
    from backend.data.demo import CLASS_COLORS as DEMO_COLORS
    from backend.data.demo import GROUND_RESOLUTION_M, SCENE_CLASSES

    rng = np.random.default_rng(seed)
    quarter = tile // 4
    height, width = labels.shape
    tiles, targets = [], []
    for _ in range(samples):
        r, c = rng.integers(0, height - tile), rng.integers(0, width - tile)
        centre = labels[r + quarter : r + tile - quarter, c + quarter : c + tile - quarter]
        votes = np.bincount(centre.ravel(), minlength=len(SCENE_CLASSES))
        if votes.max() < 0.9 * centre.size:
            continue
        tiles.append(rgb[:, r : r + tile, c : c + tile])
        targets.append(int(votes.argmax()))
    torch.manual_seed(seed)
    model = SceneClassifier("resnet18", len(SCENE_CLASSES)).eval()
    x = torch.from_numpy(np.stack(tiles)).float() / 255.0
    with torch.inference_mode():
        features = model.features(x).double()
    mean, std = features.mean(0), features.std(0) + 1e-6
    ones = torch.ones(features.shape[0], 1, dtype=torch.float64)
    z = torch.cat([(features - mean) / std, ones], 1)
    onehot = torch.nn.functional.one_hot(torch.tensor(targets), len(SCENE_CLASSES)).double()
    ridge = 1.0 * torch.eye(z.shape[1], dtype=torch.float64)
    weights = torch.linalg.solve(z.T @ z + ridge, z.T @ onehot)  # [F + 1, K]
    w, b = weights[:-1] / std[:, None], weights[-1] - (mean / std) @ weights[:-1]
    with torch.no_grad():
        model.head.weight.copy_(w.T.float())
        model.head.bias.copy_(b.float())
    metadata = classifier_metadata(
        model,
        list(SCENE_CLASSES),
        [DEMO_COLORS[n] for n in SCENE_CLASSES],
        [1, 2, 3],
        tile,
        resolution_m=GROUND_RESOLUTION_M,
    )
    save_classifier(path, model, metadata)
    return path


def corrupt_block(path: Path, block_col: int = 1, block_row: int = 0) -> None:
    """Overwrite one compressed block of a tiled GeoTIFF with garbage."""
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item(f"BLOCK_OFFSET_{block_col}_{block_row}", "TIFF", bidx=1))
        size = int(src.get_tag_item(f"BLOCK_SIZE_{block_col}_{block_row}", "TIFF", bidx=1))
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(bytes([0xA5, 0x5A]) * (size // 2))
