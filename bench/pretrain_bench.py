"""Pretraining throughput: the real loop (data loading and augmentation included) next to its compute-only ceiling.

Every configuration (precision, memory format, torch.compile) is measured in
a fresh process, which runs, one right after the other:

* ``real``: :func:`backend.train.pretrain` itself on procedural demo data with a
  prepared spectrogram cache, for a fixed number of steps. A progress callback
  timestamps every step; the first steps are warm-up. Figure: pairs of the
  timed steps / their total time, so every stall of the data pipeline counts.
  Its peak RSS is taken here, before the ceiling allocates anything.
* ``ceiling``: the same model, loss and optimizer step on batches already in
  memory (decoded uint8 context crops and spectrogram windows). Steps with the
  batched training augmentation (part of the step in this design) alternate
  with steps on images augmented beforehand, so both ceilings see the same
  machine. Figure: batch / median step time.

Measured seconds apart in one process, the ratio of the two is little affected
by the slow spells of a shared machine. The real runs also report the training
loss after the fixed number of steps with the same seed, so a faster
configuration can be checked for training the same model.

Run ``python -m bench --only pretrain`` (or this module); ``--quick`` is a smoke test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
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
    wait_for_idle,
    write_result,
)

#: the paper's own code (khdlr/SoundingEarth) on a 2-core AVX512-BF16 Xeon like the one
#: this benchmark was written on, ResNet-18/ResNet-18, batch 32, 192 px, fp32
REFERENCE = {
    "source": "khdlr/SoundingEarth training code, same machine class, same configuration",
    "pairs_per_s": 10.5,
    "median_step_s": 3.0,
    "batch_size": 32,
    "real_over_ceiling": 0.89,
}
#: the targets this benchmark checks
TARGET_REAL_OVER_CEILING = 0.9
TARGET_SPEEDUP = 2.0
#: a measurement during which other processes kept more cores than this busy is repeated
DISTURBED_CORES = 0.2

IMAGE_ARCH = "resnet18"
AUDIO_ARCH = "resnet18"
BATCH_SIZE = 32
IMAGE_SIZE = 192
SEED = 0
# train pairs are the reference split's 70 %; keep a margin so one epoch holds every step
_TRAIN_SHARE = 0.7
_STEP_MESSAGE = re.compile(r"loss (?P<loss>[-+0-9.einf]+)")


@dataclass(frozen=True)
class BenchConfig:
    """One way to run the same training: precision, memory format, compilation."""

    name: str
    precision: str
    channels_last: bool
    compile: bool = False

    @property
    def label(self) -> str:
        """Human-readable description."""
        parts = [self.precision, "channels_last" if self.channels_last else "NCHW"]
        return " + ".join(parts + (["torch.compile"] if self.compile else []))


CONFIGS = (
    BenchConfig("fp32", "fp32", False),
    BenchConfig("fp32_cl", "fp32", True),
    BenchConfig("bf16", "bf16", False),
    BenchConfig("bf16_cl", "bf16", True),
    BenchConfig("bf16_cl_compile", "bf16", True, compile=True),
)


@dataclass(frozen=True)
class Plan:
    """How much to measure."""

    #: steps of every real run (the same for all, so the final losses compare)
    real_steps: int
    #: leading real-run steps left out of the timing
    real_warmup: int
    #: ceiling warm-up steps, then timed steps of each kind (augmented / pre-augmented)
    ceiling_warmup: int
    ceiling_steps: int
    #: configurations measured (names from CONFIGS)
    configs: tuple[str, ...]
    #: DataLoader workers tried with the sweep configuration
    worker_sweep: tuple[int, ...]
    sweep_config: str
    #: demo pairs generated (the train split must hold real_steps batches)
    pairs: int
    #: before each measurement, wait up to this long for the machine to be idle
    max_wait_idle_s: float
    #: measurements disturbed by other processes are repeated, up to this many runs in all
    attempts: int
    #: real/ceiling rounds in each configuration's process, and for the default worker
    #: count of the sweep configuration (the headline figure)
    rounds: int
    headline_rounds: int


def make_plan(quick: bool) -> Plan:
    """The full plan (a few minutes) or the smoke test (under a minute)."""
    if quick:
        steps, configs, sweep = 3, ("bf16_cl",), (1,)
        ceiling = (1, 2)
    else:
        steps, configs, sweep = 10, tuple(c.name for c in CONFIGS), (0, 1, 2)
        ceiling = (1, 4)
    pairs = math.ceil(steps * BATCH_SIZE / _TRAIN_SHARE * 1.1)
    warmup = 1 if quick else 2
    waiting = (0.0, 1) if quick else (300.0, 3)
    rounds = (1, 1) if quick else (1, 2)
    return Plan(steps, warmup, *ceiling, configs, sweep, "bf16_cl", pairs, *waiting, *rounds)


# ----------------------------------------------------------------------------- data


def prepare_data(pairs: int) -> Path:
    """Procedural demo pairs with their spectrogram cache, made once and reused."""
    from backend.data.demo import make_demo_data
    from backend.data.soundingearth import prepare_spectrograms

    root = SCRATCH_DIR / f"pretrain-demo-{pairs}-seed{SEED}"
    stamp = root / "ready"
    if stamp.is_file():
        return root / "pairs"
    if root.exists():
        shutil.rmtree(root)
    started = time.perf_counter()
    make_demo_data(root, pairs=pairs, seed=SEED, scenes_per_class=1, scene_tif_px=64)
    report = prepare_spectrograms(root / "pairs", workers=2)
    if report.skipped:
        raise RuntimeError(f"demo data: {len(report.skipped)} recordings could not be decoded")
    stamp.write_text(f"{time.perf_counter() - started:.1f} s\n")
    return root / "pairs"


# ----------------------------------------------------------------------------- child


def _build(config: BenchConfig):
    """Model, optimizer and schedule as :func:`backend.train.pretrain` builds them."""
    import torch

    from backend.models.encoders import AudiovisualModel
    from backend.train import PretrainConfig, cosine_schedule

    defaults = PretrainConfig(data="", out="")
    torch.manual_seed(SEED)
    model = AudiovisualModel(IMAGE_ARCH, AUDIO_ARCH, defaults.embed_dim)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_model = torch.compile(model) if config.compile else model
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=defaults.lr, weight_decay=defaults.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, cosine_schedule(1000, defaults.warmup_fraction)
    )
    return model, train_model, optimizer, scheduler, defaults.margin


def measure_ceiling(data: Path, config: BenchConfig, plan: Plan) -> dict[str, Any]:
    """Compute-only steps on batches already in memory: with and without augmentation."""
    import torch

    from backend.augment import train_augment
    from backend.data.soundingearth import PairDataset, scan_pairs
    from backend.device import use_bf16
    from backend.losses import batch_triplet_loss

    device = torch.device("cpu")
    pairs = scan_pairs(data, split="train", check_readable=False).pairs
    dataset = PairDataset(pairs, context_px=round(IMAGE_SIZE * 512 / 192), train=True, seed=SEED)
    dataset.set_epoch(1)
    collate = torch.utils.data.default_collate
    batches = [
        collate([dataset[i] for i in range(start, start + BATCH_SIZE)]) for start in (0, BATCH_SIZE)
    ]
    pre_augmented = [
        train_augment(b["image"], IMAGE_SIZE, torch.Generator().manual_seed(n))
        for n, b in enumerate(batches)
    ]
    model, train_model, optimizer, scheduler, margin = _build(config)
    bf16 = use_bf16(config.precision, device)
    train_model.train()

    def step(number: int, augment: bool) -> tuple[float, float]:
        started = time.perf_counter()
        batch = batches[number % len(batches)]
        if augment:
            generator = torch.Generator().manual_seed(number)
            images = train_augment(batch["image"], IMAGE_SIZE, generator)
        else:
            images = pre_augmented[number % len(batches)]
        augmented = time.perf_counter()
        audio = batch["audio"]
        if config.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
            audio = audio.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            image_emb, audio_emb = train_model(images, audio)
        loss = batch_triplet_loss(image_emb.float(), audio_emb.float(), margin)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        float(loss.detach())
        return time.perf_counter() - started, augmented - started

    warm_started = time.perf_counter()
    for number in range(plan.ceiling_warmup):
        step(number, augment=True)
        step(number, augment=False)
    warmup_s = time.perf_counter() - warm_started
    with_aug: list[float] = []
    aug_only: list[float] = []
    without_aug: list[float] = []
    for number in range(plan.ceiling_steps):  # alternate, so both see the same noise
        total, augment_s = step(number, augment=True)
        with_aug.append(total)
        aug_only.append(augment_s)
        without_aug.append(step(number, augment=False)[0])
    return {
        "step_s": with_aug,
        "augment_s": aug_only,
        "no_augment_step_s": without_aug,
        "warmup_s": warmup_s,
    }


def summarise_ceiling(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over every timed step of every ceiling phase."""
    with_aug = [t for phase in phases for t in phase["step_s"]]
    without_aug = [t for phase in phases for t in phase["no_augment_step_s"]]
    median, median_no_aug = statistics.median(with_aug), statistics.median(without_aug)
    return {
        "pairs_per_s": BATCH_SIZE / median,
        "median_step_s": median,
        "augment_median_s": statistics.median(t for p in phases for t in p["augment_s"]),
        "no_augment_pairs_per_s": BATCH_SIZE / median_no_aug,
        "no_augment_median_step_s": median_no_aug,
        "timed_steps": len(with_aug),
        "phases": phases,
    }


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


