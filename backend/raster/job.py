"""One tiled inference run over a raster: planning the grid, streaming the tiles, writing outputs.

``classify``, ``segment``, ``embed``, ``soundmap`` and the extent query differ only
in the model function and in what they write; this module holds everything else,
the settings they all take (:class:`JobSettings`) included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.atomic import OutputError, StagedOutputs, staged_outputs, writing
from backend.progress import Progress
from backend.raster.engine import (
    BatchFunction,
    BlockWriter,
    StripResult,
    TileStats,
    choose_rows_per_strip,
    gdal_cache_bytes,
    iter_strips,
    open_raster,
    output_profile,
    predict_strips,
    resolve_bands,
)
from backend.raster.grid import (
    Extent,
    RasterInputError,
    TileGrid,
    build_grid,
    raster_resolution_m,
    reproject_extent,
)

log = logging.getLogger(__name__)

#: default tiles per model call
DEFAULT_BATCH = 32


class NoCRSWarning(UserWarning):
    """The raster has no CRS: outputs are in pixel coordinates."""


class RadiometryWarning(UserWarning):
    """The raster's data type or band count does not fit the model's normalisation."""


@dataclass
class RasterJob:
    """Everything fixed before the first tile is read."""

    raster: Path
    grid: TileGrid
    bands: list[int]
    #: pixel data type of the raster's bands
    dtype: str
    #: rows of output pixels per strip
    rows_per_strip: int
    #: GDAL block cache for the run (bytes)
    cache_bytes: int
    #: the raster's bands that are not alpha bands
    image_bands: int = 0


def plan_job(
    raster: str | os.PathLike,
    model_bands: Sequence[int],
    tile: int,
    stride: int | None = None,
    resolution_m: float | None = None,
    bands: Sequence[int] | None = None,
    extent: Extent | None = None,
    extent_crs=None,
    batch_size: int = DEFAULT_BATCH,
    expected_band_names: Sequence[str] | None = None,
    allow_gaps: bool = False,
    detail: bool = False,
) -> RasterJob:
    """Check the inputs and lay out the tile grid.

    Args:
        raster: Anything GDAL opens.
        model_bands: The model file's bands (1-based).
        tile: Tile side the model sees, pixels at ``resolution_m``.
        stride: Output pixel side in the same pixels (default: ``tile``).
        resolution_m: Ground metres per pixel to work at (None: the raster's own).
        bands: Raster bands mapped onto the model's, in the model's order (``--bands``).
        extent: Only this area (default: the whole raster).
        extent_crs: CRS of ``extent`` (default: the raster's).
        batch_size: Tiles per model call (sets the strip height).
        expected_band_names: Colour interpretations the model expects (default RGB for 3 bands).
        allow_gaps: Accept a stride larger than the tile (see :func:`build_grid`).
        detail: Without ``stride``, choose a fine one (:func:`default_stride`, for class
            maps) instead of the tile.

    Raises:
        FileNotFoundError: No such raster.
        RasterInputError: Bands, extent, tile or stride do not fit.
    """
    import rasterio.crs

    if stride is None and not detail:
        stride = tile
    if batch_size < 1:
        raise RasterInputError(f"--batch must be at least 1, got {batch_size}")
    with open_raster(raster) as dataset:
        chosen = resolve_bands(dataset, model_bands, bands, expected_band_names)
        crs = dataset.crs
        if crs is None:
            warnings.warn(
                f"{raster} has no coordinate reference system: the output is in pixel "
                "coordinates and is not resampled to the model's resolution",
                NoCRSWarning,
                stacklevel=2,
            )
        if extent is not None and extent_crs is not None and crs is not None:
            try:
                extent_crs = rasterio.crs.CRS.from_user_input(extent_crs)
            except Exception as exc:  # CRSError
                raise RasterInputError(f"--crs {extent_crs!r}: not a known CRS ({exc})") from exc
            extent = reproject_extent(extent, extent_crs, crs)
        grid = build_grid(
            dataset.width,
            dataset.height,
            dataset.transform,
            crs,
            tile,
            stride,
            target_resolution_m=resolution_m if crs is not None else None,
            extent=extent,
            allow_gaps=allow_gaps,
        )
        itemsize = np.dtype(dataset.dtypes[0]).itemsize
        rows = choose_rows_per_strip(grid, batch_size, len(chosen), itemsize)
        cache = gdal_cache_bytes(dataset, grid, rows)
        dtype = dataset.dtypes[chosen[0] - 1]
        image_bands = sum(1 for c in dataset.colorinterp if c.name != "alpha")
    log.info("%s: %s", raster, grid.describe())
    return RasterJob(Path(raster), grid, chosen, dtype, rows, cache, image_bands)


@dataclass(frozen=True)
class JobSettings:
    """Where and how a model runs over a raster: the settings every raster run takes.

    ``classify_with``, ``segment_with``, ``embed_raster`` and ``soundmap_raster``
    take them as keyword arguments (``stride=16``) and read them with
    :meth:`from_keywords`; what a field leaves unset, the run or the model file
    decides.
    """

    #: only this area (in ``extent_crs``; default: the whole raster)
    extent: Extent | None = None
    #: CRS of ``extent`` (anything rasterio's ``CRS.from_user_input`` takes; default: the raster's)
    extent_crs: Any = None
    #: raster bands for the model's inputs, in the model's order (default: the model's)
    bands: Sequence[int] | None = None
    #: tile side in working pixels (default: the model's)
    tile: int | None = None
    #: output pixel side in working pixels (default: the run's)
    stride: int | None = None
    #: tiles per model call (default: :data:`DEFAULT_BATCH`, unless the run has its own)
    batch_size: int | None = None
    #: ``"model"`` (the model's ground resolution; the raster's own when the model
    #: records none), ``"native"`` or metres per pixel
    resolution: float | str | None = "model"
    #: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"int8"``
    #: (see :class:`~backend.raster.predictor.TilePredictor`)
    precision: str = "auto"

    @classmethod
    def from_keywords(cls, caller: str, keywords: Mapping[str, Any]) -> JobSettings:
        """The settings among a run's keyword arguments.

        Raises:
            TypeError: A keyword is not a setting (named with ``caller``, as Python would).
        """
        known = {f.name for f in dataclasses.fields(cls)}
        for name in keywords:
            if name not in known:
                raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
        return cls(**keywords)

    def batch(self) -> int:
        """Tiles per model call: ``batch_size``, or :data:`DEFAULT_BATCH` when unset."""
        return DEFAULT_BATCH if self.batch_size is None else self.batch_size


def resolve_resolution(
    resolution: float | str | None, model_resolution: float | None
) -> float | None:
    """``"model"`` → the model's ground resolution; ``"native"``/None → none; a number → itself."""
    if resolution is None or resolution == "native":
        return None
    if resolution == "model":
        return model_resolution
    try:
        value = float(resolution)
    except (TypeError, ValueError):
        raise RasterInputError(
            f"--resolution {resolution!r}: expected 'model', 'native' or metres per pixel"
        ) from None
    if not value > 0:
        raise RasterInputError(f"--resolution must be positive, got {resolution!r}")
    return value


def plan_model_job(
    raster: str | os.PathLike,
    metadata,
    settings: JobSettings,
    *,
    detail: bool = False,
    allow_gaps: bool = False,
) -> RasterJob:
    """The grid of a model file's model over ``raster`` (see :func:`plan_job`).

    The model file's ``metadata`` gives the bands, the tile and the ground
    resolution that ``settings`` leave to the model.
    """
    return plan_job(
        raster,
        metadata.bands,
        settings.tile or metadata.tile_px,
        settings.stride,
        resolve_resolution(settings.resolution, metadata.resolution_m),
        settings.bands,
        settings.extent,
        settings.extent_crs,
        settings.batch(),
        allow_gaps=allow_gaps,
        detail=detail,
    )


def radiometry_note(
    job: RasterJob, normalization: Mapping[str, Any], bands_given: bool = False
) -> str | None:
    """The radiometry warning for running a model on ``job`` (logged and warned), or None.

    Compares the raster's data type and band count with the model's (with
    ``bands_given``, the user mapped the bands: only the data type), then the value
    range of a few of its windows with the model's.
    """
    from backend.radiometry import measure_band_statistics, radiometry_warning, range_warning

    band_count = len(job.bands) if bands_given else job.image_bands or len(job.bands)
    message = radiometry_warning(normalization, job.dtype, band_count)
    if message is None:
        # the data type fits: do the values? (a few windows; never fatal here)
        try:
            measured = measure_band_statistics(job.raster, job.bands, max_windows=4, window_px=128)
        except Exception:  # noqa: BLE001 (unreadable or empty: the run itself will say so)
            measured = None
        if measured is not None:
            message = range_warning(normalization, measured)
    if message:
        message = f"{job.raster.name}: {message}"
        log.warning("%s", message)
        warnings.warn(message, RadiometryWarning, stacklevel=3)
    return message


def resolution_note(
    job: RasterJob, resolution: float | str | None, model_resolution_m: float | None
) -> str | None:
    """A line saying the raster's own resolution is used because the model's is unknown."""
    if resolution != "model" or model_resolution_m is not None:
        return None
    res = raster_resolution_m(
        job.grid.crs, job.grid.raster_transform, job.grid.raster_width, job.grid.raster_height
    )
    if res is None:
        return (
            "the model file does not record its ground resolution and the raster has no "
            "CRS: working on the raster's own pixels"
        )
    metres = (res[0] + res[1]) / 2
    return (
        "the model file does not record its ground resolution: working at the raster's "
        f"own, {metres:.3g} m per pixel (a tile covers {job.grid.tile * metres:.4g} m, an "
        f"output pixel {job.grid.stride * metres:.4g} m); set --resolution to choose another"
    )


def stream_job(
    job: RasterJob,
    predict: BatchFunction,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    stats: TileStats | None = None,
) -> Iterator[StripResult]:
    """Model outputs of every strip of ``job``, in order (reading runs ahead in a thread)."""
    strips = job.grid.strips(job.rows_per_strip)
    data = iter_strips(job.raster, job.grid, job.bands, strips, cache_bytes=job.cache_bytes)
    try:
        yield from predict_strips(
            data,
            predict,
            batch_size,
            job.grid.tile,
            job.grid.stride,
            job.grid.cells,
            progress,
            stats,
        )
    finally:
        data.close()


class OutputCheckError(OutputError):
    """A GeoTIFF just written does not read back as written (GDAL's write failed)."""


def verify_raster(path: Path, width: int, height: int, count: int, dtype: str) -> None:
    """Re-open a written GeoTIFF and read every block: size, bands and type as intended.

    GDAL reports some write errors (a full disk when the block cache is flushed at
    close) only as log messages; reading the file back is what proves it complete.

    Raises:
        OutputCheckError: The file does not open, has another shape, or a block does not read.
    """
    import rasterio
    import rasterio.errors

    try:
        with (
            warnings.catch_warnings(),
            rasterio.Env(GDAL_PAM_ENABLED="NO"),
            rasterio.open(path) as src,
        ):
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            found = (src.width, src.height, src.count, src.dtypes[0])
            if found != (width, height, count, dtype):
                raise OutputCheckError(
                    f"{path} reads back as {found[0]} x {found[1]} pixels, {found[2]} bands "
                    f"of {found[3]}; written as {width} x {height}, {count} bands of {dtype}"
                )
            for _, window in src.block_windows(1):
                src.read(window=window)
    except rasterio.errors.RasterioError as error:
        raise OutputCheckError(f"{path} does not read back: {error}") from error


@contextlib.contextmanager
def raster_output(
    staged: StagedOutputs,
    path: str | os.PathLike,
    job: RasterJob,
    count: int,
    dtype: str,
    nodata: float | int,
) -> Iterator[BlockWriter]:
    """A tiled, compressed GeoTIFF on the job's grid, written under a temporary name.

    The file is staged in ``staged``: it appears at ``path`` only when every staged
    output is complete and reads back whole; on any error or cancellation the
    temporary file is removed and an existing ``path`` is untouched.
    """
    import rasterio

    profile = output_profile(job.grid, count, dtype, nodata)

    def verify(tmp: Path) -> None:
        verify_raster(tmp, profile["width"], profile["height"], count, dtype)

    tmp = staged.path(path, verify)
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        # GDAL's write errors (rasterio's RasterioIOError, CPLE_* errors) become an
        # OutputError naming the output: at creation, at each block row and at close
        with writing(path, tmp):
            dst = rasterio.open(tmp, "w", **profile)
        try:
            writer = BlockWriter(dst, nodata, profile["blockysize"], name=Path(path))
            yield writer
            writer.flush()
        except BaseException:
            with contextlib.suppress(Exception):
                dst.close()  # the first error is the one to report
            raise
        with writing(path, tmp):
            dst.close()


def output_sibling(path: str | os.PathLike, suffix: str) -> Path:
    """``OUT.tif`` → ``OUT<suffix>`` (e.g. the ``.qml`` style beside it)."""
    path = Path(path)
    return path.with_name(path.stem + suffix)


def run_to_rasters(
    job: RasterJob,
    predict: BatchFunction,
    outputs: Sequence[tuple[str | os.PathLike, int, str, float | int]],
    convert: Callable[[StripResult], Sequence[np.ndarray]],
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    stats: TileStats | None = None,
    finish: Callable[[Sequence], None] | None = None,
    setup: Callable[[Sequence], None] | None = None,
    sidecars: Callable[[], dict[Path, str]] | None = None,
) -> None:
    """Stream ``job`` through ``predict`` into one or more GeoTIFFs.

    Args:
        job: The planned run.
        predict: Pixels ``[B, T, T, C]`` → outputs ``[B, K]``.
        outputs: ``(path, band count, dtype, nodata)`` of each file.
        convert: One strip's results → one ``[bands, rows, width]`` array per file.
        batch_size: Tiles per model call.
        progress: Progress and cancellation.
        stats: Filled with counters and timings.
        finish: Called with the open datasets after the last row (tags, overviews).
        setup: Called with the open datasets before the first row (colour tables,
            which a GeoTIFF takes only before pixels are written).
        sidecars: Called after the last row: text files to write beside the outputs
            (``{path: text}``, e.g. the ``.qml`` style); staged and renamed with them.

    Raises:
        OutputError: An output could not be written for lack of space (no output
            or sidecar is then changed).
        OutputCheckError: A GeoTIFF did not read back whole.
    """
    with staged_outputs() as staged, contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(raster_output(staged, p, job, c, d, n)) for p, c, d, n in outputs
        ]
        names = ", ".join(str(p) for p, *_ in outputs)
        if setup is not None:
            with writing(names):
                setup([w.dataset for w in writers])
        for result in stream_job(job, predict, batch_size, progress, stats):
            arrays = convert(result)
            for writer, values in zip(writers, arrays, strict=True):
                writer.write(result.strip.out_row, values)
        for writer in writers:
            writer.flush()
        if finish is not None:
            with writing(names):
                finish([w.dataset for w in writers])
        # close (GDAL flushes its cache) before the outputs are checked and renamed
        stack.close()
        if sidecars is not None:
            for sidecar, text in sidecars().items():
                staged.write_text(sidecar, text)
