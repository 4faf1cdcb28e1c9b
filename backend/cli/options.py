"""Option groups several commands share, defined once.

The model file, the trunk initialisation, the raster and its extent, the device
and the precision, data loading, the dataset folder and its split, the seed, the
JSON output, the flags whose default a ``--protocol`` decides, and the number
types they parse. A help text that shows its default writes
``(default: %(default)s)``, so it reads the same under argparse's plain formatter
and ``ArgumentDefaultsHelpFormatter``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: an argument parser or an argument group of one
Parser = argparse.ArgumentParser | argparse._ArgumentGroup

#: what ``--device`` accepts (backend.device.resolve_device)
DEVICE_HELP = "auto (CUDA, else Apple MPS, else CPU), cpu, cuda, cuda:N or mps"

#: help of ``--spectrograms`` on every command that reads a dataset's sounds
SPECTROGRAMS_HELP = (
    "where sounds come from: jpg = the release's spectrograms/{key}.jpg, audio = audio/ and "
    "the prepare cache. Needed when some recordings have only a JPG and others only audio "
    "(the two encodings are never mixed); without it the dataset (and a model's encoding) "
    "decides"
)

#: what ``--init`` accepts (backend.transfer.inits.parse_init)
INIT_HELP = (
    "random; imagenet:PATH (a torchvision ResNet state dict saved beforehand; never "
    "downloaded); or a Sounding Earth model file, audiovisual (e.g. RUN/model.safetensors "
    "from pretrain) or classifier"
)

#: what ``--raster`` accepts
RASTER_HELP = "input imagery: any raster GDAL opens (GeoTIFF, VRT, JPEG 2000, ...)"

#: what ``auto`` means for the autocast ``--precision`` of training (backend.device.autocast_dtype)
TRAINING_AUTO_PRECISION = (
    "auto = bf16 on CUDA and on CPUs with AVX512-BF16/AMX, fp16 on Apple MPS, else fp32"
)

#: ``--precision`` of the raster engine's image encoder (backend.raster.predictor)
INFERENCE_PRECISION_HELP = (
    "auto: bf16 on CUDA, and for large runs on CPUs with native bf16 once the first batch "
    "agrees with fp32; fp32 otherwise (default: %(default)s)"
)

#: ``--workers`` of a command that loads its data through a torch DataLoader
LOADER_WORKERS_HELP = "data-loading processes (default: %(default)s)"

#: ``--workers`` of a command that decodes recordings in threads
DECODER_WORKERS_HELP = "decoding threads (default: %(default)s)"


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value

    return parse


def positive_number(text: str) -> float:
    """An argparse ``type``: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def add_device_option(parser: Parser) -> None:
    """``--device``, default ``auto``, as every command that runs a model takes it."""
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def add_model_option(parser: Parser, help: str, required: bool = True) -> None:
    """``--model MODEL``: a model file, described by ``help`` (which kind, what for)."""
    parser.add_argument("--model", required=required, type=Path, metavar="MODEL", help=help)


def add_dataset_option(parser: Parser, help: str = "dataset folder (SoundingEarth layout)") -> None:
    """``--data DIR`` (required): a folder in the SoundingEarth layout."""
    parser.add_argument("--data", required=True, type=Path, metavar="DIR", help=help)


def add_spectrograms_option(parser: Parser) -> None:
    """``--spectrograms {jpg,audio}``: which encoding of a dataset's sounds to read."""
    parser.add_argument(
        "--spectrograms", choices=["jpg", "audio"], default=None, help=SPECTROGRAMS_HELP
    )


def add_split_mode_options(parser: Parser, flag: str) -> None:
    """``flag`` (``--split`` or ``--split-mode``) choosing how pairs are split, and ``--cell-km``."""
    parser.add_argument(
        flag,
        dest="split_mode",
        choices=["reference", "geographic"],
        default="reference",
        help="reference split (key %% 10) or geographic grid cells",
    )
    parser.add_argument(
        "--cell-km", type=float, default=10.0, help="grid cell size of the geographic split"
    )


def add_raster_option(parser: Parser, help: str = RASTER_HELP) -> None:
    """``--raster IN`` (required), kept as text: GDAL also opens names that are not paths."""
    parser.add_argument("--raster", required=True, metavar="IN", help=help)


def add_extent_options(parser: Parser, required: bool = False) -> None:
    """``--extent XMIN,YMIN,XMAX,YMAX`` (the whole raster when optional and left out) and ``--crs``."""
    where = "the area" if required else "only this area (default: the whole raster)"
    parser.add_argument(
        "--extent",
        required=required,
        metavar="XMIN,YMIN,XMAX,YMAX",
        help=f"{where}, in --crs; write --extent=... when xmin is negative",
    )
    parser.add_argument(
        "--crs", metavar="CRS", help="CRS of --extent, e.g. EPSG:4326 (default: the raster's CRS)"
    )


def add_model_bands_option(parser: Parser) -> None:
    """``--bands B1,B2,...``: the raster bands that feed a model file's input bands."""
    parser.add_argument(
        "--bands",
        metavar="B1,B2,...",
        help=(
            "raster bands to feed the model, in the model's order (1-based), e.g. 3,2,1 for "
            "a BGR raster or 1,1,1 for a grey one (default: the model's bands)"
        ),
    )


def add_inference_precision_option(
    parser: Parser,
    choices: tuple[str, ...] = ("auto", "fp32", "bf16"),
    help: str = INFERENCE_PRECISION_HELP,
) -> None:
    """``--precision``, default ``auto``, of a command that runs the raster engine."""
    parser.add_argument("--precision", choices=choices, default="auto", help=help)


def add_training_precision_option(parser: Parser, protocol: bool, when: str = "") -> None:
    """``--precision`` (autocast) of training; with ``protocol`` the protocol sets its default."""
    from backend.train import PRECISIONS

    help = f"autocast{when}: {TRAINING_AUTO_PRECISION}"
    if protocol:
        add_protocol_option(
            parser, "--precision", choices=PRECISIONS, help=f"{help} (default auto; paper fp32)"
        )
    else:
        parser.add_argument("--precision", choices=PRECISIONS, default="auto", help=help)


def add_workers_option(
    parser: Parser,
    default: int | None,
    help: str = LOADER_WORKERS_HELP,
    type: Callable[[str], Any] = int,
) -> None:
    """``--workers N``: data-loading processes or decoding threads."""
    parser.add_argument("--workers", type=type, default=default, metavar="N", help=help)


def add_seed_option(parser: Parser, help: str = "random seed") -> None:
    """``--seed S``, default 0."""
    parser.add_argument(
        "--seed",
        type=whole_number(0),
        default=0,
        metavar="S",
        help=f"{help} (default: %(default)s)",
    )


def add_json_option(parser: Parser, help: str) -> None:
    """``--json JSON``: also write the command's result as JSON."""
    parser.add_argument("--json", type=Path, default=None, metavar="JSON", help=help)


def add_protocol_option(parser: Parser, flag: str, **kwargs: Any) -> None:
    """A flag whose default the command's ``--protocol`` decides: left out, it is not set.

    Read it with :func:`given`; its help should name both protocols' defaults.
    """
    parser.add_argument(flag, default=argparse.SUPPRESS, **kwargs)


def given(args: argparse.Namespace, name: str) -> Any:
    """The value of a :func:`add_protocol_option` flag; None: left out, the protocol's applies."""
    return getattr(args, name, None)