# how long the training loop waited for each batch, filled by the wrapped DataLoader
_LOADER_WAITS: list[float] = []


def _time_loader_waits() -> None:
    """Wrap the DataLoader class the training loop uses, timing each ``next`` (this process only)."""
    import torch

    base = torch.utils.data.DataLoader
    if getattr(base, "_bench_timed", False):
        return

    class TimedLoader(base):  # type: ignore[misc, valid-type]
        _bench_timed = True

        def __iter__(self):
            iterator = super().__iter__()
            while True:
                started = time.perf_counter()
                try:
                    batch = next(iterator)
                except StopIteration:
                    return
                _LOADER_WAITS.append(time.perf_counter() - started)
                yield batch

    torch.utils.data.DataLoader = TimedLoader


def measure_real(
    data: Path, config: BenchConfig, workers: int, plan: Plan, out: Path
) -> dict[str, Any]:
    """:func:`backend.train.pretrain` for ``plan.real_steps`` steps, timed per step."""
    import resource

    from backend.train import PretrainConfig, pretrain

    if out.exists():
        shutil.rmtree(out)
    clock = StepClock()
    _time_loader_waits()
    _LOADER_WAITS.clear()
    settings = PretrainConfig(
        data=str(data),
        out=str(out),
        epochs=1,
        batch_size=BATCH_SIZE,
        image_size=IMAGE_SIZE,
        image_arch=IMAGE_ARCH,
        audio_arch=AUDIO_ARCH,
        device="cpu",
        workers=workers,
        seed=SEED,
        precision=config.precision,
        channels_last=config.channels_last,
        compile=config.compile,
        max_steps_per_epoch=plan.real_steps,
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    outcome = pretrain(settings, progress=clock)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(out, ignore_errors=True)
    if len(clock.times) != plan.real_steps:
        raise RuntimeError(f"expected {plan.real_steps} steps, the loop ran {len(clock.times)}")
    # durations[k] is step k + 1 (step 0 has no start mark); time steps real_warmup..end
    durations = [b - a for a, b in zip(clock.times, clock.times[1:], strict=False)]
    worker_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "step_s": durations[plan.real_warmup - 1 :],
        "data_wait_s": _LOADER_WAITS[plan.real_warmup : plan.real_steps],
        # torch.compile's compiler processes would count as workers too
        "worker_cpu_s": worker_cpu if workers and not config.compile else None,
        "losses": clock.losses,
        "mean_loss": outcome.final_loss,
        "pretrain_wall_s": wall,
    }


