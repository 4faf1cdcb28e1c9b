#!/usr/bin/env bash
# The GPU path in one go, for a session that has a CUDA machine (issue 13 part 5):
#
#   1. the CUDA tests (pytest -m cuda: a bf16 training run, the raster engine, an
#      imported reference model, each against the CPU);
#   2. bench/gpu_pretrain.py, compute-only: ResNet-50 and ResNet-18 image encoders,
#      batch 256, bf16, channels_last -> pairs/s and MFU;
#   3. bench/gpu_raster.py: classification and soundscape tiles/s on CUDA;
#   4. bench/gpu_pretrain.py --data: the real pretrain() loop, data loading on the
#      machine's CPUs, on procedural demo pairs made here (the slowest step);
#   5. bench/gpu_summary.py: the card's pairs/s, MFU and raster megapixels/s next to
#      the CPU figures (pretrain.json, raster.json) in one file.
#
# Figures go to bench/results/ under the card's name (gpu_pretrain-<card>.json,
# gpu_raster-<card>.json, gpu-<card>.json with the summary, gpu_check-<card>.txt
# with the test log). A failing
# step is reported and the next one still runs; the exit status is 1 if any failed.
#
# Usage: tools/gpu_check.sh [--dry-run] [--quick]
#   --dry-run  check that every Python part starts (their --help) and exit; runs anywhere
#   --quick    smaller runs (a smoke check of the script on a GPU)
# Environment: PYTHON (default .venv/bin/python, else python3), GPU_CHECK_DATA (a
# prepared pairs folder to use instead of making one), GPU_CHECK_PAIRS (demo pairs
# to make, default 2400), GPU_CHECK_REAL=0 (skip step 4).
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

dry_run=0
quick=0
for argument in "$@"; do
    case "$argument" in
        --dry-run) dry_run=1 ;;
        --quick) quick=1 ;;
        *) echo "gpu_check.sh: unknown option $argument (expected --dry-run or --quick)" >&2; exit 2 ;;
    esac
done

if [ "$dry_run" = 1 ]; then
    grep -q '"cuda:' pyproject.toml || { echo "gpu_check.sh: no cuda marker in pyproject.toml" >&2; exit 1; }
    # every Python part parses its arguments (--help), in one process
    "$PYTHON" - <<'PY' || exit 1
import contextlib
import io

from backend.cli import main as backend
from bench import gpu_pretrain, gpu_raster, gpu_summary

for run, args in (
    (gpu_pretrain.main, ["--help"]),
    (gpu_raster.main, ["--help"]),
    (gpu_summary.main, ["--help"]),
    (backend, ["make-demo-data", "--help"]),
    (backend, ["prepare", "--help"]),
):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            run(args)
        except SystemExit as stop:
            assert stop.code in (0, None), (args, stop.code)
PY
    echo "gpu_check.sh: dry run ok ($PYTHON)"
    exit 0
fi

card=$("$PYTHON" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")')
if [ -z "$card" ]; then
    echo "gpu_check.sh: no CUDA GPU visible to PyTorch; nothing to measure" >&2
    exit 2
fi
slug=$(printf '%s' "$card" | tr -cs 'A-Za-z0-9' '-' | sed 's/^-*//; s/-*$//' | tr 'A-Z' 'a-z')
mkdir -p bench/results bench/tmp
log="bench/results/gpu_check-$slug.txt"
cpus=$(nproc)
failed=()

step() {  # step NAME COMMAND...: run, log, remember a failure
    local name=$1
    shift
    echo "=== $name: $*" | tee -a "$log"
    local started=$SECONDS
    if "$@" 2>&1 | tee -a "$log"; then
        echo "=== $name: ok in $((SECONDS - started)) s" | tee -a "$log"
    else
        echo "=== $name: FAILED after $((SECONDS - started)) s" | tee -a "$log"
        failed+=("$name")
    fi
}

{
    echo "gpu_check.sh on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "card: $card; CPUs: $cpus; python: $PYTHON"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
} | tee "$log"

steps=20
warmup=5
if [ "$quick" = 1 ]; then steps=5; warmup=2; fi

step "cuda-tests" "$PYTHON" -m pytest -m cuda tests -q -rs -p no:cacheprovider
step "pretrain-resnet50" "$PYTHON" -m bench.gpu_pretrain --image-arch resnet50 \
    --steps "$steps" --warmup "$warmup" --out "bench/results/gpu_pretrain-$slug.json"
step "pretrain-resnet18" "$PYTHON" -m bench.gpu_pretrain --image-arch resnet18 \
    --steps "$steps" --warmup "$warmup" --out "bench/results/gpu_pretrain-$slug-resnet18.json"
raster_args=()
if [ "$quick" = 1 ]; then raster_args=(--quick); fi
step "raster" "$PYTHON" -m bench.gpu_raster "${raster_args[@]}" --out "bench/results/gpu_raster-$slug.json"

if [ "${GPU_CHECK_REAL:-1}" != 0 ]; then
    data=${GPU_CHECK_DATA:-}
    pairs=${GPU_CHECK_PAIRS:-2400}
    if [ -z "$data" ]; then
        root="bench/tmp/gpu-demo-$pairs"
        data="$root/pairs"
        if [ ! -f "$root/ready" ]; then
            rm -rf "$root"
            step "demo-data" "$PYTHON" -m backend make-demo-data --out "$root" --pairs "$pairs" \
                --scenes-per-class 1 --scene-px 64
            step "prepare" "$PYTHON" -m backend prepare --data "$data" --workers "$cpus"
            [ -d "$data" ] && touch "$root/ready"
        fi
    fi
    # the real loop needs (warmup + steps) batches of 256 in the training split
    step "pretrain-real" "$PYTHON" -m bench.gpu_pretrain --image-arch resnet50 --data "$data" \
        --workers "$cpus" --steps 4 --warmup 2 --out "bench/results/gpu_pretrain-$slug-real.json"
fi

step "summary" "$PYTHON" -m bench.gpu_summary --card "$card"

if [ ${#failed[@]} -gt 0 ]; then
    echo "gpu_check.sh: failed steps: ${failed[*]} (log: $log)" | tee -a "$log"
    exit 1
fi
echo "gpu_check.sh: all steps ok; figures in bench/results/ (log: $log)" | tee -a "$log"
