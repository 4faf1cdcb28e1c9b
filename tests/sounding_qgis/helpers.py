"""Small things the plugin tests make: waiting on Qt, a wheel, rasters and tiny models."""

from __future__ import annotations

import base64
import hashlib
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from qgis.PyQt.QtCore import QCoreApplication

#: the test rasters' CRS (UTM 33N) and the origin of their upper-left corner
RASTER_CRS = "EPSG:32633"
RASTER_ORIGIN = (500_000.0, 5_800_000.0)
#: ground metres per pixel of the test rasters
RASTER_RESOLUTION = 2.0


def wait_until(condition: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    """Process Qt events until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        QCoreApplication.processEvents()
        time.sleep(0.01)
    QCoreApplication.processEvents()


def wait_for_task(task, timeout: float = 120.0) -> None:
    """Wait until a :class:`sounding_qgis.tasks.BackendTask` has run its ``finished()``."""
    from sounding_qgis.tasks import active_tasks

    wait_until(lambda: task not in active_tasks(), timeout, f"task {task.description()!r}")


def unpack_plugin(config: Path, plugin_zip: Path) -> Path:
    """A fresh QGIS profile under ``config`` (``QGIS_CUSTOM_CONFIG_PATH``) with the plugin
    ZIP unpacked into its plugin folder, as QGIS's "Install from ZIP" does; returns the
    profile folder."""
    profile = config / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(plugins)
    return profile


def make_wheel(folder: Path, name: str = "soundingprobe", version: str = "1.0.0") -> Path:
    """A minimal pure-Python wheel (one module) in ``folder``, for an offline pip install."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f'VERSION = "{version}"\n',
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: sounding-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def write_raster(path: Path, size: int = 128, seed: int = 0) -> Path:
    """A georeferenced RGB uint8 GeoTIFF (UTM 33N, 2 m pixels) with four smooth quadrants."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    half = size // 2
    colours = np.array([[40, 90, 160], [30, 120, 40], [200, 180, 120], [120, 120, 120]])
    image = np.zeros((3, size, size), np.uint8)
    for quadrant, (rows, cols) in enumerate(
        [(slice(0, half), slice(0, half)), (slice(0, half), slice(half, size)),
         (slice(half, size), slice(0, half)), (slice(half, size), slice(half, size))]
    ):  # fmt: skip
        noise = rng.integers(-20, 20, size=(3, size - half, size - half))
        block = np.clip(colours[quadrant][:, None, None] + noise, 0, 255)
        image[:, rows, cols] = block[:, : rows.stop - rows.start, : cols.stop - cols.start]
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=3,
        dtype="uint8",
        crs=RASTER_CRS,
        transform=from_origin(*RASTER_ORIGIN, RASTER_RESOLUTION, RASTER_RESOLUTION),
        photometric="RGB",
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(image)
    return path


CLASS_NAMES = ["water", "forest", "farmland"]
CLASS_COLORS = ["#1f78b4", "#33a02c", "#e3c16f"]


def write_classifier(path: Path, tile_px: int = 32, seed: int = 0) -> Path:
    """A tiny random 3-class ResNet-18 classifier model file (RGB, ``tile_px`` tiles)."""
    import torch

    from backend.models.classifier import SceneClassifier, classifier_metadata, save_classifier

    torch.manual_seed(seed)
    model = SceneClassifier("resnet18", len(CLASS_NAMES), 3).eval()
    metadata = classifier_metadata(
        model, CLASS_NAMES, CLASS_COLORS, [1, 2, 3], tile_px, resolution_m=None
    )
    save_classifier(path, model, metadata)
    return path


def write_audiovisual(path: Path, embed_dim: int = 16, tile_px: int = 32, seed: int = 0) -> Path:
    """A tiny random audiovisual model file (ResNet-18 branches, ``embed_dim``-d)."""
    import torch

    from backend.models.encoders import AudiovisualModel
    from backend.models.modelfile import ModelMetadata, save_audiovisual_model

    torch.manual_seed(seed)
    model = AudiovisualModel("resnet18", "resnet18", embed_dim).eval()
    metadata = ModelMetadata(
        kind="audiovisual",
        image_arch="resnet18",
        audio_arch="resnet18",
        embed_dim=embed_dim,
        tile_px=tile_px,
    )
    save_audiovisual_model(path, model, metadata)
    return path


def write_recordings(root: Path, n: int = 6, seed: int = 0) -> list[Path]:
    """``n`` short mono WAV files of noisy tones in ``root``."""
    import soundfile

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rate = 16000
    paths = []
    for i in range(n):
        t = np.arange(int(rate * 1.5)) / rate
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(200, 3000) * t)
        samples = (tone + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
        path = root / f"recording_{i}.wav"
        soundfile.write(path, samples, rate)
        paths.append(path)
    return paths


def raster_lonlat_points(n: int, size: int = 128, margin_px: int = 24, seed: int = 0):
    """``n`` (longitude, latitude) points inside a :func:`write_raster` raster, ``margin_px`` from its edge."""
    from rasterio.warp import transform

    rng = np.random.default_rng(seed)
    x0, y0 = RASTER_ORIGIN
    cols = rng.uniform(margin_px, size - margin_px, n)
    rows = rng.uniform(margin_px, size - margin_px, n)
    xs = (x0 + cols * RASTER_RESOLUTION).tolist()
    ys = (y0 - rows * RASTER_RESOLUTION).tolist()
    lons, lats = transform(RASTER_CRS, "EPSG:4326", xs, ys)
    return list(zip(lons, lats, strict=True))
