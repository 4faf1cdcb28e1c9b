"""The train-from-labels accuracy report: JSON, a small HTML page and the confusion-matrix PNG."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from backend.atomic import atomic_write_text
from backend.transfer.reports import plot_confusion


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def format_summary(report: dict[str, Any]) -> str:
    """A few lines for the terminal: samples, and each method's overall accuracy."""
    lines = [
        f"{report['samples']} samples of {len(report['classes'])} classes "
        f"({report['tile_px']} px tiles of {report['tile_metres']:g} m); "
        f"skipped: {report['skipped'] or 'none'}"
    ]
    split = report["split"]
    if report["methods"]:
        lines.append(
            f"spatially blocked {split['folds']}-fold cross-validation "
            f"({split['blocks']} blocks of {split['block_metres']:g} m), overall accuracy:"
        )
        for method in report["methods"]:
            folds = ", ".join(f"{100 * a:.0f}" for a in method["per_fold_accuracy"])
            lines.append(
                f"  {method['name']:<32} {_pct(method['overall_accuracy']):>8}  "
                f"macro F1 {_pct(method['macro_f1']):>8}  (folds: {folds})"
            )
    selection = report.get("tile_selection")
    if selection:
        per_fold = ", ".join(str(f["chosen_px"]) for f in selection["per_fold"])
        lines.append(
            f"tile chosen by nested validation among {selection['candidates_px']} px: "
            f"{selection['final']['chosen_px']} px for the model"
            + (f" (per fold: {per_fold})" if per_fold else "")
        )
    if report.get("warning"):
        lines.append(f"warning: {report['warning']}")
    return "\n".join(lines)


def _tile_table(selection: dict[str, Any] | None) -> str:
    """The HTML table of the tile-size choice: each candidate's inner-CV accuracy per fold."""
    if not selection:
        return ""
    e = html.escape
    columns = [(f"fold {f['fold'] + 1}", f) for f in selection["per_fold"]]
    columns.append(("final model", selection["final"]))
    head = "".join(f"<th>{e(name)}</th>" for name, _ in columns)
    rows = ""
    for px, metres in zip(selection["candidates_px"], selection["candidates_metres"], strict=True):
        cells = ""
        for _, choice in columns:
            accuracy = choice["accuracy"].get(str(px))
            text = _pct(accuracy) if accuracy is not None else "-"
            if choice["chosen_px"] == px:
                text = f"<b>{text} (chosen)</b>"
            cells += f"<td>{text}</td>"
        rows += f"<tr><td>{px} px ({metres:g} m)</td>{cells}</tr>"
    return (
        "<h2>Tile size, chosen by nested validation</h2>"
        "<p>Inside each training fold, from its samples only, a spatially blocked "
        "cross-validation of the linear probe on frozen features scored each tile size "
        "(overall accuracy; ties to the smaller tile); the final model's tile was chosen "
        "the same way from every sample.</p>"
        f"<table><tr><th>Tile</th>{head}</tr>{rows}</table>"
    )


def _html(report: dict[str, Any], png_name: str | None) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(m['name'])}</td><td>{_pct(m['overall_accuracy'])}</td>"
        f"<td>{_pct(m['macro_f1'])}</td>"
        f"<td>{e(', '.join(f'{100 * a:.1f}' for a in m['per_fold_accuracy']))}</td></tr>"
        for m in report["methods"]
    )
    main = report["methods"][0] if report["methods"] else None
    per_class = ""
    if main:
        per_class = "".join(
            f"<tr><td>{e(name)}</td><td>{_pct(v['precision'])}</td><td>{_pct(v['recall'])}</td>"
            f"<td>{_pct(v['f1'])}</td><td>{v['support']}</td></tr>"
            for name, v in main["per_class"].items()
        )
    classes = "".join(
        f"<li><span style='display:inline-block;width:1em;height:1em;background:{e(c['color'])}'>"
        f"</span> {e(c['name'])} ({c['samples']} samples)</li>"
        for c in report["classes"]
    )
    skipped = ", ".join(f"{n} {e(k)}" for k, n in report["skipped"].items()) or "none"
    split = report["split"]
    warning = f"<p><b>Warning:</b> {e(report['warning'])}</p>" if report.get("warning") else ""
    image = f"<p><img src='{e(png_name)}' alt='confusion matrix'></p>" if png_name else ""
    tables = ""
    if main:
        tables = (
            "<h2>Overall accuracy, out of fold</h2>"
            f"<p>Spatially blocked {split['folds']}-fold cross-validation: "
            f"{split['blocks']} blocks of {split['block_metres']:g} m, no block (and no "
            "polygon) on both sides.</p>"
            "<table><tr><th>Method</th><th>Overall accuracy</th><th>Macro F1</th>"
            f"<th>Per fold (%)</th></tr>{rows}</table>"
            f"<h2>Per class: {e(main['name'])}</h2>"
            "<table><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th>"
            f"<th>Samples</th></tr>{per_class}</table>{image}"
        )
    tables += _tile_table(report.get("tile_selection"))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Accuracy of {e(report['model'])}</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:right}td:first-child,th:first-child{text-align:left}</style></head><body>"
        f"<h1>{e(report['model'])}</h1>"
        f"<p>Trained from {e(Path(report['labels']).name)} (field {e(report['field'])}) over "
        f"{e(Path(report['raster']).name)}: {report['samples']} samples "
        f"({report['tile_px']} px tiles of {report['tile_metres']:g} m), trunk "
        f"{e(report['init'])}, {e(report['mode'])} mode. Skipped: {skipped}.</p>"
        f"{warning}<ul>{classes}</ul>{tables}</body></html>\n"
    )


def write_report(
    report: dict[str, Any],
    json_path: str | os.PathLike,
    html_path: str | os.PathLike,
    png_path: str | os.PathLike | None,
) -> None:
    """Write the report's JSON, HTML and (with cross-validation) the main method's confusion PNG."""
    json_path, html_path = Path(json_path), Path(html_path)
    if png_path is not None and report["methods"]:
        main = report["methods"][0]
        plot_confusion(
            png_path,
            main["confusion"],
            [c["name"] for c in report["classes"]],
            f"{main['name']}: OA {_pct(main['overall_accuracy'])} (out of fold)",
        )
    atomic_write_text(json_path, json.dumps(report, indent=2) + "\n")
    atomic_write_text(
        html_path, _html(report, Path(png_path).name if png_path and report["methods"] else None)
    )
