"""One file per GPU with its headline figures next to the CPU's: pairs/s, MFU, raster megapixels/s.

``tools/gpu_check.sh`` runs this last. It reads the card's result files in
``bench/results/`` (``gpu_pretrain-<card>.json``, ``gpu_pretrain-<card>-resnet18.json``,
``gpu_pretrain-<card>-real.json``, ``gpu_raster-<card>.json``) and the CPU's
(``pretrain.json``, ``raster.json``), and writes ``bench/results/gpu-<card>.json``:
the card's name, its pretraining pairs/s and MFU, its raster megapixels/s, and the
CPU figures of the same workloads with the CPU's name, so one file answers "how
much faster is this card". A missing file leaves its figures out (None).

    python -m bench.gpu_summary --card "NVIDIA H100 80GB HBM3"
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, write_result  # noqa: E402


def card_slug(card: str) -> str:
    """The card's name as result files spell it (``NVIDIA H100 80GB HBM3`` -> ``nvidia-h100-80gb-hbm3``)."""
    return re.sub(r"[^A-Za-z0-9]+", "-", card).strip("-").lower()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _get(payload: dict[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def _pretrain(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    setup = payload.get("setup", {})
    return {
        "image_arch": setup.get("image_arch"),
        "batch_size": setup.get("batch_size"),
        "precision": setup.get("precision"),
        "compute_pairs_per_s": _get(payload, "compute", "pairs_per_s"),
        "mfu": payload.get("mfu"),
        "real_pairs_per_s": _get(payload, "real", "pairs_per_s"),
        "real_mfu": _get(payload, "real", "mfu"),
    }


def _cpu_pretrain(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    paths = _get(payload, "isas", "native", "paths")
    if not paths:
        return None
    return {
        name: {
            "pairs_per_s_median": row.get("pairs_per_s_median"),
            "precision": row.get("precision"),
        }
        for name, row in paths.items()
        if "pairs_per_s_median" in row
    }


def summarise(card: str, results: Path = RESULTS_DIR) -> dict[str, Any]:
    """The summary of ``card``'s result files in ``results`` (see the module docstring)."""
    slug = card_slug(card)
    raster = _read(results / f"gpu_raster-{slug}.json")
    cpu_pretrain = _read(results / "pretrain.json")
    return {
        "benchmark": "gpu_summary",
        "card": card,
        "gpu": {
            "pretrain_resnet50": _pretrain(_read(results / f"gpu_pretrain-{slug}.json")),
            "pretrain_resnet18": _pretrain(_read(results / f"gpu_pretrain-{slug}-resnet18.json")),
            "pretrain_real": _pretrain(_read(results / f"gpu_pretrain-{slug}-real.json")),
            "raster_classify_megapixels_per_s": {
                precision: _get(raster, "classify", precision, "megapixels_per_s")
                for precision in ("auto", "fp32")
            },
            "raster_soundmap_megapixels_per_s": _get(raster, "soundmap", "megapixels_per_s"),
            "raster_px": _get(raster, "setup", "raster_px"),
        },
        "cpu": {
            "cpu_model": _get(cpu_pretrain, "machine", "cpu_model"),
            "pretrain_resnet18_batch32": _cpu_pretrain(cpu_pretrain),
            "raster_file": "raster.json",
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Write ``bench/results/gpu-<card>.json`` (or ``--out``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card", required=True, help="the card's name, as torch reports it")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="result folder")
    parser.add_argument("--out", type=Path, help="summary file")
    args = parser.parse_args(argv)
    payload = summarise(args.card, args.results)
    out = args.out or args.results / f"gpu-{card_slug(args.card)}.json"
    write_result(out, payload)
    print(json.dumps(payload["gpu"], indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
