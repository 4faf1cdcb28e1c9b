"""Cross-modal retrieval evaluation of an audiovisual model on a SoundingEarth split."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.atomic import atomic_write_text
from backend.augment import eval_transform, paper_eval_transform
from backend.data.soundingearth import Pair, PairDataset, scan_pairs
from backend.metrics import bidirectional_metrics, paper_metrics
from backend.models.encoders import AudiovisualModel
from backend.models.modelfile import ModelMetadata
from backend.progress import NullProgress, Progress, check_cancelled

#: What the two sections of a retrieval report mean (written into the report).
CONVENTIONS = {
    "topk": (
        "this project's: R@k = true match among the k nearest (0-based rank < k); "
        "median rank 1-based; Euclidean distances as they are"
    ),
    "paper": (
        "the paper's reference evaluation (khdlr/SoundingEarth): 1-based ranks, ties "
        "averaged; R@k = rank < k (R@100 counts ranks 1-99); sound->image distances "
        "divided by each image's mean distance to all sounds"
    ),
}


#: An evaluation view: ``(context crops [B, 3, S, S], out_px) -> model input in [0, 1]``.
EvalView = Callable[[torch.Tensor, int], torch.Tensor]


def eval_view_for(metadata: ModelMetadata) -> EvalView:
    """The evaluation view a model was made for.

    Models of the reference family (imported paper checkpoints, ``pretrain --protocol
    paper``) see the reference's view (centre 384 of 512, resized without
    antialiasing); this project's models the product's (the same crop, antialiased).
    """
    if metadata.family == "reference" or metadata.provenance.get("protocol") == "paper":
        return paper_eval_transform
    return eval_transform


@torch.no_grad()
def embed_pairs(
    model: AudiovisualModel,
    pairs: Sequence[Pair],
    image_px: int = 192,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    workers: int = 0,
    progress: Progress | None = None,
    view: EvalView = eval_transform,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and sound embeddings of ``pairs`` (evaluation ``view``, centre windows).

    Returns:
        ``(image_embeddings, sound_embeddings)``, float32 ``[N, D]`` on the CPU.
    """
    progress = progress or NullProgress()
    dataset = PairDataset(pairs, context_px=round(image_px * 512 / 192), train=False)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    was_training = model.training
    model.eval()
    images, sounds = [], []
    for step, batch in enumerate(loader):
        check_cancelled(progress)
        pixels = view(batch["image"].to(device), image_px)
        images.append(model.encode_image(pixels).float().cpu())
        sounds.append(model.encode_audio(batch["audio"].to(device)).float().cpu())
        progress.progress((step + 1) / max(1, len(loader)), "embedding")
    model.train(was_training)
    if not images:
        raise ValueError("no pairs to embed")
    return torch.cat(images), torch.cat(sounds)


def retrieval_report(
    model: AudiovisualModel,
    pairs: Sequence[Pair],
    image_px: int = 192,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    workers: int = 0,
    progress: Progress | None = None,
    view: EvalView = eval_transform,
) -> dict[str, Any]:
    """Both retrieval directions' metrics for ``pairs`` in both conventions.

    Returns:
        ``{"topk": {...}, "paper": {...}, "conventions": {...}, "n": N,
        "chance_median_rank": (N + 1) / 2}``: ``topk`` and ``paper`` each hold
        ``"image_to_sound"`` and ``"sound_to_image"`` metrics
        (:func:`backend.metrics.bidirectional_metrics` and
        :func:`backend.metrics.paper_metrics`); ``conventions`` says what each means.
    """
    image_emb, sound_emb = embed_pairs(
        model, pairs, image_px, batch_size, device, workers, progress, view
    )
    lonlat = np.array(
        [[p.recording.longitude, p.recording.latitude] for p in pairs], dtype=np.float64
    )
    return {
        "topk": bidirectional_metrics(image_emb, sound_emb, lonlat),
        "paper": paper_metrics(image_emb, sound_emb, lonlat),
        "conventions": dict(CONVENTIONS),
        "n": len(pairs),
        "chance_median_rank": (len(pairs) + 1) / 2,
    }


def evaluate(
    data: Path,
    model_path: Path,
    split: str = "test",
    split_mode: str = "reference",
    cell_km: float = 10.0,
    json_out: Path | None = None,
    batch_size: int = 64,
    device: str = "auto",
    workers: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate a model file on one split of a dataset; optionally write the metrics as JSON."""
    from backend.device import resolve_device
    from backend.models.modelfile import load_audiovisual_model

    torch_device = resolve_device(device)
    model, metadata = load_audiovisual_model(model_path, device=torch_device)
    scan = scan_pairs(
        data, split=None if split == "all" else split, split_mode=split_mode, cell_km=cell_km
    )
    if not scan.pairs:
        raise ValueError(f"{data}: no usable pairs in split '{split}' ({scan.summary()})")
    report = retrieval_report(
        model,
        scan.pairs,
        metadata.tile_px,
        batch_size,
        torch_device,
        workers,
        progress,
        eval_view_for(metadata),
    )
    report.update(
        {"split": split, "model": str(model_path), "data": str(data), "skipped": scan.summary()}
    )
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(report, indent=2))
    return report


#: headline rows of the text report, per convention
_TEXT_KEYS = {
    "topk": ["R@1", "R@5", "R@10", "R@100", "R@1%", "R@5%", "R@10%", "median_rank", "D@1", "D@10"],
    "paper": ["R@10", "R@100", "R@500", "R@1000", "median_rank", "D@100", "D@1000"],
}
_TEXT_TITLES = {
    "topk": "top-k convention (R@k: true match among the k nearest)",
    "paper": "paper convention (ranks from 1, R@k: rank < k, sound→image normalised)",
}


def format_report(report: dict[str, Any]) -> str:
    """Plain-text tables of the headline metrics of both directions, one per convention."""
    lines: list[str] = []
    for convention, keys in _TEXT_KEYS.items():
        section = report.get(convention)
        if section is None:
            continue
        if lines:
            lines.append("")
        lines.append(_TEXT_TITLES[convention])
        lines.append(f"{'metric':<12}{'image→sound':>14}{'sound→image':>14}")
        for key in keys:
            a = section["image_to_sound"].get(key)
            b = section["sound_to_image"].get(key)
            if a is None:
                continue
            fmt = "{:>14.1f}" if key.startswith(("median", "D@")) else "{:>14.3f}"
            lines.append(f"{key:<12}" + fmt.format(a) + fmt.format(b))
    lines.append(f"pairs: {report['n']}, chance median rank: {report['chance_median_rank']:.1f}")
    return "\n".join(lines)
