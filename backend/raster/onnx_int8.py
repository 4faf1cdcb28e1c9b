"""int8 classification through ONNX Runtime, calibrated on a raster's own tiles.

ONNX Runtime's int8 convolutions (``QLinearConv`` from a QDQ model: weights
signed 8-bit per output channel, activations unsigned 8-bit) run a ResNet two
to three times as fast as its fp32 ones on x86 CPUs, AVX2 laptops included.
The int8 model is built from the cached fp32 export
(:func:`backend.raster.runtime.cached_onnx`) by ONNX Runtime's static
quantization, calibrated on the first batch of the first raster that is large
enough to earn the build back (:data:`CALIBRATE_MIN_TILES`): that batch runs in
fp32 (its outputs are the ones written), then in int8, and int8 is kept only
where at least :data:`backend.raster.predictor.INT8_MIN_AGREEMENT` of its tiles
get the same class as in fp32. The model and a record of the check (tiles,
agreement, raster, whether it passed) go into the engine cache beside the fp32
export, named after the model file's SHA-256, so a model is calibrated once.

Later runs open the cached int8 model. A run of more than one batch checks it
again on its own first tiles: one in :data:`RECHECK_SHARE` of the run's tiles, at
least :data:`RECHECK_MIN_TILES` and at most a batch, from the first batch (fp32
and int8; fp32's outputs are written for them) and falls back to fp32 for the rest
of the run when the check fails; a run of one batch (a small raster) uses it as
recorded. (A fixed full batch of fp32 would cost a mid-sized raster a quarter of
its tiles twice over.) A model whose calibration failed
runs fp32 under ``auto`` from then on; ``--precision int8`` uses it anyway.

Building needs the ``onnx`` package besides ``onnxruntime`` (ONNX Runtime's
quantization tools read and write models with it); without it ``auto`` stays fp32.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.atomic import atomic_path
from backend.raster.predictor import INT8_MIN_AGREEMENT, argmax_agreement
from backend.raster.runtime import OnnxPredictor

log = logging.getLogger(__name__)

#: tiles a run needs before ``auto`` builds an int8 model that is not cached yet: the
#: build (a few seconds on two cores) must be earned back by the run itself
CALIBRATE_MIN_TILES = 96
#: a later run checks the cached int8 model on one tile in this many of its own ...
RECHECK_SHARE = 8
#: ... but on at least this many (and at most a batch)
RECHECK_MIN_TILES = 8
#: file name endings in the engine cache
INT8_SUFFIX = ".int8.onnx"
RECORD_SUFFIX = ".int8.json"


def quantization_available() -> bool:
    """Whether ONNX Runtime's quantization tools can run (``onnxruntime`` and ``onnx``)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


