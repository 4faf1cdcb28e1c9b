"""Inputs a reader could not use, and why: one summary line and one ``skipped.csv`` for every reader.

Every reader (pairs, scene images, recordings for an index, points for
build-pairs) treats a file that cannot be decoded exactly like a missing one:
it is left out, counted by cause in one line (``skipped 3 of 50 pairs: 2
missing audio, 1 unreadable image``) and named in a CSV file.
"""

from __future__ import annotations

import collections
import csv
import os
from collections.abc import Iterable, Sequence

from backend.atomic import atomic_path

# reasons are nouns phrases; these last words take a plural "s" ("audio" does not)
_COUNTABLE = ("image", "file", "point", "raster", "recording", "spectrogram")


def reason_count(reason: str, count: int) -> str:
    """``"3 unreadable images"``, ``"1 unreadable image"``, ``"2 missing audio"``."""
    plural = count != 1 and reason.split()[-1] in _COUNTABLE
    return f"{count} {reason}{'s' if plural else ''}"


def skip_summary(
    reasons: Iterable[str], total: int, noun: str = "pairs", order: Sequence[str] = ()
) -> str:
    """One line: how many of ``total`` were skipped, counted by cause.

    Args:
        reasons: the reason of every skipped item (one entry per item).
        total: items considered (usable + skipped).
        noun: what the items are, plural ("pairs", "images", "recordings").
        order: reasons listed first among equal counts (others follow alphabetically).

    Returns:
        e.g. ``skipped 12 of 50545 pairs: 9 missing audio, 3 unreadable images``.
    """
    counts = collections.Counter(reasons)
    head = f"skipped {sum(counts.values())} of {total} {noun}"
    if not counts:
        return head

    def rank(reason: str) -> tuple[int, int, str]:
        known = order.index(reason) if reason in order else len(order)
        return -counts[reason], known, reason

    parts = [reason_count(reason, counts[reason]) for reason in sorted(counts, key=rank)]
    return f"{head}: {', '.join(parts)}"


def write_skipped_csv(
    path: str | os.PathLike, columns: Sequence[str], rows: Iterable[Sequence[object]]
) -> None:
    """Write the skipped items as CSV with a header line, atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(list(columns))
            writer.writerows(rows)
