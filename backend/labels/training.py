"""Train a classifier from a labelled vector layer over a raster, with an honest accuracy report.

labels -> samples -> tiles -> radiometry measured from the raster -> spatially
blocked folds -> for each fold, the trunk (audiovisual model file, ImageNet
file or random) trained by the shared training core (linear probe or
fine-tuning) -> pooled out-of-fold accuracy against the majority class (and,
with ``compare``, a random trunk, ImageNet, a pixel random forest and a pixel
logistic regression) -> the final model trained on every sample, saved as a
classifier model file that ``classify`` runs, with the report beside it. The
default head is hybrid: it sees the trunk's features and the centre pixel's bands.
With ``auto_tile`` (``--tile-metres auto``) the tile size is chosen among
:data:`TILE_CANDIDATES_PX` by an inner spatially blocked cross-validation of the
linear probe on frozen features: inside each outer training fold from that fold's
samples only (nested, so the accuracy stays honest), and for the final model from
every sample.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.labels.baselines import (
    FOREST_TREES,
    majority_predictions,
    pixel_probe_predictions,
    random_forest_predictions,
)
from backend.labels.config import (
    DEFAULT_BLOCK_TILES,
    DEFAULT_TILE_PX,
    MIN_TILE_PX,
    TILE_CANDIDATES_PX,
    LabelsConfig,
    centre_window,
)
from backend.labels.features import read_labels
from backend.labels.sampling import (
    SKIP_NODATA,
    RasterFrame,
    read_tiles,
    sample_features,
)
from backend.labels.split import block_ids, blocked_folds, fold_summary
from backend.progress import NullProgress, Progress, SubProgress, check_cancelled
from backend.raster.runtime import prepare_engine
from backend.transfer.finetuning import fit_classifier, predict, training_settings
from backend.transfer.inits import InitSpec, build_classifier, check_init, parse_init
from backend.transfer.metrics import classification_metrics
from backend.transfer.probes import extract_features, fit_linear_probe

log = logging.getLogger(__name__)


# the fields of transfer.finetuning.TrainSettings, a Protocol that cannot be built: this is
# the labels workflow's own settings object, copied per candidate tile side
@dataclass(frozen=True)
class _FitSettings:
    """The training core's settings for tiles of ``image_size`` pixels."""

    image_size: int
    epochs: int
    batch_size: int
    lr: float
    trunk_lr_factor: float | None
    weight_decay: float
    precision: str
    workers: int
    l2: float | None


@dataclass
class LabelledTiles:
    """The training data: tiles, classes, positions and folds."""

    tiles: torch.Tensor  # [N, C, T, T] prescaled, T = tile_px (the largest candidate)
    labels: torch.Tensor  # [N] int64
    centres: np.ndarray  # [N, C] raw centre-pixel values
    x: np.ndarray
    y: np.ndarray
    blocks: np.ndarray
    features: np.ndarray
    class_values: list[str]
    normalization: dict[str, Any]
    bands: list[int]
    tile_px: int
    tile_metres: float
    resolution_m: float
    skipped: Counter
    labels_total: int
    raster_dtype: str
    block_metres: float
    #: the tile sides (pixels) to choose among; ``[tile_px]`` for a fixed tile
    candidates_px: list[int] = field(default_factory=list)

    def tiles_at(self, tile_px: int) -> torch.Tensor:
        """The tiles at side ``tile_px``: the centre crop of :attr:`tiles` (samples are centred)."""
        return crop_centre(self.tiles, tile_px)


def crop_centre(tiles: torch.Tensor, tile_px: int) -> torch.Tensor:
    """The centre ``tile_px`` x ``tile_px`` of tiles ``[..., T, T]``.

    Tiles are read centred on their sample (the window starts at
    ``round(col - T / 2)``), so cropping ``(T - tile_px) / 2`` pixels off each side
    gives what reading at ``tile_px`` would, whenever that offset is even (true for
    :data:`TILE_CANDIDATES_PX`).
    """
    side = tiles.shape[-1]
    if not 0 < tile_px <= side:
        raise ValueError(f"cannot crop {tile_px} px tiles from {side} px tiles")
    if tile_px == side:
        return tiles
    start = (side - tile_px) // 2
    return tiles[..., start : start + tile_px, start : start + tile_px].contiguous()