def summarise_real(runs: list[dict[str, Any]], workers: int, steps: int) -> dict[str, Any]:
    """Pairs/s over the timed steps of every run; losses of the first run."""
    timed = [t for run in runs for t in run["step_s"]]
    waits = [t for run in runs for t in run["data_wait_s"]]
    losses = runs[0]["losses"]
    worker_cpu = [run["worker_cpu_s"] for run in runs if run["worker_cpu_s"] is not None]
    return {
        "pairs_per_s": BATCH_SIZE * len(timed) / sum(timed),
        "median_step_s": statistics.median(timed),
        "timed_steps": len(timed),
        "data_wait_fraction": sum(waits) / sum(timed),
        # includes the batches a worker prefetched that the run did not use
        "worker_cpu_s_per_step": sum(worker_cpu) / (steps * len(worker_cpu))
        if worker_cpu
        else None,
        "losses": losses,
        "final_loss": losses[-1],
        "mean_loss": runs[0]["mean_loss"],
        # the same seed must give the same training every time
        "repeat_losses_identical": all(run["losses"] == losses for run in runs),
        "workers": workers,
        "runs": runs,
    }


def measure_child(
    data: Path, config: BenchConfig, workers: int, plan: Plan, rounds: int, result: Path
) -> None:
    """One configuration in this fresh process: real run, ceiling, real run, ceiling, ...

    Alternating spreads both over the same slow and fast spells of a shared machine.
    """
    reals, ceilings = [], []
    peak = None
    for _ in range(rounds):
        reals.append(measure_real(data, config, workers, plan, result.with_suffix(".run")))
        if peak is None:  # the real run's peak, before the ceiling allocates anything
            peak = peak_rss_mib()
        ceilings.append(measure_ceiling(data, config, plan))
    real = summarise_real(reals, workers, plan.real_steps)
    real["peak_rss_mib"] = peak
    result.write_text(json.dumps({"real": real, "ceiling": summarise_ceiling(ceilings)}))


