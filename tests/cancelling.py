"""A progress callback that cancels a run after a given number of checks."""

from __future__ import annotations


class CancelAfter:
    """A progress callback that asks to stop after ``calls`` cancellation checks.

    ``CancelAfter(0)`` cancels at the first check; ``checked`` counts the checks asked
    so far and ``reported`` keeps every fraction reported.
    """

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.checked = 0
        self.reported: list[float] = []

    def progress(self, fraction: float, message: str = "") -> None:
        self.reported.append(fraction)

    def is_cancelled(self) -> bool:
        self.checked += 1
        return self.checked > self.calls
