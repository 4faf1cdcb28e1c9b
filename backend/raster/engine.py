"""Streaming tiled inference over GDAL rasters in constant memory.

A background thread reads strips of the working grid (a few output rows, the
full width, plus the tile overlap) through rasterio, resampling on the fly and
padding by reflection past the raster's edges. The main thread cuts every valid
output cell's tile out of the strip, runs the model on fixed-size batches that
may span strips, and hands finished strips on in order; :class:`BlockWriter`
writes them as whole blocks of a tiled GeoTIFF. Memory depends on the raster's
width and the tile size, never on its height.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.atomic import writing
from backend.progress import Progress, check_cancelled
from backend.raster.grid import RasterInputError, Strip, TileGrid

log = logging.getLogger(__name__)

#: a cell becomes nodata when less than this share of its raster pixels is valid
VALID_SHARE = 0.5
#: upper bound on one strip's pixel buffer (bytes), so very wide rasters stay bounded
STRIP_BUDGET_BYTES = 64 << 20
#: bounds on GDAL's block cache during a run (bytes): enough for the strips in flight
CACHE_MIN_BYTES = 16 << 20
CACHE_MAX_BYTES = 512 << 20
#: strips read ahead of the model
PREFETCH_STRIPS = 2
#: output GeoTIFF block side (pixels) when the output is large enough
OUT_BLOCK = 256
# output blocks buffered per band stay below this many bytes (many-band outputs use shorter blocks)
_WRITE_BUFFER_BYTES = 64 << 20


class RasterReadError(RuntimeError):
    """A part of the raster could not be read; the message names the file and window."""


#: expected colour interpretation of a 3-band RGB model's bands, in order
RGB_NAMES = ("red", "green", "blue")


def open_raster(path: str | os.PathLike):
    """Open anything GDAL reads (GeoTIFF, VRT, JP2, ...) with rasterio.

    Raises:
        FileNotFoundError: The file does not exist.
        RasterInputError: GDAL cannot open it.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    text = str(path)
    if "://" not in text and not text.startswith("/vsi") and not Path(text).exists():
        raise FileNotFoundError(f"{text}: raster not found")
    try:
        return rasterio.open(text)
    except RasterioIOError as exc:
        raise RasterInputError(f"{text}: GDAL cannot open this file as a raster ({exc})") from exc


def parse_bands(text: str) -> list[int]:
    """Parse ``--bands 3,2,1`` into 1-based band numbers.

    Raises:
        RasterInputError: Not a list of positive integers.
    """
    try:
        bands = [int(p) for p in text.replace(",", " ").split()]
    except ValueError:
        bands = []
    if not bands or any(b < 1 for b in bands):
        raise RasterInputError(
            f"--bands {text!r}: expected 1-based band numbers separated by commas, e.g. 1,2,3"
        )
    return bands


def resolve_bands(
    dataset,
    model_bands: Sequence[int],
    user_bands: Sequence[int] | None = None,
    expected_names: Sequence[str] | None = None,
) -> list[int]:
    """The raster bands to feed the model, checked against what it expects.

    Args:
        dataset: The open raster.
        model_bands: The model file's ``bands`` (1-based, in the model's order).
        user_bands: ``--bands`` given by the user, if any (then the order is theirs).
        expected_names: Colour interpretations the model expects for its bands, in
            order (default: red, green, blue for a 3-band model).

    Returns:
        1-based raster band numbers, one per model input channel.

    Raises:
        RasterInputError: Wrong count, a band the raster lacks, or (without
            ``user_bands``) raster bands labelled in another order than the model's;
            the message names the expected bands and the ``--bands`` option.
    """
    model_bands = list(model_bands)
    if expected_names is None and len(model_bands) == 3:
        expected_names = RGB_NAMES
    if expected_names:
        expected = ", ".join(f"{b} ({n})" for b, n in zip(model_bands, expected_names, strict=True))
    else:
        expected = ", ".join(str(b) for b in model_bands)

    def hint(example: Sequence[int | str]) -> str:
        return (
            f"the model expects {len(model_bands)} band(s): {expected}; map the raster's "
            f"bands to them in that order with --bands, e.g. --bands "
            f"{','.join(str(b) for b in example)}"
        )

    bands = list(user_bands) if user_bands else model_bands
    if len(bands) != len(model_bands):
        raise RasterInputError(f"--bands lists {len(bands)} band(s) but {hint(model_bands)}")
    missing = [b for b in bands if b > dataset.count]
    if missing:
        example = [min(b, dataset.count) for b in model_bands]
        raise RasterInputError(
            f"{dataset.name} has {dataset.count} band(s), so band(s) "
            f"{', '.join(map(str, missing))} do not exist; {hint(example)}"
        )
    if not user_bands and expected_names:
        names = [dataset.colorinterp[b - 1].name for b in bands]
        labelled = set(names) <= set(expected_names) and len(set(names)) == len(names)
        if labelled and tuple(names) != tuple(expected_names):
            where = {c.name: i + 1 for i, c in enumerate(dataset.colorinterp)}
            example = [where.get(n, "?") for n in expected_names]
            raise RasterInputError(
                f"{dataset.name}: bands {', '.join(map(str, bands))} are labelled "
                f"{', '.join(names)}, but {hint(example)}"
            )
    return bands


