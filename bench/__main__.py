"""Run every benchmark: ``python -m bench [--only pretrain|raster|labels] [--quick]``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench.common import REPO_ROOT

BENCHMARKS = ("pretrain", "raster", "labels")


def run_raster(quick: bool) -> int:
    """The raster inference benchmark (bench/raster_bench.py), in its own process."""
    script = Path(__file__).resolve().parent / "raster_bench.py"
    if not script.is_file():
        print("raster: skipped (bench/raster_bench.py is not there)")
        return 0
    command = [sys.executable, "-m", "bench.raster_bench", *(["--quick"] if quick else [])]
    return subprocess.run(command, cwd=REPO_ROOT, check=False).returncode


def run_labels(quick: bool) -> int:
    """The train-from-labels benchmark (bench/labels_bench.py): sampling, training, random forest."""
    from bench.labels_bench import run_benchmark

    return 0 if run_benchmark(quick=quick)["returncode"] == 0 else 1


def run_pretrain(quick: bool) -> int:
    """The pretraining throughput benchmark (bench/pretrain_bench.py)."""
    from bench.pretrain_bench import run_benchmark

    payload = run_benchmark(quick=quick)
    failed = [
        f"{isa}:{path}"
        for isa, summary in payload["isas"].items()
        for path, row in summary["paths"].items()
        if "pairs_per_s_median" not in row
    ]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; the exit status is non-zero when one of them failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=BENCHMARKS, help="run one benchmark")
    parser.add_argument("--quick", action="store_true", help="a smoke test of each benchmark")
    args = parser.parse_args(argv)
    runners = {"pretrain": run_pretrain, "raster": run_raster, "labels": run_labels}
    status = 0
    for name in [args.only] if args.only else BENCHMARKS:
        print(f"== {name}", flush=True)
        if runners[name](args.quick) != 0:  # a killed child reports a negative status
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
