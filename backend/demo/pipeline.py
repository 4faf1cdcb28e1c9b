"""The demo pipeline: data, pretraining, retrieval, transfer, classifier, maps, sound index, report.

Every step writes under one output folder and is stamped in ``OUT/.steps.json``
(see :mod:`backend.demo.steps`) once its outputs are complete, so a rerun with
the same settings reuses it and a killed run redoes only what was unfinished.
The plugin's defaults point at three of the outputs: ``OUT/pretrain/model.safetensors``,
``OUT/classifier.safetensors`` and ``OUT/index/``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from backend.demo.steps import StepBook, StepOutcome, settings_key
from backend.progress import NullProgress, Progress

log = logging.getLogger(__name__)

#: where the plugin looks by default, relative to the demo's output folder
PRETRAINED_MODEL = "pretrain/model.safetensors"
CLASSIFIER_MODEL = "classifier.safetensors"
SOUND_INDEX = "index"
#: labels of the two rows of the transfer table
RANDOM_LABEL = "Random init"
PRETRAINED_LABEL = "Audiovisual pretrained"
#: recordings listed for the chosen extent
QUERY_TOP = 5
#: classes whose recordings make a telling sound map, most telling first
SOUNDMAP_CLASSES = ("water", "road", "beach", "urban", "forest", "farmland")
# marks an output folder as the pretraining run of one set of settings (for resuming)
_PRETRAIN_KEY_FILE = ".demo-step-key"

StepProgress = Callable[[str], AbstractContextManager[Progress]]


@dataclass(frozen=True)
class DemoSize:
    """How big the demo is: data, training lengths and map detail."""

    name: str
    #: image/sound pairs
    pairs: int
    #: pair tile side, pixels at 0.5 m
    tile_px: int
    #: scene-set images per class
    scenes_per_class: int
    #: scene raster side, pixels at 0.5 m
    scene_px: int
    #: pretraining
    image_size: int
    epochs: int
    batch_size: int
    loss: str
    #: transfer table and classifier (scene images resized to this)
    transfer_image_size: int
    transfer_seeds: int
    transfer_epochs: int
    classifier_epochs: int
    #: side of one class-map / sound-map cell on the ground, metres
    map_cell_m: float
    #: spectrogram windows per recording in the sound index
    index_windows: int


#: the sizes ``--size`` offers. ``full`` learns clearly in under ten minutes on a
#: two-core CPU; ``tiny`` runs every step in about a minute, for CI.
SIZES: dict[str, DemoSize] = {
    "full": DemoSize(
        name="full",
        pairs=800,
        tile_px=256,
        scenes_per_class=40,
        scene_px=1024,
        image_size=96,
        epochs=10,
        batch_size=32,
        loss="infonce",
        transfer_image_size=64,
        transfer_seeds=3,
        transfer_epochs=8,
        classifier_epochs=10,
        map_cell_m=16.0,
        index_windows=4,
    ),
    "tiny": DemoSize(
        name="tiny",
        pairs=96,
        tile_px=128,
        scenes_per_class=6,
        scene_px=256,
        image_size=64,
        epochs=2,
        batch_size=16,
        loss="infonce",
        transfer_image_size=48,
        transfer_seeds=1,
        transfer_epochs=1,
        classifier_epochs=1,
        map_cell_m=16.0,
        index_windows=2,
    ),
}
SOURCES = ("procedural", "real")


@dataclass
class DemoConfig:
    """Settings of one demo run (``python -m backend demo``)."""

    out: Path
    size: str = "full"
    #: ``procedural`` (generated here) or ``real`` (imagery and recordings from packages)
    source: str = "procedural"
    #: overrides of the size's pairs and pretraining epochs
    pairs: int | None = None
    epochs: int | None = None
    seed: int = 0
    device: str = "auto"
    #: data-loading processes of pretraining and threads of data generation (None: automatic)
    workers: int | None = None
    #: redo every step
    fresh: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.size not in SIZES:
            raise ValueError(f"--size must be one of {', '.join(SIZES)}, got {self.size!r}")
        if self.source not in SOURCES:
            raise ValueError(f"--source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        for name in ("pairs", "epochs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be at least 1, got {value}")
        if self.seed < 0:
            raise ValueError(f"--seed must not be negative, got {self.seed}")
        if self.workers is not None and self.workers < 0:
            raise ValueError(f"--workers must not be negative, got {self.workers}")

    def resolved_size(self) -> DemoSize:
        """The size with ``--pairs`` and ``--epochs`` applied."""
        size = SIZES[self.size]
        if self.pairs is not None:
            size = replace(size, pairs=self.pairs)
        if self.epochs is not None:
            size = replace(size, epochs=self.epochs)
        return size


@dataclass
class _Context:
    """What the steps share."""

    config: DemoConfig
    size: DemoSize
    out: Path
    book: StepBook
    step_progress: StepProgress
    device: str
    results: dict[str, StepOutcome] = field(default_factory=dict)
    #: CPU threads each step run in this session was given
    threads: dict[str, int] = field(default_factory=dict)

    @property
    def data(self) -> Path:
        return self.out / "data"

    @property
    def pairs_dir(self) -> Path:
        return self.data / "pairs"

    @property
    def scene_tif(self) -> Path:
        return self.data / "scene.tif"

    @property
    def labels_tif(self) -> Path:
        return self.data / "scene_labels.tif"

    @property
    def model(self) -> Path:
        return self.out / PRETRAINED_MODEL

    @property
    def classifier(self) -> Path:
        return self.out / CLASSIFIER_MODEL

    def after(self, *steps: str) -> dict[str, str | None]:
        """The run ids of the steps a step reads from (part of its settings)."""
        return {name: self.book.run_id(name) for name in steps}

    def result(self, name: str) -> dict[str, Any]:
        return self.results[name].result


def _null_step_progress(title: str) -> AbstractContextManager[Progress]:
    return contextlib.nullcontext(NullProgress())


def free_cpus(samples: int = 5, interval_s: float = 0.04) -> int:
    """CPUs that other processes are not keeping busy right now.

    Counts runnable tasks (``/proc/loadavg``) a few times, minus the thread asking.
    Where it cannot tell, every CPU counts as free.
    """
    cpus = os.cpu_count() or 1
    counts = []
    try:
        for _ in range(samples):
            fields = Path("/proc/loadavg").read_text(encoding="ascii").split()
            counts.append(int(fields[3].split("/")[0]) - 1)
            time.sleep(interval_s)
    except (OSError, ValueError, IndexError):
        return cpus
    busy = sorted(counts)[len(counts) // 2]
    return max(1, min(cpus, cpus - busy))


def _fit_cpu_threads(device: str) -> int:
    """Use only the CPUs nobody else is using, for the next step (CPU runs only).

    A team of compute threads waits for its slowest member at every layer; with a
    core shared with another busy process, two threads on two cores ran 5-20 times
    slower than one (measured on the two-core development machine).
    """
    import torch

    if not device.startswith("cpu"):
        return torch.get_num_threads()
    threads = free_cpus()
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


# --------------------------------------------------------------------------- steps


def _step_data(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """1. Generate the procedural data (or fetch the real data) into OUT/data."""
    from backend.data.demo import make_demo_data

    size = ctx.size
    if ctx.config.source == "real":
        try:
            from backend.data.real_demo import make_real_demo_data
        except ModuleNotFoundError as error:
            if error.name != "backend.data.real_demo":
                raise
            raise ValueError(
                "--source real needs backend.data.real_demo, which this installation lacks; "
                "use --source procedural"
            ) from None
        summary = make_real_demo_data(ctx.data, cache=None, seed=ctx.config.seed, progress=progress)
    else:
        summary = make_demo_data(
            ctx.data,
            pairs=size.pairs,
            seed=ctx.config.seed,
            tile_px=size.tile_px,
            scenes_per_class=size.scenes_per_class,
            scene_tif_px=size.scene_px,
            progress=progress,
            workers=ctx.config.workers or None,
        )
    tile_px = _tile_side(summary.pairs_dir)
    info = summary.pairs_dir / "dataset.json"
    if not info.exists():
        from backend.data.build_pairs import write_dataset_info

        # pretraining copies the tiles' ground resolution into the model file
        write_dataset_info(
            summary.pairs_dir, summary.ground_resolution_m, tile_px, source=ctx.config.source
        )
    return {
        "pairs": summary.pairs,
        "scenes": summary.scenes,
        "class_counts": dict(summary.class_counts),
        "ground_resolution_m": summary.ground_resolution_m,
        "tile_px": tile_px,
        "scene_px": _raster_side(summary.scene_tif),
    }


def _tile_side(pairs_dir: Path) -> int:
    from PIL import Image

    first = next(iter(sorted((pairs_dir / "images").glob("*.jpg"))), None)
    if first is None:
        raise ValueError(f"{pairs_dir}: no images")
    with Image.open(first) as image:
        return min(image.size)


def _raster_side(path: Path) -> int:
    import rasterio

    with rasterio.open(path) as dataset:
        return max(dataset.width, dataset.height)


def _step_spectrograms(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """2. Decode every recording once into the log-mel cache."""
    from backend.data.soundingearth import prepare_spectrograms

    report = prepare_spectrograms(
        ctx.pairs_dir, progress=progress, workers=max(1, ctx.config.workers or 2)
    )
    return {"usable": len(report.pairs), "skipped": report.summary()}


def model_resolution_m(ground_m: float, tile_px: int, image_size: int) -> float:
    """Ground metres per pixel of what a pretrained image encoder saw (see ``backend.train``)."""
    from backend.train import encoder_resolution_m

    return encoder_resolution_m(ground_m, tile_px, image_size)


def _record_resolution(model_path: Path, resolution_m: float) -> None:
    """Make the model file state the ground resolution its image encoder learned at.

    The raster engine resamples imagery to this resolution. Pretraining derives it
    assuming tiles of at least ``TILE_CONTEXT_PX`` pixels; the demo's smaller tiles
    cover less ground, so the file is corrected when the two disagree.
    """
    from backend.models.modelfile import load_model_file, save_model_file

    state, metadata = load_model_file(model_path)
    if metadata.resolution_m and math.isclose(metadata.resolution_m, resolution_m, rel_tol=1e-6):
        return
    metadata.resolution_m = resolution_m
    save_model_file(model_path, state, metadata)


def _pretrain_config(ctx: _Context):
    from backend.train import PretrainConfig, default_workers

    size = ctx.size
    return PretrainConfig(
        data=str(ctx.pairs_dir),
        out=str(ctx.out / "pretrain"),
        epochs=size.epochs,
        batch_size=size.batch_size,
        image_size=size.image_size,
        loss=size.loss,
        device=ctx.device,
        workers=default_workers() if ctx.config.workers is None else ctx.config.workers,
        seed=ctx.config.seed,
        # resuming needs only the newest; each holds the whole optimizer state
        keep_checkpoints=1,
    )


def _step_pretrain(ctx: _Context, progress: Progress, key: str) -> dict[str, Any]:
    """3. Pretrain the image and audio encoders on the pairs (resumes a killed run)."""
    from backend.checkpoint import latest_checkpoint
    from backend.train import pretrain

    run = ctx.out / "pretrain"
    marker = run / _PRETRAIN_KEY_FILE
    resume = (
        marker.is_file()
        and marker.read_text(encoding="utf-8").strip() == key
        and latest_checkpoint(run / "checkpoints") is not None
    )
    if not resume and run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True, exist_ok=True)
    marker.write_text(key + "\n", encoding="utf-8")
    config = _pretrain_config(ctx)
    result = pretrain(config, resume=resume, progress=progress)
    data = ctx.result("data")
    resolution = model_resolution_m(
        data["ground_resolution_m"], data["tile_px"], ctx.size.image_size
    )
    _record_resolution(result.model_path, resolution)
    # the demo needs only the model file; checkpoints hold the optimizer state too
    shutil.rmtree(run / "checkpoints", ignore_errors=True)
    rows = [r for r in result.metrics if r.get("train_loss") is not None]
    speeds = [r["pairs_per_s"] for r in rows[1:] if r.get("pairs_per_s")]
    return {
        "loss": config.loss,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "image_size": config.image_size,
        "final_train_loss": rows[-1]["train_loss"] if rows else None,
        "pairs_per_s": sum(speeds) / len(speeds) if speeds else None,
        "resolution_m": resolution,
        "val_curve": [
            {
                "epoch": r["epoch"],
                "i2s_median_rank": r.get("val_i2s_median_rank"),
                "s2i_median_rank": r.get("val_s2i_median_rank"),
                "train_loss": r.get("train_loss"),
            }
            for r in result.metrics
        ],
        "val_n": result.metrics[-1].get("val_n") if result.metrics else None,
    }


#: retrieval figures shown in the report (both directions)
RETRIEVAL_KEYS = ("R@1", "R@5", "R@10", "median_rank", "D@1", "D@10")
#: the paper convention's figures kept in the summary (retrieval/MODEL/paper/DIRECTION/KEY)
PAPER_RETRIEVAL_KEYS = ("R@10", "R@100", "median_rank")


def untrained_model(ctx: _Context):
    """The pretraining model before its first step: same architecture, same seed."""
    import torch

    from backend.models.encoders import AudiovisualModel

    config = _pretrain_config(ctx)
    torch.manual_seed(config.seed)
    return AudiovisualModel(
        config.image_arch, config.audio_arch, config.embed_dim, image_weights=config.image_weights
    )


def _step_retrieval(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """4. Retrieval on the test split: pretrained, untrained (same seed) and chance."""
    import numpy as np

    from backend.data.soundingearth import scan_pairs
    from backend.demo.scoring import chance_retrieval
    from backend.device import resolve_device
    from backend.evaluate import evaluate, retrieval_report
    from backend.progress import SubProgress

    pretrained = evaluate(
        ctx.pairs_dir,
        ctx.model,
        split="test",
        device=ctx.device,
        progress=SubProgress(progress, 0.0, 0.5),
    )
    pairs = scan_pairs(ctx.pairs_dir, split="test").pairs
    device = resolve_device(ctx.device)
    untrained = retrieval_report(
        untrained_model(ctx).to(device),
        pairs,
        ctx.size.image_size,
        device=device,
        progress=SubProgress(progress, 0.5, 0.95),
    )
    lonlat = np.array([[p.recording.longitude, p.recording.latitude] for p in pairs])
    chance = chance_retrieval(lonlat, seed=ctx.config.seed)
    progress.progress(1.0, f"{len(pairs)} test pairs")

    def keep(report: dict[str, Any]) -> dict[str, Any]:
        # top-k figures per direction, the paper convention's under "paper"
        directions = ("image_to_sound", "sound_to_image")
        kept: dict[str, Any] = {
            d: {k: report["topk"][d][k] for k in RETRIEVAL_KEYS} for d in directions
        }
        kept["paper"] = {
            d: {k: report["paper"][d][k] for k in PAPER_RETRIEVAL_KEYS} for d in directions
        }
        return kept

    result = {
        "n": len(pairs),
        "split": "test",
        "pretrained": keep(pretrained),
        "untrained": keep(untrained),
        "chance": keep(chance),
    }
    from backend.atomic import atomic_write_text

    atomic_write_text(ctx.out / "retrieval.json", json.dumps(result, indent=2) + "\n")
    return result


def _transfer_config(ctx: _Context, seeds: int, epochs: int):
    from backend.transfer import TransferConfig

    return TransferConfig(
        scenes=str(ctx.data / "scenes"),
        image_size=ctx.size.transfer_image_size,
        seeds=seeds,
        first_seed=ctx.config.seed,
        epochs=epochs,
        device=ctx.device,
        # scene images are small: loading in the main process beats starting workers
        workers=0,
    )


def _step_transfer(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """5. Transfer table: random and pretrained trunks, linear probe and fine-tuning."""
    from backend.transfer import transfer_table

    out = ctx.out / "transfer"
    if out.exists():
        shutil.rmtree(out)
    config = _transfer_config(ctx, ctx.size.transfer_seeds, ctx.size.transfer_epochs)
    table = transfer_table(
        config,
        [f"{RANDOM_LABEL}=random", f"{PRETRAINED_LABEL}={ctx.model}"],
        out,
        ["linear", "finetune"],
        progress=progress,
    )
    rows: dict[str, dict[str, Any]] = {}
    for result in table["results"]:
        rows.setdefault(result["init_label"], {})[result["mode"]] = {
            "mean": result["accuracy"]["mean"],
            "std": result["accuracy"]["std"],
            "runs": [r["accuracy"] for r in result["runs"]],
        }
    first = table["results"][0]
    return {
        "rows": rows,
        "seeds": config.seeds,
        "epochs": config.epochs,
        "image_size": config.image_size,
        "n_train": first["n_train"],
        "n_test": first["n_test"],
        "classes": first["class_names"],
        "table_md": "transfer/table.md",
    }


def _step_classifier(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """6. Fine-tune the pretrained trunk into the classifier the plugin uses."""
    from backend.transfer import train_classifier

    config = _transfer_config(ctx, 1, ctx.size.classifier_epochs)
    result = train_classifier(
        config,
        str(ctx.model),
        ctx.classifier,
        mode="finetune",
        resolution_m=ctx.result("data")["ground_resolution_m"],
        progress=progress,
    )
    meta = result.metadata
    return {
        "test_accuracy": result.test_metrics["accuracy"] if result.test_metrics else None,
        "class_names": list(meta.class_names),
        "class_colors": list(meta.class_colors or []),
        "tile_px": meta.tile_px,
        "resolution_m": meta.resolution_m,
        "epochs": config.epochs,
    }


#: a map cell is at least this fraction of a tile's side: finer cells cost many more
#: tiles (each cell is one tile) for little more detail
_MIN_CELL_PER_TILE = 1 / 6


def _stride(cell_m: float, resolution_m: float | None, tile_px: int) -> int:
    """Output-pixel side in model pixels for cells of about ``cell_m`` metres."""
    if not resolution_m:
        return tile_px
    wanted = round(cell_m / resolution_m)
    return max(1, min(tile_px, max(wanted, int(tile_px * _MIN_CELL_PER_TILE))))


def _map_cell_m(ctx: _Context) -> float:
    """The map cell side: the size's, but no finer than the scene raster's own pixels
    nor than the data's ``suggested_map_cell_m`` (classes.json; the real data's 30 m
    Landsat scene would otherwise need a tile per pixel)."""
    import rasterio

    with rasterio.open(ctx.scene_tif) as dataset:
        pixel_m = abs(dataset.transform.a) if dataset.crs is not None else 0.0
    suggested = 0.0
    classes_json = ctx.data / "classes.json"
    if classes_json.is_file():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            suggested = float(json.loads(classes_json.read_text()).get("suggested_map_cell_m") or 0)
    return max(ctx.size.map_cell_m, pixel_m, suggested)


def _step_classify(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """7. Classify the scene raster and score it against the ground truth."""
    from backend.demo.scoring import class_map_accuracy, read_class_list
    from backend.raster.classify import classify_raster

    classifier = ctx.result("classifier")
    stride = _stride(_map_cell_m(ctx), classifier["resolution_m"], classifier["tile_px"])
    result = classify_raster(
        ctx.scene_tif,
        ctx.classifier,
        ctx.out / "classes.tif",
        stride=stride,
        device=ctx.device,
        progress=progress,
    )
    label_names, _ = read_class_list(ctx.data / "classes.json")
    accuracy = class_map_accuracy(result.out, ctx.labels_tif, label_names)
    return {
        "width": result.width,
        "height": result.height,
        "stride_px": stride,
        "cell_m": stride * (classifier["resolution_m"] or 0.0) or None,
        "tile_m": classifier["tile_px"] * (classifier["resolution_m"] or 0.0) or None,
        "class_counts": result.class_counts,
        **accuracy,
        "method": (
            "each output cell against the majority ground-truth label of the pixels it covers"
        ),
    }


def _step_index(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """8. Embed every recording into the sound index."""
    from backend.index import build_index

    summary = build_index(
        ctx.pairs_dir,
        ctx.model,
        ctx.out / SOUND_INDEX,
        device=ctx.device,
        max_windows=ctx.size.index_windows,
        workers=max(1, ctx.config.workers or 2),
        progress=progress,
    )
    return {"count": summary.count, "skipped": len(summary.skipped)}


def _read_labels(labels_csv: Path) -> dict[int, str]:
    with open(labels_csv, encoding="utf-8", newline="") as handle:
        return {int(row["key"]): row["class"] for row in csv.DictReader(handle)}


def _step_query(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """9. The recordings that sound most like one extent of the scene."""
    from backend.demo.scoring import purest_window, read_class_list
    from backend.index import query_extent, write_query_json
    from backend.raster.grid import Extent

    pretrain = ctx.result("pretrain")
    side_m = ctx.size.image_size * pretrain["resolution_m"]
    label_names, _ = read_class_list(ctx.data / "classes.json")
    window = purest_window(ctx.labels_tif, label_names, side_m)
    progress.progress(0.1, f"extent: {window['class']} ({100 * window['share']:.0f} %)")
    extent = Extent(*window["extent"])
    result = query_extent(
        ctx.out / SOUND_INDEX,
        ctx.model,
        ctx.scene_tif,
        extent,
        top=QUERY_TOP,
        device=ctx.device,
        progress=progress,
    )
    labels = _read_labels(ctx.data / "labels.csv")
    write_query_json(
        ctx.out / "query.json",
        result,
        raster=str(ctx.scene_tif),
        extent=list(extent.as_tuple()),
        crs=window["crs"],
        index=str(ctx.out / SOUND_INDEX),
        extent_class=window["class"],
        extent_class_share=window["share"],
    )
    matches = []
    for match in result.matches:
        item = asdict(match)
        item["class"] = labels.get(match.key)
        matches.append(item)
    return {
        "extent": window["extent"],
        "crs": window["crs"],
        "class": window["class"],
        "class_share": window["share"],
        "side_m": side_m,
        "tiles": result.tiles,
        "matches": matches,
        "same_class": sum(m["class"] == window["class"] for m in matches),
    }


def _choose_recording(ctx: _Context) -> dict[str, Any]:
    """A test-split recording of the most telling class present (water first)."""
    from backend.data.soundingearth import scan_pairs

    labels = _read_labels(ctx.data / "labels.csv")
    pairs = scan_pairs(ctx.pairs_dir, split="test").pairs
    by_class: dict[str, list] = {}
    for pair in pairs:
        if pair.audio is not None:
            by_class.setdefault(labels.get(pair.recording.key, ""), []).append(pair)
    order = [c for c in SOUNDMAP_CLASSES if c in by_class] + sorted(by_class)
    if not order:
        raise ValueError(f"{ctx.pairs_dir}: no test recording with audio for the sound map")
    pair = by_class[order[0]][0]
    return {
        "key": pair.recording.key,
        "class": order[0],
        "title": pair.recording.title,
        "creator": pair.recording.creator,
        "licence": pair.recording.licenseurl,
        "file": str(pair.audio),
    }


def _step_soundmap(ctx: _Context, progress: Progress) -> dict[str, Any]:
    """10. Where on the scene one recording belongs."""
    from backend.demo.scoring import read_class_list, similarity_by_class
    from backend.raster.soundmap import soundmap_raster

    recording = _choose_recording(ctx)
    pretrain = ctx.result("pretrain")
    stride = _stride(_map_cell_m(ctx), pretrain["resolution_m"], ctx.size.image_size)
    result = soundmap_raster(
        ctx.scene_tif,
        ctx.model,
        recording["file"],
        ctx.out / "soundmap.tif",
        stride=stride,
        device=ctx.device,
        progress=progress,
    )
    label_names, _ = read_class_list(ctx.data / "classes.json")
    means = similarity_by_class(result.out, ctx.labels_tif, label_names)
    return {
        "recording": recording,
        "minimum": result.minimum,
        "maximum": result.maximum,
        "stride_px": stride,
        "mean_similarity_by_class": means,
        "best_class": max(means, key=means.get) if means else None,
    }


def _step_report(ctx: _Context, progress: Progress, summary: dict[str, Any]) -> dict[str, Any]:
    """11. summary.json, report.html and the audio excerpts beside it."""
    from backend.atomic import atomic_write_text
    from backend.demo.report import write_report

    atomic_write_text(ctx.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_report(ctx.out, summary, progress=progress)
    return {"report": "report.html", "summary": "summary.json"}


# --------------------------------------------------------------------------- the run


#: (name, title) of every step, in order
STEPS: tuple[tuple[str, str], ...] = (
    ("data", "demo data"),
    ("spectrograms", "spectrograms"),
    ("pretrain", "pretrain"),
    ("retrieval", "retrieval"),
    ("transfer", "transfer table"),
    ("classifier", "classifier"),
    ("classify", "class map"),
    ("index", "sound index"),
    ("query", "sounds here"),
    ("soundmap", "sound map"),
    ("report", "report"),
)


def _settings(ctx: _Context, name: str) -> tuple[dict[str, Any], list[str]]:
    """A step's settings (with the runs it reads from) and its outputs."""
    size, config = ctx.size, ctx.config
    if name == "data":
        if config.source == "real":
            own: dict[str, Any] = {"source": "real", "seed": config.seed}
        else:
            own = {
                "source": "procedural",
                "seed": config.seed,
                **{k: getattr(size, k) for k in ("pairs", "tile_px", "scenes_per_class")},
                "scene_px": size.scene_px,
            }
        return own, [
            "data/pairs/metadata.csv",
            "data/pairs/dataset.json",
            "data/labels.csv",
            "data/scenes",
            "data/scene.tif",
            "data/scene_labels.tif",
            "data/classes.json",
        ]
    if name == "spectrograms":
        return {"after": ctx.after("data")}, ["data/pairs/cache"]
    if name == "pretrain":
        own = asdict(_pretrain_config(ctx))
        for where in ("workers", "device", "out", "data", "keep_checkpoints"):
            own.pop(where)
        return {**own, "after": ctx.after("data", "spectrograms")}, [PRETRAINED_MODEL]
    if name == "retrieval":
        return {"after": ctx.after("pretrain")}, ["retrieval.json"]
    if name == "transfer":
        own = {
            k: getattr(size, k)
            for k in ("transfer_image_size", "transfer_seeds", "transfer_epochs")
        }
        return {**own, "after": ctx.after("data", "pretrain")}, ["transfer/table.json"]
    if name == "classifier":
        own = {"epochs": size.classifier_epochs, "image_size": size.transfer_image_size}
        return {**own, "after": ctx.after("data", "pretrain")}, [CLASSIFIER_MODEL]
    if name == "classify":
        own = {"cell_m": size.map_cell_m, "min_cell_per_tile": _MIN_CELL_PER_TILE}
        return {**own, "after": ctx.after("data", "classifier")}, ["classes.tif", "classes.qml"]
    if name == "index":
        own = {"windows": size.index_windows}
        return {**own, "after": ctx.after("spectrograms", "pretrain")}, [SOUND_INDEX]
    if name == "query":
        own = {"top": QUERY_TOP}
        return {**own, "after": ctx.after("index")}, ["query.json"]
    if name == "soundmap":
        own = {"cell_m": size.map_cell_m, "min_cell_per_tile": _MIN_CELL_PER_TILE}
        return {**own, "after": ctx.after("data", "pretrain")}, ["soundmap.tif"]
    if name == "report":
        steps = [n for n, _ in STEPS if n != "report"]
        return {"after": ctx.after(*steps), "report_version": _report_version()}, [
            "summary.json",
            "report.html",
        ]
    raise KeyError(name)


