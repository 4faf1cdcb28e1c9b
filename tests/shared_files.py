"""Read-only test inputs placed in several folders without taking the disk space twice."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def share(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """``source`` at ``target`` as a hard link (a copy where links cannot be made).

    For model files a test only reads (each 40-90 MB): the code under test replaces
    files by renaming, so no write reaches the shared bytes. Returns ``target``.
    """
    target = Path(target)
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)
    return target
