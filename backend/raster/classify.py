"""Land-cover classification of a raster: one class per output pixel, as a styled GeoTIFF."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from backend.device import resolve_device
from backend.progress import Progress
from backend.raster.class_map import (
    CLASS_NODATA,
    ClassifyResult,
    build_overviews,
    resolve_resolution,
)
from backend.raster.engine import (
    BatchFunction,
    StripResult,
    TileStats,
)
from backend.raster.grid import Extent, RasterInputError
from backend.raster.job import (
    DEFAULT_BATCH,
    output_sibling,
    plan_job,
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
from backend.raster.style import class_colours, class_qml, hex_to_rgba, ramp_qml

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
                self._run = _onnx_predictor(self.model_path, self.normalization)
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
    (:func:`backend.raster.segment.segment_raster`, same options and result).

    Raises:
        FileNotFoundError: Raster or model missing.
        ModelFileError: The model file is not a classifier.
        RasterInputError: Bands, extent, tile or stride do not fit.
        RasterReadError: Part of the raster cannot be read.
        Cancelled: Cancelled through ``progress`` (nothing is left at ``out``).
    """
    from backend.models.classifier import load_classifier
    from backend.models.modelfile import load_model_metadata

    if load_model_metadata(model_path).kind == "segmentation":
        # per-pixel classes from a DeepLabv3+ model file (transfer --task segmentation)
        from backend.raster.segment import segment_raster

        engine = options.pop("engine", "auto")
        if engine == "onnxruntime" or options.get("precision") == "int8":
            raise EngineError(
                f"{model_path}: a segmentation model runs in PyTorch at fp32 or bf16 "
                "(--engine onnxruntime and --precision int8 are for classifiers)"
            )
        return segment_raster(raster, model_path, out, device=device, **options)
    torch_device = resolve_device(device)
    model, metadata = load_classifier(model_path, device=torch_device)
    options.setdefault("model_name", Path(model_path).name)
    options.setdefault("model_path", model_path)
    return classify_with(model, metadata, raster, out, device=torch_device, **options)