@dataclass
class StripData:
    """The pixels of one strip and which of its output cells are valid."""

    strip: Strip
    #: ``[height, width, bands]`` working-grid pixels of the strip (padded past the raster)
    pixels: np.ndarray
    #: ``[out_rows, out_width]`` True where the cell is computed, False where it is nodata
    valid: np.ndarray


def _inside_counts(cells: int, start: int, stride: int, size: int, lo: int, hi: int) -> np.ndarray:
    """Pixels inside ``[lo, hi)`` of ``cells`` runs of ``size``, ``stride`` apart from ``start``."""
    first = start + np.arange(cells) * stride
    return np.clip(np.minimum(first + size, hi) - np.maximum(first, lo), 0, None)


class StripReader:
    """Reads the strips of a grid from one raster (one instance per thread)."""

    def __init__(self, path: str | os.PathLike, grid: TileGrid, bands: Sequence[int]) -> None:
        """Open ``path`` for reading ``bands`` on ``grid``."""
        from rasterio.enums import MaskFlags

        self.path = str(path)
        self.grid = grid
        self.bands = list(bands)
        self.dataset = open_raster(path)
        flags = [self.dataset.mask_flag_enums[b - 1] for b in self.bands]
        self.has_mask = any(MaskFlags.all_valid not in f for f in flags)

    def close(self) -> None:
        """Close the raster."""
        self.dataset.close()

    def _window_text(self, window) -> str:
        return (
            f"column {window.col_off:g}, row {window.row_off:g}, "
            f"{window.width:g} x {window.height:g} pixels"
        )

    def read(self, strip: Strip) -> StripData:
        """Read one strip: pixels (padded by reflection) and the valid-cell mask.

        Raises:
            RasterReadError: GDAL failed to read the window (a corrupt or unreachable block).
        """
        from rasterio.enums import Resampling

        grid = self.grid
        col_lo, col_hi = grid.inside_cols
        row_lo, row_hi = grid.inside_rows
        top, bottom = max(strip.top, row_lo), min(strip.bottom, row_hi)
        left, right = max(strip.left, col_lo), min(strip.right, col_hi)
        height, width = strip.bottom - strip.top, strip.right - strip.left
        count = len(self.bands)
        if bottom <= top or right <= left:  # the strip lies wholly past the raster
            pixels = np.zeros((height, width, count), self.dataset.dtypes[0])
            valid = np.zeros((strip.out_rows, grid.out_width), bool)
            return StripData(strip, pixels, valid)
        window = grid.source_window((top, bottom), (left, right))
        shape = (count, bottom - top, right - left)
        resampling = Resampling.nearest
        if grid.resampled:
            coarser = grid.scale_x > 1 or grid.scale_y > 1
            resampling = Resampling.average if coarser else Resampling.bilinear
        try:
            data = self.dataset.read(
                self.bands, window=window, out_shape=shape, resampling=resampling
            )
            mask = None
            if self.has_mask:
                mask = self.dataset.read_masks(
                    self.bands, window=window, out_shape=shape, resampling=Resampling.nearest
                ).min(axis=0)
        except Exception as exc:  # rasterio raises RasterioIOError and CPLE_* errors
            raise RasterReadError(
                f"{self.path}: cannot read the raster window at {self._window_text(window)} "
                f"(bands {', '.join(map(str, self.bands))}): {exc}"
            ) from exc
        pad = (
            (top - strip.top, strip.bottom - bottom),
            (left - strip.left, strip.right - right),
            (0, 0),
        )
        pixels = np.moveaxis(data, 0, -1)
        if any(p != (0, 0) for p in pad):
            pixels = np.pad(pixels, pad, mode="reflect")
        pixels = np.ascontiguousarray(pixels)
        valid = self._valid_cells(strip, mask, (top, bottom), (left, right))
        return StripData(strip, pixels, valid)

    def _valid_cells(
        self,
        strip: Strip,
        mask: np.ndarray | None,
        rows: tuple[int, int],
        cols: tuple[int, int],
    ) -> np.ndarray:
        """Cells whose raster pixels (the part inside the raster) are mostly valid."""
        grid = self.grid
        stride = grid.stride
        start, size = grid.cell_area
        row0 = strip.out_row * stride
        row_in = _inside_counts(strip.out_rows, row0 + start, stride, size, *grid.inside_rows)
        col_in = _inside_counts(grid.out_width, start, stride, size, *grid.inside_cols)
        inside = row_in[:, None] * col_in[None, :]
        if mask is None:
            return inside > 0
        # the cells' pixels, zero past the raster; the mask covers rows x cols only
        full = np.zeros((strip.out_rows * stride, grid.out_width * stride), np.uint8)
        r0, r1 = rows[0] - row0, rows[1] - row0
        c0, c1 = cols
        dst_r0, dst_c0 = max(0, r0), max(0, c0)
        dst_r1, dst_c1 = min(full.shape[0], r1), min(full.shape[1], c1)
        if dst_r1 > dst_r0 and dst_c1 > dst_c0:
            full[dst_r0:dst_r1, dst_c0:dst_c1] = (
                mask[dst_r0 - r0 : dst_r1 - r0, dst_c0 - c0 : dst_c1 - c0] > 0
            )
        cells = full.reshape(strip.out_rows, stride, grid.out_width, stride)
        valid = cells[:, start : start + size, :, start : start + size].sum(
            axis=(1, 3), dtype=np.int64
        )
        return (inside > 0) & (valid >= VALID_SHARE * inside)


