"""Dataset commands of the CLI: ``prepare`` (decode recordings into the spectrogram cache)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from backend.cli import UserError


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` sub-command."""
    prepare = subparsers.add_parser(
        "prepare",
        help="decode a SoundingEarth folder's recordings into a log-mel cache",
        description=(
            "Decode every raw recording (audio/{key}.mp3|flac|ogg|wav) of a dataset in "
            "the SoundingEarth layout once, into 128-bin log-mel spectrograms under "
            "DIR/cache/logmel/{key}.npy, so training reads small arrays instead of "
            "decoding audio every epoch. Safe to interrupt: rerunning it decodes only "
            "what is missing. Recordings that cannot be decoded or have no audio are "
            "listed in DIR/cache/skipped.csv. Recordings with only a precomputed "
            "spectrograms/{key}.jpg need no decoding."
        ),
    )
    prepare.add_argument(
        "--data",
        required=True,
        type=Path,
        metavar="DIR",
        help="dataset folder with metadata.csv, images/ and audio/ (or spectrograms/)",
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
    from backend.data.soundingearth import prepare_spectrograms
    from backend.progress import TqdmProgress

    data: Path = args.data
    if not data.is_dir():
        raise UserError(f"{data}: no such folder (expected a SoundingEarth dataset folder)")
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    bar = TqdmProgress("prepare")
    try:
        report = prepare_spectrograms(data, progress=bar, workers=args.workers)
    finally:
        bar.close()
    print(report.summary())
    print(
        f"decoded {report.decoded}, already cached {report.already_cached}; "
        f"cache: {data / 'cache' / 'logmel'}"
    )
    if report.skipped:
        print(f"skipped recordings listed in {data / 'cache' / 'skipped.csv'}")
    return 0
