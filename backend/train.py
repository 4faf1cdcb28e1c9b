"""Audiovisual pretraining: the training loop, checkpoints, resume, and DDP under torchrun."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.atomic import atomic_write_text, remove_stale_partials
from backend.audio import LOGMEL, MIN_WINDOW_FRAMES, WINDOW_FRAMES, encoding_metadata
from backend.augment import (
    eval_transform,
    paper_eval_transform,
    paper_train_augment,
    train_augment,
)
from backend.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    set_rng_state,
)
from backend.data.soundingearth import (
    UNREADABLE_AUDIO,
    UNREADABLE_IMAGE,
    PairDataset,
    PairScan,
    batch_failures,
    scan_pairs,
)
from backend.device import (
    autocast,
    autocast_dtype,
    fused_optimizer,
    grad_scaler,
    resolve_device,
)
from backend.distributed import (
    DistributedContext,
    all_gather_objects,
    cleanup,
    gather_with_grad,
    init_distributed,
)
from backend.evaluate import retrieval_report
from backend.heap import retained_heap
from backend.losses import batch_triplet_loss, info_nce_loss
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelMetadata, save_audiovisual_model
from backend.progress import NullProgress, Progress, check_cancelled
from backend.run_records import (
    git_commit,
    plot_curves,
    read_metrics_csv,
    weights_digest,
    write_metrics_csv,
)

log = logging.getLogger(__name__)

LOSSES = ("triplet", "infonce")
PRECISIONS = ("auto", "fp32", "bf16")
#: training protocols: this project's own, or the paper's reference code's (docs/pretraining.md table)
PROTOCOLS = ("product", "paper")
#: settings the paper protocol changes, from the reference's config.py / config.yml
#: (khdlr/SoundingEarth): ResNet-50 image encoder, batch 256, 300 epochs, Adam 1e-3
#: at a constant rate without weight decay, full-precision training
PAPER_SETTINGS: dict[str, Any] = {
    "epochs": 300,
    "batch_size": 256,
    "image_arch": "resnet50",
    "audio_arch": "resnet18",
    "embed_dim": 128,
    "loss": "triplet",
    "margin": 1.0,
    "lr": 1e-3,
    "weight_decay": 0.0,
    "precision": "fp32",
}


@dataclass
class PretrainConfig:
    """Every setting of a pretraining run (saved as RUN/config.json)."""

    data: str
    out: str
    epochs: int = 20
    batch_size: int = 32
    image_size: int = 192
    image_arch: str = "resnet18"
    audio_arch: str = "resnet18"
    embed_dim: int = 128
    loss: str = "triplet"
    margin: float = 1.0
    temperature: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_fraction: float = 0.05
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    precision: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    #: the fused (one kernel) Adam/AdamW step; None: the default (``fused_optimizer``: off)
    fused_optimizer: bool | None = None
    split_mode: str = "reference"
    cell_km: float = 10.0
    image_weights: str | None = None
    max_steps_per_epoch: int | None = None
    eval_batch_size: int = 64
    #: complete checkpoints kept in RUN/checkpoints (the newest ones); 0 keeps all
    keep_checkpoints: int = 2
    #: "product" (this project's protocol) or "paper" (the reference code's; see
    #: ``protocol_config``): encoder family, optimiser, schedule, augmentation, loss mean
    protocol: str = "product"
    #: where the sounds come from: "jpg" (spectrograms/), "audio" (audio/ and the prepare
    #: cache) or None (the dataset decides; a dataset mixing both is refused)
    spectrograms: str | None = None
    #: spectrogram frames per training window (128 are about 3 s); shorter windows make
    #: the sound encoder's steps cheaper. Recorded in the model file: every reader cuts
    #: the model's sounds into windows of this length
    window_frames: int = WINDOW_FRAMES

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.loss not in LOSSES:
            raise ValueError(f"--loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        for name in ("epochs", "batch_size", "image_size", "embed_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.batch_size < 2:
            raise ValueError("--batch-size must be at least 2 (in-batch negatives)")
        if self.lr <= 0:
            raise ValueError("--lr must be positive")
        if self.keep_checkpoints < 0:
            raise ValueError("--keep-checkpoints must be 0 (keep all) or more")
        if self.window_frames < MIN_WINDOW_FRAMES:
            raise ValueError(
                f"--window-frames must be at least {MIN_WINDOW_FRAMES}, got {self.window_frames}"
            )
        if self.spectrograms not in (None, "jpg", "audio"):
            raise ValueError(f"--spectrograms must be jpg or audio, got {self.spectrograms!r}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}"
            )
        if self.protocol == "paper":
            from backend.models.reference import ARCHITECTURES

            if self.loss != "triplet":
                raise ValueError("--protocol paper trains with the triplet loss; drop --loss")
            if self.image_weights:
                raise ValueError(
                    "--image-weights: torchvision weights do not fit the reference encoders "
                    "of --protocol paper"
                )
            for flag, arch in (
                ("--image-arch", self.image_arch),
                ("--audio-arch", self.audio_arch),
            ):
                if arch not in ARCHITECTURES:
                    raise ValueError(
                        f"{flag} {arch}: the reference encoders are {', '.join(ARCHITECTURES)}"
                    )


def protocol_config(protocol: str, data: str, out: str, **overrides: Any) -> PretrainConfig:
    """A run's settings: the protocol's defaults, then every override that is not None.

    ``"product"`` starts from :class:`PretrainConfig`'s defaults; ``"paper"`` also
    applies :data:`PAPER_SETTINGS`. What else the paper protocol changes follows from
    ``protocol`` itself (see :func:`build_model`, :func:`build_optimizer`,
    :func:`build_loss`, :func:`train_view`, :func:`eval_view`).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    values: dict[str, Any] = dict(PAPER_SETTINGS) if protocol == "paper" else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return PretrainConfig(data=data, out=out, protocol=protocol, **values)


