"""Steps 1-2 of the demo: the data (procedural or real) and its spectrogram cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.demo.context import DemoContext
from backend.progress import Progress


def step_data(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
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


def step_spectrograms(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
    """2. Decode every recording once into the log-mel cache."""
    from backend.data.soundingearth import prepare_spectrograms

    report = prepare_spectrograms(
        ctx.data_files.pairs_dir, progress=progress, workers=max(1, ctx.config.workers or 2)
    )
    return {"usable": len(report.pairs), "skipped": report.summary()}
