"""Dataset commands of the CLI: ``prepare`` (decode recordings into the spectrogram cache)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from backend.cli import UserError

#: help of ``--spectrograms`` on every command that reads a dataset's sounds
SPECTROGRAMS_HELP = (
    "where sounds come from: jpg = the release's spectrograms/{key}.jpg, audio = audio/ and "
    "the prepare cache. Needed when some recordings have only a JPG and others only audio "
    "(the two encodings are never mixed); without it the dataset (and a model's encoding) "
    "decides"
)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` sub-command."""
    prepare = subparsers.add_parser(
        "prepare",
        help="decode a SoundingEarth folder's recordings into a spectrogram cache",
        description=(
            "Decode every raw recording (audio/{key}.mp3|flac|ogg|wav) of a dataset in "
            "the SoundingEarth layout once, into spectrograms under DIR/cache/ENCODING/{key}.npy, "
            "so training and indexing read small arrays instead of decoding audio every time. "
            "ENCODING is logmel (this project's log-mel, the default) or jpg (the SoundingEarth "
            "release's JPG encoding computed from raw audio, for a model trained on "
            "spectrograms/*.jpg); --model MODEL picks the model's encoding. Safe to interrupt: "
            "rerunning it decodes only what is missing. Recordings that cannot be decoded or "
            "have no audio are listed in DIR/cache/skipped.csv; a recording with only a "
            "precomputed spectrograms/{key}.jpg counts as ready for the jpg encoding and as "
            "missing audio for logmel (the two encodings are never mixed)."
        ),
    )
    prepare.add_argument(
        "--data",
        required=True,
        type=Path,
        metavar="DIR",
        help="dataset folder with metadata.csv, images/ and audio/",
    )
    which = prepare.add_mutually_exclusive_group()
    which.add_argument(
        "--encoding",
        choices=["logmel", "jpg"],
        default=None,
        help="spectrogram encoding to make (default: logmel)",
    )
    which.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="MODEL",
        help="make the encoding this audiovisual model file was trained on",
    )
    prepare.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="decoding threads (default: %(default)s)",
    )
    prepare.set_defaults(func=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    """Run ``prepare``: fill the cache, print the summary line, return the exit code."""
    from backend.audio import LOGMEL, model_encoding
    from backend.data.soundingearth import cache_folder, prepare_spectrograms
    from backend.progress import TqdmProgress

    data: Path = args.data
    if not data.is_dir():
        raise UserError(f"{data}: no such folder (expected a SoundingEarth dataset folder)")
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    encoding = args.encoding or LOGMEL
    if args.model is not None:
        from backend.models.modelfile import load_model_metadata

        metadata = load_model_metadata(args.model)
        if metadata.kind != "audiovisual":
            raise UserError(f"{args.model}: a {metadata.kind} model has no sound encoder")
        encoding = model_encoding(metadata, str(args.model))
    bar = TqdmProgress("prepare")
    try:
        report = prepare_spectrograms(data, progress=bar, workers=args.workers, encoding=encoding)
    finally:
        bar.close()
    print(report.summary())
    print(
        f"decoded {report.decoded}, already cached {report.already_cached}; "
        f"cache ({encoding}): {cache_folder(data, encoding)}"
    )
    if report.skipped:
        print(f"skipped recordings listed in {data / 'cache' / 'skipped.csv'}")
    return 0
