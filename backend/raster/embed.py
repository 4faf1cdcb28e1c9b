"""Image embeddings of every tile of a raster, as a multiband GeoTIFF on the tile grid."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.device import resolve_device
from backend.progress import Progress
from backend.raster.class_map import build_overviews
from backend.raster.engine import StripResult, TileStats
from backend.raster.grid import Extent
from backend.raster.job import (
    DEFAULT_BATCH,
    JobSettings,
    RasterJob,
    plan_model_job,
    radiometry_note,
    run_to_rasters,
)
from backend.raster.predictor import FREEZE_MIN_TILES, TilePredictor, embeddings_agree

log = logging.getLogger(__name__)


@dataclass
class EmbedResult:
    """What :func:`embed_raster` wrote."""

    out: Path
    width: int
    height: int
    bands: int
    stats: TileStats = field(default_factory=TileStats)
    #: warnings for the user (radiometry mismatch)
    warnings: list[str] = field(default_factory=list)


def load_image_encoder(model_path: str | os.PathLike, device: str = "auto"):
    """An audiovisual model file's model on ``device`` and its metadata.

    Raises:
        FileNotFoundError: No such file.
        ModelFileError: Not an audiovisual model file.
    """
    from backend.models.modelfile import load_audiovisual_model

    torch_device = resolve_device(device)
    model, metadata = load_audiovisual_model(model_path, device=torch_device)
    return model, metadata, torch_device


def image_predictor(
    model,
    metadata,
    device: torch.device,
    precision: str = "auto",
    tiles: int = 0,
    distance: str = "cosine",
) -> TilePredictor:
    """Pixels ``[B, T, T, C]`` → image embeddings ``[B, D]``.

    L2-normalised, unless ``distance`` is ``euclidean`` (see
    :func:`backend.ranking.ranking_image_encoder`). ``tiles`` (how many the run has)
    decides whether freezing the model pays off.
    """
    from backend.ranking import ranking_image_encoder

    return TilePredictor(
        ranking_image_encoder(model, distance),
        metadata.normalization,
        device,
        precision,
        freeze=tiles >= FREEZE_MIN_TILES,
        agree=embeddings_agree,
    )


def plan_image_job(
    metadata,
    raster: str | os.PathLike,
    extent: Extent | None = None,
    extent_crs=None,
    bands: Sequence[int] | None = None,
    *,
    stride: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    allow_gaps: bool = False,
) -> RasterJob:
    """The grid of an audiovisual model's image encoder over ``raster``, at its tile and resolution.

    See :class:`~backend.raster.job.JobSettings` for the arguments; ``allow_gaps`` as
    for :func:`~backend.raster.job.plan_job`.
    """
    settings = JobSettings(
        extent=extent, extent_crs=extent_crs, bands=bands, stride=stride, batch_size=batch_size
    )
    return plan_model_job(raster, metadata, settings, allow_gaps=allow_gaps)


def embed_raster(
    raster: str | os.PathLike,
    model_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    device: str = "auto",
    progress: Progress | None = None,
    stats: TileStats | None = None,
    **settings: Any,
) -> EmbedResult:
    """Write the image embedding of every tile: one float32 band per embedding dimension.

    Args:
        raster: Input imagery (anything GDAL opens).
        model_path: An audiovisual model file.
        out: Output GeoTIFF (float32, nodata NaN, band ``i`` = dimension ``i``).
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        progress: Progress and cancellation.
        stats: Filled with counters and timings.
        settings: The run's :class:`~backend.raster.job.JobSettings` (``extent``,
            ``extent_crs``, ``bands``, ``tile``, ``stride``, ``batch_size``,
            ``resolution``, ``precision``; ``stride`` defaults to the tile).

    Raises:
        FileNotFoundError: Raster or model missing.
        ModelFileError: Not an audiovisual model.
        RasterInputError: Bands, extent, tile or stride do not fit.
        RasterReadError: Part of the raster cannot be read.
        Cancelled: Cancelled through ``progress`` (nothing is left at ``out``).
    """
    job_settings = JobSettings.from_keywords("embed_raster", settings)
    model, metadata, torch_device = load_image_encoder(model_path, device)
    job = plan_model_job(raster, metadata, job_settings)
    warning = radiometry_note(job, metadata.normalization, job_settings.bands is not None)
    predict = image_predictor(model, metadata, torch_device, job_settings.precision, job.grid.cells)
    dim = int(metadata.embed_dim)

    def convert(result: StripResult) -> list[np.ndarray]:
        rows, width = result.valid.shape
        if result.values is None:
            return [np.full((dim, rows, width), np.nan, np.float32)]
        values = np.moveaxis(result.values, -1, 0).copy()
        values[:, ~result.valid] = np.nan
        return [values]

    def finish(datasets) -> None:
        dst = datasets[0]
        for i in range(1, dim + 1):
            dst.set_band_description(i, f"embedding {i - 1}")
        dst.update_tags(
            MODEL=Path(model_path).name,
            EMBED_DIM=str(dim),
            BANDS=json.dumps(job.bands),
            TILE_PX=str(job.grid.tile),
        )
        build_overviews(dst, "average")

    stats = stats if stats is not None else TileStats()
    out = Path(out)
    run_to_rasters(
        job,
        predict,
        [(out, dim, "float32", float("nan"))],
        convert,
        job_settings.batch(),
        progress,
        stats,
        finish,
    )
    return EmbedResult(
        out, job.grid.out_width, job.grid.out_height, dim, stats, [warning] if warning else []
    )
