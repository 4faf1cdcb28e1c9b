"""Train a classifier from a labelled vector layer over a raster, with an honest accuracy report.

labels -> samples -> tiles -> radiometry measured from the raster -> spatially
blocked folds -> for each fold, the trunk (audiovisual model file, ImageNet
file or random) trained by the shared training core (linear probe or
fine-tuning) -> pooled out-of-fold accuracy against the majority class (and,
with ``compare``, a random trunk, ImageNet, a pixel random forest and a pixel
logistic regression) -> the final model trained on every sample, saved as a
classifier model file that ``classify`` runs, with the report beside it. The
default head is hybrid: it sees the trunk's features and the centre pixel's bands.
"""

from __future__ import annotations

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

from backend.labels.features import read_labels
from backend.labels.sampling import (
    DEFAULT_CAP,
    DEFAULT_DENSITY,
    SKIP_NODATA,
    RasterFrame,
    read_tiles,
    sample_features,
)
from backend.labels.split import block_ids, blocked_folds, fold_summary
from backend.progress import NullProgress, Progress, SubProgress, check_cancelled
from backend.transfer.finetuning import TRAIN_MODES, fit_classifier, predict, training_settings
from backend.transfer.inits import InitSpec, build_classifier, check_init, parse_init
from backend.transfer.metrics import classification_metrics
from backend.transfer.probes import extract_features, fit_linear_probe

log = logging.getLogger(__name__)

#: default tile side in pixels of the working resolution
DEFAULT_TILE_PX = 32
#: default block side in tiles
DEFAULT_BLOCK_TILES = 4
#: trees of the pixel random forest
FOREST_TREES = 200
#: what the classifier's head sees: the trunk's pooled features, or those plus the
#: band values of the pixel under the sample (``hybrid``, the default)
HEADS = ("hybrid", "trunk")


def centre_window(tile_px: int) -> int:
    """Side of the centre window a hybrid head averages: the pixel under the sample.

    An odd tile has one centre pixel; an even tile's centre is the corner of four.
    """
    return 1 if tile_px % 2 else 2