def _report_version() -> str:
    """A hash of the report code, so a changed report is re-rendered."""
    from backend.demo import figures, report

    text = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (report, figures))
    return settings_key({"code": text})


def _summary(ctx: _Context) -> dict[str, Any]:
    """Every key figure and path, for summary.json and the report."""
    out = ctx.out
    timings = {name: ctx.results[name].seconds for name, _ in STEPS if name in ctx.results}
    summary: dict[str, Any] = {
        "size": ctx.size.name,
        "source": ctx.config.source,
        "seed": ctx.config.seed,
        "device": ctx.device,
        "settings": asdict(ctx.size),
        "seconds": {"steps": timings, "total": round(sum(timings.values()), 1)},
        "cpu_threads": {
            name: ctx.book.stamps[name]["cpu_threads"]
            for name, _ in STEPS
            if "cpu_threads" in ctx.book.stamps.get(name, {})
        },
        "data": ctx.result("data"),
        "pretrain": ctx.result("pretrain"),
        "retrieval": ctx.result("retrieval"),
        "transfer": ctx.result("transfer"),
        "classifier": ctx.result("classifier"),
        "classification": ctx.result("classify"),
        "index": ctx.result("index"),
        "query": ctx.result("query"),
        "soundmap": ctx.result("soundmap"),
        "paths": {
            "output": str(out.resolve()),
            "pretrained_model": PRETRAINED_MODEL,
            "classifier": CLASSIFIER_MODEL,
            "sound_index": SOUND_INDEX,
            "scene": "data/scene.tif",
            "scene_labels": "data/scene_labels.tif",
            "classes": "classes.tif",
            "classes_style": "classes.qml",
            "soundmap": "soundmap.tif",
            "soundmap_style": "soundmap.qml",
            "query": "query.json",
            "retrieval": "retrieval.json",
            "transfer_table": "transfer/table.md",
            "curves": "pretrain/curves.png",
            "metrics": "pretrain/metrics.csv",
            "pairs": "data/pairs",
            "scenes": "data/scenes",
            "report": "report.html",
            "summary": "summary.json",
        },
    }
    sources = ctx.data / "sources.json"
    if sources.is_file():
        summary["paths"]["sources"] = "data/sources.json"
    return summary


