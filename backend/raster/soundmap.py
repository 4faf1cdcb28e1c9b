"""Where on the map a sound belongs: how close every tile is to a query recording (the model's distance)."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.progress import Progress
from backend.raster.class_map import build_overviews
from backend.raster.embed import image_predictor, load_image_encoder
from backend.raster.engine import StripResult, TileStats
from backend.raster.job import (
    JobSettings,
    output_sibling,
    plan_model_job,
    radiometry_note,
    run_to_rasters,
)
from backend.raster.style import ramp_qml

log = logging.getLogger(__name__)

#: spectrogram windows of a query recording embedded at most (spread evenly over it)
MAX_QUERY_WINDOWS = 32


@dataclass
class SoundmapResult:
    """What :func:`soundmap_raster` wrote."""

    out: Path
    style: Path
    width: int
    height: int
    #: smallest and largest similarity written (NaN when every pixel is nodata)
    minimum: float
    maximum: float
    stats: TileStats = field(default_factory=TileStats)
    #: warnings for the user (radiometry mismatch)
    warnings: list[str] = field(default_factory=list)


def spread_windows(windows: torch.Tensor, limit: int) -> torch.Tensor:
    """At most ``limit`` of ``windows`` ``[n, ...]``, evenly spaced over the recording."""
    if windows.shape[0] <= limit:
        return windows
    picks = torch.linspace(0, windows.shape[0] - 1, limit).round().long()
    return windows[picks]


def sound_embedding(
    model,
    spectrogram: torch.Tensor,
    device: torch.device | str = "cpu",
    max_windows: int = MAX_QUERY_WINDOWS,
    distance: str = "cosine",
    window_frames: int | None = None,
) -> torch.Tensor:
    """The embedding ``[D]`` of a whole recording: its windows' mean, as ``distance`` compares it.

    Renormalised for cosine ranking, as the model gives it for Euclidean ranking
    (see :mod:`backend.ranking`).

    Args:
        model: An ``AudiovisualModel``.
        spectrogram: ``[128, T]`` log-mel in [0, 1].
        device: Where the model is.
        max_windows: Windows embedded at most.
        distance: The model's ranking distance (:func:`backend.ranking.ranking_distance`).
        window_frames: The model's window length
            (:func:`backend.audio.model_window_frames`; None: the default).
    """
    from backend.audio import WINDOW_FRAMES, spectrogram_windows
    from backend.ranking import pool

    windows = spread_windows(
        spectrogram_windows(spectrogram, window_frames or WINDOW_FRAMES), max_windows
    )
    with torch.inference_mode():
        z = model.encode_audio(windows.unsqueeze(1).to(device))
        return pool(z.float(), distance).cpu()


def recording_embedding(
    model,
    audio: str | os.PathLike,
    device: torch.device | str = "cpu",
    *,
    encoding: str = "logmel",
    model_name: str = "",
    distance: str = "cosine",
    window_frames: int | None = None,
):
    """The embedding ``[D]`` of a recording, in the model's spectrogram ``encoding``.

    Audio files (wav, flac, ogg, mp3) go through the encoding's front end; a
    spectrogram image (the JPG encoding) or a ``prepare`` cache ``.npy`` must
    already be in ``encoding``. The embedding is L2-normalised for ``cosine``
    ranking and left as it is for ``euclidean``.

    Raises:
        AudioError: The file cannot be read.
        EncodingError: A spectrogram file in another encoding than ``encoding``.
    """
    from backend.audio import spectrogram_for_model

    spec = spectrogram_for_model(audio, encoding, model_name)
    return sound_embedding(model, spec, device, distance=distance, window_frames=window_frames)


# embed_raster's parameters and run, plus the query recording: one similarity band (and a
# style) instead of the embedding's bands, from the same planned job and image encoder
def soundmap_raster(
    raster: str | os.PathLike,
    model_path: str | os.PathLike,
    audio: str | os.PathLike,
    out: str | os.PathLike,
    *,
    device: str = "auto",
    progress: Progress | None = None,
    stats: TileStats | None = None,
    **settings: Any,
) -> SoundmapResult:
    """Map how close every tile is to a query recording, by the model's ranking distance.

    The cosine similarity for this project's models; minus the Euclidean distance for
    an imported model that ranks by it (:mod:`backend.ranking`). Higher is closer.

    Args:
        raster: Input imagery (anything GDAL opens).
        model_path: An audiovisual model file.
        audio: The query recording (wav, flac, ogg, mp3), decoded in the model's
            spectrogram encoding; or a spectrogram JPG / ``prepare`` cache .npy
            already in that encoding.
        out: Output GeoTIFF (float32 similarity: in [-1, 1] for cosine, <= 0 for
            Euclidean; nodata NaN); ``OUT.qml``
            (a colour ramp from the lowest to the highest similarity) is written beside it.
        device, progress, stats, settings: as for
            :func:`backend.raster.embed.embed_raster`.

    Raises:
        AudioError: The recording cannot be decoded.
        EncodingError: A spectrogram file in another encoding than the model's.
        (and everything :func:`backend.raster.embed.embed_raster` raises)
    """
    from backend.audio import model_encoding, model_window_frames
    from backend.ranking import COSINE, ranking_distance

    job_settings = JobSettings.from_keywords("soundmap_raster", settings)
    model, metadata, torch_device = load_image_encoder(model_path, device)
    distance = ranking_distance(metadata)
    query = recording_embedding(
        model,
        audio,
        torch_device,
        encoding=model_encoding(metadata, str(model_path)),
        model_name=str(model_path),
        distance=distance,
        window_frames=model_window_frames(metadata),
    )
    job = plan_model_job(raster, metadata, job_settings)
    warning = radiometry_note(job, metadata.normalization, job_settings.bands is not None)
    embed = image_predictor(
        model, metadata, torch_device, job_settings.precision, job.grid.cells, distance
    )
    query_np = query.numpy().astype(np.float32)

    def predict(pixels: np.ndarray) -> np.ndarray:
        if distance == COSINE:
            return embed(pixels) @ query_np[:, None]
        # minus the Euclidean distance: higher is closer, as the model ranks
        return -np.linalg.norm(embed(pixels) - query_np[None, :], axis=1, keepdims=True)

    low, high = math.inf, -math.inf

    def convert(result: StripResult) -> list[np.ndarray]:
        nonlocal low, high
        rows, width = result.valid.shape
        values = np.full((1, rows, width), np.nan, np.float32)
        if result.values is not None and result.valid.any():
            chosen = result.values[..., 0][result.valid]
            values[0][result.valid] = chosen
            low, high = min(low, float(chosen.min())), max(high, float(chosen.max()))
        return [values]

    def finish(datasets) -> None:
        dst = datasets[0]
        dst.set_band_description(1, f"similarity to {Path(audio).name}")
        tags = {"MODEL": Path(model_path).name, "QUERY_AUDIO": str(audio), "DISTANCE": distance}
        if math.isfinite(low):
            tags.update(STATISTICS_MINIMUM=f"{low:.6g}", STATISTICS_MAXIMUM=f"{high:.6g}")
        dst.update_tags(1, **tags)
        build_overviews(dst, "average")

    stats = stats if stats is not None else TileStats()
    out = Path(out)
    style = output_sibling(out, ".qml")

    def sidecars() -> dict[Path, str]:
        if math.isfinite(low):
            return {style: ramp_qml(low, high)}
        return {style: ramp_qml(-1.0, 1.0)}

    run_to_rasters(
        job,
        predict,
        [(out, 1, "float32", float("nan"))],
        convert,
        job_settings.batch(),
        progress,
        stats,
        finish,
        sidecars=sidecars,
    )
    return SoundmapResult(
        out,
        style,
        job.grid.out_width,
        job.grid.out_height,
        low if math.isfinite(low) else math.nan,
        high if math.isfinite(high) else math.nan,
        stats,
        [warning] if warning else [],
    )