# ----------------------------------------------------------------------------- driver


def _child(
    data: Path, config: BenchConfig, plan: Plan, workers: int, rounds: int
) -> dict[str, Any]:
    """Measure one configuration in a fresh process; again when other work disturbed it."""
    scratch = SCRATCH_DIR / "pretrain-runs"
    tag = f"{config.name}-w{workers}"
    args = [
        "-m",
        "bench.pretrain_bench",
        "--child",
        "--data",
        str(data),
        "--config",
        json.dumps(asdict(config)),
        "--plan",
        json.dumps(asdict(plan)),
        "--workers",
        str(workers),
        "--rounds",
        str(rounds),
        "--result",
        str(scratch / f"{tag}.json"),
    ]
    best: dict[str, Any] | None = None
    for attempt in range(1, plan.attempts + 1):
        busy_before = wait_for_idle(plan.max_wait_idle_s)
        run = run_child(args, scratch / f"{tag}.json", scratch / f"{tag}.log", timeout_s=900)
        if run.returncode != 0 or run.result is None:
            print(f"  {tag}: FAILED (exit {run.returncode})\n{run.log_tail}", file=sys.stderr)
            return {"error": f"exit status {run.returncode}", "log_tail": run.log_tail[-800:]}
        figures: dict[str, Any] = {"name": config.name, "label": config.label, **asdict(config)}
        figures.update(run.result)
        real, ceiling = figures["real"], figures["ceiling"]
        figures["real_over_ceiling"] = real["pairs_per_s"] / ceiling["pairs_per_s"]
        figures["speedup_vs_reference"] = real["pairs_per_s"] / REFERENCE["pairs_per_s"]
        figures["child_wall_s"] = run.seconds
        figures["busy_cores_before"] = busy_before
        figures["other_busy_cores"] = run.other_busy_cores
        figures["attempt"] = attempt
        disturbance = run.other_busy_cores or 0.0
        if best is None or disturbance < (best["other_busy_cores"] or 0.0):
            best = figures
        if disturbance <= DISTURBED_CORES:
            break
        print(f"  {tag}: other processes kept {disturbance:.2f} cores busy; measuring again")
    assert best is not None
    return best


