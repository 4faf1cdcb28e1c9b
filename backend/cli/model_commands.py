"""Model commands of the CLI: ``import-reference`` and ``models list|get|add`` (the catalogue)."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli import progress_bar


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``import-reference`` and ``models``."""
    from backend.models.reference import ARCHITECTURES

    #: ``--image-arch``/``--audio-arch`` of a reference checkpoint: auto reads it from the weights
    archs = ("auto", *ARCHITECTURES)
    imp = subparsers.add_parser(
        "import-reference",
        help="import a checkpoint of the paper's own code (khdlr/SoundingEarth) as a model file",
        description=(
            "Convert a checkpoint saved by the reference training code (torch.save of its "
            "FullModelWrapper state dict, e.g. latest.pt) into a Sounding Earth model file "
            "that every command and the plugin use unchanged. The checkpoint is read with "
            "torch.load(weights_only=True): a file holding Python objects is refused. A release "
            "ZIP holding the checkpoint (and the run's config.yml) is accepted too. Each "
            "encoder's architecture and widths are read from the checkpoint's tensor shapes: "
            "the final layout of the reference code (stages 64/182/256/512, the published "
            "weights') and the 2c55025 layout (32/64/128/256) are accepted. The encoders keep "
            "the reference architecture, so embeddings equal the reference's; the metadata "
            "records the widths, the checkpoint's SHA-256, the reference commit followed and "
            "the reference's input conventions."
        ),
    )
    imp.add_argument(
        "--checkpoint", required=True, type=Path, metavar="PT", help="the .pt file or release .zip"
    )
    imp.add_argument(
        "--image-arch",
        default="auto",
        choices=archs,
        help=(
            "the checkpoint's image encoder (ImageEncoder of its config), checked against its "
            "weights (default: read from the checkpoint)"
        ),
    )
    imp.add_argument(
        "--audio-arch",
        default="auto",
        choices=archs,
        help="the checkpoint's sound encoder (default: read from the checkpoint)",
    )
    # Same shape as query's description and --index in raster_commands.py: unrelated text.
    imp.add_argument(
        "--loss",
        default=None,
        metavar="NAME",
        help=(
            "the LossFunction of the checkpoint's run (its config.yml; default: the one in a "
            "release ZIP's config.yml, else TripletLoss, the paper's): decides the distance the "
            "model ranks by (Euclidean after the triplet loss, cosine after the contrastive "
            "ones), as the reference's evaluation does"
        ),
    )
    imp.add_argument("--out", required=True, type=Path, metavar="FILE", help="model file to write")
    imp.set_defaults(func=run_import_reference)

    models = subparsers.add_parser(
        "models",
        help="list, download or add catalogue models",
        description=(
            "The model catalogue: the demo's models and the paper's released checkpoints, "
            "plus models you add. `get` downloads into your model folder (resuming an "
            "interrupted download), verifies the SHA-256 and imports reference checkpoints; "
            "nothing is downloaded unless you run `get`."
        ),
    )
    folder_help = (
        "model folder (default: $SOUNDING_EARTH_MODELS, else ~/.local/share/sounding-earth/models)"
    )
    models.add_argument("--folder", type=Path, metavar="DIR", help=folder_help)
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the catalogue and what is downloaded")
    listing.set_defaults(func=run_models_list)
    get = actions.add_parser("get", help="download, verify and (if needed) import a model")
    get.add_argument("name", help="catalogue name (see `models list`)")
    get.add_argument("--url", help="download address, for an entry whose catalogue record has none")
    get.set_defaults(func=run_models_get)
    add = actions.add_parser("add", help="add a model address to your catalogue (no download)")
    add.add_argument("url", help="http://, https:// or file:// address of the file")
    add.add_argument(
        "--sha256",
        required=True,
        help="its SHA-256 (hex), or 'unknown' to record the first download's after you confirm it",
    )
    add.add_argument("--name", help="catalogue name (default: the file name)")
    add.add_argument(
        "--task", choices=("audiovisual", "classifier", "segmentation"), default="audiovisual"
    )
    add.add_argument(
        "--format",
        dest="fmt",
        choices=("safetensors", "reference-checkpoint"),
        default="safetensors",
        help=(
            "a model file, or a khdlr/SoundingEarth checkpoint to import (default: safetensors; "
            "a downloaded .pt or release ZIP is recognised and imported either way)"
        ),
    )
    add.add_argument(
        "--image-arch",
        choices=archs,
        default="auto",
        help="image encoder of a reference checkpoint (default: read from its weights)",
    )
    add.add_argument(
        "--loss",
        default="TripletLoss",
        metavar="NAME",
        help="LossFunction of a reference checkpoint's run (as for import-reference)",
    )
    add.set_defaults(func=run_models_add)
    for action in (listing, get, add):  # --folder after the action works too
        action.add_argument(
            "--folder", type=Path, metavar="DIR", default=argparse.SUPPRESS, help=folder_help
        )


