"""Class rasters, whichever model makes them: the nodata value, the files, the run's result.

A scene classifier (:mod:`backend.raster.classify`) and a segmentation model
(:mod:`backend.raster.segment`) both write a class raster; what they share lives
here, below both, so neither imports the other's module for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.raster.engine import TileStats
from backend.raster.job import output_sibling
from backend.raster.style import class_qml, hex_to_rgba, ramp_qml

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


@dataclass(frozen=True)
class ClassMapFiles:
    """The files of a class map: classes, optional probabilities and confidence, their styles."""

    #: the class raster (uint8, nodata :data:`CLASS_NODATA`, a colour table)
    out: Path
    #: class probabilities (float32, one band per class), when asked for
    probabilities: Path | None
    #: the largest class probability of each pixel (float32), when asked for
    confidence: Path | None

    @classmethod
    def beside(
        cls,
        out: str | os.PathLike,
        probabilities: str | os.PathLike | bool | None,
        confidence: str | os.PathLike | bool | None,
    ) -> ClassMapFiles:
        """The files for ``out``: ``probabilities``/``confidence`` True (or ``"auto"``) for
        ``OUT_probabilities.tif``/``OUT_confidence.tif``, a path, or None/False for none."""
        out = Path(out)
        return cls(
            out,
            _beside(out, probabilities, "_probabilities.tif"),
            _beside(out, confidence, "_confidence.tif"),
        )

    @property
    def style(self) -> Path:
        """The class raster's QML style (``OUT.qml``)."""
        return output_sibling(self.out, ".qml")

    @property
    def confidence_style(self) -> Path | None:
        """The confidence map's colour-ramp style, when there is a confidence map."""
        return output_sibling(self.confidence, ".qml") if self.confidence is not None else None

    @property
    def wants_probabilities(self) -> bool:
        """Whether a probability or confidence map is written (the strips need softmaxes)."""
        return self.probabilities is not None or self.confidence is not None

    def rasters(self, classes: int) -> list[tuple[Path, int, str, float | int]]:
        """``(path, band count, dtype, nodata)`` of each GeoTIFF, the class raster first."""
        outputs: list[tuple[Path, int, str, float | int]] = [(self.out, 1, "uint8", CLASS_NODATA)]
        if self.probabilities is not None:
            outputs.append((self.probabilities, classes, "float32", float("nan")))
        if self.confidence is not None:
            outputs.append((self.confidence, 1, "float32", float("nan")))
        return outputs

    def strip_arrays(
        self, labels: np.ndarray, p: np.ndarray | None, classes: int
    ) -> list[np.ndarray]:
        """One strip's array per GeoTIFF, from its classes ``[1, rows, width]`` and the
        probabilities ``p`` ``[classes, rows, width]`` (NaN where invalid; None: no values)."""
        _, rows, width = labels.shape
        arrays = [labels]
        if self.probabilities is not None:
            if p is None:
                arrays.append(np.full((classes, rows, width), np.nan, np.float32))
            else:
                arrays.append(p)
        if self.confidence is not None:
            if p is None:
                arrays.append(np.full((1, rows, width), np.nan, np.float32))
            else:
                arrays.append(p.max(axis=0, keepdims=True))
        return arrays

    def setup(self, datasets: Sequence, colours: Sequence[str]) -> None:
        """Write the class raster's colour table (before its first pixels, as GeoTIFF needs)."""
        datasets[0].write_colormap(1, {i: hex_to_rgba(c) for i, c in enumerate(colours)})

    def finish(
        self, datasets: Sequence, names: Sequence[str], colours: Sequence[str], **tags: str
    ) -> None:
        """Band descriptions, tags (class names and colours, and ``tags``) and overviews."""
        classes = datasets[0]
        classes.set_band_description(1, "class: " + ", ".join(names))
        classes.update_tags(
            CLASS_NAMES=json.dumps(list(names)), CLASS_COLORS=json.dumps(list(colours)), **tags
        )
        classes.update_tags(1, **{f"CLASS_{i}": name for i, name in enumerate(names)})
        build_overviews(classes, "mode")
        if self.probabilities is not None:
            probs = datasets[1]
            for i, name in enumerate(names, start=1):
                probs.set_band_description(i, f"probability: {name}")
            probs.update_tags(CLASS_NAMES=json.dumps(list(names)))
            build_overviews(probs, "average")
        if self.confidence is not None:
            conf = datasets[-1]
            conf.set_band_description(1, "confidence: largest class probability")
            build_overviews(conf, "average")

    def styles(self, names: Sequence[str], colours: Sequence[str]) -> dict[Path, str]:
        """The QML styles to write beside the rasters: ``{path: text}``."""
        texts = {self.style: class_qml(names, colours)}
        if self.confidence_style is not None:
            # from chance (1 / classes) to certain
            texts[self.confidence_style] = ramp_qml(1.0 / len(names), 1.0)
        return texts


def _beside(out: Path, value: str | os.PathLike | bool | None, suffix: str) -> Path | None:
    if value is True or value == "auto":
        return output_sibling(out, suffix)
    return Path(value) if value else None