def choose_rows_per_strip(grid: TileGrid, batch_size: int, bands: int, itemsize: int) -> int:
    """Output rows per strip: enough cells to fill a batch, within the strip memory budget."""
    rows = max(1, math.ceil(batch_size / max(1, grid.out_width)))
    width = (grid.out_width - 1) * grid.stride + grid.tile
    per_row = grid.stride * width * bands * itemsize
    fixed = (grid.tile - grid.stride) * width * bands * itemsize
    affordable = max(1, (STRIP_BUDGET_BYTES - fixed) // max(1, per_row))
    return int(max(1, min(rows, affordable, grid.out_height)))


def gdal_cache_bytes(dataset, grid: TileGrid, strip_rows: int) -> int:
    """Block cache that holds the raster blocks under the strips in flight, and no more."""
    block_rows = dataset.block_shapes[0][0] if dataset.block_shapes else 256
    strip_height = (strip_rows * grid.stride + grid.tile) * grid.scale_y
    rows = (PREFETCH_STRIPS + 2) * strip_height + 2 * block_rows
    itemsize = np.dtype(dataset.dtypes[0]).itemsize
    needed = int(rows * dataset.width * dataset.count * itemsize)
    return int(min(CACHE_MAX_BYTES, max(CACHE_MIN_BYTES, needed)))


class _Prefetcher:
    """Runs ``produce`` (an iterator factory) in a thread, ``depth`` items ahead."""

    _DONE = object()

    def __init__(self, produce: Callable[[], Iterator], depth: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(produce,), name="raster-prefetch", daemon=True
        )
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, produce: Callable[[], Iterator]) -> None:
        items = produce()
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put(exc)
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        self._put(self._DONE)

    def __iter__(self) -> Iterator:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join()


