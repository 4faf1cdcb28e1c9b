"""CLI for training from a user's labels: ``train-from-labels``."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli import progress_bar
from backend.cli.options import (
    INIT_HELP,
    add_device_option,
    add_raster_option,
    add_seed_option,
    add_training_precision_option,
    add_workers_option,
)


# Same shape as every command module's add_commands (COMMAND_MODULES); the commands differ.
def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train-from-labels``."""
    from backend.labels.config import TILE_CANDIDATES_PX
    from backend.labels.sampling import DEFAULT_CAP, DEFAULT_DENSITY

    p = subparsers.add_parser(
        "train-from-labels",
        help="train a classifier from labelled points/polygons over a raster, with an "
        "honest (spatially blocked) accuracy report",
        description=(
            "Train a land-cover classifier from a vector layer of labelled points or polygons "
            "(any OGR format and CRS) over a raster (any band count and data type). Each sample "
            "is a tile of --tile-metres centred on it; polygons are sampled at --density. "
            "Accuracy is measured by spatially blocked k-fold cross-validation against the "
            "majority class (and, with --compare, a random trunk, ImageNet, a pixel random "
            "forest and a pixel logistic regression); the final model is trained on every sample and written with "
            "MODEL.report.json/.html and MODEL.confusion.png beside it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_raster_option(p)
    p.add_argument(
        "--labels",
        required=True,
        type=Path,
        help="labelled points or polygons: GeoPackage, Shapefile, GeoJSON, CSV with x/y "
        "(or lon/lat) columns, any OGR format",
    )
    p.add_argument(
        "--field", required=True, help="the attribute holding the class (text or integer)"
    )
    p.add_argument(
        "--out", required=True, type=Path, help="the classifier model file to write (.safetensors)"
    )
    p.add_argument(
        "--layer", default=None, help="layer of a multi-layer vector file (default: the first)"
    )
    p.add_argument(
        "--labels-crs",
        default=None,
        help="CRS of the labels when the file has none (CSV), e.g. EPSG:4326 (default: the "
        "file's, else the raster's)",
    )
    p.add_argument(
        "--init",
        default="random",
        help=f"trunk: {INIT_HELP}",
    )
    p.add_argument(
        "--mode",
        choices=["linear", "finetune"],
        default="linear",
        help="frozen trunk + linear probe, or fine-tune the whole network",
    )
    p.add_argument(
        "--head",
        choices=["hybrid", "trunk"],
        default="hybrid",
        help="what the classifier's head sees: the trunk's features plus the band values of "
        "the pixel under the sample (hybrid), or the trunk's features only (trunk)",
    )
    p.add_argument("--bands", default=None, help="1-based raster bands, e.g. 4,3,2 (default: all)")
    p.add_argument(
        "--tile-metres",
        type=tile_metres_arg,
        default=None,
        help="tile side on the ground (default: 32 pixels' worth), or auto: choose among "
        f"{', '.join(map(str, TILE_CANDIDATES_PX))} pixels' worth by nested spatially blocked "
        "cross-validation of the linear probe on frozen features (inside each training fold "
        "from its samples only; for the final model from all); with --mode finetune the tile "
        "is chosen by that linear-probe cross-validation, then fine-tuned at",
    )
    p.add_argument(
        "--resolution",
        type=float,
        default=None,
        help="resample to this many metres per pixel (default: the raster's)",
    )
    p.add_argument("--density", type=float, default=DEFAULT_DENSITY, help="polygon samples per km²")
    p.add_argument(
        "--max-per-polygon",
        type=int,
        default=DEFAULT_CAP,
        help="at most this many samples per polygon",
    )
    p.add_argument(
        "--block-metres",
        type=float,
        default=None,
        help="side of the spatial blocks of the split (default: 4 tiles)",
    )
    p.add_argument("--folds", type=int, default=4, help="cross-validation folds")
    p.add_argument(
        "--no-cross-validation",
        action="store_true",
        help="only train the final model (no accuracy report)",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="also run a random trunk, ImageNet (with --imagenet), a pixel random forest and a "
        "pixel logistic regression on the same folds",
    )
    p.add_argument("--imagenet", default=None, help="ImageNet state-dict file for --compare")
    add_seed_option(p)
    p.add_argument("--epochs", type=int, default=10, help="fine-tuning epochs")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument(
        "--lr", type=float, default=1e-3, help="AdamW learning rate of the head (fine-tuning)"
    )
    p.add_argument(
        "--trunk-lr-factor",
        type=float,
        default=1.0,
        help=(
            "fine-tuning: trunk lr = lr x this, the same for every start so that "
            "--compare is fair (default 1)"
        ),
    )
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument(
        "--l2",
        type=float,
        default=None,
        help="linear probe L2 penalty (default: chosen on held-out samples)",
    )
    add_device_option(p)
    add_workers_option(p, 0)
    add_training_precision_option(p, protocol=False, when=" when fine-tuning")
    p.set_defaults(func=run_train_from_labels_command)


def tile_metres_arg(text: str) -> float | str:
    """``--tile-metres``: a positive number of metres, or ``auto``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of metres or auto, got {text!r}"
        ) from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def config_from_args(args: argparse.Namespace):
    """The :class:`~backend.labels.training.LabelsConfig` of parsed arguments."""
    from backend.data.scenes import parse_bands
    from backend.labels.config import LabelsConfig

    return LabelsConfig(
        raster=str(args.raster),
        labels=str(args.labels),
        field=args.field,
        out=str(args.out),
        init=args.init,
        mode=args.mode,
        head=args.head,
        bands=parse_bands(args.bands) if args.bands else None,
        layer=args.layer,
        labels_crs=args.labels_crs,
        tile_metres=None if args.tile_metres == "auto" else args.tile_metres,
        auto_tile=args.tile_metres == "auto",
        resolution=args.resolution,
        density=args.density,
        max_per_polygon=args.max_per_polygon,
        block_metres=args.block_metres,
        folds=args.folds,
        compare=args.compare,
        imagenet=args.imagenet,
        cross_validate=not args.no_cross_validation,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        trunk_lr_factor=args.trunk_lr_factor,
        weight_decay=args.weight_decay,
        l2=args.l2,
        precision=args.precision,
        device=args.device,
        workers=args.workers,
    )


def run_train_from_labels_command(args: argparse.Namespace) -> int:
    """``train-from-labels``: train, write the model and report, print the accuracy summary."""
    from backend.labels.report import format_summary
    from backend.labels.training import train_from_labels

    config = config_from_args(args)
    with progress_bar("train-from-labels") as bar:
        result = train_from_labels(config, bar)
    print(format_summary(result.report))
    print(f"classifier: {result.model}")
    print(f"report: {result.report_html} ({result.report_json.name})")
    return 0
