"""The transfer table: every initialisation x mode on one scene dataset."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backend.atomic import atomic_write_text
from backend.progress import NullProgress, Progress, SubProgress
from backend.transfer.datasets import TransferConfig, prepare_scenes
from backend.transfer.experiments import MODES, FeatureCache, run_transfer
from backend.transfer.finetuning import training_settings
from backend.transfer.inits import check_init, parse_init
from backend.transfer.protocols import DEFAULT_MODES, settle
from backend.transfer.reports import format_result, format_table, write_result

log = logging.getLogger(__name__)


def _file_label(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
    return keep.strip("._") or "run"


def transfer_table(
    config: TransferConfig,
    inits: Sequence[str],
    out: str | os.PathLike,
    modes: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every initialisation x mode; write the Markdown table, JSON and per-run reports.

    Every initialisation runs under the same protocol (``config.protocol``); the
    default modes are the protocol's (:data:`~backend.transfer.protocols.DEFAULT_MODES`).

    Writes ``out/table.md``, ``out/table.json`` and ``out/runs/<init>-<mode>.json``
    (+ ``.png`` confusion matrices). The dataset is scanned once and frozen
    features are shared between the linear and few-shot runs.

    Returns:
        ``{"table": markdown, "results": [reports]}``.
    """
    progress = progress or NullProgress()
    config.validate()
    modes = list(DEFAULT_MODES[config.protocol] if modes is None else modes)
    specs = [parse_init(text) for text in inits]
    if not specs:
        raise ValueError("--inits: name at least one initialisation")
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"--inits: row labels must differ, got {labels}; use LABEL=INIT")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"--modes: {mode!r} is not one of {', '.join(MODES)}")
    for spec in specs:
        check_init(spec)
    out = Path(out)
    data = prepare_scenes(config, SubProgress(progress, 0.0, 0.02))
    settled = settle(config, data)
    runs = [(spec, mode) for spec in specs for mode in modes]
    results: list[dict[str, Any]] = []
    # one feature cache per initialisation, shared by its linear and few-shot runs
    caches: dict[str, FeatureCache] = {}
    for number, (spec, mode) in enumerate(runs):
        part = SubProgress(
            progress, 0.02 + 0.98 * number / len(runs), 0.02 + 0.98 * (number + 1) / len(runs)
        )
        part.progress(0.0, f"run {number + 1}/{len(runs)}: {spec.label} {mode}")
        result = run_transfer(config, spec.text, mode, data, caches.setdefault(spec.text, {}), part)
        write_result(result, out / "runs" / f"{_file_label(spec.label)}-{mode}.json")
        results.append(result)
        log.info("%s", format_result(result))
    table = format_table(results, list(modes), config.shots)
    settings = training_settings(settled, "finetune") if "finetune" in modes else {}
    atomic_write_text(out / "table.md", table)
    atomic_write_text(
        out / "table.json",
        json.dumps(
            {
                "scenes": str(config.scenes),
                "protocol": config.protocol,
                "image_size": settled.image_size,
                "finetune_settings": settings,
                "modes": list(modes),
                "inits": [s.text for s in specs],
                "table": {
                    r["init_label"]: {
                        r2["mode"]: {"accuracy": r2["accuracy"], "macro_f1": r2["macro_f1"]}
                        for r2 in results
                        if r2["init_label"] == r["init_label"]
                    }
                    for r in results
                },
                "results": results,
            },
            indent=2,
        )
        + "\n",
    )
    progress.progress(1.0, "done")
    return {"table": table, "results": results}
