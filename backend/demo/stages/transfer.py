"""Steps 5-6 of the demo: the transfer table and the classifier the plugin uses."""

from __future__ import annotations

import shutil
from typing import Any

from backend.demo.context import DemoContext
from backend.progress import Progress

#: labels of the two rows of the transfer table
RANDOM_LABEL = "Random init"
PRETRAINED_LABEL = "Audiovisual pretrained"


def _transfer_config(ctx: DemoContext, seeds: int, epochs: int):
    from backend.transfer import TransferConfig

    return TransferConfig(
        scenes=str(ctx.data_files.scenes_dir),
        image_size=ctx.size.transfer_image_size,
        seeds=seeds,
        first_seed=ctx.config.seed,
        epochs=epochs,
        device=ctx.device,
        # scene images are small: loading in the main process beats starting workers
        workers=0,
    )


def step_transfer(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
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


def step_classifier(ctx: DemoContext, progress: Progress) -> dict[str, Any]:
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