def build_model(config: PretrainConfig) -> torch.nn.Module:
    """The encoders: this project's (product) or the reference-exact family (paper).

    The seed must be set before: both draw their initial weights from torch's generator.
    """
    if config.protocol == "paper":
        from backend.models.reference import (
            FINAL_WIDTHS,
            ReferenceAudiovisualModel,
            reference_init_,
        )

        return reference_init_(
            ReferenceAudiovisualModel(
                config.image_arch,
                config.audio_arch,
                config.embed_dim,
                image_widths=FINAL_WIDTHS,
                audio_widths=FINAL_WIDTHS,
            )
        )
    return AudiovisualModel(
        config.image_arch, config.audio_arch, config.embed_dim, image_weights=config.image_weights
    )


def build_optimizer(
    config: PretrainConfig,
    model: torch.nn.Module,
    total_steps: int,
    device: torch.device | None = None,
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with warm-up and cosine decay (product), or Adam at a constant rate (paper).

    The step is fused where ``config.fused_optimizer`` says (by default not: see
    :func:`backend.device.fused_optimizer`, which keeps a resumed run exact).
    """
    device = device or next(model.parameters()).device
    if config.fused_optimizer is None:
        fused = fused_optimizer(device)
    else:
        fused = {"fused": True} if config.fused_optimizer else {}
    if config.protocol == "paper":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused
        )
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, _constant_rate)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused
    )
    return optimizer, torch.optim.lr_scheduler.LambdaLR(
        optimizer, cosine_schedule(total_steps, config.warmup_fraction)
    )


def _constant_rate(step: int) -> float:
    return 1.0


def build_loss(config: PretrainConfig):
    """The loss on a batch of (image, sound) embeddings.

    Paper: the reference's TripletLoss (mean over all pairs) on the reference encoders'
    unnormalised embeddings; product: the triplet loss over the B(B-1) triplets on
    L2-normalised embeddings, or InfoNCE.
    """
    if config.loss == "infonce":
        return lambda a, b: info_nce_loss(a, b, config.temperature)
    mean_over = "all_pairs" if config.protocol == "paper" else "negatives"
    return lambda a, b: batch_triplet_loss(a, b, config.margin, mean_over)


def train_view(config: PretrainConfig):
    """The training augmentation of the protocol: ``(contexts, out_px, generator) -> images``."""
    return paper_train_augment if config.protocol == "paper" else train_augment


def eval_view(config: PretrainConfig):
    """The evaluation view of the protocol: ``(contexts, out_px) -> images``."""
    return paper_eval_transform if config.protocol == "paper" else eval_transform


@dataclass
class PretrainResult:
    """What a finished run produced."""

    out: Path
    model_path: Path
    epochs_run: int
    final_loss: float
    metrics: list[dict[str, Any]]
    #: one line: the pairs skipped (missing or undecodable files), counted by cause
    skipped_summary: str = ""


def _mix(*values: int) -> int:
    """A stable 63-bit seed from several integers."""
    state = np.random.SeedSequence([v % 2**64 for v in values]).generate_state(1, dtype=np.uint64)
    return int(state[0]) >> 1


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The shuffled order of ``n`` training items in ``epoch`` (same for every rank)."""
    generator = torch.Generator().manual_seed(_mix(seed, epoch, 0x5EED))
    return torch.randperm(n, generator=generator).tolist()


def rank_indices(order: list[int], batch_size: int, context: DistributedContext) -> list[int]:
    """This rank's share of ``order``: whole global batches only, interleaved by rank.

    Global batch ``g`` consists of ``order[g*B*W : (g+1)*B*W]``; rank ``r`` gets
    the slice ``[r*B : (r+1)*B]`` of it, so the union over ranks of one step is
    exactly one global batch.
    """
    world = context.world_size
    global_batch = batch_size * world
    usable = (len(order) // global_batch) * global_batch
    mine: list[int] = []
    for start in range(0, usable, global_batch):
        offset = start + context.rank * batch_size
        mine.extend(order[offset : offset + batch_size])
    return mine


def cosine_schedule(total_steps: int, warmup_fraction: float):
    """Linear warm-up then cosine decay to zero, as a LambdaLR multiplier."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return multiplier


def _dataset_resolution(data: Path) -> tuple[float | None, int | None]:
    """Ground metres per pixel and side in pixels of the dataset's tiles, from dataset.json."""
    info = data / "dataset.json"
    if info.is_file():
        try:
            values = json.loads(info.read_text())
            resolution = values.get("tile_resolution_m")
            tile_px = values.get("tile_px")
            return (
                float(resolution) if resolution else None,
                int(tile_px) if tile_px else None,
            )
        except (ValueError, OSError, TypeError, AttributeError):
            return None, None
    return None, None


def encoder_resolution_m(ground_m: float, tile_px: int | None, image_size: int) -> float:
    """Ground metres per pixel of what the image encoder sees in its evaluation view.

    Pairs are read as the centre ``TILE_CONTEXT_PX`` square of the tile (the whole
    tile when smaller, and a tile of unknown size counts as that square), and the
    evaluation view is its centre ``EVAL_CROP_FRACTION`` resized to ``image_size``.
    """
    from backend.augment import EVAL_CROP_FRACTION
    from backend.data.soundingearth import TILE_CONTEXT_PX

    context = min(TILE_CONTEXT_PX, tile_px) if tile_px else TILE_CONTEXT_PX
    return ground_m * EVAL_CROP_FRACTION * context / image_size


def _paper_widths() -> dict[str, list[int]]:
    """The widths :func:`build_model` gives both encoders of the paper protocol (the final layout)."""
    from backend.models.reference import FINAL_WIDTHS

    return {"image": FINAL_WIDTHS.to_list(), "audio": FINAL_WIDTHS.to_list()}


def model_metadata(
    config: PretrainConfig, extra_provenance: dict[str, Any], encoding: str = LOGMEL
) -> ModelMetadata:
    """The model file's metadata for this run (``encoding``: the spectrograms it was trained on)."""
    source_resolution, tile_px = _dataset_resolution(Path(config.data))
    resolution = (
        encoder_resolution_m(source_resolution, tile_px, config.image_size)
        if source_resolution
        else None
    )
    return ModelMetadata(
        kind="audiovisual",
        family="reference" if config.protocol == "paper" else "native",
        widths=_paper_widths() if config.protocol == "paper" else None,
        image_arch=config.image_arch,
        audio_arch=config.audio_arch,
        embed_dim=config.embed_dim,
        tile_px=config.image_size,
        resolution_m=resolution,
        spectrogram=encoding_metadata(encoding, config.window_frames),
        provenance={
            "command": "pretrain",
            "protocol": config.protocol,
            "data": str(config.data),
            "loss": config.loss,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            **extra_provenance,
        },
    )


def _load_config_for_resume(out: Path, config: PretrainConfig) -> PretrainConfig:
    saved_path = out / "config.json"
    if not saved_path.is_file():
        raise FileNotFoundError(f"{saved_path}: cannot resume, the run folder has no config.json")
    saved = PretrainConfig(**json.loads(saved_path.read_text()))
    # where and how fast to run may change on resume; what to train may not
    for name in ("device", "workers", "eval_batch_size", "keep_checkpoints"):
        setattr(saved, name, getattr(config, name))
    if config.epochs > saved.epochs:
        raise ValueError(
            f"--epochs {config.epochs}: a resumed run keeps its schedule ({saved.epochs} epochs); "
            "start a new run to train longer"
        )
    return saved


def _scan(config: PretrainConfig, split: str) -> PairScan:
    return scan_pairs(
        config.data,
        split=split,
        split_mode=config.split_mode,
        cell_km=config.cell_km,
        spectrograms=config.spectrograms,
    )


def _earlier_failures(path: Path, scanned: PairScan) -> list[tuple[int, str, str]]:
    """Pairs an interrupted run found undecodable (from its skipped.csv) that the scan still offers."""
    if not path.is_file():
        return []
    usable = {pair.recording.key for pair in scanned.pairs}
    rows: list[tuple[int, str, str]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = int(row["key"])
                if key in usable and row["reason"] in (UNREADABLE_IMAGE, UNREADABLE_AUDIO):
                    rows.append((key, row["reason"], row["path"]))
    except (OSError, ValueError, KeyError, TypeError):
        return []  # a damaged list only loses the earlier count
    return rows


def pretrain(
    config: PretrainConfig, resume: bool = False, progress: Progress | None = None
) -> PretrainResult:
    """Train image and audio encoders on co-located pairs; write the run folder.

    On a CPU, freed memory stays in the process while training (:mod:`backend.heap`).

    The run folder holds ``config.json``, ``model.safetensors`` (updated every
    epoch), ``checkpoints/epoch-NNNN.safetensors`` (complete training state,
    written atomically), ``metrics.csv``, ``curves.png`` and ``skipped.csv``.
    Pairs whose files are missing or cannot be decoded are skipped: at scan time,
    or, when a file fails only while training, replaced in its batch by another
    pair (seeded, so the run stays reproducible) and listed in ``skipped.csv``.
    With ``resume`` the run continues from its newest complete checkpoint and
    reproduces the uninterrupted run exactly (data order, windows and
    augmentations are seeded by (seed, epoch, step)).
    """
    cpu = resolve_device(config.device).type == "cpu"
    with retained_heap() if cpu else contextlib.nullcontext():
        return _pretrain(config, resume, progress)


def _pretrain(config: PretrainConfig, resume: bool, progress: Progress | None) -> PretrainResult:
    progress = progress or NullProgress()
    out = Path(config.out)
    if resume:
        config = _load_config_for_resume(out, config)
    config.validate()
    device = resolve_device(config.device)
    context = init_distributed(device.type)
    if device.type == "cuda" and context.enabled:
        device = torch.device("cuda", context.local_rank)
    checkpoints = out / "checkpoints"
    start_checkpoint = latest_checkpoint(checkpoints) if resume else None
    if not resume and latest_checkpoint(checkpoints) is not None:
        raise ValueError(
            f"{out}: already holds a run; pass --resume to continue it or choose another --out"
        )

    data = Path(config.data)
    train_scan, val_scan = _scan(config, "train"), _scan(config, "val")
    # a resumed run reads the same source, whatever the folder holds now
    config.spectrograms = train_scan.source
    scanned = PairScan(
        pairs=train_scan.pairs + val_scan.pairs,
        skipped=train_scan.skipped + val_scan.skipped,
        total=train_scan.total + val_scan.total,
        encoding=train_scan.encoding,
        source=train_scan.source,
    )
    # pairs that failed to decode while training (an earlier part of a resumed run included)
    failures = _earlier_failures(out / "skipped.csv", scanned) if resume else []
    if context.is_main:
        out.mkdir(parents=True, exist_ok=True)
        # what a killed earlier run of this folder was writing
        for folder in (out, checkpoints):
            remove_stale_partials(folder)
        atomic_write_text(out / "config.json", json.dumps(dataclasses.asdict(config), indent=2))
        scanned.with_failures(failures).write_skipped_csv(out / "skipped.csv")
        log.info("%s", scanned.with_failures(failures).summary())
    global_batch = config.batch_size * context.world_size
    if len(train_scan.pairs) < global_batch:
        raise ValueError(
            f"{data}: {len(train_scan.pairs)} training pairs, fewer than one global batch "
            f"({global_batch}); lower --batch-size"
        )

    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    # channels_last is faster on GPUs and, with oneDNN, on CPUs too (bench/results/pretrain.json)
    channels_last = (
        config.channels_last if config.channels_last is not None else device.type in ("cuda", "cpu")
    )
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_model: torch.nn.Module = model
    if context.enabled:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        train_model = torch.compile(train_model)
    half = autocast_dtype(config.precision, device)
    scaler = grad_scaler(device, half)

    steps_per_epoch = len(train_scan.pairs) // global_batch
    if config.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.max_steps_per_epoch)
    total_steps = steps_per_epoch * config.epochs
    optimizer, scheduler = build_optimizer(config, model, total_steps, device)
    loss_fn = build_loss(config)
    augment = train_view(config)

    rows: list[dict[str, Any]] = []
    start_epoch = 1
    if start_checkpoint is not None:
        state = load_checkpoint(start_checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        start_epoch = state["epoch"] + 1
        rows = [r for r in read_metrics_csv(out / "metrics.csv") if r["epoch"] <= state["epoch"]]
        if context.is_main:
            log.info("resuming %s after epoch %d", out, state["epoch"])

    def validate() -> dict[str, Any]:
        if not val_scan.pairs or not context.is_main:
            return {}
        report = retrieval_report(
            model,
            val_scan.pairs,
            config.image_size,
            config.eval_batch_size,
            device,
            view=eval_view(config),
            window_frames=config.window_frames,
        )
        failures.extend(report.pop("failed_pairs"))
        i2s, s2i = report["topk"]["image_to_sound"], report["topk"]["sound_to_image"]
        return {
            "val_i2s_R@1": i2s["R@1"],
            "val_i2s_R@5": i2s["R@5"],
            "val_i2s_R@10": i2s["R@10"],
            "val_i2s_median_rank": i2s["median_rank"],
            "val_s2i_R@1": s2i["R@1"],
            "val_s2i_R@5": s2i["R@5"],
            "val_s2i_R@10": s2i["R@10"],
            "val_s2i_median_rank": s2i["median_rank"],
            "val_n": report["n"],
        }

    if start_epoch == 1 and context.is_main:
        # epoch 0: the untrained model, the baseline every later epoch is compared with
        rows = [
            {"epoch": 0, "steps": 0, "pairs_seen": 0, "global_batch": global_batch, **validate()}
        ]

    dataset = PairDataset(
        train_scan.pairs,
        context_px=round(config.image_size * 512 / 192),
        train=True,
        seed=config.seed,
        window_frames=config.window_frames,
    )
    first_losses: list[float] = []
    final_loss = float("nan")
    pairs_seen = int(rows[-1].get("pairs_seen") or 0) if rows else 0
    for epoch in range(start_epoch, config.epochs + 1):
        dataset.set_epoch(epoch)
        indices = rank_indices(
            epoch_order(len(dataset), config.seed, epoch), config.batch_size, context
        )
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=config.batch_size,
            sampler=indices,
            num_workers=config.workers,
            drop_last=True,
            pin_memory=device.type == "cuda",
            prefetch_factor=4 if config.workers > 0 else None,
        )
        train_model.train()
        started = time.perf_counter()
        losses: list[float] = []
        for step, batch in enumerate(loader):
            if step >= steps_per_epoch:
                break
            check_cancelled(progress)
            # undecodable pairs were replaced inside the batch; remember them for skipped.csv
            failures.extend(batch_failures(batch))
            generator = torch.Generator(device=device).manual_seed(
                _mix(config.seed, epoch, step, context.rank)
            )
            images = augment(
                batch["image"].to(device, non_blocking=True), config.image_size, generator
            )
            audio = batch["audio"].to(device, non_blocking=True)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
                audio = audio.contiguous(memory_format=torch.channels_last)
            with autocast(device, half):
                image_emb, audio_emb = train_model(images, audio)
            image_emb = gather_with_grad(image_emb.float(), context)
            audio_emb = gather_with_grad(audio_emb.float(), context)
            loss = loss_fn(image_emb, audio_emb)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"epoch {epoch} step {step}: the loss is {value}; lower --lr or use --precision fp32"
                )
            losses.append(value)
            if len(first_losses) < 3:
                first_losses.append(value)
            pairs_seen += image_emb.shape[0]
            done = (epoch - 1) * steps_per_epoch + step + 1
            progress.progress(
                done / max(1, config.epochs * steps_per_epoch),
                f"epoch {epoch}/{config.epochs} loss {value:.4f}",
            )
        seconds = time.perf_counter() - started
        final_loss = float(np.mean(losses)) if losses else float("nan")
        row = {
            "epoch": epoch,
            "steps": len(losses),
            "pairs_seen": pairs_seen,
            "global_batch": global_batch,
            "train_loss": final_loss,
            "lr": scheduler.get_last_lr()[0],
            "seconds": seconds,
            "pairs_per_s": len(losses) * global_batch / seconds if seconds > 0 else None,
            **validate(),
        }
        rows.append(row)
        if context.is_main:
            write_metrics_csv(out / "metrics.csv", rows)
            scanned.with_failures(failures).write_skipped_csv(out / "skipped.csv")
            plot_curves(out / "curves.png", rows)
            metadata = model_metadata(
                config,
                {"epochs_completed": epoch, "final_train_loss": final_loss},
                train_scan.encoding,
            )
            save_audiovisual_model(out / "model.safetensors", model, metadata)
            save_checkpoint(
                checkpoint_path(checkpoints, epoch),
                model,
                optimizer,
                scheduler,
                epoch,
                {"config": dataclasses.asdict(config), "train_loss": final_loss},
            )
            prune_checkpoints(checkpoints, config.keep_checkpoints)
            i2s = row.get("val_i2s_median_rank")
            log.info(
                "epoch %d/%d: loss %.4f, %.1f pairs/s%s",
                epoch,
                config.epochs,
                final_loss,
                row["pairs_per_s"] or 0.0,
                f", val image→sound median rank {i2s:.1f} of {row['val_n']}" if i2s else "",
            )
        if context.enabled:
            torch.distributed.barrier()

    ranks = all_gather_objects(
        {
            "rank": context.rank,
            "weights_sha256": weights_digest(model),
            "first_losses": first_losses,
            "failures": failures,
        },
        context,
    )
    final_scan = scanned.with_failures(
        row for rank_state in ranks for row in rank_state.pop("failures")
    )
    if context.is_main:
        atomic_write_text(out / "ranks.json", json.dumps(ranks, indent=2))
        final_scan.write_skipped_csv(out / "skipped.csv")
        log.info("%s", final_scan.summary())
        if len({r["weights_sha256"] for r in ranks}) != 1:
            log.error("ranks ended with different weights: %s", ranks)
    cleanup(context)
    return PretrainResult(
        out=out,
        model_path=out / "model.safetensors",
        epochs_run=config.epochs - start_epoch + 1,
        final_loss=final_loss,
        metrics=rows,
        skipped_summary=final_scan.summary(),
    )


def default_workers() -> int:
    """Data-loading workers: the CPU count minus one for the training process, at most 8."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))