def run_demo(config: DemoConfig, step_progress: StepProgress | None = None) -> dict[str, Any]:
    """Run (or finish) the demo pipeline in ``config.out``; return the summary.

    Args:
        config: the demo's settings.
        step_progress: gives each step a progress context, called with a title like
            ``"[3/11] pretrain"`` (the CLI shows a bar per step).

    Returns:
        The summary (also written to ``OUT/summary.json``), with ``"reused"``: the
        steps taken over from an earlier run.

    Raises:
        ValueError: bad settings.
        Cancelled: a progress context asked to stop (completed steps stay stamped).
    """
    config.validate()
    from backend.device import resolve_device

    step_progress = step_progress or _null_step_progress
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = str(resolve_device(config.device)) if config.device == "auto" else config.device
    ctx = _Context(
        config=config,
        size=config.resolved_size(),
        out=out,
        book=StepBook(out, fresh=config.fresh),
        step_progress=step_progress,
        device=device,
    )
    started = time.perf_counter()
    import torch

    initial_threads = torch.get_num_threads()
    try:
        reused = _run_steps(ctx)
    finally:
        torch.set_num_threads(initial_threads)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    summary["reused"] = reused
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    if config.size == "full" and config.source == "procedural":
        record_demo_output(out)
    return summary


def demo_pointer_file() -> Path:
    """Where the last full demo's output folder is recorded for the QGIS plugin's defaults."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sounding-earth" / "demo-output.txt"


def record_demo_output(out: Path) -> None:
    """Record ``out`` in :func:`demo_pointer_file` (best effort: a read-only home is fine)."""
    from backend.atomic import atomic_write_text

    pointer = demo_pointer_file()
    with contextlib.suppress(OSError):
        pointer.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(pointer, str(Path(out).resolve()) + "\n")


def _run_steps(ctx: _Context) -> list[str]:
    """Run or reuse every step in order; return the names of the reused ones."""
    workers: dict[str, Callable[[Progress], dict[str, Any]]] = {
        "data": lambda p: _step_data(ctx, p),
        "spectrograms": lambda p: _step_spectrograms(ctx, p),
        "retrieval": lambda p: _step_retrieval(ctx, p),
        "transfer": lambda p: _step_transfer(ctx, p),
        "classifier": lambda p: _step_classifier(ctx, p),
        "classify": lambda p: _step_classify(ctx, p),
        "index": lambda p: _step_index(ctx, p),
        "query": lambda p: _step_query(ctx, p),
        "soundmap": lambda p: _step_soundmap(ctx, p),
    }
    reused = []
    for number, (name, title) in enumerate(STEPS, start=1):
        settings, outputs = _settings(ctx, name)
        label = f"[{number}/{len(STEPS)}] {title}"
        with ctx.step_progress(label) as progress:
            if not ctx.book.complete(name, settings, outputs):
                ctx.threads[name] = _fit_cpu_threads(ctx.device)
            if name == "pretrain":
                key = settings_key(settings)

                def work(p: Progress = progress, key: str = key) -> dict[str, Any]:
                    return _step_pretrain(ctx, p, key)
            elif name == "report":

                def work(p: Progress = progress) -> dict[str, Any]:
                    return _step_report(ctx, p, _summary(ctx))
            else:

                def work(p: Progress = progress, n: str = name) -> dict[str, Any]:
                    return workers[n](p)

            outcome = ctx.book.run(name, settings, outputs, work)
            if outcome.reused:
                reused.append(name)
                progress.progress(1.0, "reused (same settings)")
            else:
                progress.progress(1.0, "done")
        if name in ctx.threads and not outcome.reused:
            ctx.book.note(name, cpu_threads=ctx.threads[name])
        ctx.results[name] = outcome
    return reused


@contextlib.contextmanager
def quiet_logs(verbose: bool = False) -> Iterator[None]:
    """Keep the terminal to the step bars: hide rasterio's GDAL chatter, and unless
    ``verbose`` the backend's own INFO lines (the report holds every figure)."""
    levels = {"rasterio": logging.ERROR}
    if not verbose:
        levels["backend"] = logging.WARNING
    saved = {name: logging.getLogger(name).level for name in levels}
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def format_summary(summary: dict[str, Any], out: Path | str) -> str:
    """The one-screen summary printed at the end: key figures and paths (under ``out``)."""
    r = summary["retrieval"]
    lines = [
        f"Sounding Earth demo ({summary['size']}, {summary['source']} data, "
        f"device {summary['device']}) in {out}",
        "",
        f"retrieval on {r['n']} test pairs (median rank, lower is better; R@10):",
    ]
    directions = (("image_to_sound", "image→sound"), ("sound_to_image", "sound→image"))
    for direction, title in directions:
        p, u, c = (r[m][direction] for m in ("pretrained", "untrained", "chance"))
        lines.append(
            f"  {title}: pretrained {p['median_rank']:.1f} / {100 * p['R@10']:.0f} %, "
            f"untrained {u['median_rank']:.1f} / {100 * u['R@10']:.0f} %, "
            f"chance {c['median_rank']:.1f} / {100 * c['R@10']:.0f} %"
        )
    t = summary["transfer"]
    lines.append(
        f"transfer (scene set, {t['n_train']} train / {t['n_test']} test images, "
        f"{t['seeds']} seed{'s' * (t['seeds'] != 1)}, overall accuracy):"
    )
    for label, modes in t["rows"].items():
        cells = ", ".join(
            f"{mode} {100 * v['mean']:.1f} ± {100 * v['std']:.1f} %" for mode, v in modes.items()
        )
        lines.append(f"  {label}: {cells}")
    c = summary["classification"]
    lines.append(
        f"class map: overall accuracy {100 * c['overall_accuracy']:.1f} % over {c['cells']} "
        f"cells (always-majority baseline {100 * c['majority_baseline']:.1f} %)"
    )
    q = summary["query"]
    lines.append(
        f"sounds here: extent {100 * q['class_share']:.0f} % {q['class']}, "
        f"{q['same_class']} of {len(q['matches'])} closest recordings are {q['class']}"
    )
    s = summary["soundmap"]
    lines.append(
        f"sound map of a {s['recording']['class']} recording: highest mean similarity "
        f"over {s['best_class']}"
    )
    seconds = summary["seconds"]["total"]
    reused = summary.get("reused") or []
    lines.append(
        f"time: {seconds / 60:.1f} min of steps"
        + (
            f" ({len(reused)} steps reused, this run {summary['wall_seconds']:.0f} s)"
            if reused
            else ""
        )
    )
    paths = summary["paths"]
    lines += [
        "",
        f"report:      {out}/{paths['report']}",
        f"for QGIS:    {paths['pretrained_model']}, {paths['classifier']}, {paths['sound_index']}/",
        f"layers:      {paths['scene']}, {paths['classes']}, {paths['soundmap']}",
    ]
    return "\n".join(lines)
