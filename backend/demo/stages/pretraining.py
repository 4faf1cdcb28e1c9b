"""Steps 3-4 of the demo: audiovisual pretraining, and retrieval with it, untrained and by chance."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from backend.demo.context import DemoContext
from backend.progress import Progress

# marks an output folder as the pretraining run of one set of settings (for resuming)
_PRETRAIN_KEY_FILE = ".demo-step-key"


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


def pretrain_config(ctx: DemoContext):
    """The pretraining settings of this demo run (their fields are part of the step's key)."""
    from backend.train import PretrainConfig, default_workers

    size = ctx.size
    return PretrainConfig(
        data=str(ctx.data_files.pairs_dir),
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


def step_pretrain(ctx: DemoContext, progress: Progress, key: str) -> dict[str, Any]:
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
    config = pretrain_config(ctx)
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


def untrained_model(ctx: DemoContext):
    """The pretraining model before its first step: same architecture, same seed."""
    import torch

    from backend.models.encoders import AudiovisualModel

    config = pretrain_config(ctx)
    torch.manual_seed(config.seed)
    return AudiovisualModel(
        config.image_arch, config.audio_arch, config.embed_dim, image_weights=config.image_weights
    )


def step_retrieval(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
    """4. Retrieval on the test split: pretrained, untrained (same seed) and chance."""
    import numpy as np

    from backend.data.soundingearth import scan_pairs
    from backend.demo.scoring import chance_retrieval
    from backend.device import resolve_device
    from backend.evaluate import evaluate, retrieval_report
    from backend.progress import SubProgress

    pretrained = evaluate(
        ctx.data_files.pairs_dir,
        ctx.model,
        split="test",
        device=ctx.device,
        progress=SubProgress(progress, 0.0, 0.5),
    )
    pairs = scan_pairs(ctx.data_files.pairs_dir, split="test").pairs
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
