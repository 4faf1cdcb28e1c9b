"""Dataset commands of the CLI: ``data get``/``data list`` (the paper's datasets) and ``prepare``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from backend.cli import UserError, progress_bar
from backend.cli.options import (
    DECODER_WORKERS_HELP,
    add_dataset_option,
    add_model_option,
    add_workers_option,
)


# Same shape as every command module's add_commands (COMMAND_MODULES); the commands differ.
def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` and ``prepare`` sub-commands."""
    _add_data_command(subparsers)
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
    add_dataset_option(prepare, "dataset folder with metadata.csv, images/ and audio/")
    which = prepare.add_mutually_exclusive_group()
    which.add_argument(
        "--encoding",
        choices=["logmel", "jpg"],
        default=None,
        help="spectrogram encoding to make (default: logmel)",
    )
    add_model_option(
        which, "make the encoding this audiovisual model file was trained on", required=False
    )
    add_workers_option(prepare, min(4, os.cpu_count() or 1), DECODER_WORKERS_HELP)
    prepare.set_defaults(func=run_prepare)


def run_prepare(args: argparse.Namespace) -> int:
    """Run ``prepare``: fill the cache, print the summary line, return the exit code."""
    from backend.audio import LOGMEL, model_encoding
    from backend.data.soundingearth import cache_folder, prepare_spectrograms

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
    with progress_bar("prepare") as bar:
        report = prepare_spectrograms(data, progress=bar, workers=args.workers, encoding=encoding)
    print(report.summary())
    print(
        f"decoded {report.decoded}, already cached {report.already_cached}; "
        f"cache ({encoding}): {cache_folder(data, encoding)}"
    )
    if report.skipped:
        print(f"skipped recordings listed in {data / 'cache' / 'skipped.csv'}")
    return 0


def _add_data_command(subparsers: argparse._SubParsersAction) -> None:
    from backend.data.published import DATASETS, DOWNLOADABLE, SOURCE_FILE
    from backend.data.records import ZENODO_API_ENV

    data = subparsers.add_parser(
        "data",
        help="download the paper's datasets (SoundingEarth, ADVANCE, UC Merced)",
        description=(
            "`data get NAME --out DIR` downloads a dataset of the paper from where it is "
            "published (SoundingEarth: Zenodo record 5600379; ADVANCE: Zenodo record 3828124; "
            "UC Merced: its publisher's address), with a progress bar, verifies every file "
            "against the checksum the record publishes, and extracts the archives into DIR in "
            "the layout pretrain, evaluate and transfer read; it then prints the commands that "
            "use DIR. An interrupted or cancelled download resumes where it stopped when you "
            "run the command again (the partial file is DIR/.downloads/FILE.part). Extraction "
            "refuses archive members with absolute paths, '..' or links, and goes through a "
            "staging folder, so an interrupted run leaves no half-extracted folder. UC Merced "
            "publishes no checksum: the SHA-256 of the first download is shown and recorded in "
            f"DIR/{SOURCE_FILE}, and a later download into DIR must match it. AID, "
            "NWPU-RESISC45 and DeepGlobe have no stable direct address: `data get` says where "
            "to fetch them and where to put them (exit status 2). `data list` lists them all. "
            f"${ZENODO_API_ENV} replaces the Zenodo API base (https://zenodo.org/api)."
        ),
    )
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the datasets, where each comes from, what reads it")
    listing.set_defaults(func=run_data_list)
    get = actions.add_parser(
        "get",
        help="download, verify and extract a dataset",
        description=(
            f"Download {', '.join(DOWNLOADABLE)} into --out, verified and extracted. "
            "Run it again after an interruption to resume."
        ),
    )
    get.add_argument("name", choices=list(DATASETS), metavar="NAME", help=", ".join(DATASETS))
    get.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="dataset folder (created if needed; required for the datasets it downloads)",
    )
    get.add_argument(
        "--url",
        default=None,
        help="another address for a dataset published at one address (UC Merced: a mirror)",
    )
    get.add_argument(
        "--keep-archives",
        action="store_true",
        help="keep the downloaded archives in DIR/.downloads (default: deleted once extracted)",
    )
    get.add_argument(
        "--force",
        action="store_true",
        help="extract again even when DIR already holds the dataset",
    )
    get.set_defaults(func=run_data_get)


def run_data_list(args: argparse.Namespace) -> int:
    """Run ``data list``: one block per dataset."""
    from backend.data.published import DATASETS

    for spec in DATASETS.values():
        how = "data get " + spec.name if not spec.manual else "manual download"
        print(f"{spec.name:<15}{spec.title}")
        print(f"{'':<15}from: {spec.source if not spec.manual else spec.page}")
        print(f"{'':<15}for: {spec.purpose}; {how}")
    print("`data get NAME --out DIR` downloads, or says where to get a manual one")
    return 0


def run_data_get(args: argparse.Namespace) -> int:
    """Run ``data get NAME --out DIR``: download, verify, extract, say what is next."""
    import sys

    from backend.data.published import SOURCE_FILE, dataset, get_dataset, manual_instructions

    if dataset(args.name).manual:
        print(manual_instructions(args.name, args.out), file=sys.stderr)
        return 2
    if args.out is None:
        raise UserError(f"data get {args.name}: --out DIR is required (the dataset folder)")
    with progress_bar(f"get {args.name}") as bar:
        result = get_dataset(
            args.name,
            args.out,
            progress=bar,
            url=args.url,
            keep_archives=args.keep_archives,
            force=args.force,
            log=bar.write,
        )
    folder = result.folder
    if result.already_present:
        print(f"{args.name}: already downloaded, verified and extracted in {folder}")
    else:
        print(f"{args.name}: {folder} ({result.downloaded_bytes / 1e6:.1f} MB downloaded now)")
        for file in result.files:
            if file.published_checksum:
                print(f"  {file.key}: {file.published_checksum} verified against the record")
            elif file.recorded:
                print(
                    f"  {file.key}: SHA-256 {file.sha256}\n"
                    "  The publisher gives no checksum for this file: this one is recorded in "
                    f"{folder / SOURCE_FILE}, and later downloads into this folder must match it."
                )
            else:
                print(f"  {file.key}: SHA-256 {file.sha256} matches the first download's")
        if result.archives is not None:
            print(f"  archives kept in {result.archives}")
    if result.problems:
        print(f"{folder} is not usable yet:", file=sys.stderr)
        for problem in result.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("next:")
    for step in result.next_steps:
        print(f"  {step}")
    return 0
