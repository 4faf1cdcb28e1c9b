"""The demo report's pictures: class map beside the ground truth, sound map over the imagery.

Each function returns PNG bytes (matplotlib, Agg backend), drawn from the
GeoTIFFs the pipeline wrote, so what the report shows is what QGIS would.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np

#: longest side, in pixels, at which rasters are read for the pictures
PREVIEW_PX = 768
CLASS_NODATA = 255


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def _read(path: str | os.PathLike, bands: Sequence[int], max_px: int = PREVIEW_PX):
    """Bands of a raster, decimated (nearest) to at most ``max_px`` a side, and its bounds."""
    import rasterio

    with rasterio.open(path) as dataset:
        factor = max(1, int(np.ceil(max(dataset.width, dataset.height) / max_px)))
        shape = (len(bands), dataset.height // factor or 1, dataset.width // factor or 1)
        pixels = dataset.read(list(bands), out_shape=shape)
        bounds = dataset.bounds
    return pixels, (bounds.left, bounds.right, bounds.bottom, bounds.top)


def read_rgb(scene_tif: str | os.PathLike, max_px: int = PREVIEW_PX):
    """The scene's RGB pixels ``[H, W, 3]`` uint8 and its extent (left, right, bottom, top)."""
    pixels, extent = _read(scene_tif, (1, 2, 3), max_px)
    return np.moveaxis(pixels, 0, -1), extent


def _hex_rgb(colour: str) -> tuple[float, float, float]:
    value = colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def class_colours_rgba(classes: np.ndarray, colours: Sequence[str]) -> np.ndarray:
    """A class raster as RGBA floats; nodata (and unknown classes) transparent."""
    table = np.zeros((256, 4), np.float32)
    for index, colour in enumerate(colours):
        table[index, :3] = _hex_rgb(colour)
        table[index, 3] = 1.0
    table[CLASS_NODATA] = 0.0
    return table[classes]


def class_map_figure(
    scene_tif: str | os.PathLike,
    labels_tif: str | os.PathLike,
    classes_tif: str | os.PathLike,
    label_names: Sequence[str],
    label_colours: Sequence[str],
    class_names: Sequence[str],
    class_colours: Sequence[str],
) -> bytes:
    """Imagery, ground truth and the predicted classes side by side, on the same extent."""
    from matplotlib.patches import Patch

    plt = _pyplot()
    rgb, extent = read_rgb(scene_tif)
    truth, truth_extent = _read(labels_tif, (1,))
    predicted, predicted_extent = _read(classes_tif, (1,))
    figure, axes = plt.subplots(1, 3, figsize=(15, 5.4))
    axes[0].imshow(rgb, extent=extent)
    axes[0].set_title("imagery (scene.tif)")
    axes[1].imshow(class_colours_rgba(truth[0], label_colours), extent=truth_extent)
    axes[1].set_title("ground truth (scene_labels.tif)")
    axes[2].imshow(
        class_colours_rgba(predicted[0], class_colours),
        extent=predicted_extent,
        interpolation="nearest",
    )
    axes[2].set_title("predicted classes (classes.tif)")
    for ax in axes:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xticks([])
        ax.set_yticks([])
    colour_of = dict(zip(class_names, class_colours, strict=True))
    colour_of.update(dict(zip(label_names, label_colours, strict=True)))
    handles = [Patch(color=colour_of[name], label=name) for name in label_names]
    figure.legend(
        handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=11
    )
    figure.subplots_adjust(bottom=0.1, wspace=0.04)
    return _png(figure)


def soundmap_figure(
    scene_tif: str | os.PathLike, soundmap_tif: str | os.PathLike, title: str
) -> bytes:
    """The similarity heat map, semi-transparent over the imagery, with a colour bar."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    plt = _pyplot()
    rgb, extent = read_rgb(scene_tif)
    values, map_extent = _read(soundmap_tif, (1,))
    similarity = values[0].astype(np.float32)
    finite = np.isfinite(similarity)
    low = float(similarity[finite].min()) if finite.any() else -1.0
    high = float(similarity[finite].max()) if finite.any() else 1.0
    norm = Normalize(vmin=low, vmax=high if high > low else low + 1e-6)
    cmap = plt.get_cmap("inferno")
    scaled = np.where(finite, norm(np.where(finite, similarity, low)), 0.0)
    # the more similar, the more opaque: the imagery shows through where the sound fits least
    overlay = cmap(scaled)
    overlay[..., 3] = np.where(finite, 0.15 + 0.65 * scaled, 0.0)
    figure, axes = plt.subplots(1, 2, figsize=(12, 5.6))
    axes[0].imshow(rgb, extent=extent)
    axes[0].set_title("imagery")
    axes[1].imshow(rgb, extent=extent)
    axes[1].imshow(overlay, extent=map_extent, interpolation="bilinear")
    axes[1].set_title(title)
    for ax in axes:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xticks([])
        ax.set_yticks([])
    figure.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=axes[1],
        fraction=0.046,
        pad=0.03,
        label="cosine similarity",
    )
    return _png(figure)


def extent_thumbnail(
    scene_tif: str | os.PathLike, extent: Sequence[float], label: str, max_px: int = 384
) -> bytes:
    """The scene with the queried extent drawn on it."""
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    rgb, bounds = read_rgb(scene_tif, max_px)
    xmin, ymin, xmax, ymax = extent
    figure, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.imshow(rgb, extent=bounds)
    ax.add_patch(
        Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, edgecolor="#00e5ff", lw=2.5)
    )
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(label, fontsize=10)
    return _png(figure)


def similarity_bars(means: dict[str, float], colours: dict[str, str], title: str) -> bytes:
    """Mean sound-map similarity per ground-truth class, as horizontal bars."""
    plt = _pyplot()
    names = sorted(means, key=means.get)
    figure, ax = plt.subplots(figsize=(5.2, 0.42 * len(names) + 1.0))
    ax.barh(
        names,
        [means[n] for n in names],
        color=[colours.get(n, "#888888") for n in names],
        edgecolor="#333333",
    )
    ax.set_xlabel("mean similarity over the class's cells")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(figure)
