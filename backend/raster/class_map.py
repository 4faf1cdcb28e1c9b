"""Class rasters, whichever model makes them: the nodata value, the run's result, overviews.

A scene classifier (:mod:`backend.raster.classify`) and a segmentation model
(:mod:`backend.raster.segment`) both write a class raster; what they share lives
here, below both, so neither imports the other's module for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backend.raster.engine import TileStats
from backend.raster.grid import RasterInputError

#: nodata value of class rasters (so at most 255 classes)
CLASS_NODATA = 255
#: outputs larger than this (pixels, either side) get overviews
OVERVIEW_MIN_PX = 1024


@dataclass
class ClassifyResult:
    """What :func:`classify_raster` wrote."""

    out: Path
    style: Path
    probabilities: Path | None
    width: int
    height: int
    #: output pixels per class name (nodata excluded)
    class_counts: dict[str, int] = field(default_factory=dict)
    stats: TileStats = field(default_factory=TileStats)
    #: the model's precision ("fp32", "bf16" or "int8"; "custom" for a replaced model call)
    precision: str = "fp32"
    #: the engine that ran the model ("torch", "onnxruntime"; "custom" for a replaced call)
    engine: str = "torch"
    #: why this engine and precision ran (also logged)
    choice: str = ""
    #: int8 only: share of the calibration tiles whose class equals fp32's
    int8_agreement: float | None = None
    #: the confidence map (largest class probability) and its style, when asked for
    confidence: Path | None = None
    confidence_style: Path | None = None
    #: tile and stride used (working pixels)
    tile: int = 0
    stride: int = 0
    #: things the user should know (e.g. the resolution used when the model's is unknown)
    notes: list[str] = field(default_factory=list)
    #: warnings for the user (radiometry mismatch)
    warnings: list[str] = field(default_factory=list)


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


def build_overviews(dataset, resampling_name: str) -> None:
    """Overviews (factors 2, 4, ...) down to about 256 pixels, for fast display of big outputs."""
    from rasterio.enums import Resampling

    side = max(dataset.width, dataset.height)
    if side <= OVERVIEW_MIN_PX:
        return
    factors = []
    factor = 2
    while side // factor >= 256:
        factors.append(factor)
        factor *= 2
    dataset.build_overviews(factors, Resampling[resampling_name])