def iter_strips(
    path: str | os.PathLike,
    grid: TileGrid,
    bands: Sequence[int],
    strips: Sequence[Strip],
    cache_bytes: int | None = None,
    prefetch: int = PREFETCH_STRIPS,
) -> Iterator[StripData]:
    """Read ``strips`` in order, in a background thread ``prefetch`` strips ahead."""
    import rasterio

    def produce() -> Iterator[StripData]:
        options = {"GDAL_CACHEMAX": cache_bytes} if cache_bytes else {}
        with rasterio.Env(**options):
            reader = StripReader(path, grid, bands)
            try:
                for strip in strips:
                    yield reader.read(strip)
            finally:
                reader.close()

    if prefetch <= 0:
        yield from produce()
        return
    prefetcher = _Prefetcher(produce, prefetch)
    try:
        yield from prefetcher
    finally:
        prefetcher.close()


# a block of counters like other runs' summaries (data/build_pairs.py's): these count the
# tiles, batches and seconds of one raster run
@dataclass
class TileStats:
    """Counters of a run, for logs and benchmarks."""

    tiles: int = 0
    batches: int = 0
    #: seconds spent inside the model call
    model_seconds: float = 0.0
    #: seconds the model waited for the reader
    wait_seconds: float = 0.0
    seconds: float = 0.0
    #: seconds of each full batch's model call (the first includes one-off set-up)
    batch_seconds: list[float] = field(default_factory=list)


@dataclass
class StripResult:
    """Model outputs of one strip's cells."""

    strip: Strip
    #: ``[out_rows, out_width, K]`` float32; rows/cols where ``valid`` is False are zeros
    values: np.ndarray | None
    valid: np.ndarray
    remaining: int = field(default=0, repr=False)


#: runs the model: uint8 or other pixels ``[B, T, T, C]`` -> float32 outputs ``[B, K]``
BatchFunction = Callable[[np.ndarray], np.ndarray]


def predict_strips(
    strips: Iterator[StripData],
    predict: BatchFunction,
    batch_size: int,
    tile: int,
    stride: int,
    total_cells: int,
    progress: Progress | None = None,
    stats: TileStats | None = None,
) -> Iterator[StripResult]:
    """Run ``predict`` on every valid cell's tile, in batches of ``batch_size``.

    Batches span strips, so every batch but the last is full. Strips come out in
    order as soon as all their cells are done.

    Raises:
        Cancelled: ``progress`` asked to stop (checked before every batch).
    """
    stats = stats if stats is not None else TileStats()
    pending: deque[StripResult] = deque()
    # (strip result, its pixels, cell row, cell column) of the tiles of the next batch
    batch: list[tuple[StripResult, np.ndarray, int, int]] = []
    buffer: np.ndarray | None = None
    done_cells = 0
    started = time.perf_counter()

    def run_batch() -> None:
        nonlocal buffer
        check_cancelled(progress)
        pixels = batch[0][1]
        shape = (batch_size, tile, tile, pixels.shape[2])
        if buffer is None or buffer.shape != shape or buffer.dtype != pixels.dtype:
            buffer = np.empty(shape, pixels.dtype)
        for k, (_, source, i, j) in enumerate(batch):
            top, left = i * stride, j * stride
            buffer[k] = source[top : top + tile, left : left + tile]
        t0 = time.perf_counter()
        out = np.asarray(predict(buffer[: len(batch)]), dtype=np.float32)
        elapsed = time.perf_counter() - t0
        stats.model_seconds += elapsed
        if len(batch) == batch_size:
            stats.batch_seconds.append(elapsed)
        stats.tiles += len(batch)
        stats.batches += 1
        for k, (result, _, i, j) in enumerate(batch):
            if result.values is None:
                rows, width = result.valid.shape
                result.values = np.zeros((rows, width, out.shape[1]), np.float32)
            result.values[i, j] = out[k]
            result.remaining -= 1
        batch.clear()

    def finished() -> Iterator[StripResult]:
        nonlocal done_cells
        while pending and pending[0].remaining == 0:
            result = pending.popleft()
            done_cells += result.valid.size
            if progress is not None:
                progress.progress(
                    min(1.0, done_cells / max(1, total_cells)),
                    f"{done_cells} of {total_cells} pixels",
                )
            yield result

    iterator = iter(strips)
    while True:
        t0 = time.perf_counter()
        data = next(iterator, None)
        stats.wait_seconds += time.perf_counter() - t0
        if data is None:
            break
        check_cancelled(progress)
        result = StripResult(data.strip, None, data.valid, int(data.valid.sum()))
        pending.append(result)
        for i, j in np.argwhere(data.valid):
            batch.append((result, data.pixels, int(i), int(j)))
            if len(batch) == batch_size:
                run_batch()
                yield from finished()
        yield from finished()
    if batch:
        run_batch()
    yield from finished()
    stats.seconds += time.perf_counter() - started


