"""Command-line interface: ``python -m backend <command>``.

Argument parsing, and the terminal side of a run (one-line errors, the progress
bar), only. Each module in ``COMMAND_MODULES`` defines
``add_commands(subparsers)``, which adds its sub-commands and sets
``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an
exit code) on each of them; the work itself is a call into the backend.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from backend import __version__

if TYPE_CHECKING:
    from backend.progress import TqdmProgress

#: modules under backend.cli that contribute sub-commands, in --help order
COMMAND_MODULES = [
    "backend.cli.demo_commands",
    "backend.cli.data_commands",
    "backend.cli.train_commands",
    "backend.cli.transfer_commands",
    "backend.cli.label_commands",
    "backend.cli.raster_commands",
    "backend.cli.model_commands",
]


class UserError(Exception):
    """An error caused by the user's input; printed without a traceback."""


#: longest error message printed (a message may quote a binary file's first line)
_MAX_MESSAGE = 600


def one_line(message: str) -> str:
    """``message`` as one printable line: line breaks and control bytes shown as ``?``, shortened."""
    text = "".join(c if c.isprintable() else "?" for c in message.replace("\r\n", " "))
    text = text.replace("\ufffd", "?")
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 5] + " ..."
    return text


@contextlib.contextmanager
def progress_bar(description: str, disable: bool | None = None) -> Iterator[TqdmProgress]:
    """A command's progress bar on the terminal, closed however the command ends."""
    from backend.progress import TqdmProgress

    bar = TqdmProgress(description, disable=disable)
    try:
        yield bar
    finally:
        bar.close()


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="python -m backend",
        description=(
            "Sounding Earth: self-supervised audiovisual representation learning for "
            "remote sensing (Heidler et al., arXiv 2108.00688). Run a command with "
            "--help for its options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:  # not written yet
                continue
            raise
        module.add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from backend.atomic import OutputError
    from backend.progress import Cancelled

    try:
        return int(args.func(args) or 0)
    except (UserError, FileNotFoundError, ValueError, OutputError) as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