def tile_candidates(raster_side_px: float) -> list[int]:
    """The candidates of :data:`TILE_CANDIDATES_PX` at least :data:`MIN_TILE_PX` and no larger
    than the raster's shorter side (in pixels of the working resolution); ``[]`` when none fits."""
    return [p for p in TILE_CANDIDATES_PX if MIN_TILE_PX <= p <= raster_side_px]


@dataclass
class LabelsResult:
    """What :func:`train_from_labels` wrote and measured."""

    model: Path
    report_json: Path
    report_html: Path
    confusion_png: Path | None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """One line: the model's out-of-fold accuracy against the majority class (and the rest)."""
        methods = self.report.get("methods", [])
        if not methods:
            return f"{self.model.name}: trained on {self.report.get('samples')} samples (no cross-validation)"
        parts = [f"{m['name']} {100 * m['overall_accuracy']:.1f} %" for m in methods]
        return f"{self.model.name}: overall accuracy (spatial folds) " + ", ".join(parts)


def _report_paths(out: Path) -> tuple[Path, Path, Path]:
    stem = out.with_suffix("")
    return (
        stem.with_name(stem.name + ".report.json"),
        stem.with_name(stem.name + ".report.html"),
        stem.with_name(stem.name + ".confusion.png"),
    )


def _sorted_classes(values: list[str], integers: bool) -> list[str]:
    unique = set(values)
    if integers:
        return sorted(unique, key=lambda v: int(v))
    return sorted(unique, key=str.lower)


def prepare_tiles(config: LabelsConfig, progress: Progress | None = None) -> LabelledTiles:
    """Read the labels, sample them, read their tiles and measure the raster's radiometry.

    Raises:
        FileNotFoundError: The raster or labels file does not exist.
        ValueError: Bad settings, unreadable files, or fewer than two classes left.
    """
    import rasterio
    import rasterio.errors

    from backend.radiometry import measure_band_statistics, prescale

    progress = progress or NullProgress()
    raster = Path(config.raster)
    if not raster.exists():
        raise FileNotFoundError(f"{raster}: raster not found")
    try:
        opened = rasterio.open(raster)
    except rasterio.errors.RasterioIOError as exc:
        raise ValueError(f"{raster}: not a raster GDAL can read ({exc})") from exc
    with opened as src:
        if src.crs is None:
            raise ValueError(f"{raster}: the raster has no coordinate reference system")
        bands = list(config.bands) if config.bands else list(range(1, src.count + 1))
        bad = [b for b in bands if not 1 <= b <= src.count]
        if bad:
            raise ValueError(f"--bands {bad}: the raster has bands 1 to {src.count}")
        frame = RasterFrame.of(src)
        unit = frame.metres_per_unit
        native_m = abs(src.transform.a) * unit
        resolution_m = float(config.resolution or native_m)
        base_tile_metres = float(config.tile_metres or DEFAULT_TILE_PX * resolution_m)
        candidates = []
        if config.auto_tile:
            side_m = min(src.width * abs(src.transform.a), src.height * abs(src.transform.e))
            candidates = tile_candidates(side_m * unit / resolution_m)
        if candidates:
            # read once at the largest candidate; the smaller ones are its centre crops
            tile_px = max(candidates)
            tile_metres = tile_px * resolution_m
        else:
            tile_metres = base_tile_metres
            tile_px = max(MIN_TILE_PX, round(tile_metres / resolution_m))
            candidates = [tile_px]
        # the blocks do not depend on the tile chosen: the folds stay the same
        block_metres = float(config.block_metres or DEFAULT_BLOCK_TILES * base_tile_metres)
        layer = read_labels(
            config.labels, config.field, src.crs.to_wkt(), config.layer, config.labels_crs
        )
        progress.progress(0.05, f"{len(layer.features)} labelled features")
        samples = sample_features(
            layer.features,
            frame,
            config.density,
            config.max_per_polygon,
            config.seed,
            progress,
        )
        tiles, centres, valid = read_tiles(
            src, samples, bands, tile_px, tile_metres / unit, SubProgress(progress, 0.1, 0.7)
        )
        raster_dtype = str(src.dtypes[bands[0] - 1])
    skipped = Counter(layer.skipped) + samples.skipped
    if (~valid).any():
        skipped[SKIP_NODATA] += int((~valid).sum())
    keep = np.flatnonzero(valid)
    values = [samples.values[i] for i in keep]
    class_values = _sorted_classes(values, layer.integer_classes)
    if len(class_values) < 2:
        raise ValueError(
            f"{config.labels}: {len(values)} usable samples of {len(class_values)} class(es) in "
            f"field {layer.field!r} over {raster.name} (skipped: {dict(skipped) or 'none'}); "
            "at least two classes are needed"
        )
    check_cancelled(progress)
    normalization = measure_band_statistics(raster, bands, seed=config.seed)
    progress.progress(0.8, "radiometry measured")
    index = {v: i for i, v in enumerate(class_values)}
    x, y = samples.x[keep], samples.y[keep]
    return LabelledTiles(
        tiles=prescale(tiles[keep], normalization).contiguous(),
        labels=torch.tensor([index[v] for v in values], dtype=torch.int64),
        centres=centres[keep],
        x=x,
        y=y,
        blocks=block_ids(x, y, block_metres / unit, (frame.left, frame.top)),
        features=samples.feature[keep],
        class_values=class_values,
        normalization=normalization,
        bands=bands,
        tile_px=tile_px,
        tile_metres=tile_metres,
        resolution_m=tile_metres / tile_px,
        skipped=skipped,
        labels_total=layer.total,
        raster_dtype=raster_dtype,
        block_metres=block_metres,
        candidates_px=candidates,
    )


