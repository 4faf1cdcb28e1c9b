"""Cross-modal retrieval evaluation of an audiovisual model on a SoundingEarth split."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.atomic import atomic_write_text
from backend.audio import WINDOW_FRAMES
from backend.augment import eval_transform, paper_eval_transform
from backend.data.soundingearth import Pair, PairDataset, batch_failures, scan_pairs
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
def embed_readable_pairs(
    model: AudiovisualModel,
    pairs: Sequence[Pair],
    image_px: int = 192,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    workers: int = 0,
    progress: Progress | None = None,
    view: EvalView = eval_transform,
    window_frames: int = WINDOW_FRAMES,
) -> tuple[torch.Tensor, torch.Tensor, list[int], list[tuple[int, str, str]]]:
    """Embed ``pairs``, leaving out those whose files cannot be decoded.

    Returns:
        ``(image_embeddings, sound_embeddings, kept, failures)``: float32
        ``[K, D]`` on the CPU for the ``K`` pairs at positions ``kept``, and the
        ``(key, reason, path)`` of the pairs that failed.

    Raises:
        ValueError: no pair could be embedded.
    """
    progress = progress or NullProgress()
    dataset = PairDataset(
        pairs, context_px=round(image_px * 512 / 192), train=False, window_frames=window_frames
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers)
    was_training = model.training
    model.eval()
    images, sounds = [], []
    kept: list[int] = []
    failures: list[tuple[int, str, str]] = []
    for step, batch in enumerate(loader):
        check_cancelled(progress)
        failures.extend(batch_failures(batch))
        ok = batch["ok"]
        if bool(ok.any()):
            pixels = view(batch["image"][ok].to(device), image_px)
            images.append(model.encode_image(pixels).float().cpu())
            sounds.append(model.encode_audio(batch["audio"][ok].to(device)).float().cpu())
            kept.extend(batch["index"][ok].tolist())
        progress.progress((step + 1) / max(1, len(loader)), "embedding")
    model.train(was_training)
    if not images:
        raise ValueError(
            "no pairs to embed" + (f" ({len(failures)} unreadable)" if failures else "")
        )
    return torch.cat(images), torch.cat(sounds), kept, failures


def retrieval_report(
    model: AudiovisualModel,
    pairs: Sequence[Pair],
    *embedding: Any,
    distance: str | None = None,
    **embedding_options: Any,
) -> dict[str, Any]:
    """Both retrieval directions' metrics for ``pairs`` in both conventions.

    The pairs are embedded by :func:`embed_readable_pairs`, which takes ``embedding``
    and ``embedding_options`` (``image_px``, ``batch_size``, ``device``, ``workers``,
    ``progress``, ``view``, ``window_frames``).

    ``distance`` (the model's ranking distance, :func:`backend.ranking.ranking_distance`)
    prepares the embeddings before the metrics' Euclidean distances: ``cosine``
    L2-normalises them (the reference's ``distance_transform`` of its contrastive
    losses), ``euclidean`` keeps them as the model gives them; None leaves them as they are.

    Pairs whose files turn out not to decode are left out of the gallery; they
    are listed as ``(key, reason, path)`` under ``"failed_pairs"``.

    Returns:
        ``{"topk": {...}, "paper": {...}, "conventions": {...}, "n": N,
        "chance_median_rank": (N + 1) / 2, "failed_pairs": [...]}``: ``topk`` and
        ``paper`` each hold ``"image_to_sound"`` and ``"sound_to_image"`` metrics
        (:func:`backend.metrics.bidirectional_metrics` and
        :func:`backend.metrics.paper_metrics`); ``conventions`` says what each means.
    """
    image_emb, sound_emb, kept, failures = embed_readable_pairs(
        model, pairs, *embedding, **embedding_options
    )
    if distance is not None:
        from backend.ranking import prepare

        image_emb, sound_emb = prepare(image_emb, distance), prepare(sound_emb, distance)
    lonlat = np.array(
        [[pairs[i].recording.longitude, pairs[i].recording.latitude] for i in kept],
        dtype=np.float64,
    )
    return {
        "topk": bidirectional_metrics(image_emb, sound_emb, lonlat),
        "paper": paper_metrics(image_emb, sound_emb, lonlat),
        "conventions": dict(CONVENTIONS),
        "n": len(kept),
        "chance_median_rank": (len(kept) + 1) / 2,
        "failed_pairs": failures,
        **({"distance": distance} if distance is not None else {}),
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
    spectrograms: str | None = None,
) -> dict[str, Any]:
    """Evaluate a model file on one split of a dataset; optionally write the metrics as JSON.

    Pairs whose files are missing or cannot be decoded are left out and counted:
    ``report["skipped"]`` is the one-line summary and ``report["skipped_pairs"]``
    lists ``[key, reason, path]`` of each. Sounds are read in the model's
    spectrogram encoding only (``spectrograms``: ``"jpg"`` or ``"audio"`` picks
    the source where the dataset holds both; see
    :func:`backend.data.soundingearth.choose_spectrograms`).

    Raises:
        EncodingError: the dataset cannot give the model's encoding, or mixes two.
    """
    from backend.audio import model_encoding, model_window_frames
    from backend.device import resolve_device
    from backend.models.modelfile import load_audiovisual_model
    from backend.ranking import ranking_distance

    torch_device = resolve_device(device)
    model, metadata = load_audiovisual_model(model_path, device=torch_device)
    scan = scan_pairs(
        data,
        split=None if split == "all" else split,
        split_mode=split_mode,
        cell_km=cell_km,
        spectrograms=spectrograms,
        encoding=model_encoding(metadata, str(model_path)),
        model=str(model_path),
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
        model_window_frames(metadata),
        distance=ranking_distance(metadata),
    )
    # files that failed only when decoded in full count like the ones the scan skipped
    scan = scan.with_failures(report.pop("failed_pairs"))
    report.update(
        {
            "split": split,
            "model": str(model_path),
            "data": str(data),
            "spectrogram_encoding": scan.encoding,
            "spectrogram_source": scan.source,
            "skipped": scan.summary(),
            "skipped_pairs": [list(row) for row in scan.skipped],
        }
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
