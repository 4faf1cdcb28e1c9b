"""Raster inference on a CUDA GPU: tiles/s of classification at bf16 and fp32, and of a soundscape map.

Run on a machine with a CUDA GPU (``tools/gpu_check.sh`` does)::

    python -m bench.gpu_raster             # the 8192 x 8192 demo scene
    python -m bench.gpu_raster --quick     # a 1024 x 1024 smoke run

It uses the raster and the ridge-fitted ResNet-18 classifier of
``bench/raster_bench.py`` (the CPU benchmark), classifies the raster with
:func:`backend.raster.classify.classify_with` on ``cuda`` (reading, inference and
writing included) at ``auto`` (bf16 once the first batch agrees with fp32) and at
``fp32``, after a warm-up run on a small raster, and maps a soundscape with a
random audiovisual model of the same size. It writes
``bench/results/gpu_raster-<card>.json`` with the card's name.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, SCRATCH_DIR, machine_info, write_result  # noqa: E402

BATCH = 128


def _classify(model_path: Path, raster: Path, out: Path, precision: str) -> dict[str, Any]:
    import rasterio
    import torch

    from backend.models.classifier import load_classifier
    from backend.raster.classify import classify_with

    classifier, metadata = load_classifier(model_path)
    torch.cuda.synchronize()
    started = time.perf_counter()
    outcome = classify_with(
        classifier,
        metadata,
        raster,
        out,
        batch_size=BATCH,
        device="cuda",
        precision=precision,
        model_name=model_path.name,
    )
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    with rasterio.open(raster) as src:
        width, height = src.width, src.height
    stats = outcome.stats
    return {
        "precision": outcome.precision,
        "raster_px": [width, height],
        "tiles": stats.tiles,
        "seconds": round(seconds, 3),
        "tiles_per_s": round(stats.tiles / seconds, 1),
        "megapixels_per_s": round(width * height / seconds / 1e6, 2),
        "model_seconds": round(stats.model_seconds, 3),
        "reader_wait_seconds": round(stats.wait_seconds, 3),
        "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
    }


def _soundmap(raster: Path, scratch: Path) -> dict[str, Any]:
    import numpy as np
    import soundfile
    import torch

    from backend.models.encoders import AudiovisualModel
    from backend.models.modelfile import ModelMetadata, save_audiovisual_model
    from backend.raster.engine import TileStats
    from backend.raster.soundmap import soundmap_raster

    model_path = scratch / "gpu-audiovisual.safetensors"
    torch.manual_seed(0)
    model = AudiovisualModel("resnet18", "resnet18", 128)
    metadata = ModelMetadata(
        kind="audiovisual",
        image_arch="resnet18",
        audio_arch="resnet18",
        embed_dim=128,
        bands=[1, 2, 3],
        tile_px=192,
        resolution_m=0.5,
    )
    save_audiovisual_model(model_path, model, metadata)
    audio = scratch / "gpu-query.wav"
    rng = np.random.default_rng(0)
    soundfile.write(audio, (0.1 * rng.standard_normal(48_000 * 5)).astype(np.float32), 48_000)
    stats = TileStats()
    torch.cuda.synchronize()
    started = time.perf_counter()
    soundmap_raster(
        raster, model_path, audio, scratch / "gpu-soundmap.tif", device="cuda", stats=stats
    )
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    import rasterio

    with rasterio.open(raster) as src:
        width, height = src.width, src.height
    return {
        "tiles": stats.tiles,
        "seconds": round(seconds, 3),
        "tiles_per_s": round(stats.tiles / seconds, 1),
        "megapixels_per_s": round(width * height / seconds / 1e6, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1024 px raster (smoke run)")
    parser.add_argument("--out", type=Path, help="result file")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU here: this benchmark needs one", file=sys.stderr)
        return 2
    from bench.raster_bench import fit_scene_classifier, write_scene_raster

    scratch = SCRATCH_DIR / "raster"
    scratch.mkdir(parents=True, exist_ok=True)
    size = 1024 if args.quick else 8192
    raster = write_scene_raster(scratch / f"scene-{size}.tif", size)
    warm = write_scene_raster(scratch / "scene-1024.tif", 1024)
    model = fit_scene_classifier(scratch / "scene-classifier.safetensors", 256)
    card = torch.cuda.get_device_name(0)
    _classify(model, warm, scratch / "gpu-warm.tif", "auto")
    runs = {}
    for precision in ("auto", "fp32"):
        torch.cuda.reset_peak_memory_stats()
        runs[precision] = _classify(model, raster, scratch / f"gpu-{precision}.tif", precision)
        print(f"classify {precision}: {runs[precision]['tiles_per_s']} tiles/s", flush=True)
    payload = {
        "benchmark": "gpu_raster",
        "card": card,
        "machine": machine_info(),
        "setup": {"arch": "resnet18", "tile": 192, "batch": BATCH, "raster_px": size},
        "classify": runs,
        "soundmap": _soundmap(raster, scratch),
    }
    slug = re.sub(r"[^A-Za-z0-9]+", "-", card).strip("-").lower()
    out = args.out or RESULTS_DIR / f"gpu_raster-{slug}.json"
    write_result(out, payload)
    print(f"soundmap: {payload['soundmap']['tiles_per_s']} tiles/s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
