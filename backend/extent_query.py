"""The sounds of a map extent: the extent's mean image embedding, and the index's nearest sounds.

``query_extent`` embeds the imagery inside an extent with the model an index was
built with (:mod:`backend.index`) and returns the index's nearest recordings;
the "Sounds here" panel, the ``query`` command and the Processing algorithm call it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

from backend.index import MAX_QUERY_TILES, SoundIndex, SoundMatch, audiovisual_model_cached
from backend.progress import Progress
from backend.ranking import COSINE, prepare


@dataclass
class ExtentEmbedding:
    """The mean image embedding of an extent."""

    vector: torch.Tensor
    #: tiles averaged
    tiles: int
    #: the extent's centre in degrees, when the raster or extent is georeferenced
    centre_lonlat: tuple[float, float] | None


def extent_centre_lonlat(extent, extent_crs, raster_crs) -> tuple[float, float] | None:
    """The extent's centre as (longitude, latitude), or None without any CRS."""
    from rasterio.warp import transform

    crs = extent_crs if extent_crs is not None else raster_crs
    if crs is None:
        return None
    x, y = extent.centre
    xs, ys = transform(crs, "EPSG:4326", [x], [y])
    return float(xs[0]), float(ys[0])


def embed_extent(
    model,
    metadata,
    raster: str | os.PathLike,
    extent,
    extent_crs=None,
    *,
    bands: Sequence[int] | None = None,
    device: torch.device | str = "cpu",
    precision: str = "auto",
    batch_size: int = 32,
    max_tiles: int = MAX_QUERY_TILES,
    progress: Progress | None = None,
    distance: str = COSINE,
) -> ExtentEmbedding:
    """Average the image embeddings of the tiles covering ``extent`` (as ``distance`` compares them).

    Renormalised for cosine ranking; for Euclidean ranking the mean of the tiles'
    embeddings as the model gives them (:mod:`backend.ranking`).

    Tiles of the model's size lie side by side; when more than ``max_tiles`` would
    be needed, they are spread out with gaps between them instead.

    Raises:
        RasterInputError: The extent lies outside the raster, or no tile inside it
            holds valid pixels.
    """
    from backend.raster.embed import image_predictor, plan_image_job
    from backend.raster.grid import RasterInputError
    from backend.raster.job import stream_job

    device = torch.device(device)
    job = plan_image_job(metadata, raster, extent, extent_crs, bands, batch_size=batch_size)
    if job.grid.cells > max_tiles:
        tile = job.grid.tile
        stride = math.ceil(tile * math.sqrt(job.grid.cells / max_tiles))
        job = plan_image_job(
            metadata,
            raster,
            extent,
            extent_crs,
            bands,
            stride=stride,
            batch_size=batch_size,
            allow_gaps=True,
        )
    predict = image_predictor(model, metadata, device, precision, job.grid.cells, distance)
    total = torch.zeros(int(metadata.embed_dim), dtype=torch.float64)
    tiles = 0
    for result in stream_job(job, predict, batch_size, progress):
        if result.values is None:
            continue
        chosen = result.values[result.valid]
        total += torch.from_numpy(chosen.astype(np.float64)).sum(0)
        tiles += chosen.shape[0]
    if tiles == 0:
        raise RasterInputError(
            f"{raster}: the extent holds no valid pixels (all nodata or masked) to compare"
        )
    vector = prepare((total / tiles).float(), distance)
    with _opened(raster) as dataset:
        centre = extent_centre_lonlat(extent, extent_crs, dataset.crs)
    return ExtentEmbedding(vector, tiles, centre)


@contextlib.contextmanager
def _opened(raster):
    from backend.raster.engine import open_raster

    dataset = open_raster(raster)
    try:
        yield dataset
    finally:
        dataset.close()


@dataclass
class QueryResult:
    """The answer to an extent query."""

    matches: list[SoundMatch]
    tiles: int
    centre_lonlat: tuple[float, float] | None
    seconds: float
    #: the index's ranking distance: what a match's ``similarity`` means
    distance: str = COSINE

    def to_json(self) -> dict:
        """A JSON-serialisable dict."""
        centre = None
        if self.centre_lonlat is not None:
            centre = {"longitude": self.centre_lonlat[0], "latitude": self.centre_lonlat[1]}
        return {
            "centre": centre,
            "tiles": self.tiles,
            "seconds": round(self.seconds, 4),
            "distance": self.distance,
            "matches": [asdict(m) for m in self.matches],
        }


def query_extent(
    index: SoundIndex | str | os.PathLike,
    model_path: str | os.PathLike,
    raster: str | os.PathLike,
    extent,
    extent_crs=None,
    *,
    top: int = 10,
    bands: Sequence[int] | None = None,
    device: str = "auto",
    precision: str = "auto",
    use_faiss: bool = False,
    max_tiles: int = MAX_QUERY_TILES,
    progress: Progress | None = None,
) -> QueryResult:
    """The recordings whose sound embeddings are closest to the imagery inside ``extent``.

    Args:
        index: A loaded :class:`SoundIndex` or its folder.
        model_path: The audiovisual model the index was built with.
        raster: Imagery (anything GDAL opens).
        extent: The area (:class:`backend.raster.grid.Extent`).
        extent_crs: CRS of ``extent`` (default: the raster's).
        top: Recordings returned.
        bands: Raster bands for the model's inputs (``--bands``).
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        precision: ``auto``, ``fp32`` or ``bf16``.
        use_faiss: Search through FAISS.
        max_tiles: Tiles embedded at most.
        progress: Progress and cancellation.

    Raises:
        SoundIndexError: The index was built with another model.
        RasterInputError: Extent outside the raster, bad bands.
    """
    from backend.device import resolve_device

    started = time.perf_counter()
    if not isinstance(index, SoundIndex):
        index = SoundIndex.load(index, use_faiss=use_faiss)
    torch_device = resolve_device(device)
    stat = os.stat(model_path)
    model, metadata = audiovisual_model_cached(
        os.path.abspath(model_path), stat.st_size, stat.st_mtime_ns, str(torch_device)
    )
    index.check_model(model_path, int(metadata.embed_dim))
    index.check_encoding(model_path, metadata)
    # (a keyword call shaped like demo.scoring's reproject call; nothing shared)
    embedded = embed_extent(
        model,
        metadata,
        raster,
        extent,
        extent_crs,
        bands=bands,
        device=torch_device,
        precision=precision,
        max_tiles=max_tiles,
        progress=progress,
        distance=index.distance,
    )
    matches = index.search(embedded.vector, top, embedded.centre_lonlat)
    return QueryResult(
        matches,
        embedded.tiles,
        embedded.centre_lonlat,
        time.perf_counter() - started,
        index.distance,
    )


def write_query_json(path: str | os.PathLike, result: QueryResult, **context) -> None:
    """Write a query result (plus ``context`` such as raster and extent) as JSON, atomically."""
    from backend.atomic import atomic_write_text

    atomic_write_text(path, json.dumps({**context, **result.to_json()}, indent=2) + "\n")
