"""Per-pixel land-cover maps from a segmentation model file (DeepLabv3+), as a styled GeoTIFF.

The raster is cut into overlapping tiles of the model's size; each tile's
logits keep only their central ``stride`` x ``stride`` square (the core), and
the cores tile the map without gaps, so every pixel is predicted with at least
``(tile - stride) / 2`` pixels of context on each side and no seam falls on a
tile's edge. The class map has one pixel per working pixel: the raster's own
pixels, or the model's ground resolution when it records one and the raster's
differs (``resolution="native"`` keeps the raster's). Nodata and masked raster
pixels stay nodata one by one. Outputs, styles and tags are those of
:func:`backend.raster.classify.classify_with`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from typing import Any

import numpy as np
import torch

from backend.atomic import staged_outputs
from backend.progress import Progress
from backend.raster.class_map import CLASS_NODATA, ClassifyResult, ClassMapFiles
from backend.raster.engine import (
    BatchFunction,
    RasterReadError,
    StripResult,
    TileStats,
    open_raster,
)
from backend.raster.grid import RasterInputError
from backend.raster.job import (
    JobSettings,
    plan_model_job,
    radiometry_note,
    raster_output,
    stream_job,
)
from backend.raster.predictor import FREEZE_MIN_TILES, TilePredictor
from backend.raster.style import class_colours

log = logging.getLogger(__name__)

#: default core (output square kept of each tile) = tile // this
CORE_DIVISOR = 2
#: tiles per model call by default: DeepLab tiles are large
DEFAULT_SEGMENT_BATCH = 8


class CoreLogits(torch.nn.Module):
    """A segmentation model's logits of each tile's central square, flattened ``[B, K * c * c]``."""

    def __init__(self, model: torch.nn.Module, margin: int, core: int) -> None:
        """Keep rows and columns ``[margin, margin + core)`` of the logits ``[B, K, T, T]``."""
        super().__init__()
        self.model = model
        self.margin = margin
        self.core = core

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C, T, T]`` scaled pixels → ``[B, K * core * core]`` logits."""
        logits = self.model(x)
        m, c = self.margin, self.core
        return logits[:, :, m : m + c, m : m + c].flatten(1)


def pixels_agree(classes: int):
    """bf16 check for segmentation: at least 90 % of the pixels get the same class as in fp32."""

    def agree(fp32: np.ndarray, bf16: np.ndarray) -> bool:
        a = fp32.reshape(fp32.shape[0], classes, -1).argmax(axis=1)
        b = bf16.reshape(bf16.shape[0], classes, -1).argmax(axis=1)
        return float((a == b).mean()) >= 0.9

    return agree


