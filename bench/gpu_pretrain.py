"""GPU pretraining throughput: bf16 pairs/s and model FLOP utilisation (MFU), ResNet-50/ResNet-18 at batch 256.

Run on a machine with a CUDA GPU::

    python -m bench.gpu_pretrain                      # compute-only, synthetic batches
    python -m bench.gpu_pretrain --data DEMO/pairs    # also the real loop (pretrain())
    python -m bench.gpu_pretrain --compile --peak-tflops 989

It writes ``bench/results/gpu_pretrain-<card>.json`` with the card's name.

* ``compute``: the training step as :func:`backend.train.pretrain` runs it (the
  batched augmentation on the GPU from uint8 context crops, bf16 autocast,
  channels_last, the batch triplet loss, AdamW) on batches already on the GPU;
  median of the timed steps → pairs/s.
* MFU: model FLOPs per pair (forward of both trunks counted by
  ``torch.utils.flop_counter``, times 3 for forward + backward) × pairs/s,
  divided by the card's dense bf16 peak (a table of common cards, or
  ``--peak-tflops``).
* ``real`` (with ``--data``): ``pretrain()`` for a fixed number of steps on a
  prepared dataset, timed per step as in bench/pretrain_bench.py. The training
  split must hold (warmup + steps) × batch pairs (6,400 by default: about 9,200
  demo pairs: ``python -m backend make-demo-data`` then ``prepare``).

Not run yet when it was written (no GPU was lent); the CPU benchmark shares its
step code and has run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_DIR, SCRATCH_DIR, machine_info, write_result

#: dense bf16 tensor-core peak in TFLOP/s (no sparsity), by a substring of the card's name
PEAK_BF16_TFLOPS = (
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),  # SXM
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
    ("RTX 4090", 165.0),
    ("RTX 3090", 71.0),
)


def peak_tflops(card: str) -> float | None:
    """The dense bf16 peak of a card from the table, or None when it is not listed."""
    for name, value in PEAK_BF16_TFLOPS:
        if name in card:
            return value
    return None


def model_flops_per_pair(image_arch: str, audio_arch: str, image_size: int) -> int:
    """Training FLOPs of one pair: 3 × the forward FLOPs of both trunks (heads are negligible)."""
    from backend.audio import N_MELS
    from backend.models.encoders import flops_per_sample

    forward = flops_per_sample(image_arch, image_size, 3) + flops_per_sample(audio_arch, N_MELS, 1)
    return 3 * forward


def compute_only(args: argparse.Namespace) -> dict[str, Any]:
    """Median step time of the training step on batches already on the GPU."""
    import torch

    from backend.augment import train_augment
    from backend.losses import batch_triplet_loss
    from backend.models.encoders import AudiovisualModel

    device = torch.device("cuda")
    torch.manual_seed(0)
    model = AudiovisualModel(args.image_arch, args.audio_arch).to(device)
    model = model.to(memory_format=torch.channels_last)
    train_model = torch.compile(model) if args.compile else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    context_px = round(args.image_size * 512 / 192)
    generator = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(
        0, 256, (args.batch, 3, context_px, context_px), dtype=torch.uint8, device=device
    )
    audio = torch.rand(args.batch, 1, 128, 128, device=device, generator=generator)
    audio = audio.contiguous(memory_format=torch.channels_last)

    def step() -> None:
        x = train_augment(images, args.image_size, generator)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            image_emb, audio_emb = train_model(x, audio)
        loss = batch_triplet_loss(image_emb.float(), audio_emb.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    median = statistics.median(times)
    return {
        "pairs_per_s": args.batch / median,
        "median_step_s": median,
        "step_s": times,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
    }


class _StepClock:
    def __init__(self) -> None:
        self.times: list[float] = []

    def progress(self, fraction: float, message: str = "") -> None:
        if re.search(r"loss ", message):
            self.times.append(time.perf_counter())

    def is_cancelled(self) -> bool:
        return False


def real_run(args: argparse.Namespace) -> dict[str, Any]:
    """``pretrain()`` for ``--steps`` + ``--warmup`` steps on ``--data``; pairs/s of the timed steps."""
    from backend.train import PretrainConfig, pretrain

    out = SCRATCH_DIR / "gpu-pretrain-run"
    shutil.rmtree(out, ignore_errors=True)
    clock = _StepClock()
    config = PretrainConfig(
        data=str(args.data),
        out=str(out),
        epochs=1,
        batch_size=args.batch,
        image_size=args.image_size,
        image_arch=args.image_arch,
        audio_arch=args.audio_arch,
        device="cuda",
        workers=args.workers,
        precision="bf16",
        channels_last=True,
        compile=args.compile,
        max_steps_per_epoch=args.warmup + args.steps,
    )
    result = pretrain(config, progress=clock)
    steps = [b - a for a, b in zip(clock.times, clock.times[1:], strict=False)][args.warmup - 1 :]
    shutil.rmtree(out, ignore_errors=True)
    if len(clock.times) < args.warmup + args.steps or not steps:
        raise RuntimeError(
            f"only {len(clock.times)} steps ran: the training split holds too few batches "
            f"for --warmup {args.warmup} --steps {args.steps} at batch {args.batch}"
        )
    return {
        "pairs_per_s": args.batch * len(steps) / sum(steps),
        "median_step_s": statistics.median(steps),
        "timed_steps": len(steps),
        "workers": args.workers,
        "final_loss": result.final_loss,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and write the result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-arch", default="resnet50")
    parser.add_argument("--audio-arch", default="resnet18")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=192)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--peak-tflops", type=float, help="the card's dense bf16 peak")
    parser.add_argument("--data", type=Path, help="a prepared dataset: also time pretrain()")
    parser.add_argument("--workers", type=int, default=8, help="DataLoader workers (real run)")
    parser.add_argument("--out", type=Path, help="result file")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU here: this benchmark needs one", file=sys.stderr)
        return 2
    card = torch.cuda.get_device_name(0)
    peak = args.peak_tflops or peak_tflops(card)
    flops = model_flops_per_pair(args.image_arch, args.audio_arch, args.image_size)
    compute = compute_only(args)
    achieved = flops * compute["pairs_per_s"] / 1e12
    payload: dict[str, Any] = {
        "benchmark": "gpu_pretrain",
        "card": card,
        "machine": machine_info(),
        "setup": {
            "image_arch": args.image_arch,
            "audio_arch": args.audio_arch,
            "batch_size": args.batch,
            "image_size": args.image_size,
            "precision": "bf16 autocast",
            "channels_last": True,
            "compile": args.compile,
            "warmup_steps": args.warmup,
            "timed_steps": args.steps,
        },
        "model_tflop_per_pair": flops / 1e12,
        "compute": compute,
        "achieved_tflops": achieved,
        "peak_bf16_tflops": peak,
        "mfu": achieved / peak if peak else None,
    }
    if args.data:
        real = real_run(args)
        real["over_compute"] = real["pairs_per_s"] / compute["pairs_per_s"]
        real["mfu"] = flops * real["pairs_per_s"] / 1e12 / peak if peak else None
        payload["real"] = real
    slug = re.sub(r"[^A-Za-z0-9]+", "-", card).strip("-").lower()
    out = args.out or RESULTS_DIR / f"gpu_pretrain-{slug}.json"
    write_result(out, payload)
    print(json.dumps({k: payload[k] for k in ("card", "achieved_tflops", "mfu")}, indent=2))
    print(f"{compute['pairs_per_s']:.0f} pairs/s (compute-only, bf16); wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
