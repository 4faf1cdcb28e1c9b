"""The demo pipeline: data, pretraining, retrieval, transfer, classifier, maps, sound index, report.

Every step writes under one output folder and is stamped in ``OUT/.steps.json``
(see :mod:`backend.demo.steps`) once its outputs are complete, so a rerun with
the same settings reuses it and a killed run redoes only what was unfinished.
The plugin's defaults point at three of the outputs: ``OUT/pretrain/model.safetensors``,
``OUT/classifier.safetensors`` and ``OUT/index/``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from backend.demo.config import DemoConfig
from backend.demo.context import (
    CLASSIFIER_MODEL,
    PRETRAINED_MODEL,
    SOUND_INDEX,
    DemoContext,
    StepProgress,
)
from backend.demo.stages.data import step_data, step_spectrograms
from backend.demo.stages.maps import (
    MIN_CELL_PER_TILE,
    QUERY_TOP,
    step_classify,
    step_index,
    step_query,
    step_soundmap,
)
from backend.demo.stages.pretraining import pretrain_config, step_pretrain, step_retrieval
from backend.demo.stages.transfer import (
    PRETRAINED_LABEL,
    RANDOM_LABEL,
    step_classifier,
    step_transfer,
)
from backend.demo.steps import StepBook, settings_key
from backend.progress import NullProgress, Progress

log = logging.getLogger(__name__)


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


def _step_report(ctx: DemoContext, progress: Progress, summary: dict[str, Any]) -> dict[str, Any]:
    """11. summary.json, report.html and the audio excerpts beside it."""
    from backend.atomic import atomic_write_text
    from backend.demo.report import write_report

    atomic_write_text(ctx.out / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_report(
        ctx.out,
        summary,
        pretrained_row=PRETRAINED_LABEL,
        random_row=RANDOM_LABEL,
        progress=progress,
    )
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


def _settings(ctx: DemoContext, name: str) -> tuple[dict[str, Any], list[str]]:
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
        own = asdict(pretrain_config(ctx))
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
        own = {"cell_m": size.map_cell_m, "min_cell_per_tile": MIN_CELL_PER_TILE}
        return {**own, "after": ctx.after("data", "classifier")}, ["classes.tif", "classes.qml"]
    if name == "index":
        own = {"windows": size.index_windows}
        return {**own, "after": ctx.after("spectrograms", "pretrain")}, [SOUND_INDEX]
    if name == "query":
        own = {"top": QUERY_TOP}
        return {**own, "after": ctx.after("index")}, ["query.json"]
    if name == "soundmap":
        own = {"cell_m": size.map_cell_m, "min_cell_per_tile": MIN_CELL_PER_TILE}
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


def _summary(ctx: DemoContext) -> dict[str, Any]:
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
    ctx = DemoContext(
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


def _run_steps(ctx: DemoContext) -> list[str]:
    """Run or reuse every step in order; return the names of the reused ones."""
    workers: dict[str, Callable[[Progress], dict[str, Any]]] = {
        "data": lambda p: step_data(ctx, p),
        "spectrograms": lambda p: step_spectrograms(ctx, p),
        "retrieval": lambda p: step_retrieval(ctx, p),
        "transfer": lambda p: step_transfer(ctx, p),
        "classifier": lambda p: step_classifier(ctx, p),
        "classify": lambda p: step_classify(ctx, p),
        "index": lambda p: step_index(ctx, p),
        "query": lambda p: step_query(ctx, p),
        "soundmap": lambda p: step_soundmap(ctx, p),
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
                    return step_pretrain(ctx, p, key)
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
