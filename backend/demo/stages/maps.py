"""Steps 7-10 of the demo: the class map, the sound index, "sounds here" and the sound map."""

from __future__ import annotations

import contextlib
import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from backend.demo.context import SOUND_INDEX, DemoContext
from backend.progress import Progress

#: recordings listed for the chosen extent
QUERY_TOP = 5
#: classes whose recordings make a telling sound map, most telling first
SOUNDMAP_CLASSES = ("water", "road", "beach", "urban", "forest", "farmland")
#: a map cell is at least this fraction of a tile's side: finer cells cost many more
#: tiles (each cell is one tile) for little more detail
MIN_CELL_PER_TILE = 1 / 6


def _stride(cell_m: float, resolution_m: float | None, tile_px: int) -> int:
    """Output-pixel side in model pixels for cells of about ``cell_m`` metres."""
    if not resolution_m:
        return tile_px
    wanted = round(cell_m / resolution_m)
    return max(1, min(tile_px, max(wanted, int(tile_px * MIN_CELL_PER_TILE))))


def _map_cell_m(ctx: DemoContext) -> float:
    """The map cell side: the size's, but no finer than the scene raster's own pixels
    nor than the data's ``suggested_map_cell_m`` (classes.json; the real data's 30 m
    Landsat scene would otherwise need a tile per pixel)."""
    import rasterio

    with rasterio.open(ctx.data_files.scene_tif) as dataset:
        pixel_m = abs(dataset.transform.a) if dataset.crs is not None else 0.0
    suggested = 0.0
    classes_json = ctx.data_files.classes_json
    if classes_json.is_file():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            suggested = float(json.loads(classes_json.read_text()).get("suggested_map_cell_m") or 0)
    return max(ctx.size.map_cell_m, pixel_m, suggested)


def step_classify(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
    """7. Classify the scene raster and score it against the ground truth."""
    from backend.demo.scoring import class_map_accuracy, read_class_list
    from backend.raster.classify import classify_raster

    classifier = ctx.result("classifier")
    stride = _stride(_map_cell_m(ctx), classifier["resolution_m"], classifier["tile_px"])
    # called like soundmap_raster in step_soundmap: two raster operations scored the same way
    result = classify_raster(
        ctx.data_files.scene_tif,
        ctx.classifier,
        ctx.out / "classes.tif",
        stride=stride,
        device=ctx.device,
        progress=progress,
    )
    label_names, _ = read_class_list(ctx.data_files.classes_json)
    accuracy = class_map_accuracy(result.out, ctx.data_files.scene_labels_tif, label_names)
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


def step_index(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
    """8. Embed every recording into the sound index."""
    from backend.index import build_index

    summary = build_index(
        ctx.data_files.pairs_dir,
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


def step_query(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
    """9. The recordings that sound most like one extent of the scene."""
    from backend.demo.scoring import purest_window, read_class_list
    from backend.extent_query import query_extent, write_query_json
    from backend.raster.grid import Extent

    pretrain = ctx.result("pretrain")
    side_m = ctx.size.image_size * pretrain["resolution_m"]
    label_names, _ = read_class_list(ctx.data_files.classes_json)
    window = purest_window(ctx.data_files.scene_labels_tif, label_names, side_m)
    progress.progress(0.1, f"extent: {window['class']} ({100 * window['share']:.0f} %)")
    extent = Extent(*window["extent"])
    result = query_extent(
        ctx.out / SOUND_INDEX,
        ctx.model,
        ctx.data_files.scene_tif,
        extent,
        top=QUERY_TOP,
        device=ctx.device,
        progress=progress,
    )
    labels = _read_labels(ctx.data_files.labels_csv)
    write_query_json(
        ctx.out / "query.json",
        result,
        raster=str(ctx.data_files.scene_tif),
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


def _choose_recording(ctx: DemoContext) -> dict[str, Any]:
    """A test-split recording of the most telling class present (water first)."""
    from backend.data.soundingearth import scan_pairs

    labels = _read_labels(ctx.data_files.labels_csv)
    pairs = scan_pairs(ctx.data_files.pairs_dir, split="test").pairs
    by_class: dict[str, list] = {}
    for pair in pairs:
        if pair.audio is not None:
            by_class.setdefault(labels.get(pair.recording.key, ""), []).append(pair)
    order = [c for c in SOUNDMAP_CLASSES if c in by_class] + sorted(by_class)
    if not order:
        raise ValueError(
            f"{ctx.data_files.pairs_dir}: no test recording with audio for the sound map"
        )
    pair = by_class[order[0]][0]
    return {
        "key": pair.recording.key,
        "class": order[0],
        "title": pair.recording.title,
        "creator": pair.recording.creator,
        "licence": pair.recording.licenseurl,
        "file": str(pair.audio),
    }


def step_soundmap(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
    """10. Where on the scene one recording belongs."""
    from backend.demo.scoring import read_class_list, similarity_by_class
    from backend.raster.soundmap import soundmap_raster

    recording = _choose_recording(ctx)
    pretrain = ctx.result("pretrain")
    stride = _stride(_map_cell_m(ctx), pretrain["resolution_m"], ctx.size.image_size)
    result = soundmap_raster(
        ctx.data_files.scene_tif,
        ctx.model,
        recording["file"],
        ctx.out / "soundmap.tif",
        stride=stride,
        device=ctx.device,
        progress=progress,
    )
    label_names, _ = read_class_list(ctx.data_files.classes_json)
    means = similarity_by_class(result.out, ctx.data_files.scene_labels_tif, label_names)
    return {
        "recording": recording,
        "minimum": result.minimum,
        "maximum": result.maximum,
        "stride_px": stride,
        "mean_similarity_by_class": means,
        "best_class": max(means, key=means.get) if means else None,
    }
