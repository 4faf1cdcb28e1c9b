"""CLI for pretraining and retrieval evaluation: ``pretrain`` and ``evaluate``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from backend.cli import progress_bar
from backend.cli.options import (
    add_dataset_option,
    add_device_option,
    add_json_option,
    add_model_option,
    add_protocol_option,
    add_seed_option,
    add_spectrograms_option,
    add_split_mode_options,
    add_training_precision_option,
    add_workers_option,
    given,
)


# Same shape as every command module's add_commands (COMMAND_MODULES); the commands differ.
def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pretrain`` and ``evaluate``."""
    from backend.audio import MIN_WINDOW_FRAMES, WINDOW_FRAMES
    from backend.train import LOSSES, PROTOCOLS, default_workers

    p = subparsers.add_parser(
        "pretrain",
        help="train image and audio encoders on co-located pairs, without labels",
        description=(
            "Self-supervised audiovisual pretraining (Heidler et al., arXiv 2108.00688): an image "
            "ResNet and an audio ResNet learn to map a tile and the recording made there close "
            "together in one embedding space. --data DIR is a folder in the SoundingEarth layout "
            "(metadata.csv, images/, audio/ or spectrograms/; run `prepare` first so audio is "
            "decoded once). Writes RUN/model.safetensors, RUN/checkpoints/ (every epoch), "
            "RUN/metrics.csv, RUN/curves.png and RUN/skipped.csv. Multi-GPU or multi-machine: "
            "start the same command with torchrun --nproc_per_node=N. --protocol paper "
            "reproduces the paper's reference code instead of this project's defaults: its "
            "encoders, unnormalised embeddings, Adam at a constant rate, its augmentation, "
            "ResNet-50 images, batch 256 and 300 epochs (docs/pretraining.md: the two training protocols)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_dataset_option(p)
    p.add_argument("--out", required=True, type=Path, help="run folder to create (or resume)")
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="product",
        help="product: this project's protocol; paper: the reference code's (khdlr/SoundingEarth)"
        " - the flags below left out take the protocol's values",
    )
    add_protocol_option(
        p, "--epochs", type=int, help="passes over the training split (default 20; paper 300)"
    )
    add_protocol_option(
        p,
        "--batch-size",
        type=int,
        help="pairs per step and process, global batch = this x processes (default 32; paper 256)",
    )
    p.add_argument(
        "--image-size", type=int, default=192, help="side of the image crops fed to the model, px"
    )
    for flag, what, paper in (
        ("--image-arch", "image", "resnet50"),
        ("--audio-arch", "audio", "resnet18"),
    ):
        add_protocol_option(
            p,
            flag,
            choices=["resnet18", "resnet50"],
            help=f"{what} encoder (default resnet18; paper {paper})",
        )
    p.add_argument(
        "--image-weights",
        type=Path,
        default=None,
        help="initial image-encoder weights: a torchvision ResNet state dict file (never downloaded)",
    )
    p.add_argument("--embed-dim", type=int, default=128, help="embedding size")
    # The protocol-dependent flags share one shape (add_protocol_option) but are different flags.
    add_protocol_option(
        p,
        "--loss",
        choices=LOSSES,
        help="batch triplet (the paper's) or symmetric InfoNCE (default triplet; paper: "
        "triplet only)",
    )
    add_protocol_option(
        p,
        "--margin",
        type=float,
        help="triplet margin: on the unit sphere, or (paper) in the raw embedding space "
        "(default 1)",
    )
    p.add_argument("--temperature", type=float, default=0.2, help="InfoNCE temperature")
    add_protocol_option(
        p,
        "--lr",
        type=float,
        help="learning rate: AdamW peak of a cosine schedule, or (paper) Adam's constant rate "
        "(default 1e-3)",
    )
    add_protocol_option(
        p, "--weight-decay", type=float, help="weight decay (default 1e-4; paper 0)"
    )
    add_device_option(p)
    add_workers_option(p, default_workers())
    add_seed_option(p)
    add_training_precision_option(p, protocol=True)
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels_last memory format (default: on; --no-channels-last turns it off)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        default=2,
        metavar="N",
        help="keep the newest N complete checkpoints in OUT/checkpoints (default 2; 0 keeps all)",
    )
    add_split_mode_options(p, "--split")
    add_spectrograms_option(p)
    p.add_argument(
        "--window-frames",
        type=int,
        default=WINDOW_FRAMES,
        metavar="N",
        help=f"spectrogram frames per sound window ({WINDOW_FRAMES} are about 3 s; at least "
        f"{MIN_WINDOW_FRAMES}); shorter windows make the sound encoder's steps cheaper. "
        "Recorded in the model file: index, query, soundmap and evaluate cut windows of this "
        "length for the model",
    )
    p.add_argument(
        "--max-steps-per-epoch",
        type=int,
        default=None,
        help="cap the steps of each epoch (quick trials)",
    )
    p.add_argument(
        "--resume", action="store_true", help="continue RUN from its last complete checkpoint"
    )
    p.set_defaults(func=run_pretrain)

    e = subparsers.add_parser(
        "evaluate",
        help="cross-modal retrieval metrics of a model on a dataset split",
        description=(
            "Embeds every pair of a split and reports image→sound and sound→image retrieval in "
            "two conventions. top-k (this project's): R@k (true match ranked in the top k) for "
            "k = 1, 5, 10, 100, 500, 1000 and 1/5/10 % of the gallery, the median rank, and "
            "D@k, the mean great-circle distance in km from the true location to the nearest "
            "location among the top k. paper (the reference evaluation of Heidler et al., to "
            "compare with published figures): ranks from 1 with ties averaged, R@k = rank < k "
            "(so R@100 counts ranks 1-99), sound→image distances divided by each image's mean "
            "distance to all sounds; R@k, median rank and D@k for k = 5, 10, 100, 500, 1000. "
            'The JSON holds both, under "topk" and "paper".'
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_dataset_option(e)
    add_model_option(e, "audiovisual model file (.safetensors)")
    e.add_argument(
        "--split",
        default="test",
        choices=["train", "val", "test", "all"],
        help="the split to embed and rank (all: every pair)",
    )
    add_split_mode_options(e, "--split-mode")
    add_spectrograms_option(e)
    add_json_option(e, "also write the metrics here")
    e.add_argument("--batch-size", type=int, default=64, help="pairs per model call")
    add_device_option(e)
    add_workers_option(e, 0)
    e.set_defaults(func=run_evaluate)


def run_pretrain(args: argparse.Namespace) -> int:
    """``pretrain``: build the config from the flags and train."""
    from backend.train import pretrain, protocol_config

    config = protocol_config(
        args.protocol,
        str(args.data),
        str(args.out),
        epochs=given(args, "epochs"),
        batch_size=given(args, "batch_size"),
        image_size=args.image_size,
        image_arch=given(args, "image_arch"),
        audio_arch=given(args, "audio_arch"),
        embed_dim=args.embed_dim,
        loss=given(args, "loss"),
        margin=given(args, "margin"),
        temperature=args.temperature,
        lr=given(args, "lr"),
        weight_decay=given(args, "weight_decay"),
        device=args.device,
        workers=args.workers,
        seed=args.seed,
        precision=given(args, "precision"),
        channels_last=args.channels_last,
        compile=args.compile,
        split_mode=args.split_mode,
        cell_km=args.cell_km,
        image_weights=str(args.image_weights) if args.image_weights else None,
        max_steps_per_epoch=args.max_steps_per_epoch,
        keep_checkpoints=args.keep_checkpoints,
        spectrograms=args.spectrograms,
        window_frames=args.window_frames,
    )
    import os

    is_main = int(os.environ.get("RANK", "0")) == 0
    with progress_bar("pretrain", disable=None if is_main else True) as bar:
        result = pretrain(config, resume=args.resume, progress=bar)
    if is_main:
        last = result.metrics[-1] if result.metrics else {}
        print(
            result.skipped_summary
            + (
                f" (listed in {result.out / 'skipped.csv'})"
                if "skipped 0 " not in result.skipped_summary
                else ""
            )
        )
        print(f"model: {result.model_path}")
        print(f"final training loss: {result.final_loss:.4f}")
        if last.get("val_i2s_median_rank") is not None:
            print(
                f"validation median rank image→sound {last['val_i2s_median_rank']:.1f}, "
                f"sound→image {last['val_s2i_median_rank']:.1f} of {int(last['val_n'])} "
                f"(chance {(last['val_n'] + 1) / 2:.1f})"
            )
    return 0


# Same shape as the other run functions (flags to one backend call under a bar); calls differ.
def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: print (and optionally save) the retrieval metrics."""
    from backend.evaluate import evaluate, format_report

    logging.getLogger(__name__).debug("evaluating %s on %s", args.model, args.data)
    with progress_bar("evaluate") as bar:
        report = evaluate(
            args.data,
            args.model,
            split=args.split,
            split_mode=args.split_mode,
            cell_km=args.cell_km,
            json_out=args.json,
            batch_size=args.batch_size,
            device=args.device,
            workers=args.workers,
            progress=bar,
            spectrograms=args.spectrograms,
        )
    print(format_report(report))
    print(report["skipped"])
    if args.json:
        print(f"metrics written to {args.json}")
    return 0