@dataclass
class Int8Record:
    """What the calibration of a model's int8 build found (kept beside it in the cache)."""

    #: share of the calibration tiles whose class is the same in int8 as in fp32
    agreement: float
    #: tiles calibrated and checked on
    tiles: int
    #: whether the agreement reached INT8_MIN_AGREEMENT
    accepted: bool
    #: file name of the raster calibrated on
    raster: str
    #: ONNX Runtime version that built it
    onnxruntime: str
    #: seconds the build took (quantization only)
    build_seconds: float

    @classmethod
    def read(cls, path: Path) -> Int8Record | None:
        """The record at ``path``; None when missing or unreadable (it is rebuilt then)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        """Write atomically."""
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")


def int8_paths(fp32_onnx: Path) -> tuple[Path, Path]:
    """The int8 model and its record beside a cached fp32 export ``<sha256>.onnx``."""
    stem = fp32_onnx.name[: -len(".onnx")] if fp32_onnx.name.endswith(".onnx") else fp32_onnx.name
    return fp32_onnx.with_name(stem + INT8_SUFFIX), fp32_onnx.with_name(stem + RECORD_SUFFIX)


def plan_precision(fp32_onnx: Path, precision: str, tiles: int, batch_size: int) -> tuple[str, str]:
    """What ONNX Runtime will run for a classification, and why: ``(precision, reason)``.

    Args:
        fp32_onnx: The cached fp32 export (its int8 build and record sit beside it).
        precision: ``auto``, ``fp32`` or ``int8``.
        tiles: Tiles of the run.
        batch_size: Tiles per batch.
    """
    if precision == "fp32":
        return "fp32", "asked for"
    model, record_path = int8_paths(fp32_onnx)
    record = Int8Record.read(record_path) if model.is_file() else None
    if precision == "int8":
        if record is None and not quantization_available():
            raise ValueError(
                "--precision int8 with ONNX Runtime needs the onnx package (pip install onnx)"
            )
        return "int8", "asked for"
    if record is not None:
        share = f"{100 * record.agreement:.1f} % of {record.tiles} tiles of {record.raster}"
        if not record.accepted:
            return "fp32", f"int8 agreed with fp32 on only {share} when calibrated"
        if tiles > batch_size:
            return (
                "int8",
                f"calibrated earlier (agreed on {share}), checked on this run's first tiles",
            )
        return (
            "int8",
            f"calibrated earlier (agreed on {share}); a one-batch run is not checked again",
        )
    if not quantization_available():
        return "fp32", "int8 needs the onnx package (pip install onnx)"
    if tiles < CALIBRATE_MIN_TILES:
        return "fp32", f"fewer than {CALIBRATE_MIN_TILES} tiles, too few for an int8 build to pay"
    return "int8", "calibrated on this run's first batch, kept if it agrees with fp32"


def recheck_tiles(tiles: int, batch: int) -> int:
    """How many of its first ``batch`` tiles a run of ``tiles`` checks a cached int8 model on."""
    return min(batch, max(RECHECK_MIN_TILES, -(-tiles // RECHECK_SHARE)))


def build_int8(fp32_onnx: Path, out: Path, calibration: np.ndarray, input_name: str) -> float:
    """Quantize ``fp32_onnx`` to int8 (QDQ, per-channel weights), calibrated on ``calibration``.

    Written atomically to ``out``. Returns the seconds it took.
    """
    from onnxruntime.quantization import CalibrationDataReader

    class _Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(
                [{input_name: calibration[i : i + 8]} for i in range(0, len(calibration), 8)]
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._items, None)

    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    root.addFilter(_quiet_quantizer)
    try:
        _quantize(fp32_onnx, out, _Batches())
    finally:
        root.removeFilter(_quiet_quantizer)
    return time.perf_counter() - started


def _quiet_quantizer(record: logging.LogRecord) -> bool:
    """Drop the quantizer's advice logged on the root logger (pre-processing, biases that
    are not initializers): it is about its own tools, nothing a user can act on."""
    return "onnxruntime/quantization/" not in Path(record.pathname).as_posix()


def _quantize(fp32_onnx: Path, out: Path, batches) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with atomic_path(out) as tmp:
        # (the calibrator's augmented model goes to a temporary folder of its own)
        quantize_static(
            str(fp32_onnx),
            str(tmp),
            batches,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )


class OnnxInt8Predictor:
    """Pixels ``[B, T, T, C]`` → logits ``[B, K]`` through ONNX Runtime in int8 (see module).

    :attr:`precision` is what ran the rest of the run (``int8`` or ``fp32`` after a
    failed check), :attr:`choice` says why, :attr:`int8_agreement` is the share of
    the checked tiles with the same class (None when this run checked nothing and
    the record had nothing either).
    """

    def __init__(
        self,
        fp32_onnx: Path,
        normalization: Mapping[str, Any],
        threads: int,
        *,
        forced: bool,
        tiles: int,
        batch_size: int,
        raster_name: str,
        reason: str,
    ) -> None:
        """Prepare; sessions open at the first batch (which may calibrate)."""
        self.fp32_onnx = Path(fp32_onnx)
        self.model_path, self.record_path = int8_paths(self.fp32_onnx)
        self.normalization = dict(normalization)
        self.threads = threads
        self.forced = forced
        self.tiles = tiles
        self.batch_size = batch_size
        self.raster_name = raster_name
        self.precision = "int8"
        self.choice = f"int8 ({reason})"
        self.record = Int8Record.read(self.record_path) if self.model_path.is_file() else None
        self.int8_agreement: float | None = self.record.agreement if self.record else None
        self._fp32: OnnxPredictor | None = None
        self._int8: OnnxPredictor | None = None
        self._run: OnnxPredictor | None = None

    def _open_fp32(self) -> OnnxPredictor:
        if self._fp32 is None:
            self._fp32 = OnnxPredictor(self.fp32_onnx, self.normalization, self.threads)
        return self._fp32

    def _open_int8(self) -> OnnxPredictor:
        if self._int8 is None:
            self._int8 = OnnxPredictor(self.model_path, self.normalization, self.threads)
        return self._int8

    def _first(self, pixels: np.ndarray) -> np.ndarray:
        if self.record is None:
            return self._calibrate(pixels)
        if self.forced or self.tiles <= self.batch_size:
            self._run = self._open_int8()
            return self._run(pixels)
        checked = recheck_tiles(self.tiles, len(pixels))
        int8 = self._open_int8()(pixels)
        fp32 = self._open_fp32()(pixels[:checked])
        agreement = argmax_agreement(fp32, int8[:checked])
        self._decide(agreement, checked, "this run's first tiles")
        if self._run is self._fp32:  # failed: fp32 for the whole batch
            return np.concatenate([fp32, self._fp32(pixels[checked:])])
        int8[:checked] = fp32
        return int8

    def _calibrate(self, pixels: np.ndarray) -> np.ndarray:
        import onnxruntime

        fp32_session = self._open_fp32()
        fp32 = fp32_session(pixels)
        x = fp32_session.inputs(pixels)
        try:
            seconds = build_int8(self.fp32_onnx, self.model_path, x, fp32_session.input_name)
        except Exception as error:  # the quantizer's errors have no common base class
            if self.forced:
                raise
            # auto must not fail a classification that fp32 can finish
            log.warning("int8 build for ONNX Runtime failed, fp32 runs: %s", error)
            self._run, self.precision = fp32_session, "fp32"
            self.choice = f"fp32: the int8 build failed ({type(error).__name__}: {error})"
            return fp32
        agreement = argmax_agreement(fp32, self._open_int8()(pixels))
        self.record = Int8Record(
            agreement=agreement,
            tiles=len(pixels),
            accepted=agreement >= INT8_MIN_AGREEMENT,
            raster=self.raster_name,
            onnxruntime=onnxruntime.__version__,
            build_seconds=round(seconds, 3),
        )
        self.record.write(self.record_path)
        log.info(
            "int8 model for ONNX Runtime built in %.1f s, calibrated on %d tiles of %s: %s",
            seconds,
            len(pixels),
            self.raster_name,
            self.model_path,
        )
        self._decide(agreement, len(pixels), "its calibration tiles")
        return fp32

    def _decide(self, agreement: float, tiles: int, where: str) -> None:
        self.int8_agreement = agreement
        share = f"{100 * agreement:.1f} % of {tiles} tiles ({where})"
        if agreement >= INT8_MIN_AGREEMENT or self.forced:
            self._run = self._int8
            self.choice += f"; int8 agrees with fp32 on {share}"
        else:
            self._run = self._fp32
            self.precision = "fp32"
            self.choice = (
                f"fp32: int8 agreed with fp32 on only {share}, below "
                f"{100 * INT8_MIN_AGREEMENT:.0f} %"
            )
        log.info("ONNX Runtime runs %s", self.choice)

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        """Logits of a batch."""
        if self._run is None:
            return self._first(pixels)
        return self._run(pixels)
