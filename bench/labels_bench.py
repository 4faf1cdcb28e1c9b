"""Training from labels: sampling and training on 1,000 labelled points over a 10,000 x 10,000 px raster.

The raster is generated once into bench/tmp (4 bands, uint16, tiled and
compressed GeoTIFF in UTM, 10 m pixels): four land-cover classes in large
smooth patches, each with its own spectrum, plus noise. 1,000 labelled points
(in EPSG:4326, so they are reprojected) are drawn over it with the class under
them. ``train-from-labels`` then runs as a user would run it: ResNet-18, linear
mode, 32 px tiles, 4 spatially blocked folds and the final model, with
``--compare`` adding the pixel random forest on the same folds. The run happens
in a fresh process (peak RSS is its own); the figures are the report's own
timings: sampling (labels, tiles, radiometry), cross-validation per method, the
final model, and the total.

Run ``python -m bench --only labels`` or ``python bench/labels_bench.py``;
``--quick`` is a smoke test (2,000 px, 200 points, written to
bench/tmp/results/). Writes bench/results/labels.json. ``python bench/labels_bench.py
--tile-metres auto`` measures the same run with the tile size chosen by nested
validation (16/32/64 px) into bench/results/labels_tile_auto.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR,
    SCRATCH_DIR,
    load_average,
    machine_info,
    run_child,
    write_result,
)

SIDE = 10_000
POINTS = 1_000
BANDS = 4
PIXEL_M = 10.0
LEFT, TOP = 400_000.0, 5_600_000.0
CLASSES = ("water", "forest", "cropland", "urban")
#: one class patch is about this many pixels across
PATCH_PX = 500


def _class_field(rows: Any, cols: Any, seed: int = 0) -> Any:
    """The class index at pixel positions: the nearest of seeded patch centres (a Voronoi map)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = (SIDE // PATCH_PX) ** 2
    centres = rng.uniform(0, SIDE, size=(n, 2))
    classes = rng.integers(0, len(CLASSES), n)
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(centres).query(np.c_[rows.ravel(), cols.ravel()])
    return classes[nearest].reshape(np.shape(rows))


def make_raster(path: Path, side: int) -> Path:
    """The benchmark raster (written once, strip by strip; reused when present)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    if path.is_file():
        with rasterio.open(path) as src:
            if src.width == side:
                return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".partial-" + path.name)
    rng = np.random.default_rng(1)
    spectra = rng.uniform(800, 6000, size=(len(CLASSES), BANDS))
    strip = 512
    with rasterio.open(
        tmp,
        "w",
        driver="GTiff",
        width=side,
        height=side,
        count=BANDS,
        dtype="uint16",
        crs="EPSG:32633",
        transform=from_origin(LEFT, TOP, PIXEL_M, PIXEL_M),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        nodata=0,
    ) as dst:
        cols = np.arange(side)
        for top in range(0, side, strip):
            rows = np.arange(top, min(side, top + strip))
            rr, cc = np.meshgrid(rows * (SIDE / side), cols * (SIDE / side), indexing="ij")
            cls = _class_field(rr, cc)
            noise = rng.normal(0, 150, size=(BANDS, len(rows), side))
            data = np.clip(spectra[cls].transpose(2, 0, 1) + noise, 1, 65535).astype("uint16")
            dst.write(data, window=((top, top + len(rows)), (0, side)))
    tmp.replace(path)
    return path


def make_points(path: Path, side: int, count: int) -> Path:
    """``count`` labelled points in EPSG:4326 with the class under each (GeoPackage)."""
    import numpy as np
    from osgeo import ogr, osr

    rng = np.random.default_rng(2)
    rows = rng.uniform(0, side, count)
    cols = rng.uniform(0, side, count)
    cls = _class_field(rows * (SIDE / side), cols * (SIDE / side))
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(32633)
    dst.ImportFromEPSG(4326)
    for srs in (src, dst):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    transform = osr.CoordinateTransformation(src, dst)
    path.unlink(missing_ok=True)
    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("survey", dst, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("cover", ogr.OFTString))
    layer.StartTransaction()
    for r, c, k in zip(rows, cols, cls, strict=True):
        lon, lat, _ = transform.TransformPoint(LEFT + c * PIXEL_M, TOP - r * PIXEL_M)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("cover", CLASSES[int(k)])
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({lon} {lat})"))
        layer.CreateFeature(feature)
    layer.CommitTransaction()
    dataset = None
    return path


def child(raster: str, labels: str, out: str, result: str, tile: str | None = None) -> None:
    """Run train-from-labels (in the child process) and write its timings.

    ``tile="auto"``: ``--tile-metres auto`` (the tile chosen by nested validation).
    """
    from backend.labels import LabelsConfig, train_from_labels

    started = time.perf_counter()
    run = train_from_labels(
        LabelsConfig(
            raster=raster,
            labels=labels,
            field="cover",
            out=out,
            init="random",
            mode="linear",
            compare=True,
            auto_tile=tile == "auto",
        )
    )
    report = run.report
    Path(result).write_text(
        json.dumps(
            {
                "wall_s": round(time.perf_counter() - started, 2),
                "samples": report["samples"],
                "skipped": report["skipped"],
                "tile_px": report["tile_px"],
                "tile_selection": report.get("tile_selection"),
                "folds": report["split"]["folds"],
                "blocks": report["split"]["blocks"],
                "seconds": report["seconds"],
                "methods": {
                    m["name"]: {"overall_accuracy": m["overall_accuracy"], "cv_s": m["seconds"]}
                    for m in report["methods"]
                },
            }
        )
    )


def run_benchmark(quick: bool = False, tile: str | None = None) -> dict[str, Any]:
    """Generate the data (once), run the child, write bench/results/labels.json.

    ``tile="auto"`` measures ``--tile-metres auto`` into ``labels_tile_auto.json``.
    """
    side, count = (2_000, 200) if quick else (SIDE, POINTS)
    scratch = SCRATCH_DIR / "labels"
    began = time.perf_counter()
    raster = make_raster(scratch / f"raster-{side}.tif", side)
    labels = make_points(scratch / f"points-{count}.gpkg", side, count)
    generated_s = time.perf_counter() - began
    load = load_average()
    run = run_child(
        [
            "-m",
            "bench.labels_bench",
            "--child",
            str(raster),
            str(labels),
            str(scratch / "model.safetensors"),
            str(scratch / "child.json"),
            *(["--tile-metres", tile] if tile else []),
        ],
        scratch / "child.json",
        scratch / "child.log",
        timeout_s=3600,
    )
    if run.result is None:
        print(run.log_tail, file=sys.stderr)
    payload = {
        "benchmark": "train-from-labels: sampling and training on labelled points",
        "machine": machine_info(),
        "load_average_before": load,
        "raster": {"side_px": side, "bands": BANDS, "dtype": "uint16", "pixel_m": PIXEL_M},
        "points": count,
        "settings": "ResNet-18, random init, linear mode, "
        + ("tiles of 16/32/64 px chosen by nested validation" if tile else "32 px tiles")
        + ", 4 spatial folds + final model, --compare (pixel random forest on the same folds)",
        "data_generation_s": round(generated_s, 1),
        "returncode": run.returncode,
        "peak_rss_mib": run.peak_rss_mib,
        "other_busy_cores": run.other_busy_cores,
        "result": run.result,
        "quick": quick,
    }
    if run.result:
        seconds = run.result["seconds"]
        forest = run.result["methods"].get("pixel random forest", {}).get("cv_s")
        deep = run.result["methods"].get("random (linear)", {}).get("cv_s")
        # the figure of the issue: sampling + training (folds and final) without the forest
        payload["sampling_and_training_s"] = round(
            seconds["sampling"] + (deep or 0.0) + seconds["final_model"], 2
        )
        payload["random_forest_s"] = forest
        print(
            f"labels: {run.result['samples']} samples on a {side} px raster: sampling "
            f"{seconds['sampling']:.1f} s, ResNet-18 linear 4-fold CV {deep:.1f} s, final "
            f"{seconds['final_model']:.1f} s, pixel random forest CV {forest:.1f} s; total "
            f"{seconds['total']:.1f} s, peak RSS {run.peak_rss_mib:.0f} MiB"
        )
    # a smoke test's figures are not the benchmark's: they stay in the scratch folder
    name = "labels_tile_auto.json" if tile == "auto" else "labels.json"
    write_result((SCRATCH_DIR / "results" if quick else RESULTS_DIR) / name, payload)
    return payload


def main(argv: list[str] | None = None) -> int:
    """``python bench/labels_bench.py [--quick]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke test on small data")
    parser.add_argument("--child", nargs=4, metavar=("RASTER", "LABELS", "OUT", "RESULT"))
    parser.add_argument(
        "--tile-metres",
        choices=["auto"],
        default=None,
        help="auto: measure --tile-metres auto (written to labels_tile_auto.json)",
    )
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, tile=args.tile_metres)
        return 0
    payload = run_benchmark(quick=args.quick, tile=args.tile_metres)
    return 0 if payload["returncode"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
