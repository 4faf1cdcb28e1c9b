"""What a training run leaves behind: its provenance, a digest of its weights, metrics.csv and curves.

Every command that writes a model file records the code it ran (:func:`git_commit`);
``pretrain`` also writes ``metrics.csv`` (one row per epoch) and ``curves.png``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
from pathlib import Path
from typing import Any

import torch

from backend.atomic import atomic_path, atomic_write_text

#: metrics.csv columns (val_* are retrieval on the validation split)
METRIC_COLUMNS = [
    "epoch",
    "steps",
    "pairs_seen",
    "global_batch",
    "train_loss",
    "lr",
    "seconds",
    "pairs_per_s",
    "val_i2s_R@1",
    "val_i2s_R@5",
    "val_i2s_R@10",
    "val_i2s_median_rank",
    "val_s2i_R@1",
    "val_s2i_R@5",
    "val_s2i_R@10",
    "val_s2i_median_rank",
    "val_n",
]


def git_commit() -> str | None:
    """The repository's commit, when running from a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of every trainable parameter, in order (to compare ranks or runs).

    BatchNorm running statistics are left out: under DDP each rank updates them
    from its own share of the batch (rank 0's are the ones saved).
    """
    digest = hashlib.sha256()
    for name, tensor in model.named_parameters():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def read_metrics_csv(path: Path) -> list[dict[str, Any]]:
    """metrics.csv rows with numbers parsed."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    integers = {"epoch", "steps", "pairs_seen", "global_batch", "val_n"}

    def parse(key: str, text: str | None) -> float | int | None:
        if text in ("", None):
            return None
        return int(float(text)) if key in integers else float(text)

    return [{k: parse(k, v) for k, v in row.items()} for row in rows]


def write_metrics_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write all rows atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in METRIC_COLUMNS})
    atomic_write_text(path, buffer.getvalue())


def plot_curves(path: Path, rows: list[dict[str, Any]]) -> None:
    """RUN/curves.png: training loss and validation retrieval per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    trained = [r for r in rows if r.get("train_loss") is not None]
    left.plot([r["epoch"] for r in trained], [r["train_loss"] for r in trained], marker="o")
    left.set(title="training loss", xlabel="epoch", ylabel="loss")
    left.grid(alpha=0.3)
    for key, label in (
        ("val_i2s_median_rank", "image→sound"),
        ("val_s2i_median_rank", "sound→image"),
    ):
        values = [r.get(key) for r in rows]
        if any(v is not None for v in values):
            right.plot(epochs, values, marker="o", label=label)
    if rows and rows[-1].get("val_n"):
        right.axhline((rows[-1]["val_n"] + 1) / 2, color="grey", linestyle="--", label="chance")
    right.set(
        title="validation median rank (lower is better)", xlabel="epoch", ylabel="median rank"
    )
    right.grid(alpha=0.3)
    right.legend()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)
