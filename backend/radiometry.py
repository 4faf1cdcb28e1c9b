"""Radiometry: how a model's input pixels are scaled, measured from a raster and applied.

A model file's ``normalization`` says how raw raster values become model inputs.
Two kinds exist:

- ``robust`` (measured from the raster a model was trained on, any band count and
  data type)::

      {"kind": "robust", "low": [...], "high": [...], "mean": [...], "std": [...],
       "dtype": "uint16", "bands": ["band 1", ...]}

  pixel -> clipped to ``[low, high]`` -> ``(x - low) / (high - low)`` (the *scaled*
  value, in [0, 1]) -> ``(v - mean) / std``, with ``mean``/``std`` those of the
  scaled values.
- legacy (8-bit scene datasets, ImageNet statistics)::

      {"mean": [...], "std": [...], "scale": 255.0}

  pixel -> ``x / scale`` (the scaled value) -> ``(v - mean) / std``.

The models (``SceneClassifier``, ``Encoder``) hold ``mean``/``std`` and apply the
last step themselves, so the raster engine feeds them :func:`prescale`;
:func:`normalise` applies all steps, for code that works on bare trunks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

#: percentiles of the robust range
LOW_PERCENTILE = 2.0
HIGH_PERCENTILE = 98.0

#: data-type families compared by :func:`radiometry_warning`
_EIGHT_BIT = {"uint8", "int8"}
_FLOAT = {"float16", "float32", "float64"}


def is_robust(normalization: Mapping[str, Any]) -> bool:
    """True for a ``robust`` normalisation (per-band low/high), False for a legacy one."""
    return normalization.get("kind") == "robust" or (
        "low" in normalization and "high" in normalization
    )


def check_normalization(normalization: Any, band_count: int) -> str | None:
    """What is wrong with a normalisation dict for ``band_count`` bands, or None.

    Used by the model-file validation; the text names the offending key.
    """
    if not isinstance(normalization, Mapping):
        return f"normalization must be a mapping, got {normalization!r}"
    keys = ("mean", "std", "low", "high") if is_robust(normalization) else ("mean", "std")
    for key in keys:
        values = normalization.get(key)
        if (
            not isinstance(values, list)
            or len(values) != band_count
            or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        ):
            return (
                f"normalization[{key!r}] must list one value per band "
                f"({band_count} finite numbers), got {values!r}"
            )
    if any(s <= 0 for s in normalization["std"]):
        return f"normalization['std'] must be positive, got {normalization['std']!r}"
    if is_robust(normalization):
        pairs = zip(normalization["low"], normalization["high"], strict=True)
        if any(not high > low for low, high in pairs):
            return (
                "normalization 'high' must be above 'low' in every band, got "
                f"low {normalization['low']!r}, high {normalization['high']!r}"
            )
    else:
        scale = normalization.get("scale", 255.0)
        if not isinstance(scale, (int, float)) or not scale > 0:
            return f"normalization['scale'] must be a positive number, got {scale!r}"
    return None


def _sample_windows(width: int, height: int, window_px: int, max_windows: int, seed: int):
    from rasterio.windows import Window

    w, h = min(window_px, width), min(window_px, height)
    cols = max(1, math.ceil(width / w))
    rows = max(1, math.ceil(height / h))
    if cols * rows <= max_windows:
        # small raster: every window (the last ones shifted to stay inside)
        return [
            Window(min(c * w, width - w), min(r * h, height - h), w, h)
            for r in range(rows)
            for c in range(cols)
        ]
    rng = np.random.default_rng(seed)
    cells = rng.choice(cols * rows, size=max_windows, replace=False)
    windows = []
    for cell in sorted(int(c) for c in cells):
        r, c = divmod(cell, cols)
        windows.append(Window(min(c * w, width - w), min(r * h, height - h), w, h))
    return windows


def measure_band_statistics(
    raster_path: str | os.PathLike,
    bands: Sequence[int] | None = None,
    max_windows: int = 64,
    window_px: int = 256,
    seed: int = 0,
) -> dict[str, Any]:
    """The ``robust`` normalisation of a raster, measured on a seeded sample of its windows.

    Per band: ``low``/``high`` are the 2nd/98th percentiles of the valid pixels
    (nodata, masked and non-finite values excluded); ``mean``/``std`` are those of
    the values clipped to ``[low, high]`` and scaled to [0, 1].

    Args:
        raster_path: Any raster GDAL reads.
        bands: 1-based band numbers (default: all bands).
        max_windows: At most this many windows are read (all of a small raster).
        window_px: Window side in pixels.
        seed: Seed of the window sample (same seed, same statistics).

    Returns:
        ``{"kind": "robust", "low", "high", "mean", "std", "dtype", "bands"}``.

    Raises:
        FileNotFoundError: The raster does not exist.
        ValueError: A band number is out of range, or a band has no valid pixel.
    """
    import rasterio

    path = os.fspath(raster_path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such raster")
    with rasterio.open(path) as src:
        band_list = list(bands) if bands is not None else list(range(1, src.count + 1))
        bad = [b for b in band_list if not 1 <= int(b) <= src.count]
        if bad or not band_list:
            raise ValueError(
                f"{path}: bands {bad or band_list} out of range (the raster has {src.count})"
            )
        windows = _sample_windows(src.width, src.height, window_px, max_windows, seed)
        samples: list[list[np.ndarray]] = [[] for _ in band_list]
        for window in windows:
            data = src.read(band_list, window=window, masked=True)
            for i in range(len(band_list)):
                band = data[i]
                values = np.asarray(band.data, dtype=np.float64)
                valid = ~np.ma.getmaskarray(band) & np.isfinite(values)
                samples[i].append(values[valid])
        dtype = src.dtypes[band_list[0] - 1]
        names = [src.descriptions[b - 1] or f"band {b}" for b in band_list]
    low, high, mean, std = [], [], [], []
    for i, parts in enumerate(samples):
        values = np.concatenate(parts) if parts else np.empty(0)
        if values.size == 0:
            raise ValueError(f"{path}: band {band_list[i]} has no valid pixel in the sample")
        lo, hi = (float(v) for v in np.percentile(values, [LOW_PERCENTILE, HIGH_PERCENTILE]))
        if not hi > lo:
            # a constant band: any positive span maps it to 0
            hi = lo + 1.0
        scaled = (np.clip(values, lo, hi) - lo) / (hi - lo)
        sd = float(scaled.std())
        low.append(lo)
        high.append(hi)
        mean.append(float(scaled.mean()))
        std.append(sd if sd > 1e-6 else 1.0)
    return {
        "kind": "robust",
        "low": low,
        "high": high,
        "mean": mean,
        "std": std,
        "dtype": str(dtype),
        "bands": names,
    }


def _to_tensor(
    pixels: np.ndarray | torch.Tensor, device: torch.device | str | None
) -> tuple[torch.Tensor, bool]:
    """Float32 ``[N, C, H, W]`` (channels_last) and whether the input was floating-point."""
    raw = pixels if isinstance(pixels, torch.Tensor) else torch.from_numpy(np.asarray(pixels))
    if raw.ndim != 4:
        raise ValueError(f"expected pixels [N, H, W, C], got shape {list(raw.shape)}")
    floating = raw.is_floating_point()
    if raw.dtype in (torch.uint16, torch.uint32, torch.uint64):
        raw = raw.to(torch.int64)
    x = raw.permute(0, 3, 1, 2).to(device or raw.device, dtype=torch.float32, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last), floating


def prescale(
    pixels: np.ndarray | torch.Tensor,
    normalization: Mapping[str, Any],
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Raw pixels ``[N, H, W, C]`` -> scaled float32 ``[N, C, H, W]`` (channels_last layout).

    Robust: clipped to ``[low, high]`` and mapped to [0, 1]; legacy: divided by
    ``scale``. Non-finite values become 0. This is what the models take: they hold
    ``mean``/``std`` and standardise inside.
    """
    x, floating = _to_tensor(pixels, device)
    channels = x.shape[1]
    if is_robust(normalization):
        low = torch.tensor(normalization["low"], dtype=torch.float32, device=x.device)
        high = torch.tensor(normalization["high"], dtype=torch.float32, device=x.device)
        if low.numel() != channels:
            raise ValueError(f"normalization has {low.numel()} bands, the pixels have {channels}")
        low, high = low.view(1, -1, 1, 1), high.view(1, -1, 1, 1)
        x = torch.clamp(x, min=low, max=high).sub_(low).div_(high - low)
    else:
        # out of place: float32 input may share memory with the caller's array
        x = x * (1.0 / float(normalization.get("scale", 255.0)))
    if floating:
        x = torch.nan_to_num_(x, nan=0.0, posinf=0.0, neginf=0.0)
    return x


