"""Pretraining throughput side by side with the reference's recipe, on the same data, in the same run.

Paths, each measured in a fresh process on the same SoundingEarth-layout pairs
(``images/*.jpg``, ``spectrograms/*.jpg``):

* ``reference``: the reference's training step, rebuilt in
  :mod:`bench.reference_recipe` (its final encoders from
  :mod:`backend.models.reference`, Adam 1e-3, batch 32, its per-sample
  augmentations in two loader workers, fp32, its data loading).
* ``default``: ``python -m backend pretrain`` with default options
  (:func:`backend.train.pretrain`: product protocol, this project's ResNet-18
  encoders, ``--precision auto``, channels_last, fused AdamW, the default
  DataLoader workers).
* ``before``: the default path as it was before issue 23: the multi-tensor (not
  fused) AdamW, and freed memory given back to the kernel at once
  (:mod:`backend.heap` off); natively, it checks that the bf16 path is not slower.
* ``plain``: the unoptimised path: fp32, NCHW, multi-tensor AdamW, no retained heap.

Every path trains ``steps`` steps; a clock in the progress callback (ours) or
around the loop (the reference) timestamps each step, the first ``warmup``
steps are left out, and pairs/s = pairs of the timed steps / their time, so
data-loading stalls count. Each ISA setting runs ``rounds`` rounds, the paths
alternating in order (ABC, CBA, ...) because the machine is shared and drifts;
every ratio is taken against the reference measured in the same run: medians of
the rounds, best of the rounds, and the median of the per-round ratios.

The ISA settings: the machine as it is, and ``ONEDNN_MAX_CPU_ISA=AVX2`` set in
the children's environment (a laptop CPU without bf16: ``--precision auto``
then trains in fp32).

Also, per ISA setting, the fine-tuning and train-from-labels training core
(:func:`backend.transfer.finetuning.finetune_model`) on batches in memory,
against a plain fp32 eager step (NCHW, multi-tensor AdamW, glibc's default
malloc settings), the two alternating in one process.

Run ``python -m bench --only pretrain`` (or this module); ``--quick`` is a smoke test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import resource
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS_DIR,
    SCRATCH_DIR,
    load_average,
    machine_info,
    peak_rss_mib,
    run_child,
    write_result,
)

IMAGE_ARCH = "resnet18"
AUDIO_ARCH = "resnet18"
BATCH_SIZE = 32
IMAGE_SIZE = 192
SEED = 0
#: side of the generated aerial tiles (the reference centre-crops 512 px)
IMAGE_PX = 512
#: spectrogram frames of the generated recordings (about 10-30 s of sound)
FRAMES = (430, 1300)
#: the ISA settings: name -> ONEDNN_MAX_CPU_ISA (None: unset, the CPU's own)
ISAS: dict[str, str | None] = {"native": None, "avx2": "AVX2"}
#: the paths measured under each ISA setting (the first is the baseline of every ratio)
PATHS: dict[str, tuple[str, ...]] = {
    "native": ("reference", "default", "before"),
    "avx2": ("reference", "default", "before", "plain"),
}
#: the target of issue 23 for fp32-only CPUs (ours / reference)
TARGET_FP32_SPEEDUP = 1.5
# train pairs are the reference split's 70 %; keep a margin so one epoch holds every step
_TRAIN_SHARE = 0.7
_STEP_MESSAGE = re.compile(r"loss (?P<loss>[-+0-9.einf]+)")


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    steps: int
    warmup: int
    rounds: int
    pairs: int
    #: in-memory fine-tuning/labels steps per variant (after one warm-up step each)
    core_steps: int


def make_plan(quick: bool) -> Plan:
    """The full plan (about 15 minutes on 2 cores) or the smoke test."""
    steps, warmup, rounds, core = (3, 1, 1, 1) if quick else (8, 2, 2, 3)
    return Plan(steps, warmup, rounds, math.ceil(steps * BATCH_SIZE / _TRAIN_SHARE * 1.1), core)


# ----------------------------------------------------------------------------- data


def prepare_data(pairs: int, root: Path | None = None, image_px: int = IMAGE_PX) -> Path:
    """Seeded pairs in the SoundingEarth layout (tiles and spectrogram JPEGs), made once.

    Keys run from 1 to ``pairs`` (the reference split by ``key % 10`` applies); the
    folder is ``root`` (default: one per size under ``bench/tmp/``).
    """
    import csv

    import numpy as np
    from PIL import Image

    from backend.audio import write_spectrogram_image
    from backend.data.soundingearth import METADATA_COLUMNS

    root = root or SCRATCH_DIR / f"pretrain-pairs-{pairs}-{image_px}px-seed{SEED}"
    if (root / "ready").is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    for folder in ("images", "spectrograms"):
        (root / folder).mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    rows = []
    for key in range(1, pairs + 1):
        # coarse structure plus fine texture: decodes like a photograph, not like a flat colour
        coarse = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
        tile = np.asarray(Image.fromarray(coarse).resize((image_px, image_px), Image.BICUBIC))
        noise = rng.normal(0.0, 12.0, size=tile.shape)
        tile = np.clip(tile + noise, 0, 255).astype(np.uint8)
        Image.fromarray(tile).save(root / "images" / f"{key}.jpg", quality=90)
        frames = int(rng.integers(*FRAMES))
        level = rng.uniform(0.2, 0.8, size=(128, 1)) + 0.1 * rng.standard_normal((128, frames))
        spectrogram = np.clip(level, 0.0, 1.0).astype(np.float32)
        write_spectrogram_image(spectrogram, root / "spectrograms" / f"{key}.jpg")
        values = dict.fromkeys(METADATA_COLUMNS, "")
        values.update(
            key=str(key),
            long_key=f"bench{key:06d}",
            longitude=f"{rng.uniform(-179, 179):.5f}",
            latitude=f"{rng.uniform(-60, 70):.5f}",
            mp3seconds=f"{frames * 0.023:.1f}",
        )
        rows.append([values[c] for c in METADATA_COLUMNS])
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(METADATA_COLUMNS)
        writer.writerows(rows)
    (root / "ready").write_text("ok\n")
    return root


# ----------------------------------------------------------------------------- children


def _isa() -> str:
    return os.environ.get("ONEDNN_MAX_CPU_ISA") or "native"


def _summary(step_s: list[float], losses: list[float], started: float) -> dict[str, Any]:
    return {
        "step_s": step_s,
        "pairs_per_s": BATCH_SIZE * len(step_s) / sum(step_s),
        "median_step_s": statistics.median(step_s),
        "losses": losses,
        "wall_s": time.perf_counter() - started,
    }


def measure_reference(data: Path, plan: Plan) -> dict[str, Any]:
    """The reference's recipe for ``plan.steps`` steps (see :mod:`bench.reference_recipe`)."""
    import torch

    from bench import reference_recipe as recipe

    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    torch.manual_seed(SEED)
    model = recipe.RecipeModel(IMAGE_ARCH, AUDIO_ARCH)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.LEARNING_RATE)
    dataset = recipe.RecipeDataset(data, recipe.train_keys(data), seed=SEED)
    model.train()
    marks, losses, waits = [time.perf_counter()], [], []
    batches = iter(recipe.loader(dataset, seed=SEED))
    for _ in range(plan.steps):
        waited = time.perf_counter()
        _, images, audio = next(batches)
        waits.append(time.perf_counter() - waited)
        z_img, z_snd = model(images, audio)
        loss = recipe.triplet_loss(z_img, z_snd)
        recipe.batch_metrics(z_img.detach(), z_snd.detach())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        marks.append(time.perf_counter())
    del batches  # stops the workers, so their CPU time is counted
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    durations = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    timed = durations[plan.warmup :]
    result = _summary(timed, losses, started)
    worker_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result.update(
        precision="fp32",
        channels_last=False,
        optimizer="Adam (multi-tensor)",
        retained_heap=False,
        workers=recipe.WORKERS,
        data_wait_fraction=sum(waits[plan.warmup :]) / sum(timed),
        # prefetched batches included: what the per-sample augmentation costs the machine
        worker_cpu_s_per_step=worker_cpu / plan.steps,
    )
    return result


