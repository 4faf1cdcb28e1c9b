"""tools/gpu_check.sh, the GPU session's one script, at least parses and starts without a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "gpu_check.sh"


def test_gpu_check_script_parses_and_its_python_parts_start() -> None:
    assert os.access(SCRIPT, os.X_OK)
    syntax = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(ROOT)}
    dry = subprocess.run(
        [str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert dry.returncode == 0, dry.stderr
    assert "dry run ok" in dry.stdout
    wrong = subprocess.run([str(SCRIPT), "--bogus"], capture_output=True, text=True, env=env)
    assert wrong.returncode == 2 and "unknown option --bogus" in wrong.stderr


def test_the_summary_puts_the_cards_figures_next_to_the_cpus(tmp_path: Path) -> None:
    from bench.gpu_summary import card_slug, main

    card = "NVIDIA H100 80GB HBM3"
    slug = card_slug(card)
    assert slug == "nvidia-h100-80gb-hbm3"
    pretrain = {
        "setup": {"image_arch": "resnet50", "batch_size": 256, "precision": "bf16 autocast"}
    }
    files = {
        f"gpu_pretrain-{slug}.json": {**pretrain, "compute": {"pairs_per_s": 2000.0}, "mfu": 0.41},
        f"gpu_raster-{slug}.json": {
            "setup": {"raster_px": 8192},
            "classify": {"auto": {"megapixels_per_s": 90.5}, "fp32": {"megapixels_per_s": 40.0}},
            "soundmap": {"megapixels_per_s": 70.0},
        },
        "pretrain.json": {
            "machine": {"cpu_model": "AMD EPYC"},
            "isas": {
                "native": {"paths": {"default": {"pairs_per_s_median": 20.0, "precision": "bf16"}}}
            },
        },
    }
    for name, payload in files.items():
        (tmp_path / name).write_text(json.dumps(payload))
    assert main(["--card", card, "--results", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / f"gpu-{slug}.json").read_text())
    assert summary["card"] == card
    gpu = summary["gpu"]
    assert gpu["pretrain_resnet50"]["compute_pairs_per_s"] == 2000.0
    assert gpu["pretrain_resnet50"]["mfu"] == 0.41
    assert gpu["pretrain_resnet18"] is None  # its run failed or did not happen
    assert gpu["raster_classify_megapixels_per_s"] == {"auto": 90.5, "fp32": 40.0}
    assert gpu["raster_soundmap_megapixels_per_s"] == 70.0
    cpu = summary["cpu"]
    assert cpu["cpu_model"] == "AMD EPYC"
    assert cpu["pretrain_resnet18_batch32"]["default"]["pairs_per_s_median"] == 20.0