def classify_with(
    model: torch.nn.Module,
    metadata,
    raster: str | os.PathLike,
    out: str | os.PathLike,
    *,
    extent: Extent | None = None,
    extent_crs=None,
    bands: Sequence[int] | None = None,
    tile: int | None = None,
    stride: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    probabilities: str | os.PathLike | bool | None = None,
    confidence: str | os.PathLike | bool | None = None,
    resolution: float | str | None = "model",
    device: torch.device | str = "cpu",
    precision: str = "auto",
    engine: str = "auto",
    progress: Progress | None = None,
    stats: TileStats | None = None,
    predict: BatchFunction | None = None,
    model_name: str = "",
    model_path: str | os.PathLike | None = None,
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
        extent: Only this area (in ``extent_crs``, default the raster's CRS).
        extent_crs: CRS of ``extent``.
        bands: Raster bands for the model's inputs, in order (default: the model's).
        tile: Tile side in pixels (default: the model's).
        stride: Output pixel side in pixels (default: :func:`default_stride`, about an
            eighth of the tile and at least a few hundred output pixels).
        batch_size: Tiles per model call.
        probabilities: Also write class probabilities (float32, one band per class):
            True for ``OUT_probabilities.tif`` or a path.
        confidence: Also write the largest class probability of each pixel (float32,
            0 to 1, low where the map is unsure), with a colour-ramp style: True for
            ``OUT_confidence.tif`` or a path.
        resolution: ``"model"`` (resample to the model's ground resolution; the
            raster's own when the model's is unknown, said in ``notes``),
            ``"native"`` or metres per pixel.
        device: Torch device of ``model``.
        precision: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"int8"`` (see
            :class:`~backend.raster.predictor.TilePredictor`; ONNX Runtime runs fp32).
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

    Returns:
        The paths written and per-class pixel counts.
    """
    names = list(metadata.class_names)
    if not names:
        raise RasterInputError("the model file has no class names: is it a classifier?")
    if len(names) >= CLASS_NODATA:
        raise RasterInputError(
            f"at most {CLASS_NODATA - 1} classes fit a class raster, got {len(names)}"
        )
    colours = class_colours(names, metadata.class_colors)
    tile = tile or metadata.tile_px
    job = plan_job(
        raster,
        metadata.bands,
        tile,
        stride,
        resolve_resolution(resolution, metadata.resolution_m),
        bands,
        extent,
        extent_crs,
        batch_size,
        detail=True,
    )
    notes = [n for n in [resolution_note(job, resolution, metadata.resolution_m)] if n]
    for note in notes:
        log.info("%s", note)
    warning = radiometry_note(job, metadata.normalization, bands is not None)
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
        onnx_plan = _onnx_plan(engine, device, precision, model_path, job.grid.cells, batch_size)
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
            predict = _onnx_predictor(
                model_path,
                metadata.normalization,
                onnx_plan,
                forced=precision == "int8",
                tiles=job.grid.cells,
                batch_size=batch_size,
                raster_name=Path(raster).name,
            )
            choice = f"onnxruntime ({why}), {predict.choice}"
            predictor = None
        else:
            choice = f"torch ({why}), {predictor.choice}"
            if engine == "auto" and predictor.int8 and model_path is not None:
                # should int8 fail its check, ONNX Runtime's fp32 beats PyTorch's here
                predict = _SwitchOnRejectedInt8(predictor, model_path, metadata.normalization)
        log.info("engine %s", choice)
    out = Path(out)
    prob_path: Path | None = None
    if probabilities is True or probabilities == "auto":
        prob_path = output_sibling(out, "_probabilities.tif")
    elif probabilities:
        prob_path = Path(probabilities)
    conf_path: Path | None = None
    if confidence is True or confidence == "auto":
        conf_path = output_sibling(out, "_confidence.tif")
    elif confidence:
        conf_path = Path(confidence)
    counts = np.zeros(len(names), np.int64)
    outputs: list[tuple[Path, int, str, float | int]] = [(out, 1, "uint8", CLASS_NODATA)]
    if prob_path is not None:
        outputs.append((prob_path, len(names), "float32", float("nan")))
    if conf_path is not None:
        outputs.append((conf_path, 1, "float32", float("nan")))

    def convert(result: StripResult) -> list[np.ndarray]:
        rows, width = result.valid.shape
        classes = np.full((1, rows, width), CLASS_NODATA, np.uint8)
        arrays = [classes]
        if result.values is None:
            if prob_path is not None:
                arrays.append(np.full((len(names), rows, width), np.nan, np.float32))
            if conf_path is not None:
                arrays.append(np.full((1, rows, width), np.nan, np.float32))
            return arrays
        logits = result.values
        if logits.shape[-1] != len(names):
            raise RasterInputError(
                f"the model gives {logits.shape[-1]} outputs for {len(names)} class names"
            )
        winners = logits.argmax(axis=-1).astype(np.uint8)
        classes[0][result.valid] = winners[result.valid]
        counts[:] += np.bincount(winners[result.valid], minlength=len(names))
        if prob_path is not None or conf_path is not None:
            shifted = logits - logits.max(axis=-1, keepdims=True)
            p = np.exp(shifted)
            p /= p.sum(axis=-1, keepdims=True)
            p = np.moveaxis(p, -1, 0).astype(np.float32)
            p[:, ~result.valid] = np.nan
            if prob_path is not None:
                arrays.append(p)
            if conf_path is not None:
                arrays.append(p.max(axis=0, keepdims=True))
        return arrays

    def setup(datasets) -> None:
        datasets[0].write_colormap(1, {i: hex_to_rgba(c) for i, c in enumerate(colours)})

    def finish(datasets) -> None:
        classes = datasets[0]
        classes.set_band_description(1, "class: " + ", ".join(names))
        classes.update_tags(
            CLASS_NAMES=json.dumps(names), CLASS_COLORS=json.dumps(colours), MODEL=model_name
        )
        classes.update_tags(1, **{f"CLASS_{i}": name for i, name in enumerate(names)})
        build_overviews(classes, "mode")
        if prob_path is not None:
            probs = datasets[1]
            for i, name in enumerate(names, start=1):
                probs.set_band_description(i, f"probability: {name}")
            probs.update_tags(CLASS_NAMES=json.dumps(names))
            build_overviews(probs, "average")
        if conf_path is not None:
            conf = datasets[-1]
            conf.set_band_description(1, "confidence: largest class probability")
            build_overviews(conf, "average")

    stats = stats if stats is not None else TileStats()
    started = time.perf_counter()
    style = output_sibling(out, ".qml")
    conf_style = None
    if conf_path is not None:
        # from chance (1 / classes) to certain
        conf_style = output_sibling(conf_path, ".qml")

    def sidecars() -> dict[Path, str]:
        texts = {style: class_qml(names, colours)}
        if conf_style is not None:
            texts[conf_style] = ramp_qml(1.0 / len(names), 1.0)
        return texts

    run_to_rasters(
        job,
        predict,
        outputs,
        convert,
        batch_size,
        progress,
        stats,
        finish,
        setup,
        sidecars=sidecars,
    )
    log.info("classified %d tiles in %.1f s -> %s", stats.tiles, time.perf_counter() - started, out)
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
        out=out,
        style=style,
        probabilities=prob_path,
        width=job.grid.out_width,
        height=job.grid.out_height,
        class_counts={n: int(c) for n, c in zip(names, counts, strict=True)},
        stats=stats,
        precision=used_precision,
        engine=used_engine,
        choice=used_choice,
        int8_agreement=int8_agreement,
        confidence=conf_path,
        confidence_style=conf_style,
        tile=job.grid.tile,
        stride=job.grid.stride,
        notes=notes,
        warnings=[warning] if warning else [],
    )