class _Trainer:
    """Trains one initialisation at one tile size on subsets of the tiles.

    Frozen features are extracted once (for linear mode and for choosing the tile).
    """

    def __init__(
        self,
        spec: InitSpec,
        data: LabelledTiles,
        config: LabelsConfig,
        settings: _FitSettings,
        device: torch.device,
        tile_px: int | None = None,
    ) -> None:
        self.spec, self.data, self.config = spec, data, config
        self.tile_px = tile_px or data.tile_px
        self.tiles = data.tiles_at(self.tile_px)
        self.settings = dataclasses.replace(settings, image_size=self.tile_px)
        self.device = device
        self._features: torch.Tensor | None = None
        #: facts about the last fit (the probe's L2 strength)
        self.extra: dict[str, Any] = {}

    def build(self) -> Any:
        norm = self.data.normalization
        return build_classifier(
            self.spec,
            len(self.data.class_values),
            len(self.data.bands),
            norm["mean"],
            norm["std"],
            seed=self.config.seed,
            centre_px=centre_window(self.tile_px) if self.config.head == "hybrid" else 0,
        )

    def feature_scale(self, width: int) -> torch.Tensor | None:
        """The probe's weights of a hybrid head's two blocks of features.

        After standardisation the few centre-pixel band values are scaled up so that
        together they weigh as much as the many trunk features under the probe's L2
        penalty (each block's total variance is the same); ``None`` for a trunk head.
        """
        if self.config.head != "hybrid":
            return None
        bands = len(self.data.bands)
        scale = torch.ones(width, dtype=torch.float64)
        scale[width - bands :] = math.sqrt((width - bands) / bands)
        return scale

    def _dataset(self, idx: np.ndarray) -> torch.utils.data.TensorDataset:
        i = torch.as_tensor(idx, dtype=torch.int64)
        return torch.utils.data.TensorDataset(self.tiles[i], self.data.labels[i])

    def features(self, progress: Progress) -> torch.Tensor:
        if self._features is None:
            every = np.arange(len(self.data.labels))
            self._features, _ = extract_features(
                self.build(),
                self._dataset(every),
                self.device,
                self.settings.batch_size,
                self.settings.workers,
                progress,
            )
        return self._features

    def probe_predict(self, train: np.ndarray, test: np.ndarray, progress: Progress) -> np.ndarray:
        """The linear probe on frozen features: fitted on ``train``, predicting ``test``."""
        features = self.features(progress)
        weight, bias, _ = fit_linear_probe(
            features[train],
            self.data.labels[train],
            len(self.data.class_values),
            self.settings.l2,
            self.device,
            self.feature_scale(features.shape[1]),
        )
        return (features[test] @ weight.T + bias).argmax(1).numpy()

    def predict_fold(self, train: np.ndarray, test: np.ndarray, progress: Progress) -> np.ndarray:
        """Train on ``train`` and predict ``test`` (indices)."""
        if self.config.mode == "linear":
            return self.probe_predict(train, test, SubProgress(progress, 0.0, 0.8))
        model = self.fit(train, SubProgress(progress, 0.0, 0.9))
        predicted, _ = predict(
            model,
            self._dataset(test),
            self.device,
            self.settings.batch_size,
            self.settings.workers,
            SubProgress(progress, 0.9, 1.0),
        )
        return predicted.numpy()

    def fit(self, idx: np.ndarray, progress: Progress) -> Any:
        """A classifier trained on the samples at ``idx`` by the shared training core."""
        model = self.build()
        if self.config.mode == "linear" and self._features is not None:
            weight, bias, l2 = fit_linear_probe(
                self._features[idx],
                self.data.labels[idx],
                len(self.data.class_values),
                self.settings.l2,
                self.device,
                self.feature_scale(self._features.shape[1]),
            )
            with torch.no_grad():
                model.head.weight.copy_(weight)
                model.head.bias.copy_(bias)
            self.extra = {"l2": l2}
            return model.cpu().eval()
        self.extra = fit_classifier(
            model,
            self._dataset(idx),
            self.config.mode,
            self.settings,
            self.config.seed,
            self.device,
            color_augment=False,
            progress=progress,
        )
        return model.cpu().eval()


