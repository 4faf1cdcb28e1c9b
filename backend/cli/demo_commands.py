"""Demo and dataset commands: ``demo`` (the whole pipeline), ``make-demo-data``, ``build-pairs``."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli import UserError, progress_bar
from backend.cli.options import (
    add_device_option,
    add_raster_option,
    add_seed_option,
    add_workers_option,
    positive_number,
    whole_number,
)

#: the argparse types of counts
_positive_int = whole_number(1)
_non_negative_int = whole_number(0)


# Same shape as every command module's add_commands (COMMAND_MODULES); the commands differ.
def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``demo``, ``make-demo-data`` and ``build-pairs`` to the CLI."""
    _add_demo_command(subparsers)
    demo = subparsers.add_parser(
        "make-demo-data",
        help="write a procedural demo dataset (pairs, scene set, scene raster)",
        description=(
            "Write a procedural demo dataset: aerial-looking tiles and field recordings "
            "that share a hidden land-cover class (water, forest, farmland, urban, road, "
            "beach), in the SoundingEarth layout (OUT/pairs: metadata.csv, images/, audio/), "
            "with the hidden classes (OUT/labels.csv), a scene-classification set with one "
            "folder per class (OUT/scenes), and a georeferenced scene raster with its "
            "ground-truth class raster (OUT/scene.tif, OUT/scene_labels.tif, UTM 33N, 0.5 m). "
            "The same seed gives the same files."
        ),
    )
    demo.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    demo.add_argument(
        "--pairs",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="image/sound pairs (default: %(default)s)",
    )
    add_seed_option(demo)
    demo.add_argument(
        "--tile-px",
        type=_positive_int,
        default=512,
        metavar="N",
        help="pair tile side in pixels, at 0.5 m (default: %(default)s)",
    )
    demo.add_argument(
        "--scenes-per-class",
        type=_positive_int,
        default=40,
        metavar="N",
        help="images per class in the scene set (default: %(default)s)",
    )
    demo.add_argument(
        "--scene-px",
        type=_positive_int,
        default=1024,
        metavar="N",
        help="side of the scene raster in pixels (default: %(default)s)",
    )
    demo.set_defaults(func=_make_demo_data)

    pairs = subparsers.add_parser(
        "build-pairs",
        help="crop raster tiles around geotagged recordings into the SoundingEarth layout",
        description=(
            "Build image/sound pairs from your own data: for every point (CSV with "
            "longitude/latitude columns - lon/lat, lng, x/y are recognised - or a GeoJSON "
            "FeatureCollection of points, in EPSG:4326) crop a square tile of the raster "
            "centred on it, copy its recording, and write OUT/metadata.csv, OUT/images/ and "
            "OUT/audio/. Points whose tile is not wholly inside the raster, or whose audio "
            "file is missing or unreadable, are skipped and counted. Relative audio paths "
            "are resolved against the points file's folder."
        ),
    )
    add_raster_option(
        pairs, "georeferenced imagery: any raster GDAL opens (GeoTIFF, VRT, JPEG 2000, ...)"
    )
    pairs.add_argument(
        "--points", type=Path, required=True, metavar="P", help="points file (.csv or .geojson)"
    )
    pairs.add_argument(
        "--audio-field",
        required=True,
        metavar="F",
        help="attribute holding each recording's audio file path",
    )
    pairs.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    pairs.add_argument(
        "--tile-metres",
        type=positive_number,
        default=256.0,
        metavar="M",
        help="ground size of a tile in metres (default: %(default)s)",
    )
    pairs.add_argument(
        "--tile-px",
        type=_positive_int,
        default=512,
        metavar="N",
        help="tile side in pixels (default: %(default)s)",
    )
    pairs.add_argument(
        "--key-field",
        default=None,
        metavar="F",
        help="attribute with integer keys (default: the row number)",
    )
    pairs.set_defaults(func=_build_pairs)


def _add_demo_command(subparsers: argparse._SubParsersAction) -> None:
    from backend.demo.config import SIZES, SOURCES

    sizes = "; ".join(
        f"{s.name}: {s.pairs} pairs, {s.epochs} epochs at {s.image_size} px" for s in SIZES.values()
    )
    demo = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on demo data and write an HTML report (make demo)",
        description=(
            "Run everything end to end into OUT: generate procedural demo data (or, with "
            "--source real, gather real imagery and recordings), decode the spectrograms, "
            "pretrain the audiovisual model (OUT/pretrain/model.safetensors), measure "
            "retrieval against an untrained model and chance, run the transfer table "
            "(OUT/transfer), fine-tune the classifier (OUT/classifier.safetensors), classify "
            "the scene raster (OUT/classes.tif) and score it against its ground truth, build "
            "the sound index (OUT/index), query the sounds of one extent (OUT/query.json), map "
            "where one recording belongs (OUT/soundmap.tif), and write OUT/summary.json and "
            "OUT/report.html. Steps whose outputs exist and were made with the same settings "
            f"are reused; --fresh redoes them all. Sizes: {sizes}."
        ),
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("demo-output"),
        metavar="DIR",
        help="output folder (default: demo-output)",
    )
    demo.add_argument(
        "--size", choices=list(SIZES), default="full", help="how big a demo (default: full)"
    )
    demo.add_argument(
        "--source",
        choices=list(SOURCES),
        default="procedural",
        help="procedural data generated here, or real imagery and recordings (default: procedural)",
    )
    demo.add_argument(
        "--pairs", type=_positive_int, default=None, metavar="N", help="override the pairs"
    )
    demo.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="override the pretraining epochs",
    )
    add_seed_option(demo)
    add_device_option(demo)
    add_workers_option(
        demo,
        None,
        "data-loading processes and decoding threads (default: automatic)",
        type=_non_negative_int,
    )
    demo.add_argument("--fresh", action="store_true", help="redo every step")
    demo.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from backend.demo.config import DemoConfig
    from backend.demo.pipeline import format_summary, quiet_logs, run_demo

    config = DemoConfig(
        out=args.out,
        size=args.size,
        source=args.source,
        pairs=args.pairs,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        workers=args.workers,
        fresh=args.fresh,
    )
    if args.source == "real" and args.pairs is not None:
        raise UserError("--pairs applies to procedural data only")
    with quiet_logs(getattr(args, "verbose", False)):
        summary = run_demo(config, progress_bar)
    print()
    print(format_summary(summary, args.out))
    return 0


# Same shape as the other run functions (flags to one backend call under a bar); calls differ.
def _make_demo_data(args: argparse.Namespace) -> int:
    from backend.data.demo import make_demo_data

    with progress_bar("demo data") as bar:
        summary = make_demo_data(
            args.out,
            pairs=args.pairs,
            seed=args.seed,
            tile_px=args.tile_px,
            scenes_per_class=args.scenes_per_class,
            scene_tif_px=args.scene_px,
            progress=bar,
        )
    print(summary.summary())
    return 0


# Same shape as the other run functions (flags to one backend call under a bar); calls differ.
def _build_pairs(args: argparse.Namespace) -> int:
    from backend.data.build_pairs import build_pairs

    if not Path(args.raster).exists():
        raise UserError(f"{args.raster}: raster not found")
    if not args.points.exists():
        raise UserError(f"{args.points}: points file not found")
    with progress_bar("build pairs") as bar:
        report = build_pairs(
            args.raster,
            args.points,
            args.audio_field,
            args.out,
            tile_metres=args.tile_metres,
            tile_px=args.tile_px,
            key_field=args.key_field,
            progress=bar,
        )
    print(report.summary())
    return 0
