"""Option groups several commands share, defined once (``--device`` ...)."""

from __future__ import annotations

import argparse

#: what ``--device`` accepts (backend.device.resolve_device)
DEVICE_HELP = "auto (CUDA, else Apple MPS, else CPU), cpu, cuda, cuda:N or mps"


def add_device_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device``, default ``auto``, as every command that runs a model takes it."""
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