class BlockWriter:
    """Collects output rows and writes them to a tiled GeoTIFF one block row at a time."""

    def __init__(
        self, dataset, fill: float | int, block_rows: int, name: Path | None = None
    ) -> None:
        """Write into the open rasterio ``dataset`` (all its bands), empty cells set to ``fill``.

        ``name``: the output's final path, named by the :class:`OutputError` that a failed
        write raises (default: the dataset's own name).
        """
        self.dataset = dataset
        self.name = name if name is not None else Path(dataset.name)
        self.block_rows = block_rows
        self.fill = fill
        self.buffer = np.full(
            (dataset.count, block_rows, dataset.width), fill, dtype=dataset.dtypes[0]
        )
        self.row0 = 0
        self.filled = 0

    def write(self, row: int, values: np.ndarray) -> None:
        """Add ``values`` ``[bands, rows, width]`` for output rows starting at ``row`` (in order)."""
        if row != self.row0 + self.filled:
            raise ValueError(
                f"rows must arrive in order: expected {self.row0 + self.filled}, got {row}"
            )
        offset = 0
        while offset < values.shape[1]:
            take = min(self.block_rows - self.filled, values.shape[1] - offset)
            self.buffer[:, self.filled : self.filled + take] = values[:, offset : offset + take]
            self.filled += take
            offset += take
            if self.filled == self.block_rows:
                self.flush()

    def flush(self) -> None:
        """Write the buffered rows."""
        from rasterio.windows import Window

        if self.filled == 0:
            return
        rows = min(self.filled, self.dataset.height - self.row0)
        if rows > 0:
            with writing(self.name, self.dataset.name):
                self.dataset.write(
                    self.buffer[:, :rows], window=Window(0, self.row0, self.dataset.width, rows)
                )
        self.row0 += self.filled
        self.filled = 0
        self.buffer[...] = self.fill


def output_profile(grid: TileGrid, count: int, dtype: str, nodata: float | int | None) -> dict:
    """GeoTIFF creation options: tiled, deflate-compressed, on the grid's georeferencing."""
    block = OUT_BLOCK
    if max(grid.out_width, grid.out_height) < OUT_BLOCK:
        block = 16 * max(1, math.ceil(max(grid.out_width, grid.out_height) / 16))
    itemsize = np.dtype(dtype).itemsize
    # many-band outputs (embeddings) buffer a block row of every band: keep it bounded
    block_rows = block
    while block_rows > 16 and count * block_rows * grid.out_width * itemsize > _WRITE_BUFFER_BYTES:
        block_rows //= 2
    profile = {
        "driver": "GTiff",
        "width": grid.out_width,
        "height": grid.out_height,
        "count": count,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.out_transform,
        "nodata": nodata,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block_rows,
        "compress": "deflate",
        "interleave": "band" if count > 4 else "pixel",
        "bigtiff": "if_safer",
    }
    if np.issubdtype(np.dtype(dtype), np.floating):
        profile["predictor"] = 3
    return profile