def run_import_reference(args: argparse.Namespace) -> int:
    """Run ``import-reference``."""
    from backend.models.reference_import import import_reference_checkpoint

    meta = import_reference_checkpoint(
        args.checkpoint, args.out, args.image_arch, args.audio_arch, loss=args.loss
    )
    layout = meta.provenance["layout"]
    print(
        f"wrote {args.out}: reference {meta.image_arch} image / {meta.audio_arch} audio encoders "
        f"({layout['image']} / {layout['audio']} layout: widths {meta.widths['image']} / "
        f"{meta.widths['audio']}), {meta.embed_dim}-d embeddings, ranked by "
        f"{meta.extra['reference']['distance']} distance (checkpoint SHA-256 "
        f"{meta.provenance['imported_sha256']})"
    )
    return 0


def run_models_list(args: argparse.Namespace) -> int:
    """Run ``models list``: one line per entry, then where the folder is."""
    from backend.catalogue import load_catalogue, models_folder

    folder = models_folder(args.folder)
    for entry in load_catalogue(args.folder).values():
        if (folder / f"{entry.name}.safetensors").is_file():
            state = "downloaded"
        elif entry.url:
            state = "available"
        else:
            state = "needs --url" if entry.page else "local only"
        checksum = entry.checksum or ("SHA-256 not published" if state != "local only" else "")
        print(f"{entry.name:<28}{entry.task:<13}{state:<13}{entry.architecture}")
        where = entry.url or entry.page or entry.note
        print(f"{'':<28}{where}" + (f"  [{checksum}]" if checksum else ""))
    print(f"model folder: {folder}")
    return 0


def run_models_get(args: argparse.Namespace) -> int:
    """Run ``models get NAME``."""
    from backend.catalogue import get_model

    with progress_bar(f"get {args.name}") as bar:
        result = get_model(args.name, args.folder, url=args.url, progress=bar)
    if result.already_present:
        print(f"{args.name}: already downloaded and verified: {result.path}")
        return 0
    print(f"{args.name}: {result.path}")
    if result.recorded:
        print(
            f"SHA-256 of the download: {result.sha256}\n"
            "The catalogue publishes no checksum for this model: compare this one with the "
            "release page. It is recorded, and later downloads must match it."
        )
    else:
        print(f"SHA-256 verified: {result.sha256}")
    return 0


def run_models_add(args: argparse.Namespace) -> int:
    """Run ``models add URL --sha256 H``."""
    from backend.catalogue import add_entry, models_folder

    sha = None if args.sha256.lower() == "unknown" else args.sha256
    entry = add_entry(
        args.url,
        sha,
        args.name,
        args.task,
        args.fmt,
        args.image_arch,
        args.folder,
        loss=args.loss,
    )
    print(
        f"added {entry.name} to {models_folder(args.folder) / 'catalogue.json'}; "
        f"download it with: python -m backend models get {entry.name}"
    )
    return 0