def _round(value: Any, digits: int = 3) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_round(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    return value


def _describe(row: dict[str, Any]) -> str:
    if "real_over_ceiling" not in row:
        return "failed"
    real, ceiling = row["real"], row["ceiling"]
    return (
        f"real {real['pairs_per_s']:6.2f} pairs/s, ceiling {ceiling['pairs_per_s']:6.2f} "
        f"({row['real_over_ceiling']:.2f}), loss after {len(real['losses'])} steps "
        f"{real['final_loss']:.4f}"
    )


def run_benchmark(
    quick: bool = False, out: Path | None = None, only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """Measure every configuration of the plan and write the JSON result file."""
    plan = make_plan(quick)
    if only:
        plan = dataclasses.replace(plan, configs=only)
    out = out or (
        SCRATCH_DIR / "results" / "pretrain.json" if quick else RESULTS_DIR / "pretrain.json"
    )
    started = time.perf_counter()
    load_start = load_average()
    print(f"pretrain benchmark ({'quick' if quick else 'full'}): {plan.pairs} demo pairs")
    data = prepare_data(plan.pairs)
    configs = {c.name: c for c in CONFIGS}

    # 1. DataLoader workers: the training default for this machine, next to the alternatives
    from backend.train import default_workers

    workers = default_workers()
    sweep: list[dict[str, Any]] = []
    for count in sorted(set(plan.worker_sweep) | {workers}):
        rounds = plan.headline_rounds if count == workers else plan.rounds
        row = _child(data, configs[plan.sweep_config], plan, count, rounds)
        sweep.append({"workers": count, **row})
        print(f"  {plan.sweep_config} workers={count}: {_describe(row)}", flush=True)
    print(f"  -> {workers} DataLoader worker(s), the training default here (default_workers())")

    # 2. every configuration with those workers
    rows: list[dict[str, Any]] = []
    for name in plan.configs:
        done = [s for s in sweep if s["workers"] == workers and s.get("name") == name]
        row = done[0] if done else _child(data, configs[name], plan, workers, plan.rounds)
        rows.append(row)
        print(f"  {name:16s} {_describe(row)}", flush=True)

    disturbed = [
        f"{row['name']} workers={row['real']['workers']}"
        for row in sweep + rows
        if (row.get("other_busy_cores") or 0.0) > DISTURBED_CORES
    ]
    measured = [r for r in rows if "real_over_ceiling" in r]
    fastest = max(measured, key=lambda r: r["real"]["pairs_per_s"]) if measured else None
    fp32_loss = next((r["real"]["final_loss"] for r in measured if r["name"] == "fp32"), None)
    payload: dict[str, Any] = {
        "benchmark": "pretrain",
        "quick": quick,
        "machine": machine_info(),
        "setup": {
            "image_arch": IMAGE_ARCH,
            "audio_arch": AUDIO_ARCH,
            "batch_size": BATCH_SIZE,
            "image_size": IMAGE_SIZE,
            "context_px": round(IMAGE_SIZE * 512 / 192),
            "loss": "triplet",
            "seed": SEED,
            "data": f"procedural demo pairs ({plan.pairs}, 512 px JPEG tiles, cached log-mel)",
            "real_steps": plan.real_steps,
            "real_warmup_steps": plan.real_warmup,
            "real_timed_steps": plan.real_steps - plan.real_warmup,
            "ceiling_warmup_steps": plan.ceiling_warmup,
            "ceiling_timed_steps": plan.ceiling_steps,
            "workers": workers,
            "workers_rule": "backend.train.default_workers(): the CPU count minus one",
            "rounds": plan.rounds,
            "headline_rounds": plan.headline_rounds,
        },
        "reference": REFERENCE,
        "workers_sweep": [
            {
                "workers": s["workers"],
                "config": plan.sweep_config,
                "real_pairs_per_s": s["real"]["pairs_per_s"],
                "ceiling_pairs_per_s": s["ceiling"]["pairs_per_s"],
                "real_over_ceiling": s["real_over_ceiling"],
                "data_wait_fraction": s["real"]["data_wait_fraction"],
                "worker_cpu_s_per_step": s["real"]["worker_cpu_s_per_step"],
                "final_loss": s["real"]["final_loss"],
                "other_busy_cores": s["other_busy_cores"],
            }
            for s in sweep
            if "real_over_ceiling" in s
        ],
        "configs": rows,
        "fastest": fastest["name"] if fastest else None,
        "targets": {
            "real_over_ceiling_min": TARGET_REAL_OVER_CEILING,
            "speedup_vs_reference_min": TARGET_SPEEDUP,
            "fastest_real_over_ceiling": fastest["real_over_ceiling"] if fastest else None,
            "fastest_speedup_vs_reference": fastest["speedup_vs_reference"] if fastest else None,
            "met": bool(
                fastest
                and fastest["real_over_ceiling"] >= TARGET_REAL_OVER_CEILING
                and fastest["speedup_vs_reference"] >= TARGET_SPEEDUP
            ),
            "final_loss_minus_fp32": {
                r["name"]: r["real"]["final_loss"] - fp32_loss for r in measured
            }
            if fp32_loss is not None
            else None,
        },
        "disturbed": disturbed,
        "load_average": {"start": load_start, "end": load_average()},
        "seconds": time.perf_counter() - started,
    }
    payload = _round(payload, 4)
    write_result(out, payload)
    print_table(payload)
    if disturbed:
        print(f"other processes disturbed: {', '.join(disturbed)} (figures too low)")
    print(f"wrote {out}")
    return payload


def print_table(payload: dict[str, Any]) -> None:
    """The figures as a plain-text table."""
    print(
        f"{'config':16s} {'real p/s':>9s} {'ceiling':>8s} {'no-aug':>8s} {'real/ceil':>9s} "
        f"{'x ref':>6s} {'loss@N':>8s} {'RSS MiB':>8s}"
    )
    for row in payload["configs"]:
        if "real_over_ceiling" not in row:
            print(f"{row.get('name', '?'):16s} failed")
            continue
        real, ceiling = row["real"], row["ceiling"]
        print(
            f"{row['name']:16s} {real['pairs_per_s']:9.2f} {ceiling['pairs_per_s']:8.2f} "
            f"{ceiling['no_augment_pairs_per_s']:8.2f} {row['real_over_ceiling']:9.2f} "
            f"{row['speedup_vs_reference']:6.2f} {real['final_loss']:8.4f} "
            f"{real['peak_rss_mib']:8.0f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point: the whole benchmark, or one configuration in a child process (internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test (under a minute)")
    parser.add_argument("--out", type=Path, default=None, help="result file")
    parser.add_argument(
        "--configs",
        help=f"comma-separated subset of {','.join(c.name for c in CONFIGS)}",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        config = BenchConfig(**json.loads(args.config))
        fields = json.loads(args.plan)
        plan = Plan(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        measure_child(args.data, config, args.workers, plan, args.rounds, args.result)
        return 0
    only = None
    if args.configs:
        only = tuple(name.strip() for name in args.configs.split(",") if name.strip())
        unknown = sorted(set(only) - {c.name for c in CONFIGS})
        if unknown:
            parser.error(f"unknown configuration(s): {', '.join(unknown)}")
    run_benchmark(quick=args.quick, out=args.out, only=only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