def normalise(
    pixels: np.ndarray | torch.Tensor,
    normalization: Mapping[str, Any],
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Raw pixels ``[N, H, W, C]`` -> fully normalised float32 ``[N, C, H, W]``.

    :func:`prescale` followed by ``(v - mean) / std``, for either kind. Do not
    feed this to a ``SceneClassifier`` or ``Encoder``: they standardise themselves.
    """
    x = prescale(pixels, normalization, device)
    mean = torch.tensor(normalization["mean"], dtype=torch.float32, device=x.device)
    std = torch.tensor(normalization["std"], dtype=torch.float32, device=x.device)
    if mean.numel() != x.shape[1]:
        raise ValueError(f"normalization has {mean.numel()} bands, the pixels have {x.shape[1]}")
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def _family(dtype: str) -> str:
    if dtype in _EIGHT_BIT:
        return "8-bit"
    if dtype in _FLOAT:
        return "floating-point"
    return "16/32-bit integer"


def expected_dtype_family(normalization: Mapping[str, Any]) -> str:
    """The kind of raster values a normalisation was made for (``"8-bit"``, ...)."""
    if is_robust(normalization):
        dtype = str(normalization.get("dtype", ""))
        if dtype:
            return _family(dtype)
        high = max(float(v) for v in normalization["high"])
        return "8-bit" if high <= 255 else "16/32-bit integer"
    scale = float(normalization.get("scale", 255.0))
    if scale <= 1.0:
        return "floating-point"
    if scale <= 255.0:
        return "8-bit"
    return "16/32-bit integer"


def describe(normalization: Mapping[str, Any]) -> str:
    """A short description of what a normalisation expects, for messages."""
    family = expected_dtype_family(normalization)
    bands = len(normalization.get("mean", []))
    if is_robust(normalization):
        lo = min(normalization["low"])
        hi = max(normalization["high"])
        return f"{bands}-band {family} imagery (values about {lo:g} to {hi:g})"
    scale = float(normalization.get("scale", 255.0))
    return f"{bands}-band {family} imagery (values 0 to {scale:g})"


def radiometry_warning(
    normalization: Mapping[str, Any], raster_dtype: str, band_count: int
) -> str | None:
    """A warning when a raster does not look like the imagery a model was trained on.

    Args:
        normalization: The model file's normalisation.
        raster_dtype: The raster's data type (``"uint8"``, ``"uint16"``, ``"float32"``...).
        band_count: The raster's number of bands.

    Returns:
        One sentence naming the mismatch (data type and/or band count), or None.
    """
    problems = []
    expected = expected_dtype_family(normalization)
    found = _family(str(raster_dtype))
    if expected != found:
        problems.append(f"this raster is {raster_dtype} ({found})")
    model_bands = len(normalization.get("mean", []))
    if model_bands and band_count != model_bands:
        problems.append(f"it has {band_count} bands, the model reads {model_bands}")
    if not problems:
        return None
    return (
        f"radiometry mismatch: the model was trained on {describe(normalization)}, but "
        f"{' and '.join(problems)}; its values are read on the wrong scale and the "
        "results may be meaningless. Train a model on this raster "
        "(train-from-labels measures its radiometry) or use a raster like the training one."
    )


#: a raster band's 2-98 % span this many times wider or narrower than the model's
#: (or that far outside it) does not fit the model's radiometry
RANGE_FACTOR = 10.0


def range_warning(normalization: Mapping[str, Any], measured: Mapping[str, Any]) -> str | None:
    """A warning when a raster's measured value range does not fit a model's normalisation.

    Args:
        normalization: The model file's normalisation.
        measured: :func:`measure_band_statistics` of the raster's bands the model reads.

    Returns:
        One sentence naming the bands and both ranges, or None when they fit.
    """
    lows, highs = measured["low"], measured["high"]
    names = measured.get("bands") or [f"band {i + 1}" for i in range(len(lows))]
    problems = []
    if is_robust(normalization):
        for name, lo, hi, m_lo, m_hi in zip(
            names, lows, highs, normalization["low"], normalization["high"], strict=False
        ):
            span, model_span = hi - lo, m_hi - m_lo
            outside = hi < m_lo - model_span or lo > m_hi + model_span
            if outside or span > RANGE_FACTOR * model_span or span * RANGE_FACTOR < model_span:
                problems.append(f"{name} {lo:g} to {hi:g} (model: {m_lo:g} to {m_hi:g})")
    else:
        scale = float(normalization.get("scale", 255.0))
        for name, lo, hi in zip(names, lows, highs, strict=False):
            if hi > 1.5 * scale or (scale > 1.0 and hi * 50 < scale):
                problems.append(f"{name} {lo:g} to {hi:g} (model: 0 to {scale:g})")
    if not problems:
        return None
    return (
        "radiometry mismatch: the raster's values (2-98 %) do not fit the range the model "
        f"was trained on: {'; '.join(problems)}; results may be meaningless. Train a model "
        "on this raster (train-from-labels) or use a raster like the training one."
    )
