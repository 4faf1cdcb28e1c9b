"""The one progress/cancellation interface every long backend operation accepts.

The CLI maps it to a tqdm bar; the QGIS plugin maps it to
``QgsProcessingFeedback`` or ``QgsTask``.
"""

from __future__ import annotations

import sys
from typing import Protocol


class Cancelled(Exception):
    """Raised inside a backend operation when its progress callback asks to stop."""


class Progress(Protocol):
    """What a backend operation reports to, and asks whether to stop."""

    def progress(self, fraction: float, message: str = "") -> None:
        """Report overall completion in [0, 1] with an optional status message."""

    def is_cancelled(self) -> bool:
        """Return True when the user asked to stop."""


class NullProgress:
    """Reports nowhere and never cancels."""

    def progress(self, fraction: float, message: str = "") -> None:
        pass

    def is_cancelled(self) -> bool:
        return False


class TqdmProgress:
    """A terminal progress bar (stderr) for the CLI."""

    def __init__(self, description: str = "", disable: bool | None = None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(
            total=1000,
            desc=description,
            file=sys.stderr,
            disable=disable,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {postfix}",
        )
        self._last = 0

    def progress(self, fraction: float, message: str = "") -> None:
        position = int(max(0.0, min(1.0, fraction)) * 1000)
        if position > self._last:
            self._bar.update(position - self._last)
            self._last = position
        if message:
            self._bar.set_postfix_str(message, refresh=False)

    def is_cancelled(self) -> bool:
        return False

    def write(self, message: str) -> None:
        """Print a line above the bar (stderr) without breaking it."""
        self._bar.write(message, file=sys.stderr)

    def close(self) -> None:
        self._bar.close()


class SubProgress:
    """Maps a child operation's [0, 1] onto [start, end] of a parent's progress."""

    def __init__(self, parent: Progress, start: float, end: float) -> None:
        self.parent, self.start, self.end = parent, start, end

    def progress(self, fraction: float, message: str = "") -> None:
        self.parent.progress(self.start + (self.end - self.start) * fraction, message)

    def is_cancelled(self) -> bool:
        return self.parent.is_cancelled()


def check_cancelled(progress: Progress | None) -> None:
    """Raise :class:`Cancelled` if ``progress`` asks to stop."""
    if progress is not None and progress.is_cancelled():
        raise Cancelled("cancelled by the user")