class StepClock:
    """A progress callback that timestamps every training step and keeps its loss."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.losses: list[float] = []

    def progress(self, fraction: float, message: str = "") -> None:
        """Called by the training loop once after every step."""
        match = _STEP_MESSAGE.search(message)
        if match:
            self.times.append(time.perf_counter())
            self.losses.append(float(match["loss"]))

    def is_cancelled(self) -> bool:
        """Never stops the run."""
        return False


def ours_config(path: str, data: Path, out: Path, steps: int):
    """The :class:`~backend.train.PretrainConfig` of one of our paths."""
    from backend.train import PretrainConfig, default_workers

    # what `python -m backend pretrain --data D --out O` runs (CLI defaults), for `steps` steps
    settings: dict[str, Any] = {"workers": default_workers()}
    if path == "before":
        settings["fused_optimizer"] = False
    elif path == "plain":
        settings.update(precision="fp32", channels_last=False, fused_optimizer=False)
    elif path != "default":
        raise ValueError(f"unknown path {path!r}")
    return PretrainConfig(
        data=str(data),
        out=str(out),
        epochs=1,
        max_steps_per_epoch=steps,
        seed=SEED,
        **settings,
    )


def measure_ours(path: str, data: Path, plan: Plan, out: Path) -> dict[str, Any]:
    """:func:`backend.train.pretrain` for ``plan.steps`` steps, timed per step."""
    import torch

    from backend.device import autocast_dtype, fused_optimizer, resolve_device
    from backend.train import pretrain

    if out.exists():
        shutil.rmtree(out)
    config = ours_config(path, data, out, plan.steps)
    retained = path == "default"
    if not retained:
        _heap_off()
    clock = StepClock()
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pretrain(config, progress=clock)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out, ignore_errors=True)
    if len(clock.times) != plan.steps:
        raise RuntimeError(f"expected {plan.steps} steps, the loop ran {len(clock.times)}")
    # durations[k] is step k + 1 (step 0 has no start mark)
    durations = [b - a for a, b in zip(clock.times, clock.times[1:], strict=False)]
    result = _summary(durations[plan.warmup - 1 :], clock.losses, started)
    device = resolve_device(config.device)
    dtype = autocast_dtype(config.precision, device)
    fused = fused_optimizer(device) if config.fused_optimizer is None else config.fused_optimizer
    worker_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result.update(
        precision={torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32"),
        channels_last=config.channels_last is not False,
        optimizer=f"AdamW ({'fused' if fused else 'multi-tensor'})",
        retained_heap=retained,
        workers=config.workers,
        worker_cpu_s_per_step=worker_cpu / plan.steps,
    )
    return result


def _heap_off() -> None:
    """This process keeps glibc's default malloc settings (the paths before issue 23)."""
    import backend.heap
    import backend.train

    backend.heap.retained_heap = backend.train.retained_heap = _no_heap