def choose_tile(
    trainers: dict[int, _Trainer],
    idx: np.ndarray,
    folds: int,
    seed: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Choose the tile side by spatially blocked CV of the linear probe on the samples ``idx``.

    Only the samples at ``idx`` (their blocks, polygons and labels) are used: inside
    an outer training fold, the outer test fold cannot influence the choice. Their
    blocks are dealt to ``folds`` inner folds (fewer when there are fewer groups of
    blocks); each candidate is scored by the pooled overall accuracy of the linear
    probe on its cached frozen features (the probe's L2 chosen inside each inner
    training fold); ties go to the smaller tile.

    Args:
        trainers: One trainer per candidate tile side (pixels), same initialisation.
        idx: The samples to choose from.
        folds: Inner folds wanted.
        seed: Deals the inner folds.
        progress: Asked about cancellation.

    Returns:
        ``{"chosen_px", "inner_folds", "accuracy": {px: accuracy}}`` (``accuracy``
        empty and the candidate nearest the default chosen when the samples lie in
        one group of blocks).
    """
    sizes = sorted(trainers)
    if len(sizes) == 1:
        return {"chosen_px": sizes[0], "inner_folds": 0, "accuracy": {}}
    data = next(iter(trainers.values())).data
    labels = data.labels.numpy()[idx]
    inner = None
    for k in range(folds, 1, -1):
        try:
            inner = blocked_folds(data.blocks[idx], k, seed, data.features[idx], labels)
            break
        except ValueError:
            continue
    if inner is None:
        nearest = min(sizes, key=lambda p: (abs(p - DEFAULT_TILE_PX), p))
        return {"chosen_px": nearest, "inner_folds": 0, "accuracy": {}}
    k = int(inner.max()) + 1
    scores: dict[int, float] = {}
    for px in sizes:
        check_cancelled(progress)
        predicted = np.empty_like(labels)
        for fold in range(k):
            test = inner == fold
            predicted[test] = trainers[px].probe_predict(
                idx[~test], idx[test], progress or NullProgress()
            )
        scores[px] = float((predicted == labels).mean())
    best = max(scores.values())
    chosen = min(p for p in sizes if scores[p] == best)
    return {"chosen_px": chosen, "inner_folds": k, "accuracy": scores}


def _choice_report(choice: dict[str, Any]) -> dict[str, Any]:
    """A tile choice for the JSON report (candidate sides as text keys)."""
    return {
        "chosen_px": choice["chosen_px"],
        "inner_folds": choice["inner_folds"],
        "accuracy": {str(p): round(a, 4) for p, a in choice["accuracy"].items()},
    }


def _method_report(
    name: str,
    predicted: np.ndarray,
    truth: np.ndarray,
    folds: np.ndarray,
    classes: list[str],
    seconds: float,
) -> dict[str, Any]:
    metrics = classification_metrics(truth, predicted, len(classes))
    per_fold = [
        float((predicted[folds == k] == truth[folds == k]).mean())
        for k in range(int(folds.max()) + 1)
        if (folds == k).any()
    ]
    return {
        "name": name,
        "overall_accuracy": metrics["accuracy"],
        "per_fold_accuracy": per_fold,
        "macro_f1": metrics["macro_f1"],
        "per_class": {
            c: {
                "precision": metrics["per_class_precision"][i],
                "recall": metrics["per_class_recall"][i],
                "f1": metrics["per_class_f1"][i],
                "support": metrics["support"][i],
            }
            for i, c in enumerate(classes)
        },
        "confusion": metrics["confusion"],
        "seconds": round(seconds, 2),
    }


def _class_styles(config: LabelsConfig, values: list[str]) -> tuple[list[str], list[str]]:
    """Display names and colours: the given ones (a QGIS renderer's), else the land-cover rule."""
    from backend.raster.style import class_colours
    from backend.transfer.colors import parse_hex_color

    labels = config.class_labels or {}
    names = [str(labels.get(v, v)) for v in values]
    given = config.class_colours or {}
    chosen = [given.get(v) or given.get(n) for v, n in zip(values, names, strict=True)]
    return names, class_colours(names, [parse_hex_color(c) if c else None for c in chosen])


def train_from_labels(config: LabelsConfig, progress: Progress | None = None) -> LabelsResult:
    """Train a classifier from labelled points/polygons over a raster and report its accuracy.

    Writes the classifier model file ``config.out`` and, beside it,
    ``<stem>.report.json``, ``<stem>.report.html`` and ``<stem>.confusion.png``.
    Nothing is written when the run fails or is cancelled.

    Args:
        config: The settings (see :class:`LabelsConfig`).
        progress: Receives progress and is asked about cancellation.

    Returns:
        The written paths and the report.

    Raises:
        FileNotFoundError: A missing raster, labels or weights file.
        ValueError: Bad settings or unusable inputs (the message says which).
        Cancelled: ``progress`` asked to stop.
    """
    from backend.device import resolve_device
    from backend.labels.report import write_report
    from backend.models.classifier import classifier_metadata, save_classifier
    from backend.radiometry import radiometry_warning
    from backend.run_records import git_commit

    config.validate()
    progress = progress or NullProgress()
    started = time.perf_counter()
    spec = parse_init(config.init)
    check_init(spec)
    specs = [spec]
    if config.compare:
        if spec.kind != "random":
            specs.append(parse_init("random"))
        if config.imagenet and spec.kind != "imagenet":
            specs.append(parse_init(f"imagenet:{config.imagenet}"))
        for extra in specs[1:]:
            check_init(extra)
    device = resolve_device(config.device)
    data = prepare_tiles(config, SubProgress(progress, 0.0, 0.15))
    sampling_seconds = time.perf_counter() - started
    classes = list(data.class_values)
    names, colours = _class_styles(config, classes)
    labels = data.labels.numpy()
    settings = _FitSettings(
        data.tile_px,
        config.epochs,
        config.batch_size,
        config.lr,
        config.trunk_lr_factor,
        config.weight_decay,
        config.precision,
        config.workers,
        config.l2,
    )
    # one trainer per initialisation and candidate tile side (one candidate unless auto)
    groups = [
        {px: _Trainer(s, data, config, settings, device, px) for px in data.candidates_px}
        for s in specs
    ]
    selecting = len(data.candidates_px) > 1
    methods: list[dict[str, Any]] = []
    folds = np.zeros(len(labels), dtype=np.int64)
    k = config.folds
    if config.cross_validate or selecting:
        folds = blocked_folds(data.blocks, k, config.seed, data.features, labels)
    if config.cross_validate:
        cv = SubProgress(progress, 0.15, 0.8)
        runs = len(groups) * k
        for t, group in enumerate(groups):
            predicted = np.empty_like(labels)
            began = time.perf_counter()
            chosen: list[dict[str, Any]] = []
            spec_t = specs[t]
            for fold in range(k):
                part = SubProgress(cv, (t * k + fold) / runs, (t * k + fold + 1) / runs)
                part.progress(0.0, f"{spec_t.label} fold {fold + 1}/{k}")
                check_cancelled(part)
                test = np.flatnonzero(folds == fold)
                train = np.flatnonzero(folds != fold)
                # nested: the tile is chosen from this fold's training samples only
                choice = choose_tile(group, train, k, config.seed, part)
                chosen.append({"fold": fold} | _choice_report(choice))
                predicted[test] = group[choice["chosen_px"]].predict_fold(train, test, part)
            name = f"{spec_t.label} ({config.mode})"
            methods.append(
                _method_report(name, predicted, labels, folds, names, time.perf_counter() - began)
                | {"init": spec_t.text, "init_kind": spec_t.kind, "head": config.head}
                | ({"tile_selection": chosen} if selecting else {})
            )
        if config.compare:
            began = time.perf_counter()
            predicted = random_forest_predictions(data.centres, labels, folds, k, config.seed)
            methods.append(
                _method_report(
                    "pixel random forest",
                    predicted,
                    labels,
                    folds,
                    names,
                    time.perf_counter() - began,
                )
                | {"init": None, "init_kind": "random forest", "trees": FOREST_TREES}
            )
            began = time.perf_counter()
            predicted = pixel_probe_predictions(data.centres, labels, folds, k, len(classes))
            methods.append(
                _method_report(
                    "pixel logistic regression",
                    predicted,
                    labels,
                    folds,
                    names,
                    time.perf_counter() - began,
                )
                | {"init": None, "init_kind": "pixel logistic regression"}
            )
        methods.append(
            _method_report(
                "majority class", majority_predictions(labels, folds, k), labels, folds, names, 0.0
            )
            | {"init": None, "init_kind": "majority"}
        )
    check_cancelled(progress)
    began = time.perf_counter()
    # the final model's tile: the same choice over every sample (the outer folds' deal)
    final_choice = choose_tile(groups[0], np.arange(len(labels)), k, config.seed, progress)
    final_trainer = groups[0][final_choice["chosen_px"]]
    final = final_trainer.fit(np.arange(len(labels)), SubProgress(progress, 0.8, 0.97))
    final_seconds = time.perf_counter() - began
    tile_px = final_trainer.tile_px
    tile_metres = tile_px * data.resolution_m
    check_cancelled(progress)
    out = Path(config.out)
    json_path, html_path, png_path = _report_paths(out)
    counts = Counter(labels.tolist())
    report: dict[str, Any] = {
        "raster": str(config.raster),
        "labels": str(config.labels),
        "field": config.field,
        "model": out.name,
        "init": spec.text,
        "init_kind": spec.kind,
        "mode": config.mode,
        "head": config.head,
        "classes": [
            {"value": v, "name": n, "color": c, "samples": int(counts.get(i, 0))}
            for i, (v, n, c) in enumerate(zip(classes, names, colours, strict=True))
        ],
        "features_read": data.labels_total,
        "samples": int(len(labels)),
        "skipped": dict(data.skipped),
        "bands": data.bands,
        "raster_dtype": data.raster_dtype,
        "tile_px": tile_px,
        "tile_metres": tile_metres,
        "resolution_m": data.resolution_m,
        "tile_selection": (
            {
                "candidates_px": data.candidates_px,
                "candidates_metres": [p * data.resolution_m for p in data.candidates_px],
                "criterion": "overall accuracy of the linear probe on frozen features, "
                "spatially blocked inner cross-validation; ties to the smaller tile",
                "final": _choice_report(final_choice),
                "per_fold": methods[0].get("tile_selection", []) if methods else [],
            }
            if selecting
            else None
        ),
        "density_per_km2": config.density,
        "max_per_polygon": config.max_per_polygon,
        "split": {
            "folds": k if config.cross_validate else 0,
            "block_metres": data.block_metres,
            "blocks": int(len(np.unique(data.blocks))),
            "per_fold": fold_summary(folds, labels, names) if config.cross_validate else [],
        },
        "methods": methods,
        "normalization": data.normalization,
        "settings": {"seed": config.seed, **training_settings(settings, config.mode)},
        "seconds": {
            "sampling": round(sampling_seconds, 2),
            "final_model": round(final_seconds, 2),
        },
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }
    warning = radiometry_warning(data.normalization, data.raster_dtype, len(data.bands))
    if warning:
        report["warning"] = warning
    provenance = {
        "command": "train-from-labels",
        "raster": Path(config.raster).name,
        "labels": Path(config.labels).name,
        "field": config.field,
        "init": spec.text,
        "mode": config.mode,
        "head": config.head,
        "class_values": classes,
        "samples": int(len(labels)),
        "tile_metres": tile_metres,
        **{
            f"cv_{m['init_kind'].replace(' ', '_')}_accuracy": m["overall_accuracy"]
            for m in methods
        },
        **final_trainer.extra,
    }
    if selecting:
        provenance["tile_candidates_px"] = data.candidates_px
    metadata = classifier_metadata(
        final,
        names,
        colours,
        data.bands,
        tile_px,
        resolution_m=data.resolution_m,
        provenance=provenance,
        normalization=data.normalization,
    )
    report["seconds"]["total"] = round(time.perf_counter() - started, 2)
    write_report(report, json_path, html_path, png_path if methods else None)
    try:
        save_classifier(out, final, metadata)
    except BaseException:
        for path in (json_path, html_path, png_path):
            path.unlink(missing_ok=True)
        raise
    prepare_engine(out)
    progress.progress(1.0, "saved")
    return LabelsResult(out, json_path, html_path, png_path if methods else None, report)
