"""CLI for transfer learning: ``transfer``, ``transfer-table``, ``finetune`` and ``export-onnx``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend.cli import progress_bar
from backend.cli.options import (
    INIT_HELP,
    add_device_option,
    add_json_option,
    add_model_option,
    add_protocol_option,
    add_seed_option,
    add_training_precision_option,
    add_workers_option,
    given,
)


def _image_size(text: str) -> int | None:
    """``--image-size``: pixels, or ``native`` (the images' own size)."""
    if text.strip().lower() == "native":
        return None
    try:
        return int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected pixels or 'native', got {text!r}") from error


def _factors(text: str) -> tuple[float, ...]:
    """``--trunk-lr-factor``: one number, or several separated by commas (a sweep)."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 1 or 1,0.1, got {text!r}"
        ) from error
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def _add_data_arguments(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--scenes",
        required=required,
        type=Path,
        help="scene dataset: one sub-folder per class (UC Merced, AID, NWPU-RESISC45, EuroSAT)",
    )
    p.add_argument(
        "--bands",
        default=None,
        help="1-based bands to use, e.g. 4,3,2 (default: RGB, the first three bands)",
    )
    p.add_argument(
        "--split-file",
        type=Path,
        default=None,
        help="lines 'class/file,train' or 'class/file,test' (default: the reference's "
        "alternating 50/50 split within each class)",
    )
    add_protocol_option(
        p,
        "--image-size",
        type=_image_size,
        help="side every image is resized to, px, or 'native' (the images' most common side) "
        "(default 256; paper: native)",
    )
    # Declared in the same shape as finetune's --mode and --colors: different options.
    p.add_argument(
        "--arch",
        choices=["resnet18", "resnet50"],
        default="resnet18",
        help="trunk of random and ImageNet initialisations (model files bring their own)",
    )
    p.add_argument(
        "--normalization",
        choices=["auto", "imagenet", "dataset"],
        default="auto",
        help="input statistics: auto = ImageNet's for 8-bit RGB, the training images' otherwise",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        help="divide pixels by this (default: from the bit depth, 255 for 8-bit, 65535 for 16-bit)",
    )


def _add_protocol_argument(p: argparse.ArgumentParser) -> None:
    from backend.transfer.datasets import PROTOCOLS

    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="product",
        help="product: this project's; paper: the reference's downstream code (Adam 1e-3, "
        "5 epochs, no augmentation, a linear head on the 128-d embedding, native image size, "
        "the paper's few-shot) - flags left out take the protocol's values",
    )


def _add_training_arguments(p: argparse.ArgumentParser, sweep: bool = True) -> None:
    from backend.train import default_workers

    add_protocol_option(p, "--epochs", type=int, help="fine-tuning epochs (default 10; paper 5)")
    add_protocol_option(
        p,
        "--batch-size",
        type=int,
        help="images per step (default 32; paper 48, or 8 for images over 256 px)",
    )
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of the head")
    add_protocol_option(
        p,
        "--trunk-lr-factor",
        type=_factors if sweep else float,
        help="trunk learning rate = lr x this, the same for every initialisation (default 1)"
        + (
            "; several, e.g. 1,0.1: each initialisation's chosen on a validation quarter of "
            "the training split, from the same candidates"
            if sweep
            else ""
        ),
    )
    add_protocol_option(
        p, "--weight-decay", type=float, help="(default 1e-4 with AdamW; paper 0 with Adam)"
    )
    p.add_argument(
        "--l2",
        type=float,
        default=None,
        help="linear probe L2 penalty (default: chosen on a held-out quarter of the training split)",
    )
    add_device_option(p)
    add_workers_option(p, default_workers())
    add_training_precision_option(p, protocol=True)


def _add_seed_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=int, default=3, help="repeated runs (mean ± std is reported)")
    add_seed_option(p, "first seed")
    p.add_argument("--shots", type=int, default=5, help="few-shot: labelled images per class")


def _add_segmentation_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "segmentation task",
        "Trains DeepLabv3+ (torchvision's ASPP, the v3+ decoder on stride-4 features) on the "
        "--init trunk with the paper's DeepGlobe protocol whatever --protocol says: 512 px "
        "patches 347 px apart, no augmentation, Adam at --lr on every weight, batch 16, 5 "
        "epochs, cross-entropy ignoring unknown pixels. Scores held-out images (overall "
        "accuracy, mIoU, IoU per class; the JSON report defaults to OUT.metrics.json) and "
        "writes a segmentation model file that classify and the plugin turn into per-pixel "
        "class maps.",
    )
    g.add_argument("--out", type=Path, help="segmentation model file to write (.safetensors)")
    g.add_argument("--patch-size", type=int, default=512, help="training patch and tile side, px")
    g.add_argument(
        "--patch-stride",
        type=int,
        default=None,
        help="spacing of training patches, px (default: 347/512 of --patch-size, the paper's)",
    )
    g.add_argument(
        "--test-ids",
        type=Path,
        default=None,
        help="held-out image ids, one per line (default: every fifth image by id)",
    )
    g.add_argument(
        "--resolution",
        type=float,
        default=None,
        help="ground metres per pixel of the images, recorded in the model file (DeepGlobe: "
        "0.5); classify then resamples rasters to it. Default: unrecorded, so maps are "
        "made at each raster's own pixels",
    )


# Same shape as every command module's add_commands (COMMAND_MODULES); the commands differ.
def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``transfer``, ``transfer-table``, ``finetune`` and ``export-onnx``."""
    t = subparsers.add_parser(
        "transfer",
        help="how well a pretrained model transfers: scene classification, ADVANCE, "
        "land-cover segmentation",
        description=(
            "--task scene (default) evaluates an image trunk on a scene dataset (--scenes, "
            "--init, --mode): linear (frozen trunk, logistic regression head), finetune "
            "(whole network) or fewshot (k images per class, nearest class centroid). Reports "
            "overall accuracy, macro and weighted F1 and the confusion matrix, mean ± standard "
            "deviation over seeds; --json also writes them, with the confusion matrix as a PNG "
            "beside it. --task advance (--data, --model) embeds the image and the sound of "
            "every ADVANCE scene with an audiovisual model and reports logistic regression on "
            "image, sound, their mean and their concatenation over 5 splits: weighted "
            "precision, recall and F1. --task segmentation (--data, --init, --out) trains "
            "DeepLabv3+ on the trunk over DeepGlobe and writes a segmentation model file "
            "(see the segmentation options)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    t.add_argument(
        "--task",
        choices=list(TASKS),
        default="scene",
        help="; ".join(f"{name}: {task.help}" for name, task in TASKS.items()),
    )
    _add_data_arguments(t, required=False)
    t.add_argument("--init", help=f"--task scene and segmentation: {INIT_HELP}")
    t.add_argument("--mode", choices=["linear", "finetune", "fewshot"], help="--task scene")
    t.add_argument(
        "--data",
        type=Path,
        help="dataset folder of the task (advance: vision/, sound/; segmentation: DeepGlobe's "
        "train/ with <id>_sat.jpg and <id>_mask.png, or the folder above it)",
    )
    add_model_option(t, "audiovisual model file (--task advance)", required=False)
    t.add_argument("--splits", type=int, default=5, help="--task advance: training splits")
    _add_protocol_argument(t)
    _add_seed_arguments(t)
    _add_training_arguments(t)
    add_json_option(t, "write the report here (+ .png)")
    _add_segmentation_arguments(t)
    t.set_defaults(func=run_transfer_command)

    table = subparsers.add_parser(
        "transfer-table",
        help="every initialisation x mode, as a Markdown table like the paper's",
        description=(
            "Runs transfer for every initialisation and mode on one scene dataset and writes "
            "OUT/table.md (rows: initialisations; columns: modes; overall accuracy mean ± std "
            "over seeds), OUT/table.json and OUT/runs/<init>-<mode>.json/.png. Name a row with "
            "LABEL=INIT, e.g. 'Sounding Earth=runs/se/model.safetensors'. Every initialisation "
            "runs under the same protocol; --protocol paper is the paper's (docs/transfer.md)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_data_arguments(table)
    table.add_argument("--inits", nargs="+", required=True, help=INIT_HELP)
    table.add_argument(
        "--modes",
        nargs="+",
        choices=["linear", "finetune", "fewshot"],
        default=None,
        help="(default: linear finetune fewshot; paper: finetune fewshot)",
    )
    _add_protocol_argument(table)
    table.add_argument("--out", required=True, type=Path, help="folder for the table and runs")
    _add_seed_arguments(table)
    _add_training_arguments(table)
    table.set_defaults(func=run_transfer_table_command)

    f = subparsers.add_parser(
        "finetune",
        help="train a scene classifier and save it as a model file for the raster engine",
        description=(
            "Trains a classifier on a scene dataset and writes a classifier model file carrying "
            "class names and colours, input bands, normalisation, tile size and ground "
            "resolution, so the raster engine and the QGIS plugin need nothing else to run it. "
            "Trains on the training split and reports test accuracy, or on every image with "
            "--all-images."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_data_arguments(f)
    f.add_argument("--init", required=True, help=INIT_HELP)
    f.add_argument("--out", required=True, type=Path, help="classifier model file (.safetensors)")
    f.add_argument(
        "--mode",
        choices=["finetune", "linear"],
        default="finetune",
        help="train the whole network, or only a logistic head on the frozen trunk",
    )
    f.add_argument(
        "--colors",
        default=None,
        help="class colours: '#hex,#hex,...' in class order, 'name=#hex,...', or a JSON file "
        "(default: the demo's land-cover colours for its classes, else a qualitative palette)",
    )
    f.add_argument(
        "--resolution",
        type=float,
        default=None,
        help="ground metres per pixel of the image files, when they are not GeoTIFFs "
        "(e.g. 0.3 for UC Merced); recorded after resizing to --image-size",
    )
    f.add_argument("--all-images", action="store_true", help="train on every image (no test split)")
    add_seed_option(f)
    _add_training_arguments(f, sweep=False)
    f.set_defaults(func=run_finetune_command)

    e = subparsers.add_parser(
        "export-onnx",
        help="export a classifier model file to ONNX",
        description=(
            "Writes an ONNX file (input 'image' float32 [N, C, H, W], pixels divided by the "
            "normalisation scale; outputs 'logits' and 'probabilities') with class names, "
            "colours, bands, normalisation, tile size and resolution in its metadata."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_model_option(e, "classifier model file")
    e.add_argument("--out", required=True, type=Path, help="the .onnx file to write")
    e.add_argument("--opset", type=int, default=17)
    e.set_defaults(func=run_export_onnx_command)


def _config(args: argparse.Namespace):
    from backend.data.scenes import parse_bands
    from backend.transfer.protocols import transfer_config

    factors = given(args, "trunk_lr_factor")
    if isinstance(factors, float):
        factors = (factors,)
    config = transfer_config(
        getattr(args, "protocol", "product"),
        str(args.scenes),
        bands=parse_bands(args.bands),
        split_file=str(args.split_file) if args.split_file else None,
        image_size=given(args, "image_size"),
        arch=args.arch,
        seeds=getattr(args, "seeds", 1),
        first_seed=args.seed,
        shots=getattr(args, "shots", None),
        epochs=given(args, "epochs"),
        batch_size=given(args, "batch_size"),
        lr=args.lr,
        trunk_lr_factor=factors[0] if factors and len(factors) == 1 else None,
        trunk_lr_sweep=factors if factors and len(factors) > 1 else None,
        weight_decay=given(args, "weight_decay"),
        l2=args.l2,
        normalization=args.normalization,
        scale=args.scale,
        device=args.device,
        workers=args.workers,
        precision=given(args, "precision"),
    )
    if hasattr(args, "image_size") and args.image_size is None:  # --image-size native
        config = dataclasses.replace(config, image_size=None)
    return config


def _require(args: argparse.Namespace, task: str, names: tuple[str, ...]) -> None:
    from backend.cli import UserError

    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n, None) is None]
    if missing:
        raise UserError(f"transfer --task {task} needs {' and '.join(missing)}")


def run_transfer_command(args: argparse.Namespace) -> int:
    """``transfer``: run the task chosen with ``--task`` (see :data:`TASKS`)."""
    task = TASKS[args.task]
    _require(args, args.task, task.needs)
    return task.run(args)


def run_scene_transfer_command(args: argparse.Namespace) -> int:
    """``transfer --task scene``: one initialisation x mode over the seeds; print (and save)."""
    from backend.transfer import format_result, run_transfer, write_result

    config = _config(args)
    with progress_bar(f"transfer {args.mode}") as bar:
        result = run_transfer(config, args.init, args.mode, progress=bar)
    print(result["skipped"])
    print(format_result(result))
    if args.json:
        png = write_result(result, args.json)
        print(f"report: {args.json}, confusion matrix: {png}")
    return 0


# Same shape as the other run functions (flags to one backend call under a bar); calls differ.
def run_advance_command(args: argparse.Namespace) -> int:
    """``transfer --task advance``: the four embedding variants over the splits; print (and save)."""
    from backend.transfer.advance import format_advance, run_advance, write_advance

    with progress_bar("transfer advance") as bar:
        result = run_advance(
            args.data,
            args.model,
            splits=args.splits,
            seed=args.seed,
            device=args.device,
            progress=bar,
        )
    print(result["skipped"])
    print(format_advance(result))
    if args.json:
        write_advance(result, args.json)
        print(f"report: {args.json}")
    return 0


def run_segmentation_command(args: argparse.Namespace) -> int:
    """``transfer --task segmentation``: train, score and save a DeepLabv3+ model file."""
    from backend.transfer.segmentation import SegmentationConfig, train_segmentation

    config = SegmentationConfig(
        data=str(args.data),
        init=args.init,
        out=str(args.out),
        arch=args.arch,
        patch_size=args.patch_size,
        patch_stride=args.patch_stride,
        epochs=getattr(args, "epochs", 5),
        batch_size=getattr(args, "batch_size", 16),
        lr=args.lr,
        seed=args.seed,
        test_ids=str(args.test_ids) if args.test_ids else None,
        resolution_m=args.resolution,
        device=args.device,
        precision=getattr(args, "precision", "auto"),
    )
    with progress_bar("transfer segmentation") as bar:
        result = train_segmentation(config, args.json, progress=bar)
    print(result.skipped + (f" (listed in {result.skipped_csv})" if result.skipped_csv else ""))
    print(result.text)
    print(f"segmentation model: {result.model}, report: {result.report}")
    return 0


@dataclass(frozen=True)
class Task:
    """One ``transfer --task``: the command function and the flags it needs."""

    run: Callable[[argparse.Namespace], int]
    #: attribute names of the flags the task requires
    needs: tuple[str, ...]
    help: str


#: ``transfer --task`` choices; a new task is one entry here
TASKS: dict[str, Task] = {
    "scene": Task(
        run_scene_transfer_command,
        ("scenes", "init", "mode"),
        "scene classification of one initialisation (--scenes, --init, --mode)",
    ),
    "advance": Task(
        run_advance_command,
        ("data", "model"),
        "ADVANCE audiovisual scenes (--data, --model)",
    ),
    "segmentation": Task(
        run_segmentation_command,
        ("data", "init", "out"),
        "DeepGlobe land cover, DeepLabv3+ on the --init trunk (--data, --init, --out)",
    ),
}


def run_transfer_table_command(args: argparse.Namespace) -> int:
    """``transfer-table``: every initialisation x mode; print the Markdown table."""
    from backend.transfer import transfer_table

    config = _config(args)
    with progress_bar("transfer-table") as bar:
        table = transfer_table(config, args.inits, args.out, args.modes, progress=bar)
    print(table["table"])
    print(f"written: {args.out / 'table.md'}, {args.out / 'table.json'}, {args.out / 'runs'}/")
    return 0


def run_finetune_command(args: argparse.Namespace) -> int:
    """``finetune``: train a classifier and write its model file."""
    from backend.transfer import train_classifier

    config = _config(args)
    with progress_bar(f"finetune ({args.mode})") as bar:
        result = train_classifier(
            config,
            args.init,
            args.out,
            mode=args.mode,
            colors=args.colors,
            resolution_m=args.resolution,
            all_images=args.all_images,
            progress=bar,
        )
    meta = result.metadata
    print(f"classifier: {result.path}")
    print(result.skipped + (f" (listed in {result.skipped_csv})" if result.skipped_csv else ""))
    print(
        f"{len(meta.class_names)} classes, bands {meta.bands}, tile {meta.tile_px} px, "
        + (
            f"{meta.resolution_m:.3g} m per pixel"
            if meta.resolution_m
            else "ground resolution unknown (pass --resolution)"
        )
    )
    if result.test_metrics is not None:
        print(
            f"test overall accuracy {100 * result.test_metrics['accuracy']:.2f} %, "
            f"macro F1 {100 * result.test_metrics['macro_f1']:.2f} %"
        )
    return 0


def run_export_onnx_command(args: argparse.Namespace) -> int:
    """``export-onnx``: write the ONNX file."""
    from backend.onnx_export import export_onnx

    props = export_onnx(args.model, args.out, opset=args.opset)
    names = json.loads(props["class_names"])
    print(f"ONNX model: {args.out} ({len(names)} classes: {', '.join(names)})")
    return 0