@contextlib.contextmanager
def _no_heap():
    yield False


def measure_core(plan: Plan) -> dict[str, Any]:
    """Fine-tuning and train-from-labels steps (the shared training core) against plain fp32."""
    import torch

    import backend.heap
    from backend.labels.training import LabelsConfig
    from backend.models.classifier import SceneClassifier
    from backend.transfer.datasets import TransferConfig
    from backend.transfer.finetuning import finetune_model

    real_heap = backend.heap.retained_heap
    transfer, labels_config = _defaults(TransferConfig), _defaults(LabelsConfig)
    workloads = {
        # scene fine-tuning: TransferConfig's defaults (256 px RGB scenes, batch 32)
        "finetune": (3, transfer["image_size"], transfer["batch_size"]),
        # training from labels with --mode finetune: 64 px tiles of a 4-band raster, batch 64
        "labels": (4, 64, labels_config["batch_size"]),
    }
    results: dict[str, Any] = {}
    for name, (bands, px, batch) in workloads.items():
        generator = torch.Generator().manual_seed(SEED)
        images = torch.rand(batch * (plan.core_steps + 1), bands, px + px // 4, px + px // 4)
        labels = torch.randint(0, 5, (images.shape[0],), generator=generator)
        dataset = torch.utils.data.TensorDataset(images, labels)
        times: dict[str, list[float]] = {"default": [], "plain": []}
        losses: dict[str, list[float]] = {"default": [], "plain": []}
        for round_ in range(2):  # alternate the two, so both see the same machine
            for variant in ("default", "plain") if round_ == 0 else ("plain", "default"):
                torch.manual_seed(SEED)
                model = SceneClassifier("resnet18", num_classes=5, in_channels=bands)
                settings = _CoreSettings(px, batch, variant)
                clock = StepClock()
                plain = variant == "plain"
                if plain:
                    _heap_off()
                else:
                    backend.heap.retained_heap = real_heap
                finetune_model(
                    model,
                    dataset,
                    settings,
                    SEED,
                    torch.device("cpu"),
                    True,
                    clock,
                    channels_last=False if plain else None,
                    fused=False if plain else None,
                )
                steps = [b - a for a, b in zip(clock.times, clock.times[1:], strict=False)]
                times[variant].extend(steps)
                losses[variant] = clock.losses
        default_s, plain_s = statistics.median(times["default"]), statistics.median(times["plain"])
        results[name] = {
            "bands": bands,
            "image_px": px,
            "batch_size": batch,
            "default_step_s": times["default"],
            "plain_step_s": times["plain"],
            "default_images_per_s": batch / default_s,
            "plain_images_per_s": batch / plain_s,
            "speedup": plain_s / default_s,
            "default_losses": losses["default"],
            "plain_losses": losses["plain"],
        }
    return results


def _defaults(config_class: type) -> dict[str, Any]:
    from dataclasses import MISSING, fields

    return {f.name: f.default for f in fields(config_class) if f.default is not MISSING}


@dataclass
class _CoreSettings:
    """The fields of :class:`backend.transfer.finetuning.TrainSettings` for one measurement."""

    image_size: int
    batch_size: int
    variant: str
    epochs: int = 1
    lr: float = 1e-3
    trunk_lr_factor: float | None = None
    weight_decay: float = 1e-4
    workers: int = 0
    l2: float | None = None

    @property
    def precision(self) -> str:
        """``auto`` (the default) or ``fp32`` (the plain baseline)."""
        return "auto" if self.variant == "default" else "fp32"


def measure_child(kind: str, data: Path, plan: Plan, result: Path) -> None:
    """One measurement in this fresh process; figures to ``result``."""
    import torch

    if kind == "reference":
        figures = measure_reference(data, plan)
    elif kind == "core":
        figures = measure_core(plan)
    elif kind == "passes":
        from bench.conv_passes import measure

        figures = measure()
    else:
        figures = measure_ours(kind, data, plan, result.with_suffix(".run"))
    figures = {
        "isa": _isa(),
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mib": peak_rss_mib(),
        **figures,
    }
    result.write_text(json.dumps(figures))


# ----------------------------------------------------------------------------- driver


def _child(kind: str, isa: str, data: Path, plan: Plan) -> dict[str, Any]:
    scratch = SCRATCH_DIR / "pretrain-runs"
    tag = f"{isa}-{kind}"
    args = ["-m", "bench.pretrain_bench", "--child", kind, "--data", str(data)]
    args += ["--plan", json.dumps(asdict(plan)), "--result", str(scratch / f"{tag}.json")]
    limit = ISAS[isa]
    run = run_child(
        args,
        scratch / f"{tag}.json",
        scratch / f"{tag}.log",
        timeout_s=1200,
        env={"ONEDNN_MAX_CPU_ISA": limit} if limit else None,
        unset=("DNNL_MAX_CPU_ISA",) if limit else ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"),
    )
    if run.returncode != 0 or run.result is None:
        print(f"  {tag}: FAILED (exit {run.returncode})\n{run.log_tail}", file=sys.stderr)
        return {"error": f"exit status {run.returncode}", "log_tail": run.log_tail[-800:]}
    return {**run.result, "child_wall_s": run.seconds, "other_busy_cores": run.other_busy_cores}


def _round(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def summarise(isa: str, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per path: pairs/s of every round, median and best; ratios to the reference."""
    paths: dict[str, Any] = {}
    for path, rows in runs.items():
        good = [r for r in rows if "pairs_per_s" in r]
        if not good:
            paths[path] = {"error": rows[0].get("error") if rows else "not run"}
            continue
        rates = [r["pairs_per_s"] for r in good]
        first = good[0]
        paths[path] = {
            "pairs_per_s_rounds": rates,
            "pairs_per_s_median": statistics.median(rates),
            "pairs_per_s_best": max(rates),
            "precision": first["precision"],
            "channels_last": first["channels_last"],
            "optimizer": first["optimizer"],
            "retained_heap": first["retained_heap"],
            "workers": first["workers"],
            "torch_threads": first["torch_threads"],
            "worker_cpu_s_per_step": statistics.median(r["worker_cpu_s_per_step"] for r in good),
            "losses": first["losses"],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in good),
            "other_busy_cores": [r["other_busy_cores"] for r in good],
            "runs": good,
        }
        if "data_wait_fraction" in first:
            paths[path]["data_wait_fraction"] = statistics.median(
                r["data_wait_fraction"] for r in good
            )
    base = paths.get("reference", {})
    for path, row in paths.items():
        if (
            path == "reference"
            or "pairs_per_s_median" not in row
            or "pairs_per_s_median" not in base
        ):
            continue
        paired = [
            ours / ref
            for ours, ref in zip(
                row["pairs_per_s_rounds"], base["pairs_per_s_rounds"], strict=False
            )
        ]
        row["vs_reference"] = {
            "median": row["pairs_per_s_median"] / base["pairs_per_s_median"],
            "best": row["pairs_per_s_best"] / base["pairs_per_s_best"],
            "per_round": paired,
            "median_of_rounds": statistics.median(paired),
        }
    return {"oneDNN_max_cpu_isa": ISAS[isa] or "unset (the CPU's own)", "paths": paths}


def run_benchmark(quick: bool = False, out: Path | None = None) -> dict[str, Any]:
    """Measure every path under every ISA setting, interleaved, and write the JSON result file."""
    plan = make_plan(quick)
    out = out or (
        SCRATCH_DIR / "results" / "pretrain.json" if quick else RESULTS_DIR / "pretrain.json"
    )
    started = time.perf_counter()
    load_start = load_average()
    print(f"pretrain benchmark ({'quick' if quick else 'full'}): {plan.pairs} pairs", flush=True)
    data = prepare_data(plan.pairs)
    isas: dict[str, Any] = {}
    for isa in ISAS:
        runs: dict[str, list[dict[str, Any]]] = {path: [] for path in PATHS[isa]}
        for round_ in range(plan.rounds):
            order = PATHS[isa] if round_ % 2 == 0 else tuple(reversed(PATHS[isa]))
            for path in order:
                row = _child(path, isa, data, plan)
                runs[path].append(row)
                rate = f"{row['pairs_per_s']:6.2f} pairs/s" if "pairs_per_s" in row else "failed"
                print(f"  {isa:6s} round {round_ + 1} {path:9s} {rate}", flush=True)
        isas[isa] = summarise(isa, runs)
        isas[isa]["fine_tuning_and_labels"] = _child("core", isa, data, plan)
        isas[isa]["convolution_passes"] = _child("passes", isa, data, plan)
        print_isa(isa, isas[isa])
    fp32 = isas["avx2"]["paths"].get("default", {}).get("vs_reference", {})
    ours_passes = isas["avx2"]["convolution_passes"].get("ours", {})
    ceiling = ours_passes.get("ceiling_if_weight_gradient_ran_at_forward_rate")
    payload: dict[str, Any] = {
        "benchmark": "pretrain",
        "quick": quick,
        "machine": machine_info(),
        "setup": {
            "image_arch": IMAGE_ARCH,
            "audio_arch": AUDIO_ARCH,
            "batch_size": BATCH_SIZE,
            "image_size": IMAGE_SIZE,
            "seed": SEED,
            "data": f"{plan.pairs} generated pairs in the SoundingEarth layout "
            f"({IMAGE_PX} px JPEG tiles, spectrogram JPEGs of {FRAMES[0]}-{FRAMES[1]} frames)",
            "steps": plan.steps,
            "warmup_steps": plan.warmup,
            "timed_steps": plan.steps - plan.warmup,
            "rounds": plan.rounds,
            "paths": {
                "reference": "bench/reference_recipe.py: the reference's final encoders "
                "(64/182/256/512), Adam 1e-3, its per-sample augmentations in 2 workers, fp32",
                "default": "backend.train.pretrain with default options",
                "before": "the default path before issue 23: multi-tensor AdamW, "
                "glibc's default malloc settings",
                "plain": "fp32, NCHW, multi-tensor AdamW, glibc's default malloc settings "
                "(the unoptimised path)",
            },
        },
        "isas": isas,
        "targets": {
            "fp32_speedup_vs_reference_min": TARGET_FP32_SPEEDUP,
            "fp32_speedup_vs_reference": fp32.get("median"),
            "met": bool(fp32 and fp32["median"] >= TARGET_FP32_SPEEDUP),
            # the ratio if our weight-gradient pass ran at our forward pass's rate
            # (bench/conv_passes.py): an upper bound for a better kernel, same computation
            "fp32_speedup_vs_reference_ceiling": fp32["median"] * ceiling
            if fp32 and ceiling
            else None,
        },
        "load_average": {"start": load_start, "end": load_average()},
        "seconds": time.perf_counter() - started,
    }
    payload = _round(payload)
    write_result(out, payload)
    print(f"wrote {out}")
    return payload


def print_isa(isa: str, summary: dict[str, Any]) -> None:
    """One ISA setting's figures as a plain-text table."""
    print(f"{isa}: ONEDNN_MAX_CPU_ISA {summary['oneDNN_max_cpu_isa']}")
    print(
        f"  {'path':10s} {'precision':9s} {'median p/s':>10s} {'best':>7s} {'x ref (median, best)':>22s}"
    )
    for path, row in summary["paths"].items():
        if "pairs_per_s_median" not in row:
            print(f"  {path:10s} failed")
            continue
        ratio = row.get("vs_reference")
        ratios = f"{ratio['median']:.2f}, {ratio['best']:.2f}" if ratio else ""
        print(
            f"  {path:10s} {row['precision']:9s} {row['pairs_per_s_median']:10.2f} "
            f"{row['pairs_per_s_best']:7.2f} {ratios:>22s}"
        )
    passes = summary.get("convolution_passes", {})
    for side in ("ours", "reference"):
        row = passes.get(side, {})
        rates = ", ".join(
            f"{name} {p['gflop_per_s']:.0f}"
            for name, p in row.get("passes", {}).items()
            if "gflop_per_s" in p
        )
        if rates:
            print(
                f"  {side} convolutions (GFLOP/s; matmul {passes['matmul_gflop_per_s']:.0f}): "
                f"{rates}; {row['convolution_share']:.0%} of a step; weight gradient at the "
                f"forward rate: {row['ceiling_if_weight_gradient_ran_at_forward_rate']:.2f}x"
            )
    core = summary.get("fine_tuning_and_labels", {})
    for name in ("finetune", "labels"):
        if name in core:
            row = core[name]
            print(
                f"  {name}: {row['default_images_per_s']:.1f} images/s, plain fp32 eager "
                f"{row['plain_images_per_s']:.1f} ({row['speedup']:.2f}x)"
            )


def main(argv: list[str] | None = None) -> int:
    """Entry point: the whole benchmark, or one measurement in a child process (internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test (a few minutes)")
    parser.add_argument("--out", type=Path, default=None, help="result file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        measure_child(args.child, args.data, Plan(**json.loads(args.plan)), args.result)
        return 0
    run_benchmark(quick=args.quick, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
