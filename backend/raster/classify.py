"""Land-cover classification of a raster: one class per output pixel, as a styled GeoTIFF."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.atomic import OutputError
from backend.device import resolve_device
from backend.progress import Progress
from backend.raster.class_map import CLASS_NODATA, ClassifyResult, ClassMapFiles
from backend.raster.engine import BatchFunction, StripResult, TileStats
from backend.raster.grid import RasterInputError
from backend.raster.job import (
    JobSettings,
    plan_model_job,
    radiometry_note,
    resolution_note,
    run_to_rasters,
)
from backend.raster.onnx_int8 import OnnxInt8Predictor, plan_precision
from backend.raster.predictor import FREEZE_MIN_TILES, TilePredictor, classes_agree
from backend.raster.runtime import (
    EngineError,
    OnnxPredictor,
    cached_onnx,
    cached_onnx_path,
    choose_engine,
    onnxruntime_available,
)
from backend.raster.style import class_colours

log = logging.getLogger(__name__)


def _onnx_plan(
    engine: str, device: torch.device, precision: str, model_path, tiles: int, batch_size: int
) -> tuple[str, str]:
    """The precision ONNX Runtime would run this classification in, and why."""
    if (
        engine == "torch"
        or device.type != "cpu"
        or model_path is None
        or not onnxruntime_available()
        or (engine == "auto" and precision != "auto")
    ):
        return "fp32", "not considered"
    return plan_precision(cached_onnx_path(model_path), precision, tiles, batch_size)


def _onnx_predictor(
    model_path, normalization, plan: tuple[str, str] = ("fp32", "asked for"), **int8_options
) -> OnnxPredictor | OnnxInt8Predictor:
    onnx_path, cached = cached_onnx(model_path)
    log.info("ONNX Runtime runs %s (%s)", onnx_path, "cached" if cached else "exported now")
    precision, reason = plan
    if precision == "int8":
        return OnnxInt8Predictor(
            onnx_path, normalization, torch.get_num_threads(), reason=reason, **int8_options
        )
    predictor = OnnxPredictor(onnx_path, normalization, torch.get_num_threads())
    predictor.choice = "fp32" if reason == "not considered" else f"fp32 ({reason})"
    return predictor


class _SwitchOnRejectedInt8:
    """Runs a :class:`TilePredictor` set on int8; if int8 fails its check on the first
    batch, the remaining batches go to ONNX Runtime (fp32) when it is installed."""

    def __init__(self, predictor: TilePredictor, model_path, normalization) -> None:
        self.predictor = predictor
        self.model_path = model_path
        self.normalization = normalization
        self.switched = False
        self.choice = ""
        self._run: BatchFunction = predictor
        predictor.defer_fallback = onnxruntime_available()

    def __call__(self, pixels: np.ndarray) -> np.ndarray:
        out = self._run(pixels)
        if self._run is self.predictor and self.predictor.defer_fallback:
            self.predictor.defer_fallback = False
            if not self.predictor.int8:
                try:
                    self._run = _onnx_predictor(self.model_path, self.normalization)
                except (
                    OSError,
                    OutputError,
                ) as err:  # no room for the export: PyTorch carries on in fp32
                    log.warning("ONNX Runtime not used: %s", err)
                    return out
                self.switched = True
                self.choice = f"onnxruntime (after the first batch), fp32: {self.predictor.choice}"
                log.info("engine %s", self.choice)
        return out


def classify_raster(
    raster: str | os.PathLike,
    model_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    device: str = "auto",
    **options,
) -> ClassifyResult:
    """Classify ``raster`` with the classifier in ``model_path``; see :func:`classify_with`.

    A segmentation model file gives per-pixel classes instead
    (:func:`backend.raster.segment.segment_with`, same options and result).

    Raises:
        FileNotFoundError: Raster or model missing.
        ModelFileError: The model file is not a classifier.
        RasterInputError: Bands, extent, tile or stride do not fit.
        RasterReadError: Part of the raster cannot be read.
        Cancelled: Cancelled through ``progress`` (nothing is left at ``out``).
    """
    from backend.models.classifier import load_classifier
    from backend.models.modelfile import load_model_metadata

    segmentation = load_model_metadata(model_path).kind == "segmentation"
    if segmentation:
        # per-pixel classes from a DeepLabv3+ model file (transfer --task segmentation)
        engine = options.pop("engine", "auto")
        if engine == "onnxruntime" or options.get("precision") == "int8":
            raise EngineError(
                f"{model_path}: a segmentation model runs in PyTorch at fp32 or bf16 "
                "(--engine onnxruntime and --precision int8 are for classifiers)"
            )
    torch_device = resolve_device(device)
    options.setdefault("model_name", Path(model_path).name)
    if segmentation:
        from backend.models.deeplab import load_segmentation_model
        from backend.raster.segment import segment_with

        model, metadata = load_segmentation_model(model_path, device=torch_device)
        return segment_with(model, metadata, raster, out, device=torch_device, **options)
    model, metadata = load_classifier(model_path, device=torch_device)
    options.setdefault("model_path", model_path)
    return classify_with(model, metadata, raster, out, device=torch_device, **options)


def classify_with(
    model: torch.nn.Module,
    metadata,
    raster: str | os.PathLike,
    out: str | os.PathLike,
    *,
    probabilities: str | os.PathLike | bool | None = None,
    confidence: str | os.PathLike | bool | None = None,
    device: torch.device | str = "cpu",
    engine: str = "auto",
    progress: Progress | None = None,
    stats: TileStats | None = None,
    predict: BatchFunction | None = None,
    model_name: str = "",
    model_path: str | os.PathLike | None = None,
    **settings: Any,
) -> ClassifyResult:
    """Classify every output pixel of ``raster`` and write a paletted GeoTIFF with a QML style.

    Args:
        model: A classifier: float ``[B, C, T, T]`` (scaled pixels, see
            :func:`backend.radiometry.prescale`) → logits ``[B, K]``.
        metadata: Its model-file metadata (class names and colours, bands, tile,
            normalisation, ground resolution).
        raster: Input imagery (anything GDAL opens).
        out: Output GeoTIFF (uint8 classes, nodata 255, colour table); ``OUT.qml``
            is written beside it.
        probabilities: Also write class probabilities (float32, one band per class):
            True for ``OUT_probabilities.tif`` or a path.
        confidence: Also write the largest class probability of each pixel (float32,
            0 to 1, low where the map is unsure), with a colour-ramp style: True for
            ``OUT_confidence.tif`` or a path.
        device: Torch device of ``model``.
        engine: ``"auto"``, ``"torch"`` or ``"onnxruntime"`` (see
            :func:`backend.raster.runtime.choose_engine`); the choice and its reason are
            logged and returned.
        progress: Progress and cancellation.
        stats: Filled with counters and timings.
        predict: Replaces the PyTorch model call (pixels ``[B, T, T, C]`` → logits);
            for benchmarks against other runtimes.
        model_name: Recorded in the output's MODEL tag.
        model_path: The model file (ONNX Runtime runs its cached ONNX export; without
            it, ``auto`` uses PyTorch).
        settings: The run's :class:`~backend.raster.job.JobSettings` (``extent``,
            ``extent_crs``, ``bands``, ``tile``, ``stride``, ``batch_size``,
            ``resolution``, ``precision``). ``stride`` defaults to
            :func:`~backend.raster.grid.default_stride` (about an eighth of the tile and
            at least a few hundred output pixels); without the model's ground
            resolution, ``resolution="model"`` works at the raster's own (said in
            ``notes``); ONNX Runtime runs fp32 or int8.

    Returns:
        The paths written and per-class pixel counts.
    """
    job_settings = JobSettings.from_keywords("classify_with", settings)
    precision = job_settings.precision
    names = list(metadata.class_names)
    if not names:
        raise RasterInputError("the model file has no class names: is it a classifier?")
    if len(names) >= CLASS_NODATA:
        raise RasterInputError(
            f"at most {CLASS_NODATA - 1} classes fit a class raster, got {len(names)}"
        )
    colours = class_colours(names, metadata.class_colors)
    job = plan_model_job(raster, metadata, job_settings, detail=True)
    notes = [n for n in [resolution_note(job, job_settings.resolution, metadata.resolution_m)] if n]
    for note in notes:
        log.info("%s", note)
    warning = radiometry_note(job, metadata.normalization, job_settings.bands is not None)
    device = torch.device(device)
    predictor = None
    engine_name, choice = "custom", "a replaced model call"
    if predict is None:
        predictor = TilePredictor(
            model,
            metadata.normalization,
            device,
            "fp32" if engine == "onnxruntime" else precision,
            freeze=job.grid.cells >= FREEZE_MIN_TILES,
            agree=classes_agree,
            allow_int8=True,
            tiles=job.grid.cells,
        )
        onnx_plan = _onnx_plan(
            engine, device, precision, model_path, job.grid.cells, job_settings.batch()
        )
        engine_name, why = choose_engine(engine, device.type, predictor.precision, onnx_plan[0])
        if engine_name == "onnxruntime" and precision not in ("auto", "fp32", "int8"):
            raise EngineError(
                f"--engine onnxruntime runs fp32 or int8, not --precision {precision}"
            )
        if engine_name == "onnxruntime" and model_path is None:
            if engine == "onnxruntime":
                raise EngineError("--engine onnxruntime needs the model file's path")
            engine_name, why = "torch", "no model file to export for ONNX Runtime"
        predict = predictor
        if engine_name == "onnxruntime":
            try:
                predict = _onnx_predictor(
                    model_path,
                    metadata.normalization,
                    onnx_plan,
                    forced=precision == "int8",
                    tiles=job.grid.cells,
                    batch_size=job_settings.batch(),
                    raster_name=Path(raster).name,
                )
            except (OSError, OutputError) as err:
                if engine == "onnxruntime":
                    raise
                # the cache is a speed-up: a full disk or a read-only cache folder costs
                # speed, not the map (and the map's own writing reports a full disk)
                log.warning("ONNX Runtime not used: %s", err)
                engine_name, why = "torch", f"the ONNX export could not be written: {err}"
        if engine_name == "onnxruntime":
            choice = f"onnxruntime ({why}), {predict.choice}"
            predictor = None
        else:
            choice = f"torch ({why}), {predictor.choice}"
            if engine == "auto" and predictor.int8 and model_path is not None:
                # should int8 fail its check, ONNX Runtime's fp32 beats PyTorch's here
                predict = _SwitchOnRejectedInt8(predictor, model_path, metadata.normalization)
        log.info("engine %s", choice)
    files = ClassMapFiles.beside(out, probabilities, confidence)
    counts = np.zeros(len(names), np.int64)

    def convert(result: StripResult) -> list[np.ndarray]:
        rows, width = result.valid.shape
        classes = np.full((1, rows, width), CLASS_NODATA, np.uint8)
        if result.values is None:
            return files.strip_arrays(classes, None, len(names))
        logits = result.values
        if logits.shape[-1] != len(names):
            raise RasterInputError(
                f"the model gives {logits.shape[-1]} outputs for {len(names)} class names"
            )
        winners = logits.argmax(axis=-1).astype(np.uint8)
        classes[0][result.valid] = winners[result.valid]
        counts[:] += np.bincount(winners[result.valid], minlength=len(names))
        p = None
        if files.wants_probabilities:
            shifted = logits - logits.max(axis=-1, keepdims=True)
            p = np.exp(shifted)
            p /= p.sum(axis=-1, keepdims=True)
            p = np.moveaxis(p, -1, 0).astype(np.float32)
            p[:, ~result.valid] = np.nan
        return files.strip_arrays(classes, p, len(names))

    stats = stats if stats is not None else TileStats()
    started = time.perf_counter()
    run_to_rasters(
        job,
        predict,
        files.rasters(len(names)),
        convert,
        job_settings.batch(),
        progress,
        stats,
        lambda datasets: files.finish(datasets, names, colours, MODEL=model_name),
        lambda datasets: files.setup(datasets, colours),
        sidecars=lambda: files.styles(names, colours),
    )
    log.info(
        "classified %d tiles in %.1f s -> %s", stats.tiles, time.perf_counter() - started, files.out
    )
    used_engine, used_precision, used_choice = engine_name, "custom", choice
    int8_agreement = predictor.int8_agreement if predictor is not None else None
    if isinstance(predict, _SwitchOnRejectedInt8) and predict.switched:
        used_engine, used_precision, used_choice = "onnxruntime", "fp32", predict.choice
    elif predictor is not None:
        used_precision, used_choice = predictor.precision, f"torch ({why}), {predictor.choice}"
    elif isinstance(predict, OnnxInt8Predictor):
        used_precision, used_choice = predict.precision, f"onnxruntime ({why}), {predict.choice}"
        int8_agreement = predict.int8_agreement
    elif engine_name == "onnxruntime":
        used_precision = "fp32"
    return ClassifyResult(
        out=files.out,
        style=files.style,
        probabilities=files.probabilities,
        width=job.grid.out_width,
        height=job.grid.out_height,
        class_counts={n: int(c) for n, c in zip(names, counts, strict=True)},
        stats=stats,
        precision=used_precision,
        engine=used_engine,
        choice=used_choice,
        int8_agreement=int8_agreement,
        confidence=files.confidence,
        confidence_style=files.confidence_style,
        tile=job.grid.tile,
        stride=job.grid.stride,
        notes=notes,
        warnings=[warning] if warning else [],
    )