# classify_with's parameters less engine and model_path: the same files from a model that
# runs in PyTorch only (classify_raster refuses ONNX Runtime and int8 for it)
def segment_with(
    model: torch.nn.Module,
    metadata,
    raster: str | os.PathLike,
    out: str | os.PathLike,
    *,
    probabilities: str | os.PathLike | bool | None = None,
    confidence: str | os.PathLike | bool | None = None,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    stats: TileStats | None = None,
    predict: BatchFunction | None = None,
    model_name: str = "",
    **settings: Any,
) -> ClassifyResult:
    """Write the per-pixel class map of ``raster`` (a paletted GeoTIFF with a QML style).

    Args:
        model: Scaled pixels ``[B, C, T, T]`` → logits ``[B, K, T, T]``.
        metadata: Its model-file metadata (kind ``segmentation``).
        raster: Input imagery (anything GDAL opens).
        out: Output GeoTIFF (uint8 classes, nodata 255, colour table); ``OUT.qml`` beside it.
        probabilities: Also write per-pixel class probabilities: True for
            ``OUT_probabilities.tif`` or a path.
        confidence: Also write the largest class probability per pixel: True for
            ``OUT_confidence.tif`` or a path.
        device: Torch device of ``model``.
        progress: Progress and cancellation.
        stats: Filled with counters and timings.
        predict: Replaces the model call (pixels ``[B, T, T, C]`` → ``[B, K * core * core]``).
        model_name: Recorded in the output's MODEL tag.
        settings: The run's :class:`~backend.raster.job.JobSettings` (``extent``,
            ``extent_crs``, ``bands``, ``tile``, ``stride``, ``batch_size``,
            ``resolution``, ``precision``). Here ``tile`` defaults to the model's
            training patch, ``stride`` is the side of the central square kept of each
            tile (default: half the tile), ``batch_size`` defaults to 8 and
            ``precision`` is ``"auto"``, ``"fp32"`` or ``"bf16"``.

    Returns:
        The paths written and per-class pixel counts; ``width``/``height`` are the
        map's pixels, ``stride`` the kept core.

    Raises:
        RasterInputError: Bands, extent, tile or stride do not fit.
        RasterReadError: Part of the raster cannot be read.
        Cancelled: Cancelled through ``progress`` (nothing is left at ``out``).
    """
    job_settings = JobSettings.from_keywords("segment_with", settings)
    names = list(metadata.class_names)
    if not 2 <= len(names) < CLASS_NODATA:
        raise RasterInputError(
            f"a segmentation model needs 2 to {CLASS_NODATA - 1} class names, got {len(names)}"
        )
    classes = len(names)
    colours = class_colours(names, metadata.class_colors)
    tile = job_settings.tile or metadata.tile_px
    core = job_settings.stride or max(1, tile // CORE_DIVISOR)
    job_settings = dataclasses.replace(
        job_settings,
        tile=tile,
        stride=core,
        batch_size=job_settings.batch_size or DEFAULT_SEGMENT_BATCH,
    )
    batch_size = job_settings.batch()
    job = plan_model_job(raster, metadata, job_settings)
    grid = job.grid
    margin = -grid.offset
    width = grid.work_width or grid.out_width * core
    height = grid.work_height or grid.out_height * core
    # the outputs have one pixel per working pixel
    pixel_job = dataclasses.replace(
        job, grid=dataclasses.replace(grid, stride=1, out_width=width, out_height=height)
    )
    notes = []
    if job_settings.resolution == "model" and metadata.resolution_m is None:
        notes.append(
            "the model file does not record its ground resolution: the map is at the "
            "raster's own pixels"
        )
    warning = radiometry_note(job, metadata.normalization, job_settings.bands is not None)
    device = torch.device(device)
    predictor = None
    if predict is None:
        predict = predictor = TilePredictor(
            CoreLogits(model, margin, core),
            metadata.normalization,
            device,
            job_settings.precision,
            freeze=grid.cells >= FREEZE_MIN_TILES,
            agree=pixels_agree(classes),
        )
    files = ClassMapFiles.beside(out, probabilities, confidence)
    counts = np.zeros(classes, np.int64)

    masks = _PixelMasks(job)

    def convert(result: StripResult) -> list[np.ndarray]:
        cell_rows, cell_cols = result.valid.shape
        rows = min(cell_rows * core, height - result.strip.out_row * core)
        valid = np.repeat(np.repeat(result.valid, core, 0), core, 1)[:rows, :width]
        masks.apply(valid, result.strip.out_row * core)
        labels = np.full((1, rows, width), CLASS_NODATA, np.uint8)
        if result.values is None:
            return files.strip_arrays(labels, None, classes)
        if result.values.shape[-1] != classes * core * core:
            raise RasterInputError(
                f"the model gives {result.values.shape[-1]} outputs per tile; expected "
                f"{classes} classes x {core} x {core} pixels"
            )
        logits = result.values.reshape(cell_rows, cell_cols, classes, core, core)
        logits = logits.transpose(2, 0, 3, 1, 4).reshape(classes, cell_rows * core, -1)
        logits = logits[:, :rows, :width]
        winners = logits.argmax(axis=0).astype(np.uint8)
        labels[0][valid] = winners[valid]
        counts[:] += np.bincount(winners[valid], minlength=classes)
        p = None
        if files.wants_probabilities:
            p = np.exp(logits - logits.max(axis=0, keepdims=True))
            p /= p.sum(axis=0, keepdims=True)
            p = p.astype(np.float32)
            p[:, ~valid] = np.nan
        return files.strip_arrays(labels, p, classes)

    stats = stats if stats is not None else TileStats()
    started = time.perf_counter()
    with staged_outputs() as staged, contextlib.ExitStack() as stack:
        stack.callback(masks.close)
        writers = [
            stack.enter_context(raster_output(staged, path, pixel_job, count, dtype, nodata))
            for path, count, dtype, nodata in files.rasters(classes)
        ]
        datasets = [w.dataset for w in writers]
        files.setup(datasets, colours)
        for result in stream_job(job, predict, batch_size, progress, stats):
            for writer, values in zip(writers, convert(result), strict=True):
                writer.write(result.strip.out_row * core, values)
        for writer in writers:
            writer.flush()
        files.finish(datasets, names, colours, MODEL=model_name, MAP="per-pixel segmentation")
        # close (GDAL flushes its cache) before the outputs are checked and renamed
        stack.close()
        for path, text in files.styles(names, colours).items():
            staged.write_text(path, text)
    log.info(
        "segmented %d tiles in %.1f s -> %s", stats.tiles, time.perf_counter() - started, files.out
    )
    return ClassifyResult(
        out=files.out,
        style=files.style,
        probabilities=files.probabilities,
        width=width,
        height=height,
        class_counts={n: int(c) for n, c in zip(names, counts, strict=True)},
        stats=stats,
        precision=predictor.precision if predictor is not None else "custom",
        confidence=files.confidence,
        confidence_style=files.confidence_style,
        tile=grid.tile,
        stride=core,
        notes=notes,
        warnings=[warning] if warning else [],
    )


class _PixelMasks:
    """Marks the map's pixels whose raster pixels are nodata or masked (per pixel, not per tile)."""

    def __init__(self, job) -> None:
        from rasterio.enums import MaskFlags

        self.job = job
        self.dataset = open_raster(job.raster)
        flags = [self.dataset.mask_flag_enums[b - 1] for b in job.bands]
        self.active = any(MaskFlags.all_valid not in f for f in flags)

    def apply(self, valid: np.ndarray, row0: int) -> None:
        """Clear ``valid`` ``[rows, width]`` (map rows from ``row0``) where the raster is masked."""
        from rasterio.enums import Resampling

        if not self.active:
            return
        grid = self.job.grid
        rows, width = valid.shape
        r0, r1 = max(row0, grid.inside_rows[0]), min(row0 + rows, grid.inside_rows[1])
        c0, c1 = max(0, grid.inside_cols[0]), min(width, grid.inside_cols[1])
        if r1 <= r0 or c1 <= c0:
            return
        window = grid.source_window((r0, r1), (c0, c1))
        shape = (len(self.job.bands), r1 - r0, c1 - c0)
        try:
            mask = self.dataset.read_masks(
                self.job.bands, window=window, out_shape=shape, resampling=Resampling.nearest
            )
        except Exception as exc:  # rasterio raises RasterioIOError and CPLE_* errors
            raise RasterReadError(
                f"{self.job.raster}: cannot read the raster's mask at rows {r0}-{r1}: {exc}"
            ) from exc
        valid[r0 - row0 : r1 - row0, c0:c1] &= mask.min(axis=0) > 0

    def close(self) -> None:
        """Close the raster."""
        self.dataset.close()
