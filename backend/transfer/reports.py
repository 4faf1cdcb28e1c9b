"""Transfer reports: the summary lines, the JSON report, the confusion-matrix PNG and the table."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backend.atomic import atomic_path, atomic_write_text
from backend.transfer.experiments import MODE_TITLES


def format_result(result: dict[str, Any]) -> str:
    """A few lines summarising :func:`run_transfer`'s report."""
    acc, f1 = result["accuracy"], result["macro_f1"]
    n = len(result["runs"])
    return (
        f"{result['init_label']} / {result['mode']} on {result['scenes']} "
        f"({result['n_train']} train, {result['n_test']} test images, {n} seed{'s' * (n != 1)}):\n"
        f"  overall accuracy {100 * acc['mean']:.2f} ± {100 * acc['std']:.2f} %\n"
        f"  macro F1         {100 * f1['mean']:.2f} ± {100 * f1['std']:.2f} %"
        + (
            f"\n  weighted F1      {100 * result['weighted_f1']['mean']:.2f} ± "
            f"{100 * result['weighted_f1']['std']:.2f} %"
            if "weighted_f1" in result
            else ""
        )
        + (
            f"\n  trunk learning rate x {result['trunk_lr_sweep']['chosen']:g} (validation "
            "accuracy "
            + ", ".join(
                f"x{f:g}: {100 * a:.1f} %"
                for f, a in zip(
                    result["trunk_lr_sweep"]["factors"],
                    result["trunk_lr_sweep"]["validation_accuracy"],
                    strict=True,
                )
            )
            + ")"
            if "trunk_lr_sweep" in result
            else ""
        )
    )


def plot_confusion(
    path: str | os.PathLike,
    confusion: Sequence[Sequence[int]],
    class_names: Sequence[str],
    title: str,
) -> None:
    """Write a row-normalised confusion-matrix PNG (counts written in the cells), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(confusion, dtype=np.float64)
    rows = matrix.sum(1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    n = len(class_names)
    side = min(20.0, max(4.0, 0.45 * n + 2.5))
    figure, axes = plt.subplots(figsize=(side, side))
    image = axes.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(n), labels=list(class_names), rotation=90)
    axes.set_yticks(range(n), labels=list(class_names))
    axes.set(xlabel="predicted class", ylabel="true class", title=title)
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    axes.text(
                        j,
                        i,
                        str(int(matrix[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if normalised[i, j] > 0.5 else "black",
                    )
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")
    plt.close(figure)


def write_result(result: dict[str, Any], json_path: str | os.PathLike) -> Path:
    """Write the report as JSON and its confusion matrix as ``<stem>.png`` beside it.

    Returns:
        The PNG's path.
    """
    json_path = Path(json_path)
    atomic_write_text(json_path, json.dumps(result, indent=2) + "\n")
    png = json_path.with_suffix(".png")
    n = len(result["runs"])
    plot_confusion(
        png,
        result["confusion"],
        result["class_names"],
        f"{result['init_label']} / {result['mode']}: OA {100 * result['accuracy']['mean']:.1f} % "
        f"(sum over {n} seed{'s' * (n != 1)})",
    )
    return png


def format_table(results: Sequence[dict[str, Any]], modes: Sequence[str], shots: int) -> str:
    """The transfer table as Markdown: rows initialisations, columns modes, OA mean ± std."""
    titles = {**MODE_TITLES, "fewshot": f"Few-shot ({shots} per class)"}
    labels: list[str] = []
    for result in results:
        if result["init_label"] not in labels:
            labels.append(result["init_label"])
    cell = {(r["init_label"], r["mode"]): r for r in results}
    lines = [
        "| Initialisation | " + " | ".join(titles[m] for m in modes) + " |",
        "|---|" + "---:|" * len(modes),
    ]
    for label in labels:
        values = []
        for mode in modes:
            r = cell.get((label, mode))
            values.append(
                f"{100 * r['accuracy']['mean']:.1f} ± {100 * r['accuracy']['std']:.1f}"
                if r
                else "–"
            )
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    if results:
        first = next((r for r in results if r["mode"] != "fewshot"), results[0])
        n = len(first["runs"])
        protocol = first.get("protocol", "product")
        lines += [
            "",
            f"Overall accuracy (%) on {Path(first['scenes']).name} "
            f"({len(first['class_names'])} classes, {first['n_train']} training / "
            f"{first['n_test']} test images, {first['split']} split, {first['image_size']} px), "
            f"mean ± standard deviation over {n} seed{'s' * (n != 1)}. Every initialisation "
            f"under the {protocol} protocol"
            + (
                " (the paper's few-shot: k images per class from every image, the rest tested)."
                if protocol == "paper" and "fewshot" in modes
                else "."
            ),
        ]
    return "\n".join(lines) + "\n"