@dataclass
class LabelsConfig:
    """Settings of :func:`train_from_labels` (the CLI's and the Processing algorithm's)."""

    raster: str
    labels: str
    field: str
    out: str
    #: ``random``, ``imagenet:PATH`` or an audiovisual/classifier model file
    init: str = "random"
    mode: str = "linear"
    #: ``hybrid``: the head sees the trunk's features and the centre pixel's bands;
    #: ``trunk``: the trunk's features only
    head: str = "hybrid"
    #: 1-based raster bands (``None``: all)
    bands: list[int] | None = None
    #: the layer of a multi-layer vector file (``None``: the first)
    layer: str | None = None
    #: the labels' CRS when the file has none (CSV) or to override it
    labels_crs: str | None = None
    #: tile side in ground metres (``None``: 32 pixels of the working resolution)
    tile_metres: float | None = None
    #: working resolution in metres per pixel (``None``: the raster's)
    resolution: float | None = None
    #: polygon sampling density (samples per km²) and the cap per polygon
    density: float = DEFAULT_DENSITY
    max_per_polygon: int = DEFAULT_CAP
    #: side of the split's blocks in metres (``None``: 4 tiles)
    block_metres: float | None = None
    folds: int = 4
    #: also run a random trunk, ImageNet (``imagenet`` set), a pixel random forest and a
    #: pixel logistic regression
    compare: bool = False
    #: an ImageNet state-dict file for ``compare``
    imagenet: str | None = None
    #: skip the cross-validation (only the final model)
    cross_validate: bool = True
    #: class value (or name) -> "#rrggbb", and class value -> display name (e.g. from a
    #: QGIS categorised renderer); other classes follow the land-cover colour rule
    class_colours: dict[str, str] | None = None
    class_labels: dict[str, str] | None = None
    seed: int = 0
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    #: trunk learning rate = ``lr`` x this, the same for every start (a fair ``--compare``)
    trunk_lr_factor: float = 1.0
    weight_decay: float = 1e-4
    l2: float | None = None
    precision: str = "auto"
    device: str = "auto"
    workers: int = 0

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.mode not in TRAIN_MODES:
            raise ValueError(f"--mode must be one of {', '.join(TRAIN_MODES)}, got {self.mode!r}")
        if self.head not in HEADS:
            raise ValueError(f"--head must be one of {', '.join(HEADS)}, got {self.head!r}")
        for name in ("tile_metres", "resolution", "block_metres"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
        if self.folds < 2:
            raise ValueError(f"--folds must be at least 2, got {self.folds}")
        for name in ("epochs", "batch_size", "max_per_polygon"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if not self.density > 0:
            raise ValueError(f"--density must be positive, got {self.density}")
        if not self.lr > 0:
            raise ValueError("--lr must be positive")
        if not str(self.out).endswith(".safetensors"):
            raise ValueError(f"--out {self.out}: a model file name ending in .safetensors")


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

    tiles: torch.Tensor  # [N, C, T, T] prescaled
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
        tile_metres = float(config.tile_metres or DEFAULT_TILE_PX * resolution_m)
        tile_px = max(8, round(tile_metres / resolution_m))
        block_metres = float(config.block_metres or DEFAULT_BLOCK_TILES * tile_metres)
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
    )


class _Trainer:
    """Trains one initialisation on subsets of the tiles (cached frozen features for linear)."""

    def __init__(
        self,
        spec: InitSpec,
        data: LabelledTiles,
        config: LabelsConfig,
        settings: _FitSettings,
        device: torch.device,
    ) -> None:
        self.spec, self.data, self.config = spec, data, config
        self.settings, self.device = settings, device
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
            centre_px=centre_window(self.data.tile_px) if self.config.head == "hybrid" else 0,
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
        return torch.utils.data.TensorDataset(self.data.tiles[i], self.data.labels[i])

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

    def predict_fold(self, train: np.ndarray, test: np.ndarray, progress: Progress) -> np.ndarray:
        """Train on ``train`` and predict ``test`` (indices)."""
        if self.config.mode == "linear":
            features = self.features(SubProgress(progress, 0.0, 0.8))
            weight, bias, _ = fit_linear_probe(
                features[train],
                self.data.labels[train],
                len(self.data.class_values),
                self.settings.l2,
                self.device,
                self.feature_scale(features.shape[1]),
            )
            return (features[test] @ weight.T + bias).argmax(1).numpy()
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


def _majority(labels: np.ndarray, folds: np.ndarray, k: int) -> np.ndarray:
    predicted = np.empty_like(labels)
    for fold in range(k):
        test = folds == fold
        train_labels = labels[~test]
        predicted[test] = np.bincount(train_labels).argmax() if train_labels.size else 0
    return predicted


def pixel_probe_predictions(
    centres: np.ndarray, labels: np.ndarray, folds: np.ndarray, k: int, num_classes: int
) -> np.ndarray:
    """Out-of-fold predictions of the linear probe on the centre pixels' band values alone.

    The hybrid head without the trunk: what the trunk's features add is the
    difference between the two.
    """
    values = torch.as_tensor(centres, dtype=torch.float32)
    target = torch.as_tensor(labels, dtype=torch.int64)
    predicted = np.empty_like(labels)
    for fold in range(k):
        test = folds == fold
        weight, bias, _ = fit_linear_probe(values[~test], target[~test], num_classes)
        predicted[test] = (values[test] @ weight.T + bias).argmax(1).numpy()
    return predicted


def random_forest_predictions(
    centres: np.ndarray, labels: np.ndarray, folds: np.ndarray, k: int, seed: int
) -> np.ndarray:
    """Out-of-fold predictions of a pixel-wise random forest on the centre pixels' band values.

    Raises:
        ValueError: scikit-learn is not installed.
    """
    try:
        from sklearn.ensemble import RandomForestClassifier
    except ImportError as exc:
        raise ValueError(
            "--compare needs scikit-learn for the pixel random forest "
            "(Debian: apt-get install python3-sklearn; pip: pip install scikit-learn)"
        ) from exc
    predicted = np.empty_like(labels)
    for fold in range(k):
        test = folds == fold
        forest = RandomForestClassifier(n_estimators=FOREST_TREES, random_state=seed, n_jobs=-1)
        forest.fit(centres[~test], labels[~test])
        predicted[test] = forest.predict(centres[test])
    return predicted


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
    from backend.train import git_commit

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
    trainers = [_Trainer(s, data, config, settings, device) for s in specs]
    methods: list[dict[str, Any]] = []
    folds = np.zeros(len(labels), dtype=np.int64)
    k = config.folds
    if config.cross_validate:
        folds = blocked_folds(data.blocks, k, config.seed, data.features, labels)
        cv = SubProgress(progress, 0.15, 0.8)
        runs = len(trainers) * k
        for t, trainer in enumerate(trainers):
            predicted = np.empty_like(labels)
            began = time.perf_counter()
            for fold in range(k):
                part = SubProgress(cv, (t * k + fold) / runs, (t * k + fold + 1) / runs)
                part.progress(0.0, f"{trainer.spec.label} fold {fold + 1}/{k}")
                check_cancelled(part)
                test = np.flatnonzero(folds == fold)
                train = np.flatnonzero(folds != fold)
                predicted[test] = trainer.predict_fold(train, test, part)
            name = f"{trainer.spec.label} ({config.mode})"
            methods.append(
                _method_report(name, predicted, labels, folds, names, time.perf_counter() - began)
                | {"init": trainer.spec.text, "init_kind": trainer.spec.kind, "head": config.head}
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
            _method_report("majority class", _majority(labels, folds, k), labels, folds, names, 0.0)
            | {"init": None, "init_kind": "majority"}
        )
    check_cancelled(progress)
    began = time.perf_counter()
    final = trainers[0].fit(np.arange(len(labels)), SubProgress(progress, 0.8, 0.97))
    final_seconds = time.perf_counter() - began
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
        "tile_px": data.tile_px,
        "tile_metres": data.tile_metres,
        "resolution_m": data.resolution_m,
        "density_per_km2": config.density,
        "max_per_polygon": config.max_per_polygon,
        "split": {
            "folds": k if config.cross_validate else 0,
            "block_metres": float(config.block_metres or DEFAULT_BLOCK_TILES * data.tile_metres),
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
        "tile_metres": data.tile_metres,
        **{
            f"cv_{m['init_kind'].replace(' ', '_')}_accuracy": m["overall_accuracy"]
            for m in methods
        },
        **trainers[0].extra,
    }
    metadata = classifier_metadata(
        final,
        names,
        colours,
        data.bands,
        data.tile_px,
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
    progress.progress(1.0, "saved")
    return LabelsResult(out, json_path, html_path, png_path if methods else None, report)
